"""Packaging for TradeFM: a generative foundation model of Level-3 order flow.

What the wheel installs, and why:

* ONE top-level package, ``modeling_tradefm``: the library and the ``tradefm`` command (``tradefm train``
  is ``run_clm_tradefm.py``, ``tradefm demo`` the whole pipeline).
* Package data, mapped from where the design card keeps them in the repository (one copy, no
  duplicate): ``configs/`` (demo profiles, training, model and accelerate configs, ~90 kB) and
  ``data/samples/`` (the embedded real samples, ~2.5 MB) become ``modeling_tradefm/package_data/configs``
  and ``modeling_tradefm/package_data/data/samples``. The relative layout is the repository's, so a
  name such as ``configs/train/demo_cpu.yaml`` means the same file in a clone and in a wheel
  (``modeling_tradefm/resources.py`` finds the folder with importlib.resources); ``tradefm demo``
  then needs no clone.
* Not installed: ``data_scripts/`` (the design card's ``datasets`` builder module, a re-export of
  ``modeling_tradefm.data`` for users of a clone; a top-level package of that generic name in
  site-packages would clash with other projects' and adds no name the library lacks) and
  ``run_clm_tradefm.py`` (the run_clm.py-style example script of the clone; installed, the same is
  ``tradefm train``, or ``accelerate launch -m modeling_tradefm.cli train`` on several GPUs).
"""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent

# Package data: installed package -> repository folder it is built from (keep in step with
# modeling_tradefm/resources.py SHIPPED_FOLDERS; tests/test_packaging.py checks both).
DATA_PACKAGES = {
    "modeling_tradefm.package_data.configs": "configs",
    "modeling_tradefm.package_data.data.samples": "data/samples",
}
PACKAGE_DATA = {
    "modeling_tradefm.package_data.configs": ["**/*.yaml", "**/*.json"],
    "modeling_tradefm.package_data.data.samples": ["**/*"],
}

REQUIRED = [
    # CI installs torch==2.13.0 (CPU) first; a range keeps users on their own CUDA builds.
    "torch>=2.4",
    "transformers>=5.24,<6",
    "datasets>=5.2,<6",
    "accelerate>=1.1",
    "safetensors>=0.4",
    "numpy>=1.26",
    "pyarrow>=15",
    "zstandard>=0.22",
    "scipy>=1.15",
    "tqdm>=4.66",
    "matplotlib>=3.8",
    "pyyaml>=6",
    # Compiles the per-event hot paths (feature scan, order-book matching); no C extension to build.
    "numba>=0.59",
    # Databento's official decoders for DBN files.
    "databento-dbn>=0.40",
    "databento>=0.50",
]

EXTRAS = {
    "tests": ["pytest>=8", "hypothesis>=6.100", "ruff>=0.6"],
    "quality": ["ruff>=0.6"],
}

setup(
    name="tradefm",
    version="0.1.0",
    description="TradeFM: a generative Transformer of Level-3 order flow with a deterministic LOB simulator",
    long_description=(HERE / "README.md").read_text(encoding="utf-8") if (HERE / "README.md").exists() else "",
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.11",
    packages=[*find_packages(include=["modeling_tradefm", "modeling_tradefm.*"]), *DATA_PACKAGES],
    package_dir=DATA_PACKAGES,
    package_data=PACKAGE_DATA,
    install_requires=REQUIRED,
    extras_require=EXTRAS,
    entry_points={"console_scripts": ["tradefm=modeling_tradefm.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3.11",
        "Topic :: Office/Business :: Financial :: Investment",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
