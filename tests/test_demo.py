"""tradefm demo: profiles, the summary table and target verdict, and a shrunken end-to-end run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from modeling_tradefm.demo import PROFILES_DIR, DemoConfig, format_table, quality_verdict, summary_table
from modeling_tradefm.errors import DataError


@pytest.mark.parametrize("profile", ["quick", "long", "gpu"])
def test_profiles_load_and_point_at_real_files(profile):
    from modeling_tradefm import training as rc

    cfg = DemoConfig.load(profile)
    for f in [*cfg.train_files, cfg.heldout_file, cfg.train_config]:
        assert cfg.resolve(f).is_file(), f
    assert cfg.heldout_file not in cfg.train_files  # the held-out session is never pre-trained on
    m, d, t = rc.parse_args([str(cfg.resolve(cfg.train_config)), "--bf16", "false"])
    assert d.data and t.max_steps > 0
    # the exact argument lists the demo runs parse (bf16 off: a CPU runner), and the adaptation
    # continues the checkpoint: no architecture overrides, no best-checkpoint selection, no eval
    from pathlib import Path

    from modeling_tradefm.demo import adapt_argv, pretrain_argv

    m, d, t = rc.parse_args(pretrain_argv(cfg, Path("m"), cuda=False) + ["--bf16", "false"])
    assert t.output_dir == "m" and set(d.data) == {str(cfg.resolve(f)) for f in cfg.train_files}
    # every variant's tokenizer options reach `tradefm train` as they are in the profile
    for options in cfg.variants.values():
        m, d, t = rc.parse_args(pretrain_argv(cfg, Path("m"), False, options) + ["--bf16", "false"])
        assert (d.json_option("tokenizer_options") or {}) == options
    m, d, t = rc.parse_args(adapt_argv(cfg, Path("m"), Path("p.csv"), Path("a"), cuda=False) + ["--bf16", "false"])
    assert m.model_name_or_path == "m" and m.config_overrides is None and not t.load_best_model_at_end
    assert d.data == ["p.csv"] and d.val_mode == "none" and t.max_steps == cfg.adapt_steps


def test_profile_overrides_and_bad_files(tmp_path):
    assert DemoConfig.load("quick", rollouts=3, events=None).rollouts == 3
    assert DemoConfig.load("quick").events == DemoConfig.load("quick", events=None).events
    bad = tmp_path / "bad.yaml"
    bad.write_text("rollouts: 2\nrolouts: 3\n")
    with pytest.raises(DataError, match="rolouts") as err:
        DemoConfig.load(str(bad))
    assert str(bad) in str(err.value)
    with pytest.raises(DataError, match="no such demo profile"):
        DemoConfig.load("nope")
    assert {p.stem for p in PROFILES_DIR.glob("*.yaml")} >= {"quick", "long", "gpu"}


def test_paths_resolve_in_the_current_folder_then_among_the_shipped_files(tmp_path, monkeypatch):
    from modeling_tradefm.resources import resource_root

    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.csv").write_text("x")
    cfg = tmp_path / "my.yaml"
    cfg.write_text("heldout_file: mine.csv\nrollouts: 2\n")
    c = DemoConfig.load(str(cfg))
    assert c.resolve(c.heldout_file) == tmp_path / "mine.csv"  # the user's file, in the current folder
    # a profile's repository-relative names are the package's files, whatever the current folder
    assert c.resolve(c.train_config) == resource_root() / "configs" / "train" / "demo_cpu.yaml"
    assert c.resolve(c.train_files[0]).is_relative_to(resource_root() / "data" / "samples")
    with pytest.raises(DataError, match="nor among the package's files") as err:
        c.resolve("nowhere.csv")
    assert str(err.value).startswith("nowhere.csv: not found in the current folder")


def _d(ks, w1):
    return {"ks": ks, "w1": w1}


def _metrics(tfm_ret, tfm_spread):
    q = lambda r, s: {"log_return_10s": _d(*r), "spread": _d(*s), "inter_arrival": _d(0.1, 0.2),  # noqa: E731
                      "order_size": _d(0.1, 0.2), "price_depth": _d(0.1, 0.2)}
    return {"distances": {"TradeFM": q(tfm_ret, tfm_spread), "Hawkes": q((0.3, 0.5), (0.4, 0.6)),
                          "ZI": q((0.2, 0.4), (0.1, 0.2))},
            "noise_floor": q((0.05, 0.1), (0.05, 0.1))}


def test_quality_verdict_known_answers():
    assert quality_verdict(_metrics((0.1, 0.2), (0.3, 0.5)))["met"] == {"TradeFM": True}
    # below Hawkes but not ZI on returns
    v = quality_verdict(_metrics((0.25, 0.3), (0.3, 0.5)))
    assert v["met"] == {"TradeFM": False} and "ZI 0.200 (above by 0.050)" in v["lines"][0]
    # returns fine, spread W1 not below Hawkes
    assert quality_verdict(_metrics((0.1, 0.2), (0.3, 0.7)))["met"] == {"TradeFM": False}
    # a missing distance (None, or NaN from too few samples) never counts as met
    assert quality_verdict(_metrics((None, 0.2), (0.3, 0.5)))["met"] == {"TradeFM": False}
    v = quality_verdict(_metrics((float("nan"), 0.2), (0.3, 0.5)))
    assert v["met"] == {"TradeFM": False} and "nan" not in v["lines"][0] and "n/a" in v["lines"][0]


def test_summary_table_rows_and_format():
    rows = summary_table(_metrics((0.1, 0.2), (0.3, 0.5)))
    assert [r["source"] for r in rows] == ["TradeFM", "Hawkes", "ZI", "noise floor (real vs real)"]
    assert rows[1]["log_return_10s"] == (0.3, 0.5) and rows[3]["spread"] == (0.05, 0.1)
    text = format_table(rows)
    assert "0.300 / 0.500" in text and text.splitlines()[1].startswith("source")
    rows = summary_table(_metrics((float("nan"), 0.2), (0.3, 0.5)))
    assert rows[0]["log_return_10s"] == (None, 0.2) and "n/a / 0.200" in format_table(rows)


def test_demo_end_to_end_shrunken(tmp_path):
    """The whole demo with every size cut down (a few steps, short rollouts): the artefacts and their wiring."""
    from modeling_tradefm.demo import run_demo

    cfg = DemoConfig.load("quick", rollouts=2, events=300)
    cfg.train_overrides = {"max_steps": 3, "eval_steps": 3, "save_steps": 3,
                           "dataset_cache_dir": str(tmp_path / "cache")}
    cfg.adapt_steps, cfg.n_boot = 2, 5
    summary = run_demo(cfg, tmp_path / "out")
    out = tmp_path / "out"
    m = json.loads((out / "report" / "metrics.json").read_text())
    tradefm = ["TradeFM-book", "TradeFM-book-adapted", "TradeFM-paper", "TradeFM-paper-adapted"]
    assert list(m["distances"]) == [*tradefm, "Hawkes", "ZI"]
    for name in [*tradefm, "Hawkes", "ZI"]:
        meta = json.loads((out / "rollouts" / name.lower() / "meta.json").read_text())
        assert meta["start_ts_ns"] == summary["heldout"]["start_ts_ns"] and len(meta["results"]) == 2
    # every generator started from the prefix file's last event
    assert summary["heldout"]["prefix_events"] == meta["prefix_events"]
    commands = (out / "commands.sh").read_text()
    assert commands.count("tradefm generate") == 6 and "--after-prefix" in commands
    assert commands.count("tradefm train") == 4
    # the default (first) variant is the book-aware model, in model/ and model-adapted/
    for folder, fields in (("model", ["spread", "imbalance"]), ("model-adapted", ["spread", "imbalance"]),
                           ("model-paper", []), ("model-paper-adapted", [])):
        tok = json.loads((out / folder / "config.json").read_text())["tokenizer_config"]
        assert list(tok.get("book_fields") or []) == fields, folder
    assert (out / "model" / "model.safetensors").is_file()
    assert len(summary["table"]) == 7 and set(summary["quality_target"]["met"]) == set(tradefm)
    _check_commands_run_elsewhere(out, tmp_path / "moved")


def _check_commands_run_elsewhere(out, moved):
    """commands.sh names no path of the machine that wrote it, and its lines re-run in a copy elsewhere."""
    import shutil
    import subprocess
    import sys

    from modeling_tradefm.resources import resource_root

    text = (out / "commands.sh").read_text()
    assert str(out) not in text and str(resource_root()) not in text
    assert '--data "$TRADEFM_ROOT"/data/samples/lobster/AAPL_2012-06-21' in text
    subprocess.run(["bash", "-n", str(out / "commands.sh")], check=True)
    lines = text.splitlines()
    header = [ln for ln in lines if not ln.startswith("tradefm ")]
    fit = next(ln for ln in lines if ln.startswith("tradefm fit-baseline zi"))
    gen = next(ln for ln in lines if ln.startswith("tradefm generate --model baselines/zi"))
    # the ZI fit (on the prefix file in data/) and its rollouts (from the shipped AAPL sample), re-run from a
    # copy of the folder: the same baseline and byte-identical rollout files
    shutil.copytree(out / "data", moved / "data")
    shim = f'tradefm() {{ "{sys.executable}" -m modeling_tradefm.cli "$@"; }}'
    (moved / "rerun.sh").write_text("\n".join([*header, shim, fit, gen]) + "\n")
    # the checkout under test, not whichever copy of the package an editable install points at
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    subprocess.run(["bash", str(moved / "rerun.sh")], check=True, cwd="/", capture_output=True, env=env)
    rerun, first = (json.loads((d / "baselines/zi/baseline.json").read_text()) for d in (moved, out))
    # the provenance names the file as the command line did (relative here, absolute in the demo)
    assert rerun["fitted_on"].pop("files") == ["data/" + Path(first["fitted_on"].pop("files")[0]).name]
    assert rerun == first
    for f in sorted((out / "rollouts/zi").glob("rollout_*.mbo.csv.zst")):
        assert (moved / "rollouts/zi" / f.name).read_bytes() == f.read_bytes(), f.name
