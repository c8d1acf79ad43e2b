"""Per-field NLL decomposition (synthetic logits) and perplexity of a tiny random TradeFM model."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import real_path

from modeling_tradefm.evaluation.perplexity import decompose_nll


def test_uniform_logits_give_log_radix_per_field():
    n = 7
    d = decompose_nll(torch.zeros(n, 16384), torch.randint(0, 16384, (n,)))
    np.testing.assert_allclose(d["joint"], math.log(16384), rtol=1e-6)
    for f, r in zip(("action", "side", "price_depth", "volume", "dt"), (2, 2, 16, 16, 16), strict=True):
        np.testing.assert_allclose(d[f"marginal_{f}"], math.log(r), rtol=1e-5)
        np.testing.assert_allclose(d[f"chain_{f}"], math.log(r), rtol=1e-5)


def test_chain_sums_to_joint_and_marginals_match_bruteforce():
    g = torch.Generator().manual_seed(0)
    radix = (2, 3, 4)
    logits = torch.randn(5, 24, generator=g) * 2
    targets = torch.tensor([0, 5, 23, 12, 17])
    d = decompose_nll(logits, targets, radix)
    chain = d["chain_f0"] + d["chain_f1"] + d["chain_f2"]
    np.testing.assert_allclose(chain, d["joint"], rtol=1e-5, atol=1e-6)
    p = torch.softmax(logits, -1).view(5, 2, 3, 4).numpy()
    for i, t in enumerate(targets.tolist()):
        a, b, c = t // 12, (t // 4) % 3, t % 4
        assert d["marginal_f0"][i] == pytest.approx(-math.log(p[i, a].sum()), rel=1e-5)
        assert d["marginal_f1"][i] == pytest.approx(-math.log(p[i, :, b].sum()), rel=1e-5)
        assert d["marginal_f2"][i] == pytest.approx(-math.log(p[i, :, :, c].sum()), rel=1e-5)
        assert d["chain_f1"][i] == pytest.approx(-math.log(p[i, a, b].sum() / p[i, a].sum()), rel=1e-5)
    with pytest.raises(ValueError):
        decompose_nll(logits[:, :10], targets, radix)


def test_perplexity_of_tiny_random_model_on_real_sessions():
    from modeling_tradefm.configuration_tradefm import TradeFMConfig
    from modeling_tradefm.evaluation.perplexity import perplexity, perplexity_table
    from modeling_tradefm.features import build_features
    from modeling_tradefm.io import read_events
    from modeling_tradefm.modeling_tradefm import TradeFMForCausalLM
    from modeling_tradefm.tokenization_tradefm import TradeFMTokenizer

    events = read_events(real_path("databento", "glbx-esh4", "esh4-glbx-mdp3-20231225.mbo.csv.zst"), progress=False)
    sessions = build_features(events)
    tok = TradeFMTokenizer().calibrate(sessions)
    torch.manual_seed(0)
    cfg = TradeFMConfig.from_preset("tiny", vocab_size=tok.vocab_size, field_vocab_sizes=tok.field_vocab_sizes)
    model = TradeFMForCausalLM(cfg)
    res = perplexity(model, tok, sessions, context_length=64, batch_size=4, max_tokens=630, progress=False)
    sym = sessions[0].symbol
    s = res["instruments"][sym]
    assert s["tokens"] == 630  # 10 windows × 63 scored tokens
    assert s["perplexity"] == pytest.approx(math.exp(s["nll"]))
    chain = sum(s[f"nll_chain_{f}"] for f in ("action", "side", "price_depth", "volume", "dt"))
    assert chain == pytest.approx(s["nll"], rel=1e-5)
    # a random model is near-uniform: NLL close to log(16384)
    assert abs(s["nll"] - math.log(16384)) < 1.0
    # the joint NLL equals the model's own causal-LM loss on one window
    enc = tok.encode(sessions[0])
    ids = torch.as_tensor(enc["input_ids"][:64])[None]
    ctx = torch.as_tensor(enc["context_ids"][:64])[None]
    one = perplexity(model, tok, sessions, context_length=64, max_tokens=63, progress=False)
    with torch.no_grad():
        loss = model(input_ids=ids, context_ids=ctx, labels=ids).loss.item()
    assert one["overall"]["nll"] == pytest.approx(loss, rel=1e-4)
    table = perplexity_table({"in-distribution": res, "zero-shot": one})
    assert "zero-shot" in table and sym in table
