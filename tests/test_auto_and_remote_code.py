# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Checkpoint folder layout, local Auto registration, and Hub-style remote-code loading in a clean subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import torch
from transformers import AutoConfig, AutoModel, AutoModelForCausalLM

import modeling_tradefm
from modeling_tradefm.configuration_tradefm import TradeFMConfig
from modeling_tradefm.model_card import write_model_card
from modeling_tradefm.modeling_tradefm import TradeFMForCausalLM, TradeFMModel

PACKAGE_DIR = Path(modeling_tradefm.__file__).parent
HUB_FILES = ("configuration_tradefm.py", "modeling_tradefm.py")


def _tiny_model(**overrides) -> TradeFMForCausalLM:
    config = TradeFMConfig(
        vocab_size=64,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        **overrides,
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
    with torch.no_grad():
        torch.testing.assert_close(out["logits"], model(ids, ctx).logits, rtol=0, atol=0)
        torch.testing.assert_close(out["hidden"], model.model(ids, ctx).last_hidden_state, rtol=0, atol=0)
        expected = model.generate(ids, context_ids=ctx, max_new_tokens=5, do_sample=False)
    torch.testing.assert_close(out["gen_a"], expected, rtol=0, atol=0)
    torch.testing.assert_close(out["gen_b"], expected, rtol=0, atol=0)
    assert any((tmp_path / "hf_home" / "modules" / "transformers_modules").rglob("modeling_tradefm.py"))
