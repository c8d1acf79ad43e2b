# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Checkpoint folder layout, local Auto registration, and Hub-style remote-code loading in a clean subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import torch
from conftest import real_path
from hub_cache import FakeHub
from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, GenerationConfig

import modeling_tradefm
from modeling_tradefm.configuration_tradefm import TradeFMConfig
from modeling_tradefm.model_card import write_model_card
from modeling_tradefm.modeling_tradefm import TradeFMForCausalLM, TradeFMModel
from modeling_tradefm.tokenization_tradefm import TOKENIZER_FILE, TradeFMTokenizer

PACKAGE_DIR = Path(modeling_tradefm.__file__).parent
HUB_FILES = ("configuration_tradefm.py", "modeling_tradefm.py")
TOKENIZER_HUB_FILE = "tokenization_tradefm.py"


def _feature_session(date: str, n: int, seed: int):
    """A small synthetic ``SessionFeatures`` (enough to calibrate a tokenizer)."""
    from modeling_tradefm.features import SessionFeatures

    rng = np.random.default_rng(seed)
    size = rng.integers(1, 500, n).astype(np.uint32)
    dt = rng.exponential(0.01, n) * (rng.random(n) > 0.3)
    return SessionFeatures(
        instrument_id=1, symbol="SYN", date=date, ts_recv=np.cumsum((dt * 1e9).astype(np.int64)),
        action=rng.integers(0, 2, n).astype(np.uint8), side=rng.integers(0, 2, n).astype(np.uint8),
        price=np.full(n, 10**11, dtype=np.int64), size=size, price_depth=rng.normal(0, 1e-3, n),
        log_volume=np.log1p(size.astype(float)), dt=dt, mid=np.full(n, 100.0), price_level=rng.normal(0, 1e-3, n),
        tier=np.zeros(n, dtype=np.int64), participant=np.zeros(n, dtype=np.uint8), source_row=np.arange(n),
    )


def _tiny_model(**overrides) -> TradeFMForCausalLM:
    config = TradeFMConfig(
        **{
            "vocab_size": 64,
            "hidden_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "intermediate_size": 64,
            "max_position_embeddings": 64,
            **overrides,
        }
    )
    torch.manual_seed(0)
    return TradeFMForCausalLM(config).eval()


def _inputs(batch: int = 2, seq: int = 9):
    g = torch.Generator().manual_seed(4)
    ids = torch.randint(0, 64, (batch, seq), generator=g)
    ctx = torch.stack(
        [torch.randint(0, n, (batch, seq), generator=g) for n in (3, 32, 2)],
        dim=-1,
    )
    return ids, ctx


def test_save_writes_full_checkpoint_folder(tmp_path):
    tok = {"n_price_depth": 16, "n_volume": 16}
    model = _tiny_model(tokenizer_config=tok)
    model.save_pretrained(tmp_path)
    names = {p.name for p in tmp_path.iterdir()}
    assert {"config.json", "generation_config.json", "model.safetensors", "README.md", *HUB_FILES} <= names
    assert not any(n.endswith(".bin") for n in names)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["auto_map"] == {
        "AutoConfig": "configuration_tradefm.TradeFMConfig",
        "AutoModel": "modeling_tradefm.TradeFMModel",
        "AutoModelForCausalLM": "modeling_tradefm.TradeFMForCausalLM",
    }
    assert config["model_type"] == "tradefm" and config["architectures"] == ["TradeFMForCausalLM"]
    assert config["tokenizer_config"] == tok
    for name in HUB_FILES:  # the copied code is the package's code, byte for byte
        assert (tmp_path / name).read_bytes() == (PACKAGE_DIR / name).read_bytes()
    card = (tmp_path / "README.md").read_text()
    assert "library_name: transformers" in card and "| layers | 2 |" in card and "trust_remote_code=True" in card


def test_hub_files_import_only_each_other_torch_and_transformers():
    allowed = {"torch", "transformers", "huggingface_hub", "copy", "typing", "os", "collections", "__future__"}
    for name in HUB_FILES:
        for line in (PACKAGE_DIR / name).read_text().splitlines():
            stripped = line.strip()
            if stripped.startswith("from ."):
                assert stripped.split()[1].lstrip(".") in {"configuration_tradefm", "modeling_tradefm"}, line
            elif stripped.startswith(("import ", "from ")) and not line.startswith(" "):
                root = stripped.split()[1].split(".")[0]
                assert root in allowed, f"{name}: {line}"


def test_tokenizer_hub_file_imports_only_numpy_and_the_standard_library():
    """``tokenization_tradefm.py`` is loaded by AutoTokenizer without the package: its only relative import is
    ``book_bins.py`` (a Hub file copied beside it, numpy only); no torch, no numba."""
    allowed = {"numpy", "huggingface_hub", "__future__", "importlib", "json", "math", "os", "re", "shutil", "warnings",
               "collections", "pathlib", "typing"}
    roots, relative = set(), set()
    for file in (TOKENIZER_HUB_FILE, "book_bins.py"):
        for line in (PACKAGE_DIR / file).read_text().splitlines():
            stripped = line.strip()
            if stripped.startswith("from ."):
                relative.add(stripped.split()[1].lstrip("."))
            elif stripped.startswith(("import ", "from ")):
                roots.add(stripped.split()[1].split(".")[0])
    assert relative == {"book_bins"}, relative
    assert roots <= allowed, roots - allowed
    assert "numpy" in roots and "huggingface_hub" in roots  # the latter only inside the Hub-id branch


def test_save_writes_tokenizer_hub_files(tmp_path):
    """A model whose config carries a calibrated tokenizer saves it as AutoTokenizer files too; one without does not."""
    tok = TradeFMTokenizer(n_price_depth=4, n_volume=4, n_dt=4, n_price_level=4).calibrate(
        [_feature_session("2024-01-02", 500, 1)], calib_days=1)
    model = _tiny_model(vocab_size=tok.vocab_size, field_vocab_sizes=tok.field_vocab_sizes, tokenizer_config=tok.to_dict())
    model.save_pretrained(tmp_path / "with")
    names = {p.name for p in (tmp_path / "with").iterdir()}
    assert {"tokenizer_config.json", TOKENIZER_FILE, TOKENIZER_HUB_FILE, "config.json", "README.md"} <= names
    assert json.loads((tmp_path / "with" / "tokenizer_config.json").read_text())["auto_map"] == {
        "AutoTokenizer": ["tokenization_tradefm.TradeFMTokenizer", None]}
    assert json.loads((tmp_path / "with" / TOKENIZER_FILE).read_text()) == tok.to_dict()
    assert json.loads((tmp_path / "with" / "config.json").read_text())["tokenizer_config"] == tok.to_dict()  # kept
    assert (tmp_path / "with" / TOKENIZER_HUB_FILE).read_bytes() == (PACKAGE_DIR / TOKENIZER_HUB_FILE).read_bytes()
    assert "AutoTokenizer.from_pretrained(path, trust_remote_code=True)" in (tmp_path / "with" / "README.md").read_text()
    assert TradeFMTokenizer.from_pretrained(tmp_path / "with") == tok
    _tiny_model().save_pretrained(tmp_path / "without")
    assert not {"tokenizer_config.json", TOKENIZER_FILE, TOKENIZER_HUB_FILE} & {p.name for p in (tmp_path / "without").iterdir()}


def test_model_card_keeps_metrics_across_resaves(tmp_path):
    model = _tiny_model()
    model.save_pretrained(tmp_path)
    write_model_card(tmp_path, model.config, metrics={"eval_loss": 2.5, "perplexity": 12.18}, data={"sessions": 3})
    model.save_pretrained(tmp_path)  # e.g. a later Trainer checkpoint into the same folder
    card = (tmp_path / "README.md").read_text()
    assert "| eval_loss | 2.5 |" in card and "| perplexity | 12.18 |" in card and "| sessions | 3 |" in card


def test_local_auto_classes(tmp_path):
    model = _tiny_model()
    model.save_pretrained(tmp_path)
    ids, ctx = _inputs()
    assert isinstance(AutoConfig.from_pretrained(tmp_path), TradeFMConfig)
    lm = AutoModelForCausalLM.from_pretrained(tmp_path).eval()
    base = AutoModel.from_pretrained(tmp_path).eval()
    assert type(lm) is TradeFMForCausalLM and type(base) is TradeFMModel
    torch.testing.assert_close(lm(ids, ctx).logits, model(ids, ctx).logits, rtol=0, atol=0)
    torch.testing.assert_close(base(ids, ctx).last_hidden_state, model.model(ids, ctx).last_hidden_state, rtol=0,
                               atol=0)
    fresh = AutoModelForCausalLM.from_config(TradeFMConfig.from_preset("tiny", num_hidden_layers=1))
    assert type(fresh) is TradeFMForCausalLM


_REMOTE_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import torch
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM

    ckpt, inputs, out_path = sys.argv[1], sys.argv[2], sys.argv[3]
    data = torch.load(inputs)
    result = {}
    try:  # no trust_remote_code: must refuse (stdin is /dev/null, so the consent prompt fails at once)
        AutoModelForCausalLM.from_pretrained(ckpt)
        result["untrusted"] = "loaded"
    except ValueError as exc:
        result["untrusted"] = "ValueError"
    config = AutoConfig.from_pretrained(ckpt, trust_remote_code=True)
    lm = AutoModelForCausalLM.from_pretrained(ckpt, trust_remote_code=True).eval()
    base = AutoModel.from_pretrained(ckpt, trust_remote_code=True).eval()
    result["classes"] = [type(config).__module__, type(lm).__module__, type(base).__module__]
    result["names"] = [type(config).__name__, type(lm).__name__, type(base).__name__]
    result["package_imported"] = any(m == "modeling_tradefm" or m.startswith("modeling_tradefm.") for m in sys.modules)
    with torch.no_grad():
        logits = lm(data["ids"], data["ctx"]).logits
        hidden = base(data["ids"], data["ctx"]).last_hidden_state
        gen_a = lm.generate(data["ids"], context_ids=data["ctx"], max_new_tokens=5, do_sample=False)
        gen_b = lm.generate(data["ids"], context_ids=data["ctx"], max_new_tokens=5, do_sample=False, use_cache=False)
    resave = os.path.join(os.path.dirname(out_path), "resaved")
    lm.save_pretrained(resave)  # Hub copy re-saves: full auto_map, code files, minimal card
    result["resave_auto_map"] = json.load(open(os.path.join(resave, "config.json")))["auto_map"]
    result["resave_files"] = sorted(os.listdir(resave))
    torch.save({"logits": logits, "hidden": hidden, "gen_a": gen_a, "gen_b": gen_b}, out_path)
    print("RESULT " + json.dumps(result))
    """
)


def test_remote_code_in_clean_subprocess(tmp_path):
    """Load with trust_remote_code in a process that never imports this package (what a Hub user does)."""
    ckpt = tmp_path / "tradefm-tiny-ckpt"
    model = _tiny_model()
    model.save_pretrained(ckpt)
    ids, ctx = _inputs()
    torch.save({"ids": ids, "ctx": ctx}, tmp_path / "inputs.pt")
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env.update(HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf_home"), TRANSFORMERS_VERBOSITY="error")
    proc = subprocess.run(
        [sys.executable, "-c", _REMOTE_SCRIPT, str(ckpt), str(tmp_path / "inputs.pt"), str(work / "out.pt")],
        cwd=work,  # not the repository: the package must not be importable
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    # stdout also holds transformers' consent prompt text ("Do you wish to run the custom code? [y/N]")
    result = json.loads(proc.stdout.split("RESULT ", 1)[1])
    assert result["untrusted"] == "ValueError"
    assert result["package_imported"] is False
    assert all(m.startswith("transformers_modules.") for m in result["classes"]), result["classes"]
    assert result["names"] == ["TradeFMConfig", "TradeFMForCausalLM", "TradeFMModel"]
    assert set(result["resave_auto_map"]) == {"AutoConfig", "AutoModel", "AutoModelForCausalLM"}
    assert {"README.md", "model.safetensors", *HUB_FILES} <= set(result["resave_files"])
    out = torch.load(work / "out.pt")
    # the subprocess generates with the checkpoint's generation_config.json (the sampling settings the
    # save wrote, repetition penalty 1.2), not with the in-memory model's transformers default
    model.generation_config = GenerationConfig.from_pretrained(ckpt)
    with torch.no_grad():
        torch.testing.assert_close(out["logits"], model(ids, ctx).logits, rtol=0, atol=0)
        torch.testing.assert_close(out["hidden"], model.model(ids, ctx).last_hidden_state, rtol=0, atol=0)
        expected = model.generate(ids, context_ids=ctx, max_new_tokens=5, do_sample=False)
    torch.testing.assert_close(out["gen_a"], expected, rtol=0, atol=0)
    torch.testing.assert_close(out["gen_b"], expected, rtol=0, atol=0)
    assert any((tmp_path / "hf_home" / "modules" / "transformers_modules").rglob("modeling_tradefm.py"))


_TOKENIZER_SCRIPT = textwrap.dedent(
    """
    import importlib.abc, importlib.util, json, os, sys

    # The package is installed (editable) in this interpreter: hide it, so that any import of it by
    # the Hub files fails loudly, and record the attempts.
    HIDDEN = ("modeling_tradefm", "data_scripts", "run_clm_tradefm")
    attempts = []

    class Hide(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in HIDDEN:
                attempts.append(name)
                raise ModuleNotFoundError(f"{name} is hidden in this process", name=name)
            return None

    sys.meta_path.insert(0, Hide())
    result = {}
    try:
        importlib.util.find_spec("modeling_tradefm")
        result["package_visible"] = True
    except ModuleNotFoundError:
        result["package_visible"] = False
    attempts.clear()

    import numpy as np
    from transformers import AutoTokenizer

    ckpt, features, work = sys.argv[1:4]
    cols = dict(np.load(features))
    try:  # no trust_remote_code: must refuse (stdin is /dev/null, so the consent prompt fails at once)
        AutoTokenizer.from_pretrained(ckpt)
        result["untrusted"] = "loaded"
    except ValueError:
        result["untrusted"] = "ValueError"
    tok = AutoTokenizer.from_pretrained(ckpt, trust_remote_code=True)
    enc = tok(cols)
    dec = tok.decode_fields(enc["input_ids"], seed=11)
    hub = AutoTokenizer.from_pretrained("tradefm/amzn-tiny", trust_remote_code=True)  # offline, from the cache
    hub_enc = hub(cols)
    resaved = os.path.join(work, "resaved")
    tok.save_pretrained(resaved)
    again = AutoTokenizer.from_pretrained(resaved, trust_remote_code=True)
    result.update(
        classes=[type(t).__module__ + "." + type(t).__name__ for t in (tok, hub, again)],
        same_state=tok.to_dict() == hub.to_dict() == again.to_dict(),
        resaved_files=sorted(os.listdir(resaved)),
        attempts=attempts,
        package_imported=any(m.split(".")[0] in HIDDEN for m in sys.modules),
        numba_imported="numba" in sys.modules,
    )
    np.savez(os.path.join(work, "out.npz"), input_ids=enc["input_ids"], context_ids=enc["context_ids"],
             hub_input_ids=hub_enc["input_ids"], hub_context_ids=hub_enc["context_ids"],
             **{"decoded_" + k: v for k, v in dec.items()})
    print("RESULT " + json.dumps(result))
    """
)


def test_autotokenizer_in_clean_subprocess(tmp_path):
    """AutoTokenizer loads a checkpoint's tokenizer (folder and Hub id) where the package cannot be imported,
    and encodes / decodes a real session exactly as the package does."""
    from modeling_tradefm.features import build_features
    from modeling_tradefm.io import read_events

    (sf,) = build_features(read_events(real_path("lobster", "AMZN_2012-06-21_34200000_57600000_message_1.csv"),
                                       progress=False))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # one day < calib_days: documented fallback
        tok = TradeFMTokenizer().calibrate([sf])
    model = _tiny_model(vocab_size=tok.vocab_size, field_vocab_sizes=tok.field_vocab_sizes, tokenizer_config=tok.to_dict())
    ckpt = tmp_path / "tradefm-amzn-ckpt"
    model.save_pretrained(ckpt)
    hub = FakeHub(tmp_path)
    hub.add("tradefm/amzn-tiny", ckpt)
    np.savez(tmp_path / "features.npz", **sf.columns())
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(hub.env(), TRANSFORMERS_VERBOSITY="error")
    proc = subprocess.run(
        [sys.executable, "-I", "-c", _TOKENIZER_SCRIPT, str(ckpt), str(tmp_path / "features.npz"), str(work)],
        cwd=work, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads(proc.stdout.split("RESULT ", 1)[1])
    assert result["package_visible"] is False and result["attempts"] == [] and result["package_imported"] is False
    assert result["numba_imported"] is False
    assert result["untrusted"] == "ValueError"
    assert all(c.startswith("transformers_modules.") and c.endswith(".tokenization_tradefm.TradeFMTokenizer")
               for c in result["classes"]), result["classes"]
    assert result["same_state"] is True
    assert result["resaved_files"] == ["book_bins.py", TOKENIZER_HUB_FILE, "tokenizer_config.json", TOKENIZER_FILE]
    out = np.load(work / "out.npz")
    ref = tok.encode(sf)
    assert len(ref["input_ids"]) == len(sf) > 50_000
    for prefix in ("", "hub_"):
        np.testing.assert_array_equal(out[prefix + "input_ids"], ref["input_ids"])
        np.testing.assert_array_equal(out[prefix + "context_ids"], ref["context_ids"])
    expected = tok.decode(ref["input_ids"], np.random.default_rng(11))
    for key in ("action", "side", "price_depth", "size", "dt"):
        np.testing.assert_array_equal(out["decoded_" + key], expected[key])


def test_autotokenizer_from_hub_id_in_process(tmp_path, monkeypatch):
    """``AutoTokenizer.from_pretrained("org/name", trust_remote_code=True)`` from the offline cache (and a revision)."""
    from transformers import AutoTokenizer

    toks = [TradeFMTokenizer(n_price_depth=4, n_volume=4, n_dt=4, n_price_level=4, seed=s).calibrate(
        [_feature_session("2024-01-02", 400, s)], calib_days=1) for s in (1, 2)]
    hub = FakeHub(tmp_path)
    for tok, revision in zip(toks, ("main", "v2"), strict=True):
        folder = tmp_path / revision
        _tiny_model(vocab_size=tok.vocab_size, field_vocab_sizes=tok.field_vocab_sizes,
                    tokenizer_config=tok.to_dict()).save_pretrained(folder)
        hub.add("tradefm/tiny", folder, revision=revision)
    hub.use(monkeypatch)
    assert toks[0] != toks[1]
    assert AutoTokenizer.from_pretrained("tradefm/tiny", trust_remote_code=True) == toks[0]
    assert AutoTokenizer.from_pretrained("tradefm/tiny", revision="v2", trust_remote_code=True) == toks[1]


def test_autotokenizer_gives_the_package_class_without_remote_code(tmp_path):
    """With the package imported, ``AutoTokenizer`` maps a TradeFM checkpoint to the package's own
    tokenizer class (registered like the model), so no remote code is needed or run."""
    from transformers import AutoTokenizer

    tok = TradeFMTokenizer(n_price_depth=4, n_volume=4, n_dt=4, n_price_level=4, seed=3).calibrate(
        [_feature_session("2024-01-02", 400, 3)], calib_days=1)
    _tiny_model(vocab_size=tok.vocab_size, field_vocab_sizes=tok.field_vocab_sizes,
                tokenizer_config=tok.to_dict()).save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    assert type(loaded) is TradeFMTokenizer and loaded == tok
