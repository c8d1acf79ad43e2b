# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""``tradefm demo``: the whole pipeline on the embedded real samples, in minutes on a CPU.

Protocol (every choice below is a field of :class:`DemoConfig`, set by ``configs/demo/*.yaml``):

1. **Ingest** the samples of ``data/samples/`` (Databento MBO CSV of CME ES, LOBSTER AMZN and AAPL)
   and print each file's record accounting.
2. **Pre-train** TradeFM on the ES and AMZN sessions with ``tradefm train`` (the tokenizer is
   calibrated on them and frozen), once per *variant* (``DemoConfig.variants``): by default the
   book-aware model (spread in ticks and L1 imbalance in the context, ``tokenization_tradefm``'s
   ``book_fields``), the demo's default, and the paper's features. The AAPL session is never in
   pre-training.
3. **Held-out prefix**: the AAPL session (NASDAQ, 2012-06-21 09:30–10:30 New York) up to
   ``start`` (09:45) is the real prefix every generator starts from; what followed it is the real
   flow the rollouts are compared with (``tradefm evaluate --after-prefix``).
4. **Baselines** (Compound Hawkes, zero-intelligence) are fitted on that prefix: a classical
   model has no way to transfer across instruments, so it gets the instrument's own recent flow —
   the same information TradeFM sees as its conditioning context.
5. **TradeFM, two ways** (each variant): *zero-shot* (the pre-trained model, AAPL only in its
   context) and *prefix-adapted* (the pre-trained model fine-tuned for ``adapt_steps`` on the
   prefix — the data the baselines were fitted on, nothing after the rollout start). The held-out session's
   liquidity tier comes from the features' estimator, as for any new instrument: the prefix's
   volume scaled to a full session by the intraday volume profile (``features`` module docstring);
   no tier is pinned.
6. **Rollouts** of all four generators from the same prefix, in the same simulator, with the same
   seeds; **evaluation** (K-S and normalised W1 with bootstrap intervals, real-vs-real noise
   floor, stylized facts, plots) into ``report/``.

Every step runs the same code as the public command line; ``commands.sh`` in the output folder
lists the equivalent commands, with paths relative to that folder and the package's shipped files
under ``$TRADEFM_ROOT``, so ``cd demo_out && bash commands.sh`` re-runs them on any machine. The demo uses a GPU when torch sees one (training and rollouts).
It needs no clone of the repository: profiles, training configs and samples are package data
(:mod:`modeling_tradefm.resources`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import DataError
from .resources import load_config_file, resource, resource_root
from .sampling import SamplingConfig

PROFILES_DIR = resource("configs/demo")
#: the book-aware tokenizer options (``tradefm train --tokenizer_options``)
BOOK_AWARE = {"book_fields": ["spread", "imbalance"], "price_reference": "vwap"}
_SAMPLING = SamplingConfig()  # the package's sampling defaults
# The demo's steps, in order (``run_demo(stop_after=...)``, ``tradefm demo --stop-after``).
STEPS = ("ingest", "pretrain", "adapt", "baselines", "rollouts", "evaluate")


@dataclass
class DemoConfig:
    """One demo run.

    Paths: absolute, or relative to the current folder, else to the package's shipped files
    (``configs/...``, ``data/samples/...``: the repository's layout, in a clone or an installed wheel;
    see :mod:`modeling_tradefm.resources`), in that order.

    Attributes:
        train_files: pre-training data (never the held-out session).
        heldout_file: the held-out session's file; its prefix conditions every generator.
        start, tz: rollout start as wall-clock time in ``tz`` (the prefix ends there).
        train_config: ``tradefm train`` (``run_clm_tradefm.py``) config file for pre-training.
        train_overrides: extra ``tradefm train`` flags (``{"max_steps": 50}``), for every variant.
        variants: the TradeFM models pre-trained (and adapted): ``{name: tokenizer options}``
            (``tradefm train --tokenizer_options``; empty = the paper's features). The first is the
            demo's default model, in ``model/`` and ``model-adapted/``; another one NAME goes to
            ``model-NAME/`` and ``model-NAME-adapted/``. Sources ``TradeFM-NAME`` and
            ``TradeFM-NAME-adapted``.
        adapt_steps: fine-tuning steps on the prefix (0 = no prefix-adapted model).
        adapt_learning_rate: its learning rate.
        rollouts, events: rollouts per generator and events (steps) per rollout.
        seed: rollout seed (the same for every generator).
        temperature, top_p, repetition_penalty: TradeFM sampling.
        cancel_rule: the simulator's rule for id-less generated cancels (``generate --cancel-rule``),
            the same for every generator.
        hawkes_maxiter: L-BFGS-B iteration cap of the Hawkes fit.
        n_boot: bootstrap resamples per distance.
        threads: torch CPU threads while decoding (1 is fastest for small models; 0 = torch's).
    """

    train_files: list[str] = field(default_factory=lambda: [
        "data/samples/databento/esh4-glbx-mdp3-20231225.mbo.csv.zst",
        "data/samples/lobster/AMZN_2012-06-21_34200000_57600000_message_1.csv.zst",
    ])
    heldout_file: str = "data/samples/lobster/AAPL_2012-06-21_34200000_37800000_message_50.csv.zst"
    start: str = "09:45:00"
    tz: str = "America/New_York"
    train_config: str = "configs/train/demo_cpu.yaml"
    train_overrides: dict = field(default_factory=dict)
    variants: dict = field(default_factory=lambda: {"book": dict(BOOK_AWARE), "paper": {}})
    adapt_steps: int = 150
    adapt_learning_rate: float = 5e-4
    rollouts: int = 8
    events: int = 6000
    seed: int = 0
    temperature: float = _SAMPLING.temperature
    top_p: float = _SAMPLING.top_p
    repetition_penalty: float = _SAMPLING.repetition_penalty
    cancel_rule: str = "newest"
    hawkes_maxiter: int = 5000
    n_boot: int = 100
    threads: int = 1

    @classmethod
    def load(cls, profile_or_path: str, **overrides) -> DemoConfig:
        """A profile name (``configs/demo/<name>.yaml``) or a YAML file, then keyword overrides (None = keep)."""
        path = Path(profile_or_path)
        if not path.suffix:
            path = PROFILES_DIR / f"{profile_or_path}.yaml"
        if not path.is_file():
            known = sorted(p.stem for p in PROFILES_DIR.glob("*.yaml")) if PROFILES_DIR.is_dir() else []
            raise DataError(path, f"no such demo profile or config file (profiles: {', '.join(known) or 'none'})")
        values = load_config_file(path, {f.name for f in dataclasses.fields(cls)})
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def resolve(self, path: str | os.PathLike) -> Path:
        """``path`` as a file: absolute, else under the current folder, else among the shipped files.

        Raises:
            DataError: found in neither place.
        """
        p = Path(path)
        if p.is_absolute():
            return p
        for candidate in (Path.cwd() / p, resource(p)):
            if candidate.exists():
                return candidate
        raise DataError(path, f"not found in the current folder ({Path.cwd()}) nor among the package's files "
                              f"({resource_root()})")


class _Steps:
    """Numbered steps with wall-clock timings (printed and kept for demo.json)."""

    def __init__(self, total: int):
        self.total, self.k, self.timings = total, 0, {}
        self._t0 = time.perf_counter()

    def __call__(self, name: str):
        self.k += 1
        print(f"\n[{self.k}/{self.total}] {name}", flush=True)
        return _Timer(self, name)

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self._t0


class _Timer:
    def __init__(self, steps: _Steps, name: str):
        self.steps, self.name = steps, name

    def __enter__(self):
        self.t = time.perf_counter()

    def __exit__(self, *exc):
        seconds = time.perf_counter() - self.t
        self.steps.timings[self.name] = round(seconds, 1)
        if exc[0] is None:
            print(f"    done in {seconds:.0f} s", flush=True)


def _cli(argv: list[str], commands: list[list[str]]) -> None:
    """Run a ``tradefm`` sub-command in-process (the demo runs exactly the public CLI); ``commands`` gets its argv."""
    from .cli import main

    commands.append(["tradefm", *argv])
    rc = main(argv)
    if rc:
        raise SystemExit(f"error: demo step `tradefm {argv[0]}` failed (exit status {rc})")


def _train(argv: list[str], commands: list[list[str]]) -> dict:
    """Run ``tradefm train`` in-process; returns its metrics."""
    from .training import main

    commands.append(["tradefm", "train", *argv])
    return main(argv)


def _ingest(cfg: DemoConfig) -> dict:
    """Read every sample once and print its accounting (records = used + skipped)."""
    from .io import read_file

    out = {}
    for f in [*cfg.train_files, cfg.heldout_file]:
        path = cfg.resolve(f)
        rep = read_file(path).report
        role = "held out" if f == cfg.heldout_file else "train"
        skipped = sum(rep.skipped.values())
        print(f"    {role:8s} {path.name}: {rep.records:,} records = {rep.used:,} used + {skipped:,} skipped "
              f"-> {rep.events:,} events", flush=True)
        out[path.name] = {"role": role, "records": rep.records, "used": rep.used, "skipped": dict(rep.skipped),
                          "events": rep.events}
    return out


def _write_prefix(cfg: DemoConfig, out: Path) -> tuple[Path, dict]:
    """The held-out session's events before the start, as a Databento MBO CSV (what the baselines fit on)."""
    from .io import read_events, write_mbo_csv
    from .prefix import parse_clock, select_prefix

    path = cfg.resolve(cfg.heldout_file)
    events = read_events(path, progress=False)
    session, prefix, start_ns = select_prefix(events, parse_clock(cfg.start), cfg.tz, str(path))
    target = out / "data" / f"{session.symbol}_{session.date}_prefix_until_{cfg.start.replace(':', '')}.mbo.csv.zst"
    target.parent.mkdir(parents=True, exist_ok=True)
    write_mbo_csv(prefix, target)
    after = len(session.events) - len(prefix)
    info = {"symbol": session.symbol, "date": session.date, "prefix_events": len(prefix),
            "continuation_events": after, "start_ts_ns": int(start_ns), "file": str(target)}
    print(f"    {session.symbol} {session.date}: {len(prefix):,} events before {cfg.start} {cfg.tz} (prefix), "
          f"{after:,} after (the real continuation)", flush=True)
    return target, info


def _device_flags(cuda: bool) -> list[str]:
    return ["--use_cpu", "false"] if cuda else ["--use_cpu", "true"]


def pretrain_argv(cfg: DemoConfig, model_dir: Path, cuda: bool, tokenizer_options: dict | None = None) -> list[str]:
    """``tradefm train`` arguments of the pre-training step (``tokenizer_options``: a variant's, see ``variants``)."""
    argv = [str(cfg.resolve(cfg.train_config)), "--data", *[str(cfg.resolve(f)) for f in cfg.train_files],
            "--output_dir", str(model_dir), "--log_level", "warning", *_device_flags(cuda)]
    if tokenizer_options:
        argv += ["--tokenizer_options", json.dumps(tokenizer_options, separators=(",", ":"))]
    for key, value in cfg.train_overrides.items():
        argv += [f"--{key}", str(value)]
    return argv


def variant_dirs(cfg: DemoConfig, out: Path) -> dict[str, tuple[Path, Path]]:
    """``{variant: (pre-trained folder, adapted folder)}``: the first variant in ``model/``, ``model-adapted/``."""
    dirs = {}
    for i, name in enumerate(cfg.variants):
        stem = "model" if i == 0 else f"model-{name}"
        dirs[name] = (out / stem, out / f"{stem}-adapted")
    return dirs


def shell_command(argv: list[str], out: Path) -> str:
    """One line of ``commands.sh``: paths inside ``out`` relative to it, shipped files under ``$TRADEFM_ROOT``.

    The demo passes absolute paths to the commands it runs; written as they are, ``commands.sh``
    would only run on the machine that wrote it. An argument holding such a path (alone or as
    ``NAME=PATH``) is rewritten; any other path (a user's own file elsewhere) stays absolute.
    """
    bases = [(str(Path(out).resolve()), None), (str(resource_root().resolve()), '"$TRADEFM_ROOT"')]
    words = []
    for arg in argv:
        for base, var in bases:
            m = re.search(re.escape(base) + r"(?=/|$)", arg)
            if m is None:
                continue
            head, tail = arg[: m.start()], arg[m.end():]
            if var is None:  # inside the output folder: relative to it
                words.append(shlex.quote(head + (tail.lstrip("/") or ".")))
            else:
                words.append((shlex.quote(head) if head else "") + var + (shlex.quote(tail) if tail else ""))
            break
        else:
            words.append(shlex.quote(arg))
    return " ".join(words)


COMMANDS_HEADER = """#!/usr/bin/env bash
# The demo's steps as public commands. Paths are relative to this folder; the package's shipped
# files (configs/, data/samples/) are under $TRADEFM_ROOT (default: where the installed package has them).
set -e
cd "$(dirname "$0")"
TRADEFM_ROOT="${TRADEFM_ROOT:-$(python -c 'from modeling_tradefm.resources import resource_root; print(resource_root())')}"
"""


def adapt_argv(cfg: DemoConfig, model_dir: Path, prefix_file: Path, out_dir: Path, cuda: bool) -> list[str]:
    """``tradefm train`` arguments of the prefix adaptation (fine-tuning ``model_dir`` on the prefix)."""
    return [str(cfg.resolve(cfg.train_config)), "--model_name_or_path", str(model_dir),
            # the pre-training file's architecture overrides and best-checkpoint selection do not
            # apply: the architecture comes from the checkpoint, and there is no validation data
            # before the rollout start that is not also the adaptation data
            "--config_overrides", "", "--load_best_model_at_end", "false",
            "--data", str(prefix_file), "--val_mode", "none", "--eval_strategy", "no",
            "--max_steps", str(cfg.adapt_steps), "--learning_rate", str(cfg.adapt_learning_rate),
            "--output_dir", str(out_dir), "--log_level", "warning", *_device_flags(cuda)]


class _DemoRun:
    """One run's state; each method is one step of :data:`STEPS`, in order, filling ``summary``."""

    def __init__(self, cfg: DemoConfig, out: Path, cuda: bool, n_steps: int):
        self.cfg, self.out, self.cuda = cfg, out, cuda
        self.device = "cuda" if cuda else "cpu"
        self.steps = _Steps(n_steps)
        self.commands: list[list[str]] = []
        self.summary: dict = {}
        self.prefix_file: Path | None = None
        self.model_dirs: dict[str, Path] = {}
        self.baselines: dict[str, Path] = {}
        self.rollout_dirs: dict[str, Path] = {}
        self.metrics: dict | None = None

    def ingest(self) -> None:
        with self.steps("ingest the embedded real samples"):
            self.summary["ingest"] = _ingest(self.cfg)
            self.prefix_file, self.summary["heldout"] = _write_prefix(self.cfg, self.out)

    def pretrain(self) -> None:
        cfg = self.cfg
        names = ", ".join(cfg.variants)
        with self.steps(f"pre-train TradeFM ({names}) on {len(cfg.train_files)} sessions (held-out session excluded)"):
            for name, (model_dir, _) in variant_dirs(cfg, self.out).items():
                opts = cfg.variants[name]
                print(f"    TradeFM-{name}: {json.dumps(opts) if opts else 'the paper features'}", flush=True)
                argv = pretrain_argv(cfg, model_dir, self.cuda, cfg.variants[name])
                self.summary.setdefault("train_metrics", {})[name] = _train(argv, self.commands)
                self.model_dirs[f"TradeFM-{name}"] = model_dir

    def adapt(self) -> None:
        cfg = self.cfg
        if not cfg.adapt_steps:
            return
        with self.steps(f"adapt TradeFM to the prefix ({cfg.adapt_steps} steps; nothing after the rollout start)"):
            for name, (model_dir, adapted) in variant_dirs(cfg, self.out).items():
                argv = adapt_argv(cfg, model_dir, self.prefix_file, adapted, self.cuda)
                self.summary.setdefault("adapt_metrics", {})[name] = _train(argv, self.commands)
                self.model_dirs[f"TradeFM-{name}-adapted"] = adapted

    def fit_baselines(self) -> None:
        with self.steps("fit the Compound Hawkes and zero-intelligence baselines on the prefix"):
            self.baselines = {"Hawkes": self.out / "baselines" / "hawkes", "ZI": self.out / "baselines" / "zi"}
            prefix = str(self.prefix_file)
            _cli(["fit-baseline", "hawkes", "--data", prefix, "-o", str(self.baselines["Hawkes"]),
                  "--maxiter", str(self.cfg.hawkes_maxiter), "--quiet"], self.commands)
            _cli(["fit-baseline", "zi", "--data", prefix, "-o", str(self.baselines["ZI"]), "--quiet"], self.commands)

    def roll_out(self) -> None:
        cfg = self.cfg
        with self.steps(f"roll out every generator: {cfg.rollouts} x {cfg.events:,} events from the same prefix"):
            order = [f"TradeFM-{v}{suffix}" for v in cfg.variants for suffix in ("", "-adapted")]
            models = [(n, self.model_dirs[n]) for n in order if n in self.model_dirs]
            for name, path in [*models, *self.baselines.items()]:
                folder = self.out / "rollouts" / name.lower()
                t0 = time.perf_counter()
                _cli(self._generate_argv(name, path, folder), self.commands)
                self.rollout_dirs[name] = folder
                self.summary.setdefault("rollouts", {})[name] = _rollout_summary(folder, time.perf_counter() - t0)

    def _generate_argv(self, name: str, model: Path, folder: Path) -> list[str]:
        cfg = self.cfg
        argv = ["generate", "--model", str(model), "--data", str(cfg.resolve(cfg.heldout_file)),
                "--start", cfg.start, "--tz", cfg.tz, "--events", str(cfg.events),
                "--rollouts", str(cfg.rollouts), "--seed", str(cfg.seed), "--cancel-rule", cfg.cancel_rule,
                "-o", str(folder)]
        if name.startswith("TradeFM"):
            argv += ["--temperature", str(cfg.temperature), "--top-p", str(cfg.top_p),
                     "--repetition-penalty", str(cfg.repetition_penalty), "--device", self.device]
            if cfg.threads and not self.cuda:
                argv += ["--threads", str(cfg.threads)]
        return argv

    def evaluate(self) -> None:
        from .evaluation.folders import evaluate_folders
        from .evaluation.series import EvalConfig

        cfg = self.cfg
        with self.steps("evaluate against the real continuation"):
            report_dir = self.out / "report"
            h = self.summary["heldout"]
            title = f"TradeFM demo: held-out {h['symbol']} {h['date']} after {cfg.start} {cfg.tz}"
            heldout = cfg.resolve(cfg.heldout_file)
            argv = ["evaluate", "--real", str(heldout), "--after-prefix",
                    "--n-boot", str(cfg.n_boot), "-o", str(report_dir), "--title", title]
            for name, folder in self.rollout_dirs.items():
                argv += ["--generated", f"{name}={folder}"]
            self.commands.append(["tradefm", *argv])
            paths = evaluate_folders([heldout], list(self.rollout_dirs.items()), report_dir,
                                     EvalConfig(n_boot=cfg.n_boot), after_prefix=True, title=title)
            self.metrics = paths["metrics_dict"]
            self.summary["report"] = str(report_dir / "report.html")

    def finish(self) -> None:
        """Write ``commands.sh`` and ``demo.json``; print the table and the verdict when the run was evaluated."""
        out, summary = self.out, self.summary
        summary["timings_s"] = {**self.steps.timings, "total": round(self.steps.elapsed, 1)}
        if self.metrics is not None:
            summary["table"] = summary_table(self.metrics)
            summary["quality_target"] = quality_verdict(self.metrics)
        (out / "commands.sh").write_text(COMMANDS_HEADER + "".join(shell_command(c, out) + "\n"
                                                                   for c in self.commands))
        (out / "demo.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
        if self.metrics is not None:
            print("\n" + format_table(summary["table"]))
            for line in summary["quality_target"]["lines"]:
                print(line)
            print(f"\nreport: {summary['report']} (also report.md, metrics.json, plots)")
        print(f"total {self.steps.elapsed / 60:.1f} min; steps as commands: {out / 'commands.sh'}")


def _rollout_summary(folder: Path, seconds_wall: float) -> dict:
    """Wall time, mean simulated time, events and void orders of one generator's rollouts (from meta.json)."""
    meta = json.loads((folder / "meta.json").read_text())
    seconds = [(r["end_ts_ns"] - meta["start_ts_ns"]) / 1e9 for r in meta["results"] if r.get("end_ts_ns")]
    return {"seconds_wall": round(seconds_wall, 1),
            "simulated_seconds_mean": round(sum(seconds) / max(len(seconds), 1), 1),
            "events": sum(r["events"] for r in meta["results"]), "void_total": meta["void_total"]}


def run_demo(cfg: DemoConfig, out_dir: str | os.PathLike, stop_after: str | None = None) -> dict:
    """Run the demo into ``out_dir``; returns the summary written to ``demo.json``.

    Args:
        cfg: the run's settings.
        out_dir: output folder (created).
        stop_after: the last of :data:`STEPS` to run (default: all); the summary then holds the
            steps that ran.
    """
    import torch

    if stop_after is not None and stop_after not in STEPS:
        raise ValueError(f"stop_after must be one of {STEPS}, got {stop_after!r}")
    for f in [*cfg.train_files, cfg.heldout_file, cfg.train_config]:
        cfg.resolve(f)  # a missing file fails now, not after minutes of training
    out = Path(out_dir).resolve()  # commands.sh names every path inside it relative to it
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    steps = [s for s in STEPS[: STEPS.index(stop_after or STEPS[-1]) + 1] if s != "adapt" or cfg.adapt_steps]
    run = _DemoRun(cfg, out, torch.cuda.is_available(), len(steps))
    run.summary.update({"config": dataclasses.asdict(cfg), "device": run.device, "torch": torch.__version__})
    print(f"TradeFM demo -> {out.resolve()}  (device: {run.device}, torch {torch.__version__})")
    actions = {"ingest": run.ingest, "pretrain": run.pretrain, "adapt": run.adapt, "baselines": run.fit_baselines,
               "rollouts": run.roll_out, "evaluate": run.evaluate}
    for step in steps:
        actions[step]()
    if stop_after not in (None, STEPS[-1]):
        print(f"\nstopped after the {stop_after} step (--stop-after)")
    run.finish()
    return run.summary


# ---- summary -------------------------------------------------------------------------------------
TABLE_QUANTITIES = (("log_return_10s", "10 s returns"), ("spread", "spread"), ("inter_arrival", "inter-arrival"),
                    ("order_size", "order size"), ("price_depth", "price depth"))


def summary_table(metrics: dict) -> list[dict]:
    """Rows ``{source, <quantity>: (K-S, W1)}``: the generators, then the real-vs-real noise floor."""
    rows = []
    sources = list(metrics["distances"]) + ["noise floor (real vs real)"]
    for src in sources:
        d = metrics["noise_floor"] if src.startswith("noise floor") else metrics["distances"][src]
        row = {"source": src}
        for q, _ in TABLE_QUANTITIES:
            row[q] = (_num(d.get(q, {}).get("ks")), _num(d.get(q, {}).get("w1")))
        rows.append(row)
    return rows


def _num(x):
    """A finite float, or None (too few samples for a distance give NaN)."""
    return None if x is None or not math.isfinite(float(x)) else float(x)


def format_table(rows: list[dict]) -> str:
    """The short table the demo prints: K-S / W1 per quantity, lower is closer to real."""
    head = ["source"] + [label for _, label in TABLE_QUANTITIES]
    body = [[r["source"]] + [_pair(r[q]) for q, _ in TABLE_QUANTITIES] for r in rows]
    widths = [max(len(x) for x in col) for col in zip(head, *body, strict=True)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))  # noqa: E731
    return "\n".join(["K-S / W1 vs the real continuation (lower = closer)", line(head),
                      line(["-" * w for w in widths]), *map(line, body)])


def _pair(v) -> str:
    ks, w1 = v
    f = lambda x: "n/a" if x is None else f"{x:.3f}"  # noqa: E731
    return f"{f(ks)} / {f(w1)}"


def quality_verdict(metrics: dict) -> dict:
    """The issue's target: TradeFM's K-S and W1 on 10 s returns below both baselines', spreads closer than Hawkes."""
    d = metrics["distances"]
    lines, met = [], {}
    for tfm in [s for s in d if s.startswith("TradeFM")]:
        r = d[tfm]["log_return_10s"]
        checks = []
        for base in ("Hawkes", "ZI"):
            if base in d:
                b = d[base]["log_return_10s"]
                checks.append(_below(r["ks"], b["ks"]) and _below(r["w1"], b["w1"]))
        if "Hawkes" in d:
            s, h = d[tfm]["spread"], d["Hawkes"]["spread"]
            checks.append(_below(s["ks"], h["ks"]) and _below(s["w1"], h["w1"]))
        met[tfm] = all(checks) if checks else None
        gap = {base: _gap(r["ks"], d[base]["log_return_10s"]["ks"]) for base in ("Hawkes", "ZI") if base in d}
        lines.append(f"quality target ({tfm}): {'MET' if met[tfm] else 'NOT MET'} — 10 s return K-S "
                     f"{_fmt(r['ks'])} vs " + ", ".join(f"{b} {_fmt(d[b]['log_return_10s']['ks'])} ({g})"
                                                       for b, g in gap.items()))
    return {"met": met, "lines": lines}


def _below(a, b) -> bool:
    a, b = _num(a), _num(b)
    return a is not None and b is not None and a < b


def _gap(a, b) -> str:
    a, b = _num(a), _num(b)
    if a is None or b is None:
        return "n/a"
    return f"{'below' if a < b else 'above'} by {abs(a - b):.3f}"


def _fmt(x) -> str:
    x = _num(x)
    return "n/a" if x is None else f"{x:.3f}"


__all__ = ["DemoConfig", "format_table", "quality_verdict", "run_demo", "summary_table"]
