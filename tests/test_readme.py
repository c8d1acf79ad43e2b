# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""The README's recipe, as written: the command blocks of "Generating order flow" and "Evaluating and
exporting" run in order on the embedded samples of a fresh copy, and write nothing but ``out/``.

The demo's checkpoints (``demo_out/model``, ``demo_out/model-adapted``, which ``tradefm demo``
writes first) are stood in for by a tiny randomly initialised TradeFM with a calibrated tokenizer:
the recipe's commands are under test, not the demo. Only event counts, rollout counts and the
Hawkes iteration cap are shrunk, by substitutions that must each match the README (so the test
follows the README's text, and fails when the text and the test part).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO_ROOT, SAMPLES

SECTIONS = ("## Generating order flow", "## Evaluating and exporting")
# (README text, what the test runs instead, how often it occurs): time only, never the meaning
SHRINK = [
    ("--events 2000 --rollouts 16", "--events 300 --rollouts 2", 2),
    ("--until 09:45:00 -o out/baselines/hawkes", "--until 09:45:00 --maxiter 40 -o out/baselines/hawkes", 1),
    ("-o out/report", "-o out/report --n-boot 20", 1),
    ("rollout(proposer, events[:20_000], 500, num_rollouts=4, seed=0)",
     "rollout(proposer, events[:20_000], 50, num_rollouts=2, seed=0)", 1),
]


def readme_blocks(text: str) -> list[tuple[str, str]]:
    """``(language, code)`` of every fenced block of the ``SECTIONS``, in README order."""
    blocks = []
    for title in SECTIONS:
        section = text.split(title + "\n", 1)[1].split("\n## ", 1)[0]
        blocks += re.findall(r"^```(bash|python)\n(.*?)^```$", section, flags=re.MULTILINE | re.DOTALL)
    return blocks


def _stand_in_checkpoint(folder: Path) -> None:
    from test_generation_tradefm import _checkpoint

    _checkpoint(folder)


@pytest.mark.slow
def test_readme_recipe_runs_in_order_and_writes_only_out(tmp_path):
    text = (REPO_ROOT / "README.md").read_text()
    for old, new, count in SHRINK:
        assert text.count(old) == count, f"README no longer has {old!r} {count} time(s)"
        text = text.replace(old, new)
    blocks = readme_blocks(text)
    assert [lang for lang, _ in blocks] == ["bash", "python", "bash"]

    root = tmp_path / "clone"
    shutil.copytree(SAMPLES, root / "data" / "samples")
    for name in ("model", "model-adapted"):
        _stand_in_checkpoint(root / "demo_out" / name)
    before = {p.relative_to(root) for p in root.rglob("*")}

    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1", "TQDM_DISABLE": "1"}
    # `tradefm` is this checkout's CLI (an installed console script may point at another copy)
    prelude = f'set -euo pipefail\ntradefm() {{ "{sys.executable}" -m modeling_tradefm.cli "$@"; }}\n'
    for lang, code in blocks:
        cmd = ["bash", "-c", prelude + code] if lang == "bash" else [sys.executable, "-c", code]
        proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, f"README {lang} block failed:\n{code}\n{(proc.stdout + proc.stderr)[-3000:]}"

    # every output is under out/ (demo_out/ holds only the stand-in checkpoints)
    written = {p.relative_to(root) for p in root.rglob("*")} - before
    assert written and {p.parts[0] for p in written} == {"out"}
    out = root / "out"
    for rollouts in ("tfm", "hawkes"):
        assert sorted(p.name for p in (out / "rollouts" / rollouts).iterdir()) == [
            "meta.json", "rollout_000.mbo.csv.zst", "rollout_001.mbo.csv.zst"]
    assert (out / "baselines" / "hawkes" / "baseline.json").is_file()
    assert (out / "report" / "report.html").is_file()
    assert (out / "amzn_book.csv").is_file() and any((out / "lobbench").rglob("*.csv"))


def test_readme_recipe_outputs_are_all_under_out():
    """The quick half (default suite): every output the recipe names is under ``out/``, which git ignores."""
    code = "\n".join(c for lang, c in readme_blocks((REPO_ROOT / "README.md").read_text()) if lang == "bash")
    outputs = re.findall(r"(?:^|\s)(?:-o|--output)\s+(\S+)", code)
    assert len(outputs) == 6 and all(o.startswith("out/") for o in outputs), outputs
    assert "/out/" in (REPO_ROOT / ".gitignore").read_text().split()
    # it reads only what a fresh clone has: the embedded samples and the demo's checkpoints
    inputs = re.findall(r"(?:--data|--real|--model|--lobster-orderbook|--zero-shot|tradefm replay)\s+\"?([^\s\"]+)", code)
    assert inputs and all(i.startswith(("data/samples/", "demo_out/", "out/baselines/")) for i in inputs), inputs
