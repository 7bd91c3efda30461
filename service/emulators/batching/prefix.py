"""Prefix-cache keys of a prompt: one hash per full block, chained to the previous block's.

vLLM keys a block by `hash(parent block hash, token ids of the block, extra keys)`
(vllm/v1/core/kv_cache_utils.py `hash_block_tokens`), so a block is only hit when everything
before it matched too. blake2b rather than Python's `hash()`: the keys must be the same in the
emulator and in an offline replay, i.e. across processes, which `PYTHONHASHSEED` forbids.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def block_hashes(tokens: Sequence[str], block_size: int) -> tuple[int, ...]:
    """The chained key of each full block of `tokens` (a partial last block has none)."""
    parent = b""
    keys: list[int] = []
    for start in range(0, len(tokens) - block_size + 1, block_size):
        content = "\x1f".join(tokens[start : start + block_size]).encode()
        parent = hashlib.blake2b(parent + b"\x1e" + content, digest_size=8).digest()
        keys.append(int.from_bytes(parent, "big"))
    return tuple(keys)
