"""A byte-bounded LRU of finished responses.

The data is immutable per build, so the serialised answer to the same
(query, variant, dataset) never changes while the app runs: keep the most
recent ones in the parent and skip the worker round trip.
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
    objects around them), least recently used first out."""

    def __init__(self, max_bytes: int, max_entry_bytes: int | None = None) -> None:
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes or max(1, max_bytes // 16)
        self._items: OrderedDict[Hashable, tuple[Entry, int]] = OrderedDict()
        self._size = 0
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
        if len(entry.body) > self.max_entry_bytes:
            return
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

    @property
    def size(self) -> int:
        """What the entries cost now, by :func:`cost`."""
        return self._size

    def clear(self) -> None:
        self._items.clear()
        self._size = 0

    def __len__(self) -> int:
        return len(self._items)
