# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""A TradeFM checkpoint as an ``OrderProposer``: the model side of the closed loop (``generation_tradefm.rollout``).

1. The real prefix is featurised and tokenised exactly like training data (``build_features`` +
   ``TradeFMTokenizer.encode``). A prefix of at most ``max_context`` tokens is prefilled whole; a
   longer one is cut by the sliding-window rule below (its last ``window_keep`` tokens). The
   prefill runs once on batch 1 and the KV cache is then repeated over the rollouts, so every
   rollout starts from bit-identical state.
2. Each step, the next-token logits of every rollout come from ONE batched forward of one new
   position per rollout through the KV cache. They are processed by transformers' logits
   processors and sampled with one uniform per rollout from that rollout's own stream
   (``sampling``): a rollout's draw does not depend on which other rollouts share its batch
   ("a batch of N equals N single rollouts").
3. The token is decoded by the tokenizer (in-bin sampling, each rollout's row from that rollout's
   own ``numpy.random.Generator``) into (action, side, δp, size, Δt). The order's price depends on
   the tokenizer's ``price_reference``: ``"vwap"`` (the paper) — ``mid · (1 + δp)`` rounded to the
   nearest tick, where ``mid`` is the simulator's EW-VWAP mid BEFORE the order (the same mid that
   defines δp in the training features); ``"best"`` — δp is the aggressiveness in ticks from the
   order's own side's best quote BEFORE the order, so the price is ``best_bid + rint(δp)·tick``
   (buy) or ``best_ask − rint(δp)·tick`` (sell); an empty own side falls back to one tick inside
   the opposite best, an empty book to the EW-VWAP mid on the tick grid
   (``book_context.own_best_reference``, the rule the training features use). Its time is the
   rollout's clock + Δt (ns, rounded); its size is the decoded size rounded to an integer ≥ 1.
4. After the simulator applied the order, the context of that position is
   ``(tier, Δp bin, participant)`` with ``Δp = (vwap_mid_after − p_open) / p_open`` — the context
   rule of the contracts: position t carries the market right AFTER event t. The tier is the
   session's (fixed within a session): by default the features' tier of the prefix — with no ADV
   history, the prefix's volume scaled to a full session by the intraday volume profile
   (``features.estimate_session_volume``), the same rule training applied — else the tier of a
   given ``adv``, or a pinned ``tier``; ``p_open`` is the session open of the prefix's features.
   A book-aware tokenizer appends its book fields
   (spread in ticks, level-1 queue imbalance) read from the live simulator after the order: best
   quotes and their sizes, O(1) reads, binned by the same functions as the training features
   (``book_context``). The prefix's contexts come from the features path itself
   (``build_features(prefix, books=book.BookSource(prefix, prefix_orderbook))``).
5. The position's token is the sampled token when the proposal was applied unchanged; an injected
   order is encoded with ``TradeFMTokenizer.encode_orders`` (its δp from the pre-order mid, or own best) and
   carries participant flag 1 in its context.

Sliding window: the model never sees more than ``max_context`` (default
``config.max_position_embeddings``) positions. When the window is full, it is cut to its last
``window_keep`` tokens (default half of ``max_context``) and those are re-prefilled into a fresh
cache with positions restarting at 0, so RoPE never leaves the trained range. A cut costs one
prefill of ``window_keep`` positions every ``max_context − window_keep`` steps — correctness over
cleverness (no cache shifting with re-rotated keys). The uncached path (``use_cache=False``)
follows the very same window rule and re-runs the whole window each step, so both paths see the
same inputs and give the same rollout for the same seed. The cached path keeps its keys and
values in preallocated storage (``kv_cache``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForCausalLM
from transformers.utils import GENERATION_CONFIG_NAME

from . import register_tradefm
from .book import BookSource
from .book_context import depth_from_best, own_best_reference, price_from_best, queue_imbalance, spread_in_ticks
from .cpu_threads import decode_threads, torch_threads
from .errors import DataError
from .events import (
    ACTION_ADD,
    ACTION_CANCEL,
    NS_PER_SECOND,
    PRICE_SCALE,
    SIDE_ASK,
    SIDE_BID,
    EventTable,
)
from .features import FeatureConfig, build_features
from .hub import resolve_folder
from .kv_cache import preallocate_cache
from .proposer import MARKET_PRICE_ASK, MARKET_PRICE_BID, OrderBatch, OrderProposer, resolve_rollout_ids
from .sampling import SamplingConfig, penalised_window, process_logits, rollout_generators, sample_tokens
from .ticks import book_tick_size, infer_tick_size
from .tokenization_tradefm import TradeFMTokenizer

# --------------------------------------------------------------------------------------------
# Book helpers (duck-typed on the simulator's public API): the price grid and mid of the orders
# --------------------------------------------------------------------------------------------


def _call_or_value(x):
    return x() if callable(x) else x


def book_reference_mid(book) -> float | None:
    """The mid used for δp: the EW-VWAP mid, else the book mid (before any execution), in 1e-9 units."""
    for name in ("vwap_mid", "mid"):
        fn = getattr(book, name, None)
        if fn is None:
            continue
        value = _call_or_value(fn)
        if value is not None and np.isfinite(value) and value > 0:
            return float(value)
    return None


def live_quotes(books: Sequence) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Best bid, best ask (NaN where empty) and their level sizes of each book (float64 [B] each).

    Duck-typed on the simulator's ``best_bid()``, ``best_ask()`` and ``level_size(side, price)``.
    """
    n = len(books)
    bid, ask = np.full(n, np.nan), np.full(n, np.nan)
    qb, qa = np.zeros(n), np.zeros(n)
    for i, b in enumerate(books):
        pb, pa = b.best_bid(), b.best_ask()
        if pb is not None:
            bid[i], qb[i] = pb, b.level_size(0, pb)
        if pa is not None:
            ask[i], qa[i] = pa, b.level_size(1, pa)
    return bid, ask, qb, qa


def price_from_depth(mid: np.ndarray, price_depth: np.ndarray, tick: np.ndarray) -> np.ndarray:
    """``mid · (1 + δp)`` rounded to the nearest multiple of ``tick`` (all 1e-9 units; arrays [B]).

    Rounding to the nearest tick (not toward or away from the book) keeps the decoded δp bin's
    centre of mass; a price that rounds to ≤ 0 is passed on and the simulator voids it
    (``TradeFMProposer`` maps exactly 0 to −1 so it is not taken for ``MARKET_PRICE_ASK``).
    """
    raw = np.asarray(mid, dtype=np.float64) * (1.0 + np.asarray(price_depth, dtype=np.float64))
    tick = np.asarray(tick, dtype=np.float64)
    return (np.rint(raw / tick) * tick).astype(np.int64)


# --------------------------------------------------------------------------------------------
# The proposer
# --------------------------------------------------------------------------------------------


class TradeFMProposer(OrderProposer):
    """A TradeFM checkpoint driving rollouts (see the module docstring for the full procedure).

    Args:
        model: a ``TradeFMForCausalLM`` (eval mode is set here).
        tokenizer: the checkpoint's frozen ``TradeFMTokenizer``.
        sampling: the sampling settings (default ``SamplingConfig()``, the package's defaults).
        temperature, top_k, top_p, repetition_penalty, repetition_window: override one field of
            ``sampling`` each (``None`` = keep it); see ``SamplingConfig``.
        use_cache: KV-cached decoding (one new position per step); ``False`` re-runs the window.
        preallocate: keep the KV cache in storage of ``max_context`` positions allocated at each
            (re-)prefill, written in place each step (same numbers as ``DynamicCache``, without its
            per-step concatenation).
        max_context: the model's window (default ``config.max_position_embeddings``).
        window_keep: tokens kept when the window slides (default ``max_context // 2``).
        feature_config: ``FeatureConfig`` for featurising the prefix (default: the tokenizer's
            calibration config when it records one, else ``FeatureConfig()``).
        tick_size: price grid of generated orders (1e-9 units); default the simulator's, else the
            GCD of the prefix's add prices.
        tier: pin the liquidity tier of every context row, prefix included (default: the tier the
            features give the prefix: with no ADV history, the features' ``adv_fallback`` rule,
            by default the prefix's volume scaled to a full session by the intraday volume profile).
        adv: the instrument's average daily volume (shares/contracts): the tier is
            ``features.tier_of_adv(adv)`` under the feature config's cuts (``tier`` wins if both).
        device: where the model runs (default: the model's device).
        threads: torch CPU threads while decoding (default: ``cpu_threads.decode_threads``' rule —
            one thread on CPU for a model of at most ``cpu_threads.SMALL_MODEL_PARAMETERS``
            parameters, torch's setting otherwise). Set only while the proposer's torch code
            runs; torch's previous count is restored after every call.
        prefix_orderbook: book-aware tokenizers only: the LOBSTER orderbook rows of the prefix's
            message file (``read_file(..., orderbook=True).orderbook``), so the prefix's book
            context comes from the venue's book as in training on that file; default: the prefix
            replayed through the simulator (``book.BookSource``).
    """

    name = "tradefm"

    def __init__(
        self,
        model,
        tokenizer,
        *,
        sampling: SamplingConfig | None = None,
        temperature: float | None = None,
        top_k: int | None = None,
        top_p: float | None = None,
        repetition_penalty: float | None = None,
        repetition_window: int | None = None,
        use_cache: bool = True,
        preallocate: bool = True,
        max_context: int | None = None,
        window_keep: int | None = None,
        feature_config=None,
        tick_size: int | None = None,
        tier: int | None = None,
        adv: float | None = None,
        device=None,
        threads: int | None = None,
        prefix_orderbook: np.ndarray | None = None,
    ):
        self.model = model.eval() if device is None else model.to(device).eval()
        self.tokenizer = tokenizer
        self.sampling = (sampling or SamplingConfig()).replace(
            temperature=temperature, top_k=top_k, top_p=top_p, repetition_penalty=repetition_penalty,
            repetition_window=repetition_window,
        )
        self._processors = self.sampling.logits_processor()
        self.use_cache = bool(use_cache)
        self.preallocate = bool(preallocate)
        max_pos = int(getattr(model.config, "max_position_embeddings", 0) or 0)
        self.max_context = int(max_context or max_pos)
        if self.max_context < 2:
            raise ValueError(f"max_context must be >= 2, got {self.max_context}")
        if max_pos and self.max_context > max_pos:
            raise ValueError(f"max_context {self.max_context} exceeds max_position_embeddings {max_pos}")
        self.window_keep = int(window_keep or max(1, self.max_context // 2))
        if not 1 <= self.window_keep < self.max_context:
            raise ValueError(f"window_keep must be in [1, max_context), got {self.window_keep}")
        self.feature_config = feature_config
        self.tick_size = tick_size
        self.tier_override = tier
        if adv is not None and not (np.isfinite(adv) and adv >= 0):
            raise ValueError(f"adv must be a volume >= 0, got {adv}")
        self.adv_override = None if adv is None else float(adv)
        self.context_info: dict | None = None
        self.prefix_orderbook = prefix_orderbook
        self._best = tokenizer.price_reference == "best"
        self._n_ctx = len(tokenizer.context_fields)
        self.device = device if device is not None else next(model.parameters()).device
        self.vocab_size = int(model.config.vocab_size)
        if threads is not None and int(threads) < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        self.threads = threads
        self._threads: int | None = None  # the count of the current run (decode_threads)
        self._started = False

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def from_pretrained(
        cls,
        path: str | Path,
        *,
        revision: str | None = None,
        cache_dir: str | Path | None = None,
        token: bool | str | None = None,
        **kwargs,
    ) -> TradeFMProposer:
        """Load a checkpoint (a folder or a Hub repo id, ``hub.resolve_folder``) as a proposer.

        The model is loaded with ``AutoModelForCausalLM`` after registering this package's classes,
        so no remote code is executed (the folder's own ``.py`` copies serve Hub users); the
        tokenizer is ``config.tokenizer_config``.

        Sampling: the checkpoint's ``generation_config.json`` (``SamplingConfig.from_generation_config``;
        a folder without one, or with transformers' default, gives ``SamplingConfig()``); the field
        keywords (``temperature``, ``top_p``, ...) override it, ``sampling=`` replaces it.

        Args:
            path: checkpoint folder or Hub repo id (``org/name``).
            revision, cache_dir, token: for a Hub repo id, as ``huggingface_hub.snapshot_download``.
            **kwargs: go to ``__init__`` (sampling parameters, ``device``, ...); ``torch_dtype`` and
                ``device`` also go to the model loader.

        Raises:
            DataError: a Hub id that cannot be resolved; a config without ``tokenizer_config``; a
                ``generation_config.json`` that sets a flag rollouts do not implement.
        """
        register_tradefm()
        folder = resolve_folder(path, revision=revision, cache_dir=cache_dir, token=token)
        load_kw = {}
        if "torch_dtype" in kwargs:
            load_kw["dtype"] = kwargs.pop("torch_dtype")
        model = AutoModelForCausalLM.from_pretrained(str(folder), **load_kw)
        device = kwargs.get("device")
        if device is not None:
            model = model.to(device)
        tok_cfg = getattr(model.config, "tokenizer_config", None)
        if not tok_cfg:
            raise DataError(folder / "config.json", "no tokenizer_config: not a complete TradeFM checkpoint")
        tokenizer = TradeFMTokenizer.from_dict(tok_cfg)
        if kwargs.get("sampling") is None:
            try:
                kwargs["sampling"] = SamplingConfig.from_generation_config(model.generation_config)
            except ValueError as exc:
                raise DataError(folder / GENERATION_CONFIG_NAME, str(exc)) from None
        return cls(model, tokenizer, **kwargs)

    # -- OrderProposer ---------------------------------------------------------------------------
    def start(self, prefix: EventTable, books: Sequence, seed: int, rollout_ids: Sequence[int] | None = None) -> None:
        n = len(books)
        self.rollout_ids = resolve_rollout_ids(rollout_ids, n)
        config = self.feature_config
        if config is None:
            config = self._tokenizer_feature_config() or FeatureConfig()
        sessions = build_features(prefix, config, **self._prefix_book(prefix, books))
        sessions = [s for s in sessions if len(s.ts_recv)]
        if not sessions:
            raise DataError("<prefix>", "the prefix has no modeled (add/cancel/execution) events to condition on")
        if len(sessions) > 1:
            raise DataError("<prefix>", f"the prefix spans {len(sessions)} sessions; pass one session's events")
        sess = sessions[0]
        enc = self.tokenizer.encode(sess)
        ids = np.asarray(enc["input_ids"], dtype=np.int64)
        ctx = np.asarray(enc["context_ids"], dtype=np.int64)
        # the session's tier (fixed within a session) unless the caller pins it or gives the ADV; a
        # pinned tier replaces the prefix's too, as a session never changes tier
        self.tier, self.context_info = self._session_tier(sess, int(ctx[-1, 0]), config)
        if self.tier != int(ctx[-1, 0]) or (ctx[:, 0] != self.tier).any():
            ctx = ctx.copy()
            ctx[:, 0] = self.tier
        # p_open: the session open Δp is measured against; features give it in currency units,
        # books work in 1e-9 units
        p_open = getattr(sess, "p_open", None)
        if p_open is None or not np.isfinite(p_open):
            p_open = float(sess.mid[0])
        self.p_open = float(p_open) * PRICE_SCALE
        if not (np.isfinite(self.p_open) and self.p_open > 0):
            raise DataError("<prefix>", f"cannot derive the session open price (got {self.p_open})")
        # the EW-VWAP mid after the last prefix event: the fallback while a book has no mid
        prefix_mid = self.p_open * (1.0 + float(sess.price_level[-1]))

        # tick grid of generated prices: per book
        ticks = []
        fallback = self.tick_size or infer_tick_size(prefix)
        for b in books:
            t = self.tick_size or book_tick_size(b, fallback)
            if not t:
                raise DataError("<prefix>", "no tick size: pass tick_size= (the prefix has no priced adds)")
            ticks.append(int(t))
        self._tick = np.asarray(ticks, dtype=np.int64)
        self._last_mid = np.full(n, prefix_mid)
        for i, b in enumerate(books):
            m = book_reference_mid(b)
            if m is not None:
                self._last_mid[i] = m

        self._start_tokens(ids, ctx, seed)

    def _session_tier(self, sess, features_tier: int, config) -> tuple[int, dict]:
        """(tier, where it came from) for the rollout session: ``tier``, else ``adv``, else the features'."""
        from .features import tier_of_adv

        n_tiers = int(getattr(self.tokenizer, "n_tiers", config.n_tiers))
        if self.tier_override is not None:
            if not 0 <= int(self.tier_override) < n_tiers:
                raise ValueError(f"tier must be in 0..{n_tiers - 1}, got {self.tier_override}")
            return int(self.tier_override), {"tier": int(self.tier_override), "source": "tier (pinned)"}
        if self.adv_override is not None:
            tier = tier_of_adv(self.adv_override, config)
            return tier, {"tier": tier, "source": "adv (given)", "adv": self.adv_override}
        return features_tier, {"tier": features_tier, "source": f"features (adv_fallback={config.adv_fallback!r})",
                               "adv": float(sess.adv), "prefix_volume": int(sess.daily_volume)}

    def _prefix_book(self, prefix: EventTable, books: Sequence) -> dict:
        """``build_features`` arguments of the prefix's book context ({} for a paper-mode tokenizer).

        The tick is the first book's (else the prefix's), the rule the live context uses.
        """
        if not self.tokenizer.needs_book:
            return {}
        tick = (self.tick_size or book_tick_size(books[0], infer_tick_size(prefix))) if len(books) else None
        return {"books": BookSource(prefix, orderbook=self.prefix_orderbook, orderbook_path="<prefix orderbook>"),
                "tick_size": tick}

    def _start_tokens(self, ids: np.ndarray, ctx: np.ndarray, seed: int) -> None:
        """Seed the per-rollout streams, set up the windows from the prefix tokens and prefill.

        Args:
            ids: int64 [n_prefix] prefix tokens; ctx: int64 [n_prefix, K] their contexts.
            seed: the run's seed (streams per ``self.rollout_ids``).
        """
        n = len(self.rollout_ids)
        self._threads = decode_threads(self.threads, self.model, self.device)
        self._torch_gens, self._np_gens = rollout_generators(seed, self.rollout_ids)
        # the window rule of the steps applied to the prefix: over-long prefixes keep window_keep
        n_prefix = len(ids)
        if n_prefix == 0:
            raise ValueError("empty prefix")
        start = 0 if n_prefix <= self.max_context else n_prefix - self.window_keep
        self._win_ids = torch.as_tensor(ids[start:], dtype=torch.long).unsqueeze(0).repeat(n, 1)
        self._win_ctx = torch.as_tensor(ctx[start:], dtype=torch.long).unsqueeze(0).repeat(n, 1, 1)
        self._gen_tokens: list[np.ndarray] = []
        self._gen_ctx: list[np.ndarray] = []
        self._cache = None
        self._pending = None  # (ids [B,1], ctx [B,1,3]) appended but not yet run through the model
        self._proposal = None
        self._started = True
        self.n_prefills = 0
        # prefill once on batch 1 and repeat: every rollout starts from bit-identical state
        self._logits = self._prefill(self._win_ids[:1], self._win_ctx[:1], repeat=n)

    def _sample(self) -> np.ndarray:
        """Advance over the pending position if any, then draw one token per rollout ([B] int64)."""
        with torch_threads(self._threads):
            if self._pending is not None:
                self._advance()
            seen = penalised_window(self._win_ids, self.sampling).to(self._logits.device)
            logits = process_logits(self._logits, seen, self.sampling, self._processors)
            return sample_tokens(logits, self._torch_gens, greedy=self.sampling.greedy).cpu().numpy()

    def decode_open_loop(
        self, input_ids: np.ndarray, context_ids: np.ndarray, n_steps: int, num_rollouts: int = 1, seed: int = 0,
        rollout_ids: Sequence[int] | None = None,
    ) -> np.ndarray:
        """Open-loop decoding: sampling only, no tokenizer decode, no simulator.

        The same prefill, window, cache, logits processing and per-rollout sampling as the closed
        loop; each new position gets the prefix's last context (the market is frozen). This is the
        peer the closed loop is measured against, and a plain "continue the token stream" tool.

        Args:
            input_ids: int64 [n_prefix]; context_ids: int64 [n_prefix, K].
            n_steps: tokens to generate per rollout.

        Returns:
            int64 [num_rollouts, n_steps] sampled tokens.
        """
        self.rollout_ids = resolve_rollout_ids(rollout_ids, num_rollouts if rollout_ids is None else len(rollout_ids))
        ids = np.asarray(input_ids, dtype=np.int64)
        ctx = np.asarray(context_ids, dtype=np.int64)
        self._start_tokens(ids, ctx, seed)
        n = len(self.rollout_ids)
        last_ctx = torch.as_tensor(ctx[-1], dtype=torch.long).expand(n, 1, ctx.shape[1]).contiguous()
        out = np.empty((n, n_steps), dtype=np.int64)
        for step in range(n_steps):
            tokens = self._sample()
            out[:, step] = tokens
            self._pending = (torch.as_tensor(tokens, dtype=torch.long)[:, None], last_ctx)
        self._pending = None
        return out

    def propose(self, books: Sequence) -> OrderBatch:
        if not self._started:
            raise RuntimeError("call start() before propose()")
        n = len(books)
        tokens = self._sample()

        dec = self._decode(tokens)
        mids = self._reference_mids(books)
        action = np.where(np.asarray(dec["action"]) == 0, ACTION_ADD, ACTION_CANCEL).astype(np.uint8)
        side = np.where(np.asarray(dec["side"]) == 0, SIDE_BID, SIDE_ASK).astype(np.uint8)
        refs = None
        if self._best:
            refs = self._best_references(books, mids)
            price = price_from_best(dec["side"], dec["price_depth"], np.where(dec["side"] == 0, *refs), self._tick)
        else:
            price = price_from_depth(mids, dec["price_depth"], self._tick)
        # a price that rounds to ≤ 0 must be voided (bad_price), not read as the market-sell
        # sentinel MARKET_PRICE_ASK == 0
        price[price == MARKET_PRICE_ASK] = -1
        size = np.maximum(1, np.rint(np.asarray(dec["size"], dtype=np.float64))).astype(np.uint32)
        dt_ns = np.maximum(0, np.rint(np.asarray(dec["dt"], dtype=np.float64) * NS_PER_SECOND)).astype(np.int64)
        batch = OrderBatch(dt_ns, action, side, price, size, np.zeros(n, dtype=np.uint8))
        self._proposal = (batch.copy(), tokens, mids, refs)
        return batch

    def _best_references(self, books: Sequence, mids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The price each rollout's next buy / sell is measured from (``price_reference="best"``), [B] each."""
        bid, ask, _, _ = live_quotes(books)
        return (own_best_reference(np.zeros(len(books), np.int64), bid, ask, mids, self._tick),
                own_best_reference(np.ones(len(books), np.int64), bid, ask, mids, self._tick))

    def observe(self, applied: OrderBatch, books: Sequence) -> None:
        if self._proposal is None:
            raise RuntimeError("observe() without a preceding propose()")
        proposed, tokens, mids, refs = self._proposal
        self._proposal = None
        tokens = tokens.copy()
        changed = (
            (applied.participant != proposed.participant) | (applied.action != proposed.action)
            | (applied.side != proposed.side) | (applied.price != proposed.price)
            | (applied.size != proposed.size) | (applied.dt_ns != proposed.dt_ns)
        )
        if changed.any():
            rows = np.flatnonzero(changed)
            price = applied.price[rows].astype(np.float64)
            if refs is None:
                depth = (price - mids[rows]) / mids[rows]
                # market sentinels that did not fill: the most aggressive / passive δp (outer bins)
                depth = np.where(applied.price[rows] == MARKET_PRICE_BID, np.inf, depth)
                depth = np.clip(np.nan_to_num(depth, posinf=1e6, neginf=-1.0), -1.0, 1e6)
            else:
                # a market sentinel (buy at int64 max, sell at 0) is far through the book: the top bin
                sell = applied.side[rows] == SIDE_ASK
                depth = depth_from_best(sell, price, np.where(sell, refs[1][rows], refs[0][rows]), self._tick[rows])
                depth = np.clip(np.nan_to_num(depth, posinf=1e6, neginf=-1e6), -1e6, 1e6)
            tokens[rows] = np.asarray(
                self.tokenizer.encode_orders(
                    (applied.action[rows] == ACTION_CANCEL).astype(np.int64),
                    (applied.side[rows] == SIDE_ASK).astype(np.int64),
                    depth,
                    applied.size[rows].astype(np.int64),
                    applied.dt_ns[rows].astype(np.float64) / NS_PER_SECOND,
                ),
                dtype=np.int64,
            )
        n = len(books)
        mid_after = self._reference_mids(books)
        level = mid_after / self.p_open - 1.0
        ctx = np.empty((n, self._n_ctx), dtype=np.int64)
        ctx[:, 0] = self.tier
        ctx[:, 1] = np.asarray(self.tokenizer.price_level_bin(level), dtype=np.int64)
        ctx[:, 2] = applied.participant.astype(np.int64)
        if self._n_ctx > 3:
            # the book after the order, binned like the training features' (book_context)
            bid, ask, qb, qa = live_quotes(books)
            ctx[:, 3:] = self.tokenizer.book_context_ids(spread_in_ticks(bid, ask, self._tick),
                                                          queue_imbalance(bid, ask, qb, qa))
        self._gen_tokens.append(tokens)
        self._gen_ctx.append(ctx)
        self._pending = (torch.as_tensor(tokens, dtype=torch.long)[:, None], torch.as_tensor(ctx)[:, None, :])

    # -- results -------------------------------------------------------------------------------
    @property
    def threads_used(self) -> int | None:
        """The torch thread count of the current run (after ``start``); ``None``: torch's setting."""
        return self._threads

    def generated_tokens(self) -> np.ndarray | None:
        """int64 [B, steps]: the token of each generated position."""
        if not self._started:
            return None
        n = len(self.rollout_ids)
        return np.stack(self._gen_tokens, axis=1) if self._gen_tokens else np.zeros((n, 0), np.int64)

    def generated_contexts(self) -> np.ndarray | None:
        """int64 [B, steps, K]: the context of each generated position (K = ``len(tokenizer.context_fields)``)."""
        if not self._started:
            return None
        n = len(self.rollout_ids)
        return np.stack(self._gen_ctx, axis=1) if self._gen_ctx else np.zeros((n, 0, self._n_ctx), np.int64)

    # -- internals -----------------------------------------------------------------------------
    def _reference_mids(self, books: Sequence) -> np.ndarray:
        """Each book's δp reference mid now (1e-9 units); a book without one keeps its last known mid."""
        for i, b in enumerate(books):
            m = book_reference_mid(b)
            if m is not None:
                self._last_mid[i] = m
        return self._last_mid.copy()

    def _tokenizer_feature_config(self):
        get = getattr(self.tokenizer, "feature_config", None)
        return _call_or_value(get) if get is not None else None

    def _forward(self, ids, ctx, cache, use_cache: bool):
        with torch.inference_mode():
            out = self.model(
                input_ids=ids.to(self.device),
                context_ids=ctx.to(self.device),
                cache=cache,
                use_cache=use_cache,
                logits_to_keep=1,
            )
        return out.logits[:, -1, :].float(), (out.cache if use_cache else None)

    def _prefill(self, ids, ctx, repeat: int = 1):
        self.n_prefills += 1
        with torch_threads(self._threads):
            logits, cache = self._forward(ids, ctx, None, self.use_cache)
            if repeat > 1:
                logits = logits.expand(repeat, -1).contiguous()
                if cache is not None:
                    cache.batch_repeat_interleave(repeat)
            if cache is not None and self.preallocate:
                cache = preallocate_cache(cache, self.max_context)
        self._cache = cache
        return logits

    def _advance(self) -> None:
        """Append the pending position to every window and compute the next logits."""
        ids, ctx = self._pending
        self._pending = None
        self._win_ids = torch.cat([self._win_ids, ids], dim=1)
        self._win_ctx = torch.cat([self._win_ctx, ctx], dim=1)
        if self._win_ids.shape[1] > self.max_context:
            # slide: keep the last window_keep positions, positions restart at 0 (fresh cache)
            self._win_ids = self._win_ids[:, -self.window_keep:].contiguous()
            self._win_ctx = self._win_ctx[:, -self.window_keep:].contiguous()
            self._logits = self._prefill(self._win_ids, self._win_ctx)
        elif self.use_cache:
            self._logits, self._cache = self._forward(ids, ctx, self._cache, True)
        else:
            self._logits, _ = self._forward(self._win_ids, self._win_ctx, None, False)

    def _decode(self, tokens: np.ndarray) -> dict[str, np.ndarray]:
        """Decode one token per rollout, row ``i`` with rollout ``i``'s own numpy stream (batch-independent)."""
        return self.tokenizer.decode(tokens, self._np_gens)


__all__ = ["TradeFMProposer", "book_reference_mid", "live_quotes", "price_from_depth"]
