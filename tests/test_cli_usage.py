"""Usage errors and help of every ``tradefm`` sub-command (``commands/_argparse.py``), and progress output."""

from __future__ import annotations

import argparse
import json

import pytest
from conftest import real_path

from modeling_tradefm.cli import build_parser, main
from modeling_tradefm.commands._argparse import plain_text


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    (sub,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def _exit(argv, capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(argv)
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


def _typo(option: str) -> str:
    return "--" + option[3] + option[2] + option[4:]  # --json → --sjon


# ``train`` hands its whole command line to the training parser (tested below)
@pytest.mark.parametrize("name", sorted(set(_subcommands()) - {"train"}))
def test_mistyped_option_gets_the_subcommands_usage_and_a_suggestion(name, capsys):
    """Every sub-command: a mistyped option of its own (each one, swapping its first two letters)
    prints that sub-command's usage, not ``tradefm``'s, and names the option meant; exit 2."""
    parser = _subcommands()[name]
    options = [s for a in parser._actions for s in a.option_strings if s.startswith("--") and s != "--help"]
    assert options, name
    for option in options:
        typo = _typo(option)
        if any(o.startswith(typo) for o in options):  # a valid abbreviation, not a typo
            continue
        code, _, err = _exit([name, typo], capsys)
        assert code == 2
        assert err.startswith(f"usage: tradefm {name} ")
        assert f"tradefm {name}: error: unrecognized arguments: {typo}; did you mean {option}?" in err


def test_train_reports_a_mistyped_training_flag_in_one_line(capsys):
    assert main(["train", "--max-stesp", "3"]) == 2
    err = capsys.readouterr().err
    assert err == "error: --max-stesp: unknown flag (did you mean --max-steps?)\n"


def test_the_mistyped_option_is_named_before_what_it_caused(capsys):
    # --too leaves the required --to missing: the message names the cause
    code, _, err = _exit(["convert", "x.csv", "--too", "lobster", "-o", "out"], capsys)
    assert code == 2 and err.rstrip().endswith("error: unrecognized arguments: --too; did you mean --to?")
    assert "required" not in err
    code, _, err = _exit(["inspect", "--jsno", "x.csv"], capsys)
    assert code == 2 and err.splitlines()[0].startswith("usage: tradefm inspect [-h] [--json]")
    assert err.rstrip().endswith("unrecognized arguments: --jsno; did you mean --json?")
    # an extra positional is the sub-command's error too
    code, _, err = _exit(["replay", "a_message_10.csv", "-o", "x.csv", "extra"], capsys)
    assert code == 2 and err.startswith("usage: tradefm replay") and "unrecognized arguments: extra" in err


def test_mistyped_choices_get_a_suggestion(capsys):
    code, _, err = _exit(["inspct", "x.csv"], capsys)
    assert code == 2 and err.startswith("usage: tradefm [-h] COMMAND")
    assert "invalid choice: 'inspct'" in err and err.rstrip().endswith("did you mean 'inspect'?")
    code, _, err = _exit(["convert", "x.csv", "--to", "lobstr", "-o", "out"], capsys)
    assert code == 2 and err.startswith("usage: tradefm convert")
    assert err.rstrip().endswith("argument --to: invalid choice: 'lobstr' (choose from 'mbo-csv', 'lobster'); "
                                 "did you mean 'lobster'?")


def test_what_argparse_accepts_still_parses(capsys, tmp_path):
    """Abbreviations, ``--opt=value``, negative numbers and values after ``--`` are not typos."""
    lob = real_path("lobster", "aapl10-head", "AAPL_2012-06-21_34200000_57600000_message_10.csv")
    assert main(["inspect", "--js", str(lob)]) == 0
    assert json.loads(capsys.readouterr().out)["files"][0]["records"] == 999
    assert main(["replay", str(lob), "--levels=-1", "-o", str(tmp_path / "o.csv")]) == 2
    assert "--levels must be positive, got -1" in capsys.readouterr().err
    assert main(["replay", str(lob), "--levels", "-1", "-o", str(tmp_path / "o.csv")]) == 2
    assert "--levels must be positive, got -1" in capsys.readouterr().err
    assert main(["inspect", "--json", "--", "-x_message_1.csv"]) == 2  # reached the command as a file name
    assert capsys.readouterr().err == "error: -x_message_1.csv: no such file\n"


@pytest.mark.parametrize("name", [""] + sorted(_subcommands()))
def test_help_is_plain_text(name, capsys):
    """Descriptions come from RST docstrings: their markup is not printed, their words are."""
    code, out, _ = _exit([name, "--help"] if name else ["--help"], capsys)
    assert code == 0 and out.startswith("usage: tradefm")
    assert "``" not in out and ":func:`" not in out and ":class:`" not in out and "::\n" not in out
    if name:
        assert f"tradefm {name}" in out.split("\n\n", 2)[1]  # the description's first line, unmarked


def test_plain_text_removes_only_markup():
    assert plain_text("``tradefm inspect FILE`` and :func:`split_sessions`") == "tradefm inspect FILE and split_sessions"
    assert plain_text(":class:`~modeling_tradefm.simulator.Simulator`, *uncertain*, `x`") == "Simulator, uncertain, x"
    assert plain_text("prints one JSON object::\n\n    {}") == "prints one JSON object:\n\n    {}"
    assert plain_text("glob *.dbn or 2*3*4, a::b") == "glob *.dbn or 2*3*4, a::b"


def test_hawkes_fit_progress_is_a_bar_over_iterations(capsys):
    """``fit-baseline hawkes`` progress: one tqdm bar counting L-BFGS-B iterations out of ``maxiter``
    (before: an "evaluation N" line every 25 evaluations, with no total)."""
    from modeling_tradefm.baselines import HawkesParams, fit_hawkes_mle, simulate_hawkes

    true = HawkesParams(mu=[0.4, 0.3], alpha=[[0.3, 0.15], [0.2, 0.35]], beta=[2.0, 5.0])
    times, types = simulate_hawkes(true, 2_000.0, seed=3)
    fit = fit_hawkes_mle([(times, types, 2_000.0)], 2, maxiter=400, progress=True)
    err = capsys.readouterr().err
    assert not fit.stationarity_enforced and 5 < fit.iterations < 400
    final = err.rsplit("\r", 1)[-1]
    assert final.startswith("hawkes mle:") and f" {fit.iterations}/400 " in final and "log-likelihood" in final
    assert "evaluation" not in err
    fit_hawkes_mle([(times, types, 2_000.0)], 2, maxiter=400, progress=False)
    assert capsys.readouterr().err == ""
