"""The paged KV cache: fixed-size blocks, reference counts, and prefix caching with LRU eviction.

Mirrors vLLM v1's block pool (vllm/v1/core/block_pool.py, kv_cache_manager.py): a block whose
tokens are all computed and belong to the prompt is registered under the hash of its contents
chained to the previous block's hash; a freed block keeps that hash and joins the tail of the
free queue, so it can still be hit until it is reallocated from the queue's head (least recently
freed first). A hit block in use by another request is shared (reference count); a hit block in
the free queue is taken out of it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from service.emulators.batching.params import CacheGeometry


class KVCache:
    """Block bookkeeping only: which block holds what, who uses it, what is evictable."""

    def __init__(self, geometry: CacheGeometry) -> None:
        self.geometry = geometry
        self.block_size = geometry.block_size
        count = geometry.num_gpu_blocks
        self._refs = [0] * count
        self._hash: list[int | None] = [None] * count
        self._by_hash: dict[int, int] = {}
        # Free blocks in eviction order (head first); an OrderedDict gives O(1) removal from the
        # middle, which a hit on a cached free block needs.
        self._free: OrderedDict[int, None] = OrderedDict.fromkeys(range(count))

    @property
    def free_blocks(self) -> int:
        return len(self._free)

    @property
    def usage(self) -> float:
        """vLLM's `kv_cache_usage_perc`: 1 - free / total (cached free blocks count as free)."""
        return 1.0 - len(self._free) / self.geometry.num_gpu_blocks

    def blocks_for(self, tokens: int) -> int:
        return -(-tokens // self.block_size)

    def lookup(self, hashes: Sequence[int], max_tokens: int) -> list[int]:
        """Blocks of the longest cached prefix of `hashes`, at most `max_tokens` tokens long.

        vLLM caps a hit at the prompt length - 1: the last token must be computed again to get
        the logits of the next one.
        """
        if not self.geometry.enable_prefix_caching:
            return []
        hits: list[int] = []
        for block_hash in hashes[: max_tokens // self.block_size]:
            block = self._by_hash.get(block_hash)
            if block is None:
                break
            hits.append(block)
        return hits

    def allocate(self, owned: list[int], tokens: int, hits: Sequence[int] = ()) -> bool:
        """Grow `owned` (a request's blocks) to hold `tokens` tokens, taking the cached `hits`
        first; False (and nothing changed) when the free blocks do not suffice."""
        needed = self.blocks_for(tokens) - len(owned) - len(hits)
        # A hit sitting in the free queue is taken from it, so it cannot also serve as new.
        evictable_hits = sum(1 for block in hits if self._refs[block] == 0)
        if needed > len(self._free) - evictable_hits:
            return False
        for block in hits:
            if self._refs[block] == 0:
                del self._free[block]
            self._refs[block] += 1
            owned.append(block)
        for _ in range(max(needed, 0)):
            block, _ = self._free.popitem(last=False)
            stale = self._hash[block]
            if stale is not None:  # evicting a cached block: its contents are gone
                self._hash[block] = None
                if self._by_hash.get(stale) == block:
                    del self._by_hash[stale]
            self._refs[block] = 1
            owned.append(block)
        return True

    def register(self, owned: Sequence[int], hashes: Sequence[int], start: int, end: int) -> None:
        """Make blocks `start..end-1` of a request (full, computed prompt blocks) hittable.

        When another request already cached the same contents (two requests computing one
        prefix in the same step), the first copy stays the cached one, as in vLLM.
        """
        for index in range(start, end):
            block, block_hash = owned[index], hashes[index]
            if block_hash not in self._by_hash:
                self._by_hash[block_hash] = block
                self._hash[block] = block_hash

    def free(self, owned: list[int]) -> None:
        """Release a request's blocks, tail first, so that a prompt's last blocks are evicted
        before its first ones (which other requests are likelier to share)."""
        for block in reversed(owned):
            self._refs[block] -= 1
            if self._refs[block] == 0:
                self._free[block] = None
        owned.clear()
