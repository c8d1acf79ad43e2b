# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""A KV-cache layer with preallocated storage, for rollouts that know their window's maximum length.

``DynamicLayer.update`` concatenates, i.e. copies the whole cache every step (O(T) per step, O(T²)
per window). A rollout's window never exceeds ``max_context`` positions, so the storage
``[B, H, capacity, D]`` is allocated once at each (re-)prefill and each step writes one slot;
``keys``/``values`` are views of the filled part, so attention reads exactly the same numbers as
with ``DynamicLayer``.
"""

from __future__ import annotations

import torch
from transformers.cache_utils import DynamicCache, DynamicLayer


class PreallocatedLayer(DynamicLayer):
    """A cache layer that writes each step into preallocated storage instead of ``torch.cat``."""

    @classmethod
    def from_layer(cls, layer: DynamicLayer, capacity: int) -> PreallocatedLayer:
        """Copy a filled ``DynamicLayer`` into storage of ``max(capacity, its length)`` positions."""
        self = cls()
        keys, values = layer.keys, layer.values
        b, h, n, d = keys.shape
        self.dtype, self.device = keys.dtype, keys.device
        self._k = keys.new_empty(b, h, max(capacity, n), d)
        self._v = values.new_empty(b, h, max(capacity, n), values.shape[-1])
        self._k[:, :, :n] = keys
        self._v[:, :, :n] = values
        self._n = n
        self.keys, self.values = self._k[:, :, :n], self._v[:, :, :n]
        self.is_initialized = True
        return self

    def update(self, key_states, value_states, *args, **kwargs):
        n, t = self._n, key_states.shape[-2]
        if n + t > self._k.shape[-2]:  # never with the rollout's window rule; stay correct anyway
            self._k = torch.cat([self._k[:, :, :n], key_states], dim=-2)
            self._v = torch.cat([self._v[:, :, :n], value_states], dim=-2)
        else:
            self._k[:, :, n:n + t] = key_states
            self._v[:, :, n:n + t] = value_states
        self._n = n + t
        self.keys, self.values = self._k[:, :, :n + t], self._v[:, :, :n + t]
        return self.keys, self.values


def preallocate_cache(cache: DynamicCache, capacity: int) -> DynamicCache:
    """Move every layer of a ``DynamicCache`` into preallocated storage of ``capacity`` positions (in place)."""
    cache.layers = [PreallocatedLayer.from_layer(layer, capacity) for layer in cache.layers]
    return cache


__all__ = ["PreallocatedLayer", "preallocate_cache"]
