# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Packaging: an installed wheel is one top-level package that runs ``tradefm demo`` from any folder.

The quick tests read setup.py's configuration and lay the package out as an install would
(``setup.py build_py``: the modules plus the mapped package data), then resolve every file the demo
profiles name from a folder outside the repository. The slow test builds the wheel, installs it
into a fresh virtual environment (system site-packages for torch & co., no index) and runs the
demo's first step with it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from conftest import REPO_ROOT

from modeling_tradefm.resources import PACKAGE_DATA, SHIPPED_FOLDERS

PROFILES = ("quick", "long", "gpu")


def _setup_config():
    """setup.py's Distribution, configured but nothing built."""
    from distutils.core import run_setup  # setuptools' copy

    cwd = os.getcwd()
    try:
        os.chdir(REPO_ROOT)  # setup.py reads README.md relative to itself, package_dir relative to the cwd
        return run_setup("setup.py", stop_after="init")
    finally:
        os.chdir(cwd)


def _env_without_checkout(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return {**env, "OMP_NUM_THREADS": "1", **extra}


def _run(*cmd, cwd=None) -> subprocess.CompletedProcess:
    """A command with the checkout off the import path."""
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env=_env_without_checkout(), capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=600)  # fmt: skip


def test_one_top_level_package_and_the_shipped_folders():
    dist = _setup_config()
    assert {p.split(".")[0] for p in dist.packages} == {"modeling_tradefm"}
    assert not dist.py_modules  # run_clm_tradefm.py and data_scripts stay in the clone
    # every shipped folder is mapped to the same relative place under modeling_tradefm/package_data
    expected = {f"modeling_tradefm.{PACKAGE_DATA}." + folder.replace("/", "."): folder for folder in SHIPPED_FOLDERS}
    assert dist.package_dir == expected
    assert dist.entry_points["console_scripts"] == ["tradefm=modeling_tradefm.cli:main"]


_RESOLVE = textwrap.dedent(
    """
    import json
    from modeling_tradefm import resources
    from modeling_tradefm.demo import DemoConfig

    out = {"module": resources.__file__, "root": str(resources.resource_root()), "files": {}}
    for profile in %r:
        cfg = DemoConfig.load(profile)
        out["files"][profile] = {f: str(cfg.resolve(f)) for f in [*cfg.train_files, cfg.heldout_file, cfg.train_config]}
    print(json.dumps(out))
    """
)


def test_demo_files_resolve_from_an_installed_layout_outside_the_repo(tmp_path):
    lib = tmp_path / "lib"
    subprocess.run([sys.executable, "setup.py", "-q", "build_py", "-d", str(lib)], cwd=REPO_ROOT, check=True,
                   capture_output=True, stdin=subprocess.DEVNULL, timeout=300)  # fmt: skip
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = subprocess.run([sys.executable, "-c", _RESOLVE % (PROFILES,)], cwd=elsewhere,
                          env=_env_without_checkout(PYTHONPATH=str(lib)), capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.splitlines()[-1])
    root = lib / "modeling_tradefm" / PACKAGE_DATA
    assert Path(got["module"]).is_relative_to(lib) and Path(got["root"]) == root
    for profile in PROFILES:
        for name, path in got["files"][profile].items():
            # found through importlib.resources in the laid-out package, identical to the repository's copy
            assert Path(path) == root / name, (profile, name, path)
            assert Path(path).read_bytes() == (REPO_ROOT / name).read_bytes()


@pytest.mark.slow
def test_wheel_installed_in_a_clean_venv_runs_the_demo_ingest(tmp_path):
    """``pip install`` of the wheel (not -e), then ``tradefm demo`` from another folder: help, then the ingest step."""
    # The build writes build/ and *.egg-info beside setup.py: build from a copy of what it reads.
    src = tmp_path / "src"
    for name in ("setup.py", "pyproject.toml", "README.md"):
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, src / name)
    for name in ("modeling_tradefm", *SHIPPED_FOLDERS):
        shutil.copytree(REPO_ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    wheels = tmp_path / "wheels"
    proc = _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", ".", "-w", wheels, cwd=src)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (wheel,) = wheels.glob("tradefm-*.whl")
    tops = {n.split("/")[0] for n in zipfile.ZipFile(wheel).namelist()}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"modeling_tradefm"}

    venv = tmp_path / "venv"
    assert _run(sys.executable, "-m", "venv", "--system-site-packages", venv).returncode == 0
    bin_ = venv / "bin"
    # --ignore-installed: the system site-packages may hold an editable tradefm; the wheel must win
    proc = _run(bin_ / "pip", "install", "--no-deps", "--no-index", "--ignore-installed", wheel)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = _run(bin_ / "python", "-c", "import modeling_tradefm; print(modeling_tradefm.__file__)", cwd=elsewhere)
    assert Path(proc.stdout.strip()).is_relative_to(venv), proc.stdout + proc.stderr
    proc = _run(bin_ / "tradefm", "demo", "--help", cwd=elsewhere)
    assert proc.returncode == 0 and "--stop-after" in proc.stdout, proc.stderr[-3000:]
    proc = _run(bin_ / "tradefm", "demo", "-o", "out", "--stop-after", "ingest", cwd=elsewhere)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # the shipped AAPL sample's record count (data/samples/README.md) and its 09:30-09:45 prefix
    assert "AAPL_2012-06-21_34200000_37800000_message_50.csv.zst: 91,997 records = 91,997 used" in proc.stdout
    assert "AAPL 2012-06-21: 23,132 events before 09:45:00 America/New_York (prefix)" in proc.stdout
    summary = json.loads((elsewhere / "out" / "demo.json").read_text())
    prefix = elsewhere / summary["heldout"]["file"]  # relative to the folder the demo ran in, like -o out
    assert prefix.is_file() and prefix.resolve().is_relative_to((elsewhere / "out").resolve())
    assert summary["heldout"]["prefix_events"] == 23_132 and "train_metrics" not in summary
