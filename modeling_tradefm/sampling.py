# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""How a rollout draws: the sampling settings, the logits processing, the token draw, the random streams.

**Settings.** ``SamplingConfig`` holds the sampling defaults of the package (the paper's repetition
penalty 1.2, temperature 1, no top-k, no top-p); the CLI, the demo and ``TradeFMProposer`` read
their defaults from it. It converts to and from a ``transformers.GenerationConfig``: every
checkpoint the package saves carries its settings in ``generation_config.json``
(``checkpoint_files``), which ``tradefm generate``, ``load_proposer`` and ``model.generate()`` all
read, so the three sample alike. Precedence: an explicit flag or keyword > the checkpoint's
``generation_config.json`` > ``SamplingConfig()``.

**Processing.** The next-token logits go through transformers' own processors in transformers'
order: ``RepetitionPenaltyLogitsProcessor`` → ``TemperatureLogitsWarper`` → ``TopKLogitsWarper`` →
``TopPLogitsWarper`` (each only when it is not the identity, as ``generate`` builds them). The
repetition penalty replaces the logit ``x`` of every token present in the penalised window by
``x / penalty`` if ``x > 0`` else ``x · penalty``; the window is the model's current input window
(as in ``generate``) or its last ``repetition_window`` tokens.

**Draw.** ``sample_tokens`` is ours, not ``torch.multinomial``: inverse CDF with ONE uniform per
row from that row's own ``torch.Generator``. A row's token therefore depends only on its logits and
its own stream, which is what makes a batch of N rollouts equal N single rollouts (transformers
has no per-row generators).

**Random streams.** Rollout ``i`` of a run seeded ``s`` draws from
``numpy.random.SeedSequence(s, spawn_key=(i,))`` (``rollout_seed_sequence``), whatever proposer
runs it and whatever batch it is in. The baselines draw from one ``numpy.random.Generator`` on it
(``rollout_rngs``); TradeFM spawns two children from it, one ``torch.Generator`` for the token draw
and one ``numpy.random.Generator`` for the tokenizer's in-bin decoding (``rollout_generators``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from transformers import GenerationConfig
from transformers.generation.logits_process import (
    LogitsProcessorList,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

# GenerationConfig flags that would change the distribution in ways this package does not
# implement: a config that sets one is refused rather than silently sampled without it.
_UNSUPPORTED_FLAGS = ("min_p", "typical_p", "epsilon_cutoff", "eta_cutoff", "top_h", "no_repeat_ngram_size",
                      "bad_words_ids", "sequence_bias", "suppress_tokens", "begin_suppress_tokens")


# --------------------------------------------------------------------------------------------
# Random streams
# --------------------------------------------------------------------------------------------


def rollout_seed_sequence(seed: int, rollout_id: int) -> np.random.SeedSequence:
    """The seed sequence of rollout ``rollout_id`` of a run seeded ``seed``: the one per-rollout stream rule.

    ``SeedSequence(seed).spawn(n)[k]`` is the same sequence as this one for ``rollout_id = k``,
    for every ``n``: a rollout's streams depend only on ``(seed, rollout_id)``.
    """
    return np.random.SeedSequence(int(seed), spawn_key=(int(rollout_id),))


def rollout_rngs(seed: int, rollout_ids: Sequence[int]) -> list[np.random.Generator]:
    """One ``numpy.random.Generator`` per rollout, on its ``rollout_seed_sequence`` (the baselines' streams)."""
    return [np.random.default_rng(rollout_seed_sequence(seed, rid)) for rid in rollout_ids]


def rollout_generators(seed: int, rollout_ids: Sequence[int]):
    """TradeFM's per-rollout streams: two children of each rollout's ``rollout_seed_sequence``.

    Args:
        seed: the run's seed.
        rollout_ids: the global index of each rollout of the batch.

    Returns:
        ``(torch_generators, numpy_generators)``: two lists of length ``len(rollout_ids)``; the
        torch streams draw the token uniforms, the numpy streams the tokenizer's in-bin samples.
    """
    torch_gens, np_gens = [], []
    for rid in rollout_ids:
        token_ss, decode_ss = rollout_seed_sequence(seed, rid).spawn(2)
        g = torch.Generator(device="cpu")
        # manual_seed takes a non-negative int64: the top 63 bits of one 64-bit word
        g.manual_seed(int(token_ss.generate_state(1, np.uint64)[0] >> np.uint64(1)))
        torch_gens.append(g)
        np_gens.append(np.random.default_rng(decode_ss))
    return torch_gens, np_gens


# --------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SamplingConfig:
    """How the next token is drawn from the logits (the package's sampling defaults live here only).

    Attributes:
        temperature: divides the logits; ``0`` means greedy (argmax).
        top_k: keep the ``top_k`` largest logits (``0`` = off).
        top_p: nucleus sampling; keep the smallest set of tokens whose probability reaches
            ``top_p`` (``1.0`` = off).
        repetition_penalty: transformers' repetition penalty on tokens of the penalised window;
            the paper uses 1.2 (``1.0`` = off).
        repetition_window: penalise the tokens of the last ``repetition_window`` positions of the
            model's window (``None`` = the whole window, as ``generate`` does).
    """

    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    repetition_penalty: float = 1.2
    repetition_window: int | None = None

    def __post_init__(self) -> None:
        if self.temperature < 0 or not math.isfinite(self.temperature):
            raise ValueError(f"temperature must be a finite number >= 0, got {self.temperature}")
        if self.top_k < 0:
            raise ValueError(f"top_k must be >= 0, got {self.top_k}")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.repetition_penalty <= 0:
            raise ValueError(f"repetition_penalty must be > 0, got {self.repetition_penalty}")
        if self.repetition_window is not None and self.repetition_window < 1:
            raise ValueError(f"repetition_window must be >= 1 or None, got {self.repetition_window}")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0

    def replace(self, **overrides) -> SamplingConfig:
        """A copy with the fields given and not ``None`` replaced (``None`` = keep this config's value)."""
        return dataclasses.replace(self, **{k: v for k, v in overrides.items() if v is not None})

    # -- transformers -----------------------------------------------------------------------------
    def generation_kwargs(self) -> dict:
        """These settings as ``GenerationConfig`` fields, each written explicitly (``do_sample`` always).

        Greedy (``temperature == 0``) is ``do_sample=False`` with the repetition penalty alone:
        transformers refuses to save a greedy config that sets a sampling-only flag (temperature,
        top-k, top-p), and greedy does not use them. ``repetition_window``, which transformers does
        not have, is an extra field (only when set): ``GenerationConfig`` keeps it through its JSON
        round trip, and ``generate`` ignores it (it penalises the whole sequence).
        """
        kwargs = dict(do_sample=not self.greedy, repetition_penalty=float(self.repetition_penalty))
        if not self.greedy:
            kwargs.update(temperature=float(self.temperature), top_k=int(self.top_k), top_p=float(self.top_p))
        if self.repetition_window is not None:
            kwargs["repetition_window"] = int(self.repetition_window)
        return kwargs

    def to_generation_config(self) -> GenerationConfig:
        """The same settings as a ``transformers.GenerationConfig`` (``generation_kwargs``).

        ``generate`` with it builds the processors of ``logits_processor`` and, with ``do_sample``,
        draws from the same distribution as a rollout (with ``torch.multinomial``, not our streams).
        """
        return GenerationConfig(**self.generation_kwargs())

    @classmethod
    def from_generation_config(cls, generation_config: GenerationConfig) -> SamplingConfig:
        """Read the settings from a ``transformers.GenerationConfig`` (e.g. a checkpoint's).

        Whether ``do_sample`` is set decides what the fields the config leaves unset (``None``) mean:

        * ``do_sample`` set (``True`` or ``False``): the decoding was chosen on purpose, by
          ``to_generation_config`` (which writes every field) or by a user. An unset field means
          what it means to ``generate``: transformers' default (top-k 50, repetition penalty 1, ...),
          so a rollout samples exactly as ``model.generate()`` does with this config.
        * ``do_sample`` unset: nobody chose. That is transformers' own ``generation_config.json``,
          derived from ``config.json``, which checkpoints saved before this package wrote its
          sampling settings carry (``generate`` would decode it greedily). Such a config is read as
          this package's defaults (sampling, penalty 1.2) for every field it leaves unset, never as
          greedy. ``checkpoint_files`` writes the result on every save, so the folder says it.

        Greedy does not use temperature, top-k and top-p: they are read as off.

        Raises:
            ValueError: the config sets a flag that would change the distribution and that this
                package does not implement (e.g. ``min_p``, ``typical_p``, ``num_beams > 1``).
        """
        gc = generation_config
        neutral = {"typical_p": 1.0, "epsilon_cutoff": 0.0, "eta_cutoff": 0.0, "no_repeat_ngram_size": 0}
        bad = [f for f in _UNSUPPORTED_FLAGS
               if getattr(gc, f, None) not in (None, neutral.get(f, None), [], {})]
        if (getattr(gc, "num_beams", None) or 1) > 1:
            bad.append("num_beams")
        if bad:
            raise ValueError(f"GenerationConfig sets {bad}, which TradeFM rollouts do not implement")
        if gc.do_sample is None:
            unset = dataclasses.asdict(cls())
        else:
            # what generate() fills unset fields with (GenerationMixin._prepare_generation_config)
            transformers_default = GenerationConfig._get_default_generation_params()
            unset = {k: transformers_default[k] for k in ("temperature", "top_k", "top_p", "repetition_penalty")}

        def field(name: str):
            value = getattr(gc, name, None)
            return unset[name] if value is None else value

        window = getattr(gc, "repetition_window", None)
        penalty = float(field("repetition_penalty"))
        window = None if window is None else int(window)
        if gc.do_sample is False:
            return cls(temperature=0.0, repetition_penalty=penalty, repetition_window=window)
        return cls(temperature=float(field("temperature")), top_k=int(field("top_k")), top_p=float(field("top_p")),
                   repetition_penalty=penalty, repetition_window=window)

    def logits_processor(self) -> LogitsProcessorList:
        """transformers' processors for these settings, in ``generate``'s order, identities left out.

        Greedy keeps the repetition penalty and drops the warpers, as ``generate`` does.
        """
        procs = LogitsProcessorList()
        if self.repetition_penalty != 1.0:
            procs.append(RepetitionPenaltyLogitsProcessor(float(self.repetition_penalty)))
        if self.greedy:
            return procs
        if self.temperature != 1.0:
            procs.append(TemperatureLogitsWarper(float(self.temperature)))
        if self.top_k != 0:
            procs.append(TopKLogitsWarper(int(self.top_k)))
        if self.top_p < 1.0:
            procs.append(TopPLogitsWarper(float(self.top_p)))
        return procs


# --------------------------------------------------------------------------------------------
# Processing and drawing (pure functions on [B, V] logits)
# --------------------------------------------------------------------------------------------


def penalised_window(window_ids: torch.Tensor, config: SamplingConfig) -> torch.Tensor:
    """The token ids the repetition penalty looks at: the model's window [B, L] or its last ``repetition_window``."""
    if config.repetition_window is None:
        return window_ids
    return window_ids[:, -config.repetition_window:]


def process_logits(logits: torch.Tensor, seen_ids: torch.Tensor, config: SamplingConfig,
                   processors: LogitsProcessorList | None = None) -> torch.Tensor:
    """Repetition penalty → temperature → top-k → top-p (transformers' processors) on [B, V] logits.

    Args:
        logits: float tensor [B, V].
        seen_ids: int64 tensor [B, L], the penalised window (duplicates are harmless).
        config: the settings.
        processors: ``config.logits_processor()`` when the caller keeps one (they are stateless).

    Returns:
        float32 [B, V]; excluded tokens are ``-inf``.
    """
    if processors is None:
        processors = config.logits_processor()
    return processors(seen_ids, logits.float())


def sample_tokens(logits: torch.Tensor, generators: Sequence[torch.Generator], greedy: bool = False) -> torch.Tensor:
    """Draw one token per row by inverse CDF, one uniform per row from that row's generator.

    A row's draw depends only on its own logits and its own generator, never on the other rows of
    the batch (unlike ``torch.multinomial`` with one shared generator).

    Args:
        logits: float tensor [B, V] (already processed; ``-inf`` = excluded).
        generators: ``B`` CPU ``torch.Generator``; each advances by one draw.
        greedy: argmax instead of sampling (generators are not advanced).

    Returns:
        int64 tensor [B] on the logits' device.
    """
    if greedy:
        return torch.argmax(logits, dim=-1)
    if len(generators) != logits.shape[0]:
        raise ValueError(f"{len(generators)} generators for {logits.shape[0]} rows")
    u = torch.cat([torch.rand(1, generator=g, dtype=torch.float64) for g in generators]).to(logits.device)
    probs = torch.softmax(logits.double(), dim=-1)
    cdf = torch.cumsum(probs, dim=-1)
    target = (u * cdf[:, -1]).unsqueeze(-1)
    # first index whose cdf exceeds the target: zero-probability tokens (flat cdf) are never picked
    idx = torch.searchsorted(cdf, target, right=True).squeeze(-1)
    return idx.clamp_(max=logits.shape[-1] - 1)


__all__ = [
    "SamplingConfig",
    "penalised_window",
    "process_logits",
    "rollout_generators",
    "rollout_rngs",
    "rollout_seed_sequence",
    "sample_tokens",
]
