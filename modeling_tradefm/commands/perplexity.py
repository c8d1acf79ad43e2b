# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""``tradefm perplexity``: per-token NLL/perplexity of a checkpoint, per instrument and per token field.

    tradefm perplexity --model checkpoints/tiny --data "data/us/*.mbo.csv.zst" --zero-shot "data/jp/*.dbn.zst" --json

``--data`` is scored as the in-distribution split and ``--zero-shot`` (instruments the model never
saw) as the zero-shot split; the table shows both. The tokenizer is the checkpoint's own
(``config.json``'s ``tokenizer_config`` or ``tradefm_tokenizer.json``). See
``modeling_tradefm.evaluation.perplexity`` for the windowing and the per-field decomposition.
``--model`` is a checkpoint folder or a Hub repo id (``org/name``, ``--revision``; offline, from
the local cache).
"""

from __future__ import annotations

import argparse
import json
import sys


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("perplexity", help="per-token perplexity of a checkpoint, per instrument and field",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, metavar="CKPT", help="checkpoint folder or Hub repo id (org/name)")
    p.add_argument("--revision", default=None, help="Hub branch, tag or commit of a --model repo id (default main)")
    p.add_argument("--data", nargs="+", required=True, metavar="GLOB", help="in-distribution event files")
    p.add_argument("--zero-shot", nargs="+", default=None, metavar="GLOB", help="zero-shot event files")
    p.add_argument("--context-length", type=int, default=None, help="window (default: max_position_embeddings)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--max-tokens", type=int, default=None, help="scored tokens per instrument (default all)")
    p.add_argument("--device", default=None, help="torch device (default cuda if available, else cpu)")
    p.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    p.set_defaults(func=run)


def run(args) -> int:
    import torch

    from ..evaluation.perplexity import perplexity, perplexity_table
    from ..evaluation.report import to_jsonable
    from ..features import FeatureConfig, build_features
    from ..hub import resolve_folder
    from ..io import read_events
    from ..modeling_tradefm import TradeFMForCausalLM
    from ..tokenization_tradefm import TradeFMTokenizer

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    folder = resolve_folder(args.model, revision=args.revision)
    model = TradeFMForCausalLM.from_pretrained(folder).to(device)
    tokenizer = TradeFMTokenizer.from_pretrained(folder)
    tokenizer.check_compatible(model.config)
    fc = getattr(tokenizer, "feature_config", None)
    fc = fc if isinstance(fc, FeatureConfig) else None
    results = {}
    for split, paths in (("in-distribution", args.data), ("zero-shot", args.zero_shot)):
        if not paths:
            continue
        sessions = build_features(read_events(paths if len(paths) > 1 else paths[0]), fc)
        results[split] = perplexity(model, tokenizer, sessions, args.context_length, args.batch_size,
                                    args.max_tokens, device)
    if args.json:
        print(json.dumps(to_jsonable(results), indent=2))
    else:
        print(perplexity_table(results))
    print(f"model {args.model}: scored on {device}", file=sys.stderr)
    return 0


__all__ = ["add_parser", "run"]
