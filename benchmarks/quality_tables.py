# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""The targets and the Markdown tables of ``benchmarks/bench_quality.py`` (its results document, quality.json).

Pure functions of the results dicts: :func:`verdicts` (issue 13's target per held-out instrument and
replicate), :func:`issue12_verdicts`, the tables of ``benchmarks/results/quality.md`` and the
marked section of ``benchmarks/RESULTS.md`` (:func:`write_results_section`).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

BASELINES = ("Hawkes", "ZI")
TARGET_SOURCE = "TradeFM-book"
TABLE_QUANTITIES = ("log_return_1s", "log_return_10s", "log_return_60s", "spread", "inter_arrival", "order_size",
                    "price_depth", "time_to_cancel")
SHORT = {"log_return_1s": "1 s", "log_return_10s": "10 s", "log_return_60s": "60 s", "spread": "spread",
         "inter_arrival": "inter-arr.", "order_size": "size", "price_depth": "depth", "time_to_cancel": "t-cancel",
         "top_depth": "top depth"}
RESULTS_MD = Path(__file__).resolve().parent / "RESULTS.md"
BEGIN, END = "<!-- bench_quality:begin -->", "<!-- bench_quality:end -->"


# ---- targets -----------------------------------------------------------------------------------------
def _num(x) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else float(x)


def _lt(a, b) -> bool | None:
    a, b = _num(a), _num(b)
    return None if a is None or b is None else a < b


def _all(checks) -> bool | None:
    checks = list(checks)
    return None if any(c is None for c in checks) or not checks else all(checks)


def verdicts(result: dict, target: str = TARGET_SOURCE) -> dict:
    """The issue's target per replicate of one held-out instrument (``None`` where a number is missing).

    ``{rep: {"returns_10s", "spread", "spread_within_2x_floor", "met", "ks": {...}}}``: ``target``'s K-S
    below both baselines' (same replicate) on 10 s returns and on spreads, and its spread K-S at most
    twice the noise floor's (``result["floor"]``).
    """
    out = {}
    floor = _num(result["floor"]["spread"]["ks"])
    for rep, d in sorted(result["sources"].get(target, {}).items()):
        row = {"ks": {}}
        for q, key in (("log_return_10s", "returns_10s"), ("spread", "spread")):
            base = {b: result["sources"].get(b, {}).get(rep, {}).get(q, {}).get("ks") for b in BASELINES}
            row["ks"][q] = {target: d[q]["ks"], **base}
            row[key] = _all(_lt(d[q]["ks"], v) for v in base.values())
        row["spread_within_2x_floor"] = None if floor is None or _num(d["spread"]["ks"]) is None else (
            _num(d["spread"]["ks"]) <= 2 * floor)
        row["met"] = _all([row["returns_10s"], row["spread"], row["spread_within_2x_floor"]])
        out[rep] = row
    return out


def issue12_verdicts(result: dict) -> dict:
    """Issue 12 (AMZN held out): zero-shot order-size and price-depth K-S within 2× the noise floor."""
    out = {}
    for src in ("TradeFM-paper", "TradeFM-book"):
        for rep, d in sorted(result["sources"].get(src, {}).items()):
            row = {}
            for q in ("order_size", "price_depth"):
                ks, fl = _num(d[q]["ks"]), _num(result["floor"][q]["ks"])
                row[q] = {"ks": ks, "floor": fl, "within_2x": None if ks is None or fl is None else ks <= 2 * fl}
            row["met"] = _all(row[q]["within_2x"] for q in ("order_size", "price_depth"))
            out.setdefault(src, {})[rep] = row
    return out


# ---- tables ------------------------------------------------------------------------------------------
def _f(x, d: int = 3) -> str:
    x = _num(x)
    return "–" if x is None else f"{x:.{d}f}"


def _ci(c) -> str:
    return f"[{_f(c[0], 2)}, {_f(c[1], 2)}]" if c and c[0] is not None else ""


def _mark(v) -> str:
    return {True: "yes", False: "**no**", None: "n/a"}[v]


def distance_table(name: str, res: dict) -> list[str]:
    """K-S per quantity (10 s returns and spread with their 95 % intervals), one row per source and replicate."""
    head = ["source", "rep"] + [SHORT[q] for q in TABLE_QUANTITIES]
    lines = [f"**{name} held out** — K-S vs the real windows (10 s and spread: 95 % bootstrap interval)", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def cells(d):
        return [_f(d[q]["ks"]) + (f" {_ci(d[q]['ks_ci'])}" if q in ("log_return_10s", "spread") else "")
                for q in TABLE_QUANTITIES]

    for src, reps in res["sources"].items():
        for rep, d in reps.items():
            lines.append("| " + " | ".join([src, rep, *cells(d)]) + " |")
    for key, label in (("floor", "noise floor (halves of each window)"),
                       ("floor_interleaved", "noise floor (even vs odd starts)")):
        lines.append("| " + " | ".join([f"*{label}*", "", *cells(res[key])]) + " |")
    n = res["stylized"]["real"]["samples"]
    lines += ["", f"Real samples over the {len(res['windows'])} windows: {n['log_return_10s']:,} 10 s returns, "
              f"{n['spread']:,} spreads, {n['order_size']:,} orders (each floor compares two halves of them)."]
    return lines


SUMMARY_QUANTITIES = ("log_return_10s", "spread", "inter_arrival", "order_size", "price_depth")


def summary_table(all_res: dict) -> list[str]:
    """K-S per held-out instrument and source: the mean over replicates and, in brackets, their range.

    The README shows this table; the per-replicate rows with their bootstrap intervals follow it.
    """
    head = ["held out", "source"] + [SHORT[q] for q in SUMMARY_QUANTITIES]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def cell(values: list) -> str:
        ks = [k for k in values if k is not None]
        if not ks:
            return "–"
        text = _f(ks[0]) if len(ks) == 1 else f"{_f(float(np.mean(ks)))} ({_f(min(ks))}–{_f(max(ks))})"
        # a replicate without a number is said, not averaged away
        return text if len(ks) == len(values) else f"{text}, {len(ks)} of {len(values)} replicates"

    for name, res in all_res.items():
        for src, reps in res["sources"].items():
            cells = [cell([_num(d[q]["ks"]) for d in reps.values()]) for q in SUMMARY_QUANTITIES]
            lines.append("| " + " | ".join([name, src, *cells]) + " |")
        lines.append("| " + " | ".join([name, "*noise floor*", *(cell([_num(res["floor"][q]["ks"])])
                                                                  for q in SUMMARY_QUANTITIES)]) + " |")
    return lines


def verdict_table(all_res: dict) -> list[str]:
    head = ["held out", "rep", "10 s K-S: book / ZI / Hawkes", "below both", "spread K-S: book / ZI / Hawkes",
            "below both", "spread floor ×2", "within", "target"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, res in all_res.items():
        fl = res["floor"]["spread"]["ks"]
        for rep, v in verdicts(res).items():
            r, s = v["ks"]["log_return_10s"], v["ks"]["spread"]
            trio = lambda d: " / ".join(_f(d.get(k)) for k in (TARGET_SOURCE, "ZI", "Hawkes"))  # noqa: E731
            lines.append("| " + " | ".join([name, rep, trio(r), _mark(v["returns_10s"]), trio(s), _mark(v["spread"]),
                                            _f(2 * fl if _num(fl) is not None else None),
                                            _mark(v["spread_within_2x_floor"]), _mark(v["met"])]) + " |")
    return lines


def issue12_table(all_res: dict) -> list[str]:
    if "AMZN" not in all_res:
        return ["(AMZN not held out in this run)"]
    lines = ["| source | rep | size K-S | floor ×2 | within | depth K-S | floor ×2 | within |", "|" + "---|" * 8]
    for src, reps in issue12_verdicts(all_res["AMZN"]).items():
        for rep, v in reps.items():
            cells = [x for q in ("order_size", "price_depth") for x in
                     (_f(v[q]["ks"]), _f(None if v[q]["floor"] is None else 2 * v[q]["floor"]), _mark(v[q]["within_2x"]))]
            lines.append("| " + " | ".join([src, rep, *cells]) + " |")
    return lines


def facts_table(all_res: dict) -> list[str]:
    """Excess kurtosis by horizon and the ACF of 1 s |returns| (replicate means)."""
    hs = ("1", "5", "10", "30", "60")
    head = ["held out", "source"] + [f"κ {h} s" for h in hs] + ["ACF abs(r) lag 1", "lag 10"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, res in all_res.items():
        groups: dict[str, list] = {}
        for key, f in res["stylized"].items():
            groups.setdefault(key.split("/r")[0], []).append(f)
        for src, fs in groups.items():
            mean = lambda xs: _f(np.mean([x for x in xs if x is not None]) if any(x is not None for x in xs)  # noqa: E731
                                 else None, 2)
            k = [mean([f["kurtosis"].get(h) for f in fs]) for h in hs]
            a = [mean([f["acf_abs_1s"].get(lag) for f in fs]) for lag in ("1", "10")]
            lines.append("| " + " | ".join([name, src, *k, *a]) + " |")
    return lines


def coverage_table(all_res: dict) -> list[str]:
    lines = ["| held out | source | mean share of H covered | rollouts cut short | steps per start | wall s |",
             "|---|---|---|---|---|---|"]
    for name, res in all_res.items():
        for src, c in res["coverage"].items():
            lines.append(f"| {name} | {src} | {c['mean']:.3f} | {c['cut_short']} of {c['rollouts']} | "
                         f"{c['steps_mean']:.0f} | {c['wall_s']:.0f} |")
    return lines


def perplexity_table(ppl: dict) -> list[str]:
    from modeling_tradefm.evaluation.perplexity import RADIX_FIELDS

    head = ["held out", "model", "tokens", "PPL"] + [f"NLL {f}" for f in RADIX_FIELDS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, models in ppl.items():
        for m, s in models.items():
            lines.append("| " + " | ".join([name, m, str(int(s["tokens"])), f"{s['perplexity']:.1f}"]
                                           + [f"{s[f'nll_marginal_{f}']:.3f}" for f in RADIX_FIELDS]) + " |")
    return lines


def census_table(census: dict) -> list[str]:
    lines = ["| instrument | limit adds | inside the spread | at the best | behind the best | spread p10/p50/p90 (ticks) "
             "| hidden-execution adds | book |", "|---|---|---|---|---|---|---|---|"]
    for name, c in census.items():
        sp = "/".join(f"{x:g}" for x in c["spread_ticks_p10_p50_p90"]) if c["spread_ticks_p10_p50_p90"] else "–"
        lines.append(f"| {name} | {c['limit_adds']:,} | {100 * c['inside_spread']:.1f} % | {100 * c['at_best']:.1f} % "
                     f"| {100 * c['behind_best']:.1f} % | {sp} | {c['hidden_execution_adds']:,} of "
                     f"{c['marketable_adds']:,} marketable | {c['book_source']} |")
    return lines


def markdown(doc: dict) -> str:
    """quality.md: every table of every run in ``doc`` (the quality.json document)."""
    out = ["# bench_quality results", "", f"Machine: {doc['machine']}. Command lines and timings per run below.", ""]
    for label, run in doc["runs"].items():
        res = run["instruments"]
        out += [f"## Run `{label}` (cancel rule `{run.get('cancel_rule', label)}`)", ""]
        for h in run.get("history", [run]):
            out += [f"* {h.get('date', '')} `{h['command']}`: {h['total_s'] / 60:.1f} min "
                    f"({', '.join(f'{k} {v:.0f} s' for k, v in h['timings'].items())})"]
        out += ["", "### Summary: K-S vs the real windows, mean over replicates (range)", "", *summary_table(res), "",
                "### Target (issue 13): book-aware TradeFM zero-shot vs the baselines", "", *verdict_table(res), "",
                "### Issue 12 on the AMZN-held-out rows", "", *issue12_table(res), ""]
        for name, r in res.items():
            out += [*distance_table(name, r), ""]
        out += ["### Stylized facts", "", *facts_table(res), "", "### Coverage of the windows", "",
                *coverage_table(res), ""]
    if doc.get("perplexity"):
        out += ["## Perplexity on the held-out session after the first start (nats, marginal per field)", "",
                *perplexity_table(doc["perplexity"]), ""]
    if doc.get("census"):
        out += ["## Where the data place their limit orders (own best quote, ticks)", "",
                *census_table(doc["census"]), ""]
    return "\n".join(out)


def write_results_section(text: str, path: Path = RESULTS_MD) -> None:
    """Replace the text between the bench_quality markers of RESULTS.md (appended with a heading if absent)."""
    doc = path.read_text() if path.exists() else "# Benchmark results\n"
    block = f"{BEGIN}\n{text}\n{END}"
    if BEGIN in doc and END in doc:
        doc = doc[: doc.index(BEGIN)] + block + doc[doc.index(END) + len(END):]
    else:
        doc = doc.rstrip("\n") + "\n\n## Held-out quality protocol (issue 13): `benchmarks/bench_quality.py`\n\n" + block + "\n"
    path.write_text(doc)
    print(f"wrote {path}")
