"""A byte-bounded LRU of finished responses.

The data is immutable per build, so the serialised answer to the same
(query, variant, dataset) never changes while the app runs: keep the most
recent ones in the parent and skip the worker round trip.

Most query texts are asked once (a cold benchmark, a crawler, an analyst editing a
query). Kept at once, such one-off answers would push the repeated ones out and cost
the web process their bookkeeping and memory for nothing, so a cache may keep an answer
only from its ``min_uses``-th time (nginx's ``proxy_cache_min_uses``): a small
*doorkeeper* (as in TinyLFU caches) remembers how often each recent key was put, by its
hash, in two generations of ``window`` keys (the older dropped when the newer fills: a
key is remembered while fewer than ``window`` other keys come in between), inside the
cache's byte budget. Keys of the same hash share a count: one may be kept early, never
with another's answer (the entries are keyed by the key itself).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any


@dataclass(frozen=True)
class Entry:
    body: bytes
    #: a header dict, or raw headers (lower-case names, bytes), as the keeper needs them
    headers: Mapping[str, Any] | Sequence[tuple[bytes, bytes]]


#: What an entry costs beyond the bytes counted by :func:`cost`: the Entry, the LRU's
#: link, the key tuple and the header objects' own headers (measured with tracemalloc;
#: tests/endpoint/test_fastpath.py holds a full cache to its budget).
ENTRY_OVERHEAD = 512
HEADER_OVERHEAD = 120
#: What the doorkeeper holds for a key, from above: an int and a dict slot, 64–141 bytes by
#: tracemalloc (more when keys popped from a dict leave it sparse) and pymalloc's rounding
#: (tests/endpoint/test_cache_admission.py); and the part of the budget it may take: 1/16,
#: two generations of half that.
SEEN_COST = 192
DOORKEEPER_SHARE = 16


def cost(key: Hashable, entry: Entry) -> int:
    """The memory ``entry`` under ``key`` holds, in bytes (an estimate from above)."""
    size = len(entry.body) + ENTRY_OVERHEAD
    for part in key if isinstance(key, tuple) else (key,):
        if isinstance(part, (str, bytes)):
            size += len(part)
        elif isinstance(part, tuple):  # a dataset: tuples of graph IRIs
            size += sum(len(p) for p in part if isinstance(p, (str, bytes)))
    headers = entry.headers
    # (raw pairs, the commonest, told first: an ABC's isinstance costs a microsecond)
    raw = type(headers) is list or type(headers) is tuple
    pairs = headers if raw or not isinstance(headers, Mapping) else headers.items()
    # each header: its overhead, its name's length and its value's (summed in C)
    return size + HEADER_OVERHEAD * len(headers) + sum(map(len, chain.from_iterable(pairs)))


class ResponseCache:
    """At most ``max_bytes`` of entries, by :func:`cost` (bodies, keys, headers and the
    objects around them), least recently used first out. With ``min_uses`` > 1 an entry
    is kept only when its key is put for the ``min_uses``-th time while the doorkeeper
    remembers it (see the module's text; ``window`` is 1,365 keys for an 8 MiB budget);
    the doorkeeper's memory comes out of ``max_bytes``. ``max_entry_bytes`` defaults to
    1/16 of the whole budget."""

    def __init__(
        self, max_bytes: int, max_entry_bytes: int | None = None, *, min_uses: int = 1
    ) -> None:
        if min_uses < 1:
            raise ValueError("min_uses must be at least 1")
        self.min_uses = min_uses
        #: keys remembered in each of the doorkeeper's two generations (0: no doorkeeper)
        self.window = max(1, max_bytes // DOORKEEPER_SHARE // 2 // SEEN_COST) if min_uses > 1 else 0
        self.max_bytes = max(0, max_bytes - 2 * self.window * SEEN_COST)
        self.max_entry_bytes = max_entry_bytes or max(1, max_bytes // 16)
        self._items: OrderedDict[Hashable, tuple[Entry, int]] = OrderedDict()
        self._size = 0
        self._seen: dict[int, int] = {}  # the doorkeeper: hash of a key -> times put
        self._seen_before: dict[int, int] = {}  # its previous generation
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Entry | None:
        item = self._items.get(key)
        if item is None:
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return item[0]

    def put(self, key: Hashable, entry: Entry) -> None:
        if len(entry.body) > self.max_entry_bytes or not self.max_bytes:
            return
        if self.window and key not in self._items and not self._admits(key):
            return  # (a kept key is put again when two requests missed it at once)
        size = cost(key, entry)
        if size > self.max_bytes:
            return
        old = self._items.pop(key, None)
        if old is not None:
            self._size -= old[1]
        self._items[key] = (entry, size)
        self._size += size
        while self._size > self.max_bytes and self._items:
            _, (_, dropped) = self._items.popitem(last=False)
            self._size -= dropped

    def _admits(self, key: Hashable) -> bool:
        """Whether ``key``, put once more now, has been put ``min_uses`` times (then the
        doorkeeper forgets it: the entry stands for it); else counted."""
        h = hash(key)
        seen = self._seen
        uses = seen.pop(h, 0) + self._seen_before.pop(h, 0) + 1
        if uses >= self.min_uses:
            return True
        if len(seen) >= self.window:  # a new generation; the oldest keys are forgotten
            self._seen_before, self._seen = seen, {}  # (the oldest freed here, not later)
            seen = self._seen
        seen[h] = uses
        return False

    @property
    def size(self) -> int:
        """What the entries cost now, by :func:`cost`."""
        return self._size

    def clear(self) -> None:
        self._items.clear()
        self._size = 0
        self._seen.clear()
        self._seen_before.clear()

    def __len__(self) -> int:
        return len(self._items)
