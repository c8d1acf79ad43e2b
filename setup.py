"""Packaging for TradeFM: a generative foundation model of Level-3 order flow."""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent

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
    packages=find_packages(include=["modeling_tradefm", "modeling_tradefm.*", "data_scripts", "data_scripts.*"]),
    py_modules=["run_clm_tradefm"],
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
