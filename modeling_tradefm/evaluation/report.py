# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Real vs generated sources: metrics.json, report.md, report.html and PNG plots.

:func:`evaluate_streams` measures every source with the same code (``series.source_quantities``),
computes K-S and real-normalised W1 of each generated source against the real data with seeded
bootstrap intervals, and the **real-vs-real noise floor**: the same distances between two disjoint
windows of the real data (the first and second half of every real stream, split at the median
modeled event). A distance is only meaningful against that floor: a generator cannot be asked to be
closer to the real data than the real data is to itself.

``metrics.json``::

    {"distances": {source: {quantity: {"ks", "w1", "ks_ci": [lo, hi], "w1_ci": [lo, hi],
                                       "n_real", "n_gen", "w1_scale"[, "unavailable"]}}},
     "noise_floor": {quantity: {... same keys ...}},
     "stylized_facts": {source: {"acf_horizon_s", "acf_returns", "acf_abs_returns", "kurtosis",
                                 "hill", "returns", "info"}}}

with quantities ``series.QUANTITIES``; ``"real"`` is one of the stylized-facts sources. Non-finite
numbers are written as ``null``. A distance that cannot be computed (a side without a sample)
carries ``"unavailable"``: which source lacks the quantity and why, in words; ``info`` of every
source holds ``"book"`` (``"orderbook"``: read from a LOBSTER orderbook file; ``"replay"``) and
``"unavailable"`` (``{quantity: reason}``) and ``event_types`` (LOBSTER message rows per type,
``evaluation.flow``). The report lists them in a "Not computed" section. Plots use matplotlib's Agg backend with a fixed colour per source
(real black, TradeFM blue, Hawkes orange, zero-intelligence green, others after them).
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
import zlib
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .distances import compare
from .flow import EVENT_TYPE_NAMES, type_shares
from .series import QUANTITIES, QUANTITY_UNITS, EvalConfig, SourceQuantities, StreamSeries, source_quantities
from .stylized_facts import stylized_facts

REAL = "real"
_FIXED_COLOURS = {"real": "black", "tradefm": "tab:blue", "hawkes": "tab:orange", "zi": "tab:green"}
_OTHER_COLOURS = ["tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:olive", "tab:cyan", "tab:gray"]
PLOTS = ("returns.png", "qq.png", "acf.png", "kurtosis.png", "spread.png", "flow.png")


def source_colours(names: list[str]) -> dict[str, str]:
    """Consistent colours: real black, names containing tradefm/hawkes/zi|zero blue/orange/green."""
    out, k = {}, 0
    for name in names:
        low = name.lower()
        key = ("real" if low == REAL else "tradefm" if "tradefm" in low else "hawkes" if "hawkes" in low
               else "zi" if low in ("zi", "zero-intelligence") or "zero" in low or low.startswith("zi") else None)
        if key and _FIXED_COLOURS[key] not in out.values():
            out[name] = _FIXED_COLOURS[key]
        else:
            out[name] = _OTHER_COLOURS[k % len(_OTHER_COLOURS)]
            k += 1
    return out


def to_jsonable(obj):
    """Recursively: numpy scalars/arrays → Python, non-finite floats → None, float keys → str."""
    if isinstance(obj, dict):
        return {(f"{k:g}" if isinstance(k, float) else str(k)): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return v if math.isfinite(v) else None
    return obj


def evaluate_streams(
    real: list[StreamSeries],
    generated: dict[str, list[StreamSeries]],
    config: EvalConfig | None = None,
    tick_size: int | None = None,
    progress: bool = True,
) -> tuple[dict, dict[str, SourceQuantities]]:
    """Distances, noise floor and stylized facts of every source.

    Args:
        real: the real streams (one per session).
        generated: ``{source name: streams}`` (one stream per rollout).
        config: :class:`EvalConfig`.
        tick_size: tick (1e-9 units) for spreads in ticks; None = raw currency units.
        progress: a tqdm bar over the distance computations.

    Returns:
        (metrics dict in the ``metrics.json`` shape — not yet JSON-cleaned —, ``{source: SourceQuantities}``).
    """
    config = config or EvalConfig()
    if not real:
        raise ValueError("no real stream to compare with")
    quantities = {REAL: source_quantities(real, config, tick_size)}
    for name, streams in generated.items():
        if name == REAL:
            raise ValueError("a generated source cannot be called 'real'")
        quantities[name] = source_quantities(streams, config, tick_size)
    halves = [s.halves() for s in real]
    first = source_quantities([h[0] for h in halves], config, tick_size)
    second = source_quantities([h[1] for h in halves], config, tick_size)

    jobs = [("__floor__", q) for q in QUANTITIES] + [(src, q) for src in generated for q in QUANTITIES]
    distances: dict[str, dict] = {src: {} for src in generated}
    floor: dict[str, dict] = {}
    for src, q in tqdm(jobs, desc="distances", unit="pair", disable=not progress):
        # Each pair gets its own seed so that intervals do not share resampling noise, and a seed of its
        # own names so that a source's interval does not move when another source is added or dropped.
        seed = (config.seed + zlib.crc32(f"{src}/{q}".encode())) % 2**32
        if src == "__floor__":
            floor[q] = compare(first.samples[q], second.samples[q], config.n_boot, config.alpha, seed)
            why = _why_missing([("real (first half)", first), ("real (second half)", second)], q)
            if why:
                floor[q]["unavailable"] = why
        else:
            distances[src][q] = compare(quantities[REAL].samples[q], quantities[src].samples[q], config.n_boot,
                                        config.alpha, seed)
            why = _why_missing([(REAL, quantities[REAL]), (src, quantities[src])], q)
            if why:
                distances[src][q]["unavailable"] = why
    facts = {}
    for src, sq in quantities.items():
        rets = {h: sq.returns[h] for h in config.kurtosis_horizons_s}
        rets[config.acf_horizon_s] = sq.returns[config.acf_horizon_s]
        f = stylized_facts(rets, acf_horizon=config.acf_horizon_s, max_lag=config.max_lag,
                           hill_fraction=config.hill_fraction)
        f["info"] = {"streams": sq.streams, "mid": sq.mid_source, "book": sq.info.get("book"),
                     "tick_size": sq.tick_size, "samples": {q: int(len(v)) for q, v in sq.samples.items()},
                     "unavailable": dict(sq.info.get("unavailable", {})),
                     "warnings": list(sq.info.get("warnings", [])),
                     "event_types": sq.info.get("event_types", {})}
        facts[src] = f
    metrics = {"distances": distances, "noise_floor": floor, "stylized_facts": facts}
    return metrics, quantities


def _why_missing(sides: list[tuple[str, SourceQuantities]], quantity: str) -> str | None:
    """``"SOURCE: reason; ..."`` for the sides without a sample of ``quantity`` (None if both have one)."""
    parts = []
    for name, sq in sides:
        if not len(sq.samples[quantity]):
            parts.append(f"{name}: {sq.info.get('unavailable', {}).get(quantity, 'no sample')}")
    return "; ".join(parts) or None


# ---- plots ---------------------------------------------------------------------------------------
def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


_RETURN_PANELS = ("log_return_1s", "log_return_10s", "log_return_60s")
_FLOW_PANELS = (("inter_arrival", True), ("order_size", True), ("price_depth", False),
                ("time_to_cancel", True))  # (quantity, log x)


def _legend(ax) -> None:
    """A legend when the panel has labelled artists (a source without samples draws none)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)


def _plot_return_densities(plt, quantities: dict[str, SourceQuantities], colours: dict[str, str]):
    """returns.png: histograms (log density) of 1 s / 10 s / 60 s log returns, clipped to the real range."""
    rq = quantities[REAL]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for ax, q in zip(axes, _RETURN_PANELS, strict=True):
        ref = rq.samples[q]
        lim = np.nanpercentile(np.abs(ref), 99.9) * 1.5 if len(ref) else 1e-3
        lim = lim if lim > 0 else 1e-4
        bins = np.linspace(-lim, lim, 61)
        for n, sq in quantities.items():
            v = sq.samples[q]
            if len(v):
                ax.hist(np.clip(v, -lim, lim), bins=bins, density=True, histtype="step", color=colours[n],
                        label=f"{n} (n={len(v)})", lw=1.4)
        ax.set_yscale("log")
        ax.set_title(q.replace("_", " "))
        ax.set_xlabel("log return (clipped to the real 99.9 % range ×1.5)")
        _legend(ax)
    return fig


def _plot_return_qq(plt, quantities: dict[str, SourceQuantities], colours: dict[str, str]):
    """qq.png: quantiles of every generated source's log returns against the real quantiles."""
    rq = quantities[REAL]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    probs = np.linspace(0.005, 0.995, 199)
    for ax, q in zip(axes, _RETURN_PANELS, strict=True):
        ref = rq.samples[q]
        if len(ref):
            rqnt = np.quantile(ref, probs)
            lo, hi = rqnt[0], rqnt[-1]
            ax.plot([lo, hi], [lo, hi], color="black", lw=0.8, ls="--", label="y = x (real)")
            for n, sq in quantities.items():
                v = sq.samples[q]
                if n != REAL and len(v):
                    ax.plot(rqnt, np.quantile(v, probs), ".", ms=3, color=colours[n], label=n)
        ax.set_title(f"QQ {q.replace('_', ' ')}")
        ax.set_xlabel("real quantile")
        ax.set_ylabel("generated quantile")
        _legend(ax)
    return fig


def _plot_acf(plt, facts: dict, names: list[str], colours: dict[str, str], config: EvalConfig):
    """acf.png: ACF of returns and of |returns| at the ACF horizon, with the real ±1.96/√n band."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    lags = np.arange(1, config.max_lag + 1)
    n_real = facts[REAL]["returns"][float(config.acf_horizon_s)]["n"]
    for ax, key, title in zip(axes, ("acf_returns", "acf_abs_returns"), ("ACF of returns", "ACF of |returns|"),
                              strict=True):
        for n in names:
            ax.plot(lags, np.asarray(facts[n][key], dtype=float), "-o", ms=2.5, color=colours[n], label=n, lw=1)
        if n_real:
            band = 1.96 / math.sqrt(n_real)
            ax.axhspan(-band, band, color="grey", alpha=0.2, label="±1.96/√n (real)")
        ax.axhline(0, color="black", lw=0.5)
        ax.set_title(f"{title}, {config.acf_horizon_s:g} s returns")
        ax.set_xlabel("lag")
        _legend(ax)
    return fig


def _plot_kurtosis_vs_horizon(plt, facts: dict, names: list[str], colours: dict[str, str]):
    """kurtosis.png: excess kurtosis of log returns against the horizon (log x)."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for n in names:
        k = facts[n]["kurtosis"]
        hs = sorted(k)
        ax.plot(hs, [np.nan if k[h] is None else k[h] for h in hs], "-o", color=colours[n], label=n)
    ax.set_xscale("log")
    ax.axhline(0, color="black", lw=0.5)
    ax.set_xlabel("horizon Δt (s)")
    ax.set_ylabel("excess kurtosis")
    ax.set_title("Kurtosis of log returns vs horizon")
    _legend(ax)
    return fig


def _plot_spread(plt, quantities: dict[str, SourceQuantities], colours: dict[str, str]):
    """spread.png: histogram of the bid-ask spread, one bin per tick (the last bin holds the wider ones)."""
    rq = quantities[REAL]
    fig, ax = plt.subplots(figsize=(7, 4))
    ref = rq.samples["spread"]
    top = max(2.0, float(np.nanpercentile(ref, 99.5)) if len(ref) else 10.0)
    edges = np.arange(0.5, math.ceil(top) + 1.5, 1.0) if rq.tick_size else np.linspace(0, top, 40)
    for n, sq in quantities.items():
        v = sq.samples["spread"]
        if len(v):
            ax.hist(np.clip(v, edges[0], edges[-1] - 1e-9), bins=edges, density=True, histtype="step",
                    color=colours[n], lw=1.5, label=n)
    ax.set_yscale("log")
    ax.set_xlabel("spread (ticks; last bin = this or wider)" if rq.tick_size else "spread")
    ax.set_title("Bid-ask spread")
    _legend(ax)
    return fig


def _flow_bins(ref: np.ndarray, logx: bool) -> np.ndarray:
    """Histogram bins over the real 0.5–99.5 % range (geometric for a log axis, positive values only)."""
    if logx:
        pos = ref[ref > 0]
        lo, hi = (np.nanpercentile(pos, 0.5), np.nanpercentile(pos, 99.5)) if len(pos) else (1e-6, 1.0)
        return np.geomspace(max(lo, 1e-9), max(hi, lo * 10), 50)
    lo, hi = (np.nanpercentile(ref, 0.5), np.nanpercentile(ref, 99.5)) if len(ref) else (-1, 1)
    return np.linspace(lo, hi if hi > lo else lo + 1, 60)


def _plot_order_flow(plt, quantities: dict[str, SourceQuantities], colours: dict[str, str]):
    """flow.png: histograms of the inter-arrival time, order size, price depth and time to cancel; message types."""
    fig, grid = plt.subplots(2, 3, figsize=(15, 8))
    axes = [*grid[0], grid[1, 0]]
    _plot_event_types(grid[1, 1], quantities, colours)
    fig.delaxes(grid[1, 2])
    for ax, (q, logx) in zip(axes, _FLOW_PANELS, strict=True):
        bins = _flow_bins(quantities[REAL].samples[q], logx)
        for n, sq in quantities.items():
            v = sq.samples[q]
            v = v[v > 0] if logx else v
            if len(v):
                ax.hist(np.clip(v, bins[0], bins[-1]), bins=bins, density=True, histtype="step", color=colours[n],
                        lw=1.3, label=n)
        if logx:
            ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"{q.replace('_', ' ')} ({QUANTITY_UNITS[q]})")
        _legend(ax)
    return fig


def _plot_event_types(ax, quantities: dict[str, SourceQuantities], colours: dict[str, str]) -> None:
    """Bars: the share of each LOBSTER message type (% of rows, log scale), one bar per source and type."""
    names = [n for n, sq in quantities.items() if sum(sq.info.get("event_types", {}).values())]
    types = list(EVENT_TYPE_NAMES)
    width = 0.8 / max(1, len(names))
    for k, n in enumerate(names):
        shares = type_shares(quantities[n].info["event_types"])
        # a share of 0 has no bar on a log axis: put it below the axis floor (no visible bar)
        ax.bar(np.arange(len(types)) + (k - (len(names) - 1) / 2) * width,
               [max(100 * shares[t], 1e-3) for t in types], width, color=colours[n], label=n)
    ax.set_xticks(np.arange(len(types)), [f"{t} {EVENT_TYPE_NAMES[t]}" for t in types], rotation=25, fontsize=8)
    ax.set_yscale("log")
    ax.set_ylim(1e-2, 100)
    ax.set_ylabel("% of LOBSTER message rows")
    ax.set_title("LOBSTER message types")
    ax.legend(fontsize=7)


def write_plots(out_dir: str | os.PathLike, quantities: dict[str, SourceQuantities], metrics: dict,
                config: EvalConfig) -> list[str]:
    """Write the PNG plots of the report; returns their file names (``PLOTS``, in that order).

    Args:
        out_dir: existing folder.
        quantities: ``{source: SourceQuantities}``, ``"real"`` first (its order is the legend order).
        metrics: :func:`clean_for_plots` of the metrics (float horizon keys, None for non-finite).
        config: the :class:`EvalConfig` of the metrics.
    """
    plt = _plt()
    out_dir = Path(out_dir)
    names = list(quantities)
    colours = source_colours(names)
    facts = metrics["stylized_facts"]

    def figures():  # one at a time: each is saved and closed before the next is drawn
        yield "returns.png", _plot_return_densities(plt, quantities, colours)
        yield "qq.png", _plot_return_qq(plt, quantities, colours)
        yield "acf.png", _plot_acf(plt, facts, names, colours, config)
        yield "kurtosis.png", _plot_kurtosis_vs_horizon(plt, facts, names, colours)
        yield "spread.png", _plot_spread(plt, quantities, colours)
        yield "flow.png", _plot_order_flow(plt, quantities, colours)

    written = []
    for name, fig in figures():
        fig.tight_layout()
        fig.savefig(out_dir / name, dpi=110)
        plt.close(fig)
        written.append(name)
    return written


# ---- text reports --------------------------------------------------------------------------------
def _fmt(x, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return f"{x:.{digits}f}"


def _ci(c) -> str:
    return f"[{_fmt(c[0])}, {_fmt(c[1])}]" if c else "–"


def _tables(metrics: dict, config: EvalConfig) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) of every table of the report."""
    tables = []
    floor = metrics["noise_floor"]
    pct = int(round(100 * (1 - config.alpha)))
    for src, dist in metrics["distances"].items():
        rows = []
        for q in QUANTITIES:
            d, f = dist[q], floor[q]
            ks = "not computed¹" if d.get("unavailable") else _fmt(d["ks"])
            fks = "not computed¹" if f.get("unavailable") else _fmt(f["ks"])
            rows.append([f"{q} ({QUANTITY_UNITS[q]})", ks, _ci(d["ks_ci"]), fks, _ci(f["ks_ci"]),
                         _fmt(d["w1"]), _ci(d["w1_ci"]), _fmt(f["w1"]), _ci(f["w1_ci"]),
                         f"{d['n_real']}/{d['n_gen']}"])
        tables.append((f"Distances: {src} vs real (noise floor = real vs real, disjoint halves)",
                       ["quantity", "K-S", f"K-S {pct}% CI", "floor K-S", f"floor {pct}% CI", "W1 (norm.)",
                        f"W1 {pct}% CI", "floor W1", f"floor {pct}% CI", "n real/gen"], rows))
    facts = metrics["stylized_facts"]
    tables.append(_event_type_table(facts))
    hs = list(config.kurtosis_horizons_s)
    rows = []
    for src, f in facts.items():
        k = f["kurtosis"]
        acf_r, acf_a = f["acf_returns"], f["acf_abs_returns"]
        rows.append([src, f["info"]["mid"], str(f["info"]["streams"])] + [_fmt(k.get(float(h)), 2) for h in hs]
                    + [_fmt(f["hill"]["alpha"], 2) + f" (k={f['hill']['k']})", _fmt(acf_r[0]),
                       _fmt(acf_a[0]), _fmt(acf_a[min(9, len(acf_a) - 1)]), _fmt(acf_a[-1])])
    tables.append(("Stylized facts (excess kurtosis by horizon; Hill α of abs(r); ACF at the ACF horizon)",
                   ["source", "mid", "streams"] + [f"κ {h:g}s" for h in hs]
                   + ["Hill α", "ACF r lag1", "ACF abs(r) lag1", "ACF abs(r) lag10", f"ACF abs(r) lag{config.max_lag}"],
                   rows))
    missing = [[src, q, why] for src, f in facts.items() for q, why in f["info"].get("unavailable", {}).items()]
    if missing:
        tables.append(("¹ Not computed (a source without a sample of the quantity, and why)",
                       ["source", "quantity", "reason"], missing))
    warned = [[src, w] for src, f in facts.items() for w in f["info"].get("warnings", [])]
    if warned:
        tables.append(("Warnings", ["source", "warning"], warned))
    return tables


def _event_type_table(facts: dict) -> tuple[str, list[str], list[list[str]]]:
    """Share of each LOBSTER message type per source (``info.event_types`` of the stylized facts)."""
    rows = []
    for src, f in facts.items():
        counts = {int(t): int(c) for t, c in (f["info"].get("event_types") or {}).items()}
        counts = {t: counts.get(t, 0) for t in EVENT_TYPE_NAMES}
        shares = type_shares(counts)
        cancels = counts[2] + counts[3]
        rows.append([src, str(sum(counts.values()))] + [_fmt(100 * shares[t], 2) for t in EVENT_TYPE_NAMES]
                    + [_fmt(100 * counts[2] / cancels if cancels else None, 2)])
    return ("LOBSTER message types (% of message rows; partial = type 2 among cancel rows 2 + 3)",
            ["source", "rows"] + [f"{t} {n}" for t, n in EVENT_TYPE_NAMES.items()] + ["partial % of cancels"], rows)


def _md_table(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


_INTRO = (
    "K-S = two-sample Kolmogorov–Smirnov statistic; W1 = Wasserstein-1 after standardising both samples by "
    "the real sample's mean and std. Intervals: percentile bootstrap ({n_boot} resamples, seed {seed}). The "
    "noise floor is the same distance between the first and second half of the real data: distances at or "
    "below it are indistinguishable from real-vs-real variation. Mid price: {mid} (see "
    "`modeling_tradefm.evaluation.series`); spreads in ticks of {tick}. Book (mid, spread, depth): {book}."
)
_BOOK_WORDS = {"orderbook": "LOBSTER orderbook file (exact)", "replay": "replay of the events", "none": "none"}


def write_report(out_dir: str | os.PathLike, metrics: dict, quantities: dict[str, SourceQuantities],
                 config: EvalConfig, title: str = "TradeFM evaluation") -> dict[str, Path]:
    """Write metrics.json, report.md, report.html (images embedded) and the PNG plots.

    Returns:
        ``{"metrics": path, "markdown": path, "html": path, "plots": [paths]}``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    clean = to_jsonable(metrics)
    (out_dir / "metrics.json").write_text(json.dumps(clean, indent=2) + "\n")
    plots = write_plots(out_dir, quantities, clean_for_plots(metrics), config)
    tick = quantities[REAL].tick_size
    intro = _INTRO.format(n_boot=config.n_boot, seed=config.seed,
                          mid=", ".join(f"{s}: {q.mid_source}" for s, q in quantities.items()),
                          tick=f"{tick / 1e9:g}" if tick else "(none: raw currency units)",
                          book=", ".join(f"{s}: {_book_words(q.info.get('book'))}" for s, q in quantities.items()))
    tables = _tables(metrics, config)
    md = [f"# {title}", "", intro, ""]
    for t, header, rows in tables:
        md += [f"## {t}", "", _md_table(header, rows), ""]
    md += ["## Plots", ""] + [f"![{p}]({p})" for p in plots] + [""]
    (out_dir / "report.md").write_text("\n".join(md))
    h = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
         "<style>body{font-family:sans-serif;max-width:1200px;margin:auto}table{border-collapse:collapse;"
         "font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}"
         "td:first-child{text-align:left}img{max-width:100%}</style></head><body>",
         f"<h1>{html.escape(title)}</h1><p>{html.escape(intro)}</p>"]
    for t, header, rows in tables:
        h.append(f"<h2>{html.escape(t)}</h2><table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in header)
                 + "</tr>")
        h += ["<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows]
        h.append("</table>")
    h.append("<h2>Plots</h2>")
    for p in plots:
        data = base64.b64encode((out_dir / p).read_bytes()).decode("ascii")
        h.append(f"<h3>{html.escape(p)}</h3><img alt='{html.escape(p)}' src='data:image/png;base64,{data}'>")
    h.append("</body></html>")
    (out_dir / "report.html").write_text("\n".join(h))
    return {"metrics": out_dir / "metrics.json", "markdown": out_dir / "report.md", "html": out_dir / "report.html",
            "plots": [out_dir / p for p in plots]}


def _book_words(book: str | None) -> str:
    return " + ".join(_BOOK_WORDS.get(b, b) for b in (book or "none").split("+"))


def clean_for_plots(metrics: dict) -> dict:
    """Metrics with float keys kept (plots index kurtosis by horizon) and None for non-finite values."""
    def rec(o):
        if isinstance(o, dict):
            return {k: rec(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [rec(v) for v in o]
        if isinstance(o, (float, np.floating)):
            return float(o) if math.isfinite(float(o)) else None
        return o
    return rec(metrics)


__all__ = ["PLOTS", "REAL", "clean_for_plots", "evaluate_streams", "source_colours", "to_jsonable", "write_plots",
           "write_report"]
