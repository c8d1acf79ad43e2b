#!/usr/bin/env python
# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Breakage check: does the default test suite fail when the package is deliberately broken?

Each entry of :data:`BREAKAGES` is one plausible bug — a wrong sign, a swapped side, a dropped
input, a swapped source, a constant statistic, a wrong unit, an off-by-one — written as an exact
text edit of one file, with the test files that are expected to catch it. For each, the working
tree is copied to a temporary folder (without ``.git``), the edit applied there, and pytest run
on the named test files with the repository's DEFAULT options (``addopts`` of pyproject.toml:
``-m 'not slow and not gpu'``). The breakage is *caught* when at least one test fails or errors.

The copy sits in a fresh temporary folder, so there is no ``../shared`` beside it and
``TRADEFM_REAL_DATA`` is removed from the environment (unless ``--real-data`` is given): the tests
run on the embedded samples, as on a fresh clone.

A pattern that no longer occurs exactly once in the current code is an error, not a silent pass:
the check refuses to run until the table is updated. Before the breakages, the unbroken copy runs
the same test files (``--no-baseline`` skips that): a test that already fails would make every
breakage look caught.

Usage (from the repository root; one run at a time, it is CPU-heavy)::

    python .ci/mutations.py                     # every breakage, Markdown table on stdout
    python .ci/mutations.py --only 1_proposer_side_swap --only 3_zi_uniform_types
    python .ci/mutations.py --json mutations.json --list

Exit status: 0 when every breakage run was caught; 1 when one was not; 2 for a stale pattern, a
breakage that does not compile, or a baseline failure.
"""

from __future__ import annotations

import argparse
import ast
import datetime as _dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = "modeling_tradefm"

KINDS = ("wrong sign", "swapped side", "dropped input", "swapped source", "constant statistic", "wrong unit",
         "off by one")


@dataclass(frozen=True)
class Breakage:
    """One deliberate bug: exact ``(old, new)`` edits of ``file``, expected to fail one of ``tests``."""

    name: str
    kind: str
    part: str
    file: str
    edits: tuple[tuple[str, str], ...]
    tests: tuple[str, ...]
    what: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: unknown kind {self.kind!r} (one of {KINDS})")


def _b(name, kind, part, file, edits, tests, what) -> Breakage:
    edits = (edits,) if isinstance(edits[0], str) else edits
    return Breakage(name, kind, part, f"{PKG}/{file}", tuple(edits), tuple(f"tests/{t}" for t in tests), what)


# test files, by the part they claim to cover
PROPOSER = ("test_proposer_known_answer.py", "test_injection.py")
ROLLOUT = ("test_proposer_known_answer.py", "test_generation_tradefm.py", "test_injection.py")
EVAL = ("test_evaluation_negative_control.py", "test_evaluation_statistics.py")
BASE = ("test_baseline_rollout_rates.py", "test_baselines.py")
EXPORT = ("test_lobbench_export_provenance.py", "test_lobbench_export.py")
TRAIN = ("test_training_values.py",)
SIM = ("test_simulator.py", "test_cancel_rules.py")
RECON = ("test_lobster_truth.py", "test_book.py")
FEAT = ("test_features.py",)
TOK = ("test_tokenization_tradefm.py",)
BOOKCTX = ("test_book_context.py",)
LOBSTER_IO = ("test_io_lobster.py", "test_replay_oracle.py")

BREAKAGES: tuple[Breakage, ...] = (
    # ---- the five of issue 18 -------------------------------------------------------------------
    _b("1_proposer_side_swap", "swapped side", "proposer", "proposer_tradefm.py",
       ('side = np.where(np.asarray(dec["side"]) == 0, SIDE_BID, SIDE_ASK)',
        'side = np.where(np.asarray(dec["side"]) == 0, SIDE_ASK, SIDE_BID)'), ROLLOUT,
       "the TradeFM proposer submits a decoded buy as a sell and vice versa"),
    _b("2_eval_gen_vs_itself", "swapped source", "evaluation", "evaluation/report.py",
       ("distances[src][q] = compare(quantities[REAL].samples[q], quantities[src].samples[q],",
        "distances[src][q] = compare(quantities[src].samples[q], quantities[src].samples[q],"),
       EVAL + ("test_evaluation_report.py",), "every generated sample is compared with itself (distance 0)"),
    _b("3_zi_uniform_types", "constant statistic", "baselines", "baselines/zero_intelligence.py",
       ('stream = min(int(np.searchsorted(self._cum, rng.random(), side="right")), len(STREAMS) - 1)',
        'stream = min(int(rng.random() * len(STREAMS)), len(STREAMS) - 1)'), BASE,
       "ZI ignores its fitted rates and picks each of the six event types with probability 1/6"),
    _b("4_export_real_into_gen", "swapped source", "export", "evaluation/lobbench.py",
       (('(dirs["gen"] / f"{stem}_message_real_id_{rid}_gen_id_0.csv").write_text(_message_text(win.rows, dict(ids)))',
         '(dirs["gen"] / f"{stem}_message_real_id_{rid}_gen_id_0.csv").write_text(texts["real"][1])'),
        ('(dirs["gen"] / f"{stem}_orderbook_real_id_{rid}_gen_id_0.csv").write_text(_book_text(win.book))',
         '(dirs["gen"] / f"{stem}_orderbook_real_id_{rid}_gen_id_0.csv").write_text(texts["real"][2])')),
       EXPORT, "the LOB-Bench exporter writes the real continuation into data_gen"),
    _b("5_training_drops_context", "dropped input", "training", "training.py",
       ('MODEL_INPUTS = ["input_ids", "context_ids", "labels"]', 'MODEL_INPUTS = ["input_ids", "labels"]'),
       TRAIN + ("test_run_clm_tradefm.py",), "context_ids never reach the model in training"),
    # ---- proposer / rollout -----------------------------------------------------------------------
    _b("proposer_depth_sign", "wrong sign", "proposer", "proposer_tradefm.py",
       ("* (1.0 + np.asarray(price_depth, dtype=np.float64))", "* (1.0 - np.asarray(price_depth, dtype=np.float64))"),
       ROLLOUT, "price = mid·(1 − δp): a decoded δp is applied with the wrong sign"),
    _b("proposer_mid_source", "swapped source", "proposer", "proposer_tradefm.py",
       ('for name in ("vwap_mid", "mid"):', 'for name in ("mid", "vwap_mid"):'), PROPOSER,
       "δp measured from the quote midpoint instead of the EW-VWAP mid the features use"),
    _b("proposer_no_context_at_inference", "dropped input", "proposer", "proposer_tradefm.py",
       ("context_ids=ctx.to(self.device),", "context_ids=None,"), PROPOSER,
       "the rollout's model forward gets no context_ids"),
    _b("proposer_reencode_depth_sign", "wrong sign", "proposer", "proposer_tradefm.py",
       ("depth = (price - mids[rows]) / mids[rows]", "depth = (mids[rows] - price) / mids[rows]"), PROPOSER,
       "an order changed by the book (injected, filled market) is re-encoded with δp of the wrong sign"),
    _b("proposer_context_before_order", "swapped source", "proposer", "proposer_tradefm.py",
       ("level = mid_after / self.p_open - 1.0", "level = mids / self.p_open - 1.0"), PROPOSER,
       "the Δp context describes the mid before the order, not after it (training's rule)"),
    _b("proposer_dt_unit", "wrong unit", "proposer", "proposer_tradefm.py",
       ('np.asarray(dec["dt"], dtype=np.float64) * NS_PER_SECOND', 'np.asarray(dec["dt"], dtype=np.float64) * 1_000_000'),
       PROPOSER, "decoded Δt (seconds) turned into ns as if it were milliseconds"),
    _b("rollout_book_context_dropped", "dropped input", "book context", "proposer_tradefm.py",
       ("ctx[:, 3:] = self.tokenizer.book_context_ids(", "ctx[:, 3:] = 0 * self.tokenizer.book_context_ids("),
       BOOKCTX, "a book-aware rollout feeds the model bin 0 for spread and imbalance (training saw the book)"),
    _b("rollout_imbalance_side_swap", "swapped side", "book context", "proposer_tradefm.py",
       ("queue_imbalance(bid, ask, qb, qa))", "queue_imbalance(bid, ask, qa, qb))"), BOOKCTX,
       "the rollout's queue imbalance is (ask − bid)/(…), training's (bid − ask)/(…)"),
    _b("training_spread_imbalance_swapped", "swapped source", "book context", "tokenization_tradefm.py",
       ('values = {"spread": spread_ticks, "imbalance": imbalance}',
        'values = {"spread": imbalance, "imbalance": spread_ticks}'), BOOKCTX,
       "the spread column is binned from the imbalance and the imbalance column from the spread"),
    # ---- injection ------------------------------------------------------------------------------
    _b("injection_participant_dropped", "dropped input", "injection", "generation_tradefm.py",
       ("applied.participant[i] = 1", "applied.participant[i] = 0"), ("test_injection.py",),
       "an injected order enters the book and the context as background flow (participant 0)"),
    _b("injection_market_side_swap", "swapped side", "injection", "generation_tradefm.py",
       ("return MARKET_PRICE_BID if self.side == SIDE_BID else MARKET_PRICE_ASK",
        "return MARKET_PRICE_ASK if self.side == SIDE_BID else MARKET_PRICE_BID"), ("test_injection.py",),
       "an injected market buy is sent with the market-sell price sentinel"),
    _b("injection_time_source", "swapped source", "injection", "generation_tradefm.py",
       ("applied.dt_ns[i] = max(0, int(order.ts_ns) - int(clock[i]))",
        "applied.dt_ns[i] = max(0, int(proposed_ts[i]) - int(clock[i]))"), ("test_injection.py",),
       "an injected order is stamped at the replaced proposal's time, not its own"),
    # ---- evaluation -----------------------------------------------------------------------------
    _b("eval_real_vs_real", "swapped source", "evaluation", "evaluation/report.py",
       ("distances[src][q] = compare(quantities[REAL].samples[q], quantities[src].samples[q],",
        "distances[src][q] = compare(quantities[REAL].samples[q], quantities[REAL].samples[q],"), EVAL,
       "every source is scored as real against real"),
    _b("eval_w1_scaled_by_gen", "swapped source", "evaluation", "evaluation/distances.py",
       ("    mu, sd, _ = real_scale(real)\n    return _w1(", "    mu, sd, _ = real_scale(gen)\n    return _w1("),
       EVAL, "normalised W1 divides by the generated sample's std instead of the real one's"),
    _b("eval_noise_floor_same_half", "swapped source", "evaluation", "evaluation/report.py",
       ("floor[q] = compare(first.samples[q], second.samples[q],", "floor[q] = compare(first.samples[q], first.samples[q],"),
       EVAL, "the noise floor compares a half of the real data with itself (floor 0)"),
    _b("eval_kurtosis_constant", "constant statistic", "evaluation", "evaluation/stylized_facts.py",
       ("return float(stats.kurtosis(v))", "return 0.0"), EVAL + ("test_lobster_truth.py",),
       "excess kurtosis of returns is always 0"),
    _b("eval_abs_acf_of_raw_returns", "swapped source", "evaluation", "evaluation/stylized_facts.py",
       ('"acf_abs_returns": acf([np.abs(s) for s in segs], max_lag).tolist(),',
        '"acf_abs_returns": acf(segs, max_lag).tolist(),'), EVAL + ("test_lobster_truth.py",),
       "the volatility-clustering ACF is computed on signed returns, not |r|"),
    # ---- baselines ------------------------------------------------------------------------------
    _b("zi_constant_dt", "constant statistic", "baselines", "baselines/zero_intelligence.py",
       ("dt = rng.exponential(1.0 / total)", "dt = 1.0 / total"), BASE,
       "ZI inter-event times are the constant mean, not exponential"),
    _b("zi_marks_swapped", "swapped source", "baselines", "baselines/zero_intelligence.py",
       ("size = int(max(1, self.size_marks[kind].sample(rng)))",
        "size = int(max(1, self.size_marks[(kind + 1) % 3].sample(rng)))"), BASE,
       "ZI draws each order kind's size from another kind's distribution"),
    _b("zi_dt_unit", "wrong unit", "baselines", "baselines/zero_intelligence.py",
       ('out["dt_ns"][r] = max(int(round(dt * NS_PER_SECOND)), 1)', 'out["dt_ns"][r] = max(int(round(dt * 1_000_000)), 1)'),
       BASE, "ZI inter-event times in ms read as ns (1000× too fast)"),
    _b("hawkes_no_self_excitation", "dropped input", "baselines", "baselines/hawkes.py",
       ("                state.add(int(pending[3]))\n                continue", "                continue"), BASE,
       "the Hawkes intensity never adds the process's own events (no excitation)"),
    # ---- LOB-Bench export -----------------------------------------------------------------------
    _b("export_cond_from_continuation", "swapped source", "export", "evaluation/lobbench.py",
       ("cond_rows, cond_book, _ = _messages_and_book(prefix, None, date)",
        "cond_rows, cond_book, _ = _messages_and_book(continuation, None, date)"), EXPORT,
       "data_cond holds the real continuation instead of the conditioning prefix"),
    _b("export_continuation_repeats_last_prefix_record", "off by one", "export", "evaluation/lobbench.py",
       ("later = np.flatnonzero(candidates.ts_recv > last)", "later = np.flatnonzero(candidates.ts_recv >= last)"),
       EXPORT, "the real continuation starts with the prefix's last record(s) again"),
    # ---- training -------------------------------------------------------------------------------
    _b("builder_constant_context", "constant statistic", "training", "data/builder.py",
       ('        ctx = np.asarray(enc["context_ids"], np.int64)\n',
        '        ctx = np.zeros_like(np.asarray(enc["context_ids"], np.int64))\n'), TRAIN,
       "the dataset builder writes all-zero context_ids"),
    _b("model_ignores_context", "dropped input", "training", "modeling_tradefm.py",
       (("hidden = hidden + F.embedding(context_ids[..., i - 1], projected_table)",
         "hidden = hidden + 0 * F.embedding(context_ids[..., i - 1], projected_table)"),
        ("hidden = hidden + F.linear(rows, self.proj.weight[:, self.field_embed_dims[0] :].contiguous())",
         "hidden = hidden + 0 * F.linear(rows, self.proj.weight[:, self.field_embed_dims[0] :].contiguous())")),
       TRAIN + ("test_modeling_tradefm.py",), "the model's input embedding ignores the context fields"),
    _b("windows_labels_shifted", "off by one", "training", "data/windows.py",
       ("out_lab[: len(full_starts)] = out_ids[: len(full_starts)]",
        "out_lab[: len(full_starts), :-1] = out_ids[: len(full_starts), 1:]"), ("test_data_builder.py",) + TRAIN,
       "labels shifted by one in the windows while the loss shifts again (predicts t + 2)"),
    # ---- simulator / matching / reconciliation ---------------------------------------------------
    _b("match_worst_level_first", "wrong sign", "simulator", "_match_kernels.py",
       ("lslot = ss[opp, st[S_NLV_B + opp] - 1]", "lslot = ss[opp, 0]"), SIM + ("test_injection.py",),
       "a marketable order trades the deepest opposite level first (price priority reversed)"),
    _b("match_newest_order_first", "wrong sign", "simulator", "_match_kernels.py",
       (("            o = lvls[lslot, L_HEAD]\n            while rem > 0 and o >= 0:\n                nxt = ords[o, O_NEXT]",
         "            o = lvls[lslot, L_TAIL]\n            while rem > 0 and o >= 0:\n                nxt = ords[o, O_PREV]"),),
       SIM, "a marketable order fills the newest resting order of a level first (time priority reversed)"),
    _b("match_limit_at_touch_does_not_trade", "off by one", "simulator", "_match_kernels.py",
       ("if side == 0 and lp > price:", "if side == 0 and lp >= price:"), SIM,
       "a limit buy priced at the best ask rests instead of trading"),
    _b("replay_unknown_cancel_adds", "wrong sign", "simulator", "_book_kernels.py",
       ("short = _anon_change(ords, lvls, oh, lh, sk, ss, st, s, p, -q)",
        "short = _anon_change(ords, lvls, oh, lh, sk, ss, st, s, p, q)"), SIM + RECON,
       "a cancel of an order the book never saw adds its size to the level instead of removing it"),
    _b("replay_size_decrease_loses_priority", "off by one", "simulator", "_book_kernels.py",
       ("if p != ords[slot, O_PRICE] or s != ords[slot, O_SIDE] or q > have:",
        "if p != ords[slot, O_PRICE] or s != ords[slot, O_SIDE] or q >= have - 1:"), SIM,
       "a modify that shrinks an order by one share sends it to the back of the queue"),
    _b("reconcile_sides_swapped", "swapped side", "reconciliation", "_reconcile_kernels.py",
       ("pc = 2 if side == 0 else 0", "pc = 0 if side == 0 else 2"), RECON,
       "reconciliation reads the orderbook's ask columns for the bid side and vice versa"),
    _b("reconcile_exact_fit_removed", "off by one", "reconciliation", "_reconcile_kernels.py",
       ("if cut or q > room:", "if cut or q >= room:"), RECON,
       "an identified order that exactly fills the venue's level size is replaced by a synthetic one"),
    # ---- features / tokenizer -------------------------------------------------------------------
    _b("features_dt_unit", "wrong unit", "features", "_kernels.py",
       ("dt[i] = d / 1e9 if d > 0 else 0.0", "dt[i] = d / 1e6 if d > 0 else 0.0"), FEAT + TOK,
       "Δt in milliseconds where the tokenizer expects seconds"),
    _b("features_depth_sign", "wrong sign", "features", "_kernels.py",
       ("pd[i] = (price[i] * 1e-9 - m) / m", "pd[i] = (m - price[i] * 1e-9) / m"), FEAT + TOK,
       "δp = (mid − price)/mid"),
    _b("features_level_from_mid_before", "swapped source", "features", "_kernels.py",
       ("pl[i] = (mid_after[i] - p_open) / p_open", "pl[i] = (mid_before[i] - p_open) / p_open"), FEAT,
       "the Δp context uses the mid before the event (the model must see the mid after it)"),
    _b("features_side_swap", "swapped side", "features", "_kernels.py",
       ("sd01 = 0 if sd == _SIDE_B else 1", "sd01 = 1 if sd == _SIDE_B else 0"), FEAT,
       "a resting buy becomes a modeled sell"),
    _b("tokenizer_edge_goes_low", "off by one", "tokenizer", "tokenization_tradefm.py",
       ("np.greater_equal(x, edge, out=hit)", "np.greater(x, edge, out=hit)"), TOK,
       "a value equal to a bin edge falls into the lower bin (searchsorted 'left' instead of 'right')"),
    _b("tokenizer_action_side_digits_swapped", "swapped source", "tokenizer", "tokenization_tradefm.py",
       ("ids = (((a * n_s + s) * (len(e_dp) + 1) + p)", "ids = (((s * n_a + a) * (len(e_dp) + 1) + p)"), TOK,
       "the token's action and side digits are written in each other's place"),
    _b("book_bins_reserved_bin_reused", "off by one", "tokenizer", "book_bins.py",
       ('out[ok] = 1 + np.searchsorted(edges, x[ok], side="right")', 'out[ok] = np.searchsorted(edges, x[ok], side="right")'),
       BOOKCTX, "the first spread/imbalance value bin is the reserved 'no two-sided book' bin 0"),
    # ---- readers --------------------------------------------------------------------------------
    _b("lobster_aggressor_side_swap", "swapped side", "io", "io/lobster.py",
       ("aggressor_side = np.where(e_dir == 1, SIDE_ASK, SIDE_BID)", "aggressor_side = np.where(e_dir == 1, SIDE_BID, SIDE_ASK)"),
       LOBSTER_IO + FEAT, "a LOBSTER execution's aggressor is the resting order's side"),
    _b("lobster_utc_offset_sign", "wrong sign", "io", "io/lobster.py",
       ("return _ny_midnight_epoch_ns(day) + seconds_ns - offsets[", "return _ny_midnight_epoch_ns(day) + seconds_ns + offsets["),
       LOBSTER_IO, "New York time → UTC adds the (negative) UTC offset instead of subtracting it"),
)


# ---- the copy ----------------------------------------------------------------------------------
def _module_file(root: Path, current: Path, node: ast.ImportFrom | ast.Import) -> list[Path]:
    """Package files an import statement of ``current`` names (absolute ``modeling_tradefm.*`` or relative)."""
    names = []
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names if a.name.split(".")[0] == PKG]
    else:
        if node.level:
            base = current.parent
            for _ in range(node.level - 1):
                base = base.parent
            prefix = ".".join(base.relative_to(root).parts)
            mod = f"{prefix}.{node.module}" if node.module else prefix
        else:
            mod = node.module or ""
        if mod.split(".")[0] == PKG:
            names = [mod] + [f"{mod}.{a.name}" for a in node.names]
    out = []
    for name in names:
        p = root.joinpath(*name.split("."))
        for cand in (p.with_suffix(".py"), p / "__init__.py"):
            if cand.is_file():
                out.append(cand)
    return out


def numba_dependencies(root: Path) -> set[str]:
    """Package files (relative paths) that compiled numba kernels read: the kernel modules and what they import.

    Numba's on-disk cache is keyed on the kernel's own file only, and a kernel freezes the globals
    and callees it uses at compile time; an edit of any of these files must start from an empty cache.
    """
    files = sorted((root / PKG).rglob("*.py"))
    todo = [f for f in files if re.search(r"^\s*@(numba\.)?njit", f.read_text(), re.M)]
    seen: set[Path] = set()
    while todo:
        f = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                todo.extend(_module_file(root, f, node))
    return {p.relative_to(root).as_posix() for p in seen}


def make_copy(src: Path, dst: Path, numba_cache: Path | None) -> None:
    """``src`` into ``dst`` without ``.git`` and numba's cache files; then the cache files of ``numba_cache``.

    ``numba_cache`` is a folder of cache files laid out like the tree (from the baseline run), or
    ``None`` for an empty cache. Modification times are kept (``copy2``): numba checks them
    against its index, so a cache entry is used only for an unchanged source file.
    """
    def ignore(folder, names):
        return {n for n in names if n in (".git", ".pytest_cache", ".ruff_cache", "demo_out")
                or n.endswith((".nbi", ".nbc"))}

    shutil.copytree(src, dst, symlinks=True, ignore=ignore)
    if numba_cache is not None:
        shutil.copytree(numba_cache, dst, dirs_exist_ok=True)


def harvest_numba_cache(tree: Path, out: Path) -> None:
    """Copy the numba cache files written under ``tree`` into ``out`` (same relative layout)."""
    for f in tree.rglob("__pycache__/*.nb[ic]"):
        target = out / f.relative_to(tree)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, target)


class StaleBreakage(ValueError):
    pass


def check_patterns(root: Path, breakage: Breakage) -> str:
    """The edited text of ``breakage.file``; raises ``StaleBreakage`` unless each old text occurs exactly once."""
    path = root / breakage.file
    if not path.is_file():
        raise StaleBreakage(f"{breakage.name}: {breakage.file} does not exist")
    text = path.read_text()
    for old, new in breakage.edits:
        n = text.count(old)
        if n != 1:
            raise StaleBreakage(f"{breakage.name}: {breakage.file} holds {n} occurrences of {old!r} (expected 1)")
        text = text.replace(old, new)
    try:
        compile(text, str(path), "exec")
    except SyntaxError as exc:
        raise StaleBreakage(f"{breakage.name}: the broken {breakage.file} does not compile: {exc}") from None
    return text


# ---- running pytest ----------------------------------------------------------------------------
@dataclass
class Outcome:
    failed: list[str] = field(default_factory=list)
    passed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    summary: str = ""

    @property
    def caught(self) -> bool:
        return bool(self.failed)


def run_pytest(root: Path, tests: tuple[str, ...], real_data: str | None, timeout: float) -> Outcome:
    """pytest with the repository's default options on ``tests`` in ``root``; failing/erroring test ids."""
    junit = root / ".mutations-junit.xml"
    env = {k: v for k, v in os.environ.items() if k != "TRADEFM_REAL_DATA"}
    env["PYTHONPATH"] = str(root)
    if real_data:
        env["TRADEFM_REAL_DATA"] = real_data
    t0 = time.time()
    try:
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", f"--junitxml={junit}", *tests], cwd=root, env=env, capture_output=True, text=True, timeout=timeout)
        tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr.strip()[-300:]
    except subprocess.TimeoutExpired:
        return Outcome(failed=[f"(timeout after {timeout:.0f} s)"], seconds=time.time() - t0, summary="timeout")
    out = Outcome(seconds=time.time() - t0, summary=tail)
    if not junit.is_file():  # pytest died before writing its report (an import error at startup)
        out.failed = [f"(pytest exit {proc.returncode}: {proc.stderr.strip()[-200:]})"]
        return out
    for case in ET.parse(junit).getroot().iter("testcase"):
        tid = f"{case.get('classname', '').replace('.', '/')}.py::{case.get('name')}"
        if case.find("failure") is not None or case.find("error") is not None:
            out.failed.append(tid)
        elif case.find("skipped") is not None:
            out.skipped += 1
        else:
            out.passed += 1
    if proc.returncode not in (0, 1) and not out.failed:  # collection error, no tests, internal error
        out.failed = [f"(pytest exit {proc.returncode}: {tail})"]
    return out


def run_breakage(src: Path, breakage: Breakage | None, tests: tuple[str, ...], real_data: str | None,
                 timeout: float, numba_deps: set[str], numba_cache: Path | None) -> Outcome:
    """Copy ``src``, apply ``breakage`` (None: the unbroken baseline) and run ``tests``.

    The baseline fills ``numba_cache`` with the kernels it compiled. A breakage reuses them only
    when its file is none of ``numba_deps``: a kernel's cache entry is keyed on its own file, while
    the kernel freezes the callees and globals of the files it imports.
    """
    with tempfile.TemporaryDirectory(prefix="tradefm-mutant-") as tmp:
        dst = Path(tmp) / "repo"
        reuse = breakage is not None and breakage.file not in numba_deps and numba_cache is not None
        make_copy(src, dst, numba_cache if reuse else None)
        if breakage is not None:
            path = dst / breakage.file
            path.write_text(check_patterns(dst, breakage))
            for pyc in (path.parent / "__pycache__").glob(f"{path.stem}.*.pyc"):
                pyc.unlink()
        out = run_pytest(dst, tests, real_data, timeout)
        if breakage is None and numba_cache is not None:
            harvest_numba_cache(dst, numba_cache)
        return out


# ---- reporting ---------------------------------------------------------------------------------
def git_state(src: Path) -> dict:
    def git(*args):
        r = subprocess.run(["git", "-C", str(src), *args], capture_output=True, text=True)
        return r.stdout.strip() if r.returncode == 0 else None

    dirty = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": git("rev-parse", "--short=12", "HEAD"), "dirty": bool(dirty)}


def markdown(results: list[dict], meta: dict) -> str:
    lines = [f"Run {meta['date']} on commit `{meta['commit']}`{' (with uncommitted changes)' if meta['dirty'] else ''}"
             f", default pytest options, embedded data{'' if not meta['real_data'] else ' + ' + meta['real_data']}.",
             "", "| breakage | kind | part | what it breaks | caught by | |", "|---|---|---|---|---|---|"]
    for r in results:
        # the test file without its folder; a parametrised id may itself hold a path
        short = [f"{t.split('::', 1)[0].rsplit('/', 1)[-1]}::{t.split('::', 1)[1]}" if "::" in t else t
                 for t in r["failed"]]
        shown = "<br>".join(f"`{t}`" for t in short[:3]) + (f"<br>(+{len(short) - 3} more)" if len(short) > 3 else "")
        lines.append(f"| `{r['name']}` | {r['kind']} | {r['part']} | {r['what']} | {shown or '—'} | "
                     f"{'caught' if r['caught'] else '**NOT CAUGHT**'} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", action="append", default=[], metavar="NAME", help="run this breakage (repeatable)")
    ap.add_argument("--json", metavar="OUT", help="write the results as JSON")
    ap.add_argument("--list", action="store_true", help="list the breakages, check their patterns, run nothing")
    ap.add_argument("--no-baseline", action="store_true", help="skip the run of the unbroken copy")
    ap.add_argument("--real-data", metavar="DIR", help="TRADEFM_REAL_DATA for the tests (default: embedded only)")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per pytest run")
    args = ap.parse_args(argv)

    names = {b.name for b in BREAKAGES}
    if len(names) != len(BREAKAGES):
        print("duplicate breakage names", file=sys.stderr)
        return 2
    unknown = sorted(set(args.only) - names)
    if unknown:
        print(f"unknown breakage(s) {unknown}; see --list", file=sys.stderr)
        return 2
    chosen = [b for b in BREAKAGES if not args.only or b.name in args.only]
    stale = []
    for b in chosen:
        try:
            check_patterns(ROOT, b)
        except StaleBreakage as exc:
            stale.append(str(exc))
        missing = [t for t in b.tests if not (ROOT / t).is_file()]
        if missing:
            stale.append(f"{b.name}: no test file {missing}")
    if stale:
        print("stale breakage table (update .ci/mutations.py to the current code):\n  " + "\n  ".join(stale),
              file=sys.stderr)
        return 2
    if args.list:
        for b in chosen:
            print(f"{b.name:48s} {b.kind:19s} {b.file}  ->  {' '.join(t.split('/')[-1] for t in b.tests)}")
        return 0

    deps = numba_dependencies(ROOT)
    cache_dir = tempfile.TemporaryDirectory(prefix="tradefm-numba-cache-")
    numba_cache = None if args.no_baseline else Path(cache_dir.name)
    meta = {"date": _dt.date.today().isoformat(), **git_state(ROOT), "real_data": args.real_data}
    if not args.no_baseline:
        tests = tuple(sorted({t for b in chosen for t in b.tests}))
        print(f"baseline: the unbroken copy on {len(tests)} test file(s)", file=sys.stderr, flush=True)
        base = run_breakage(ROOT, None, tests, args.real_data, args.timeout, deps, numba_cache)
        print(f"  {base.summary}", file=sys.stderr, flush=True)
        if base.failed:
            print(f"the unbroken tree already fails: {base.failed}", file=sys.stderr)
            return 2
        meta["baseline"] = {"passed": base.passed, "skipped": base.skipped, "seconds": round(base.seconds)}
    results = []
    for b in chosen:
        print(f"{b.name} ({b.kind}, {b.file}) ...", file=sys.stderr, flush=True)
        o = run_breakage(ROOT, b, b.tests, args.real_data, args.timeout, deps, numba_cache)
        results.append({"name": b.name, "kind": b.kind, "part": b.part, "file": b.file, "what": b.what,
                        "tests": list(b.tests), "caught": o.caught, "failed": o.failed, "passed": o.passed,
                        "skipped": o.skipped, "seconds": round(o.seconds), "summary": o.summary})
        print(f"  {'caught' if o.caught else 'NOT CAUGHT'}: {o.summary}", file=sys.stderr, flush=True)
        if args.json:  # after every breakage: a long run that is stopped keeps what it found
            Path(args.json).write_text(json.dumps({"meta": meta, "results": results}, indent=1) + "\n")
    print(markdown(results, meta))
    missed = [r["name"] for r in results if not r["caught"]]
    if missed:
        print(f"not caught: {missed}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
