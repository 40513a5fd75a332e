"""The response caches' doorkeeper (sparql_api/cache.py): with ``min_uses`` an answer is
kept from its ``min_uses``-th time, so one-off queries neither cost the web process an
entry nor push the repeated answers out; what it remembers is bounded."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparql_api.cache import DOORKEEPER_SHARE, SEEN_COST, Entry, ResponseCache

BODY = Entry(b"x" * 100, [(b"etag", b'"x"')])


def kept(cache: ResponseCache, key: object) -> bool:
    return key in cache._items


@pytest.mark.parametrize("min_uses", [1, 2, 3, 5])
def test_an_answer_is_kept_from_its_min_uses_th_time(min_uses: int) -> None:
    cache = ResponseCache(1024 * 1024, min_uses=min_uses)
    for time in range(1, min_uses + 1):
        assert not kept(cache, "q")
        cache.put("q", BODY)
        assert kept(cache, "q") == (time == min_uses), time
    assert cache.get("q") == BODY


def test_a_flood_of_one_off_answers_leaves_the_repeated_ones() -> None:
    """Known-bad beside it: keeping every answer (min_uses 1), the flood pushes the
    repeated answer out."""
    for min_uses, survives in ((2, True), (1, False)):
        cache = ResponseCache(64 * 1024, min_uses=min_uses)
        for _ in range(min_uses):
            cache.put("popular", BODY)
        assert cache.get("popular") == BODY
        for i in range(10_000):
            cache.put(f"one-off {i}", BODY)
        assert (cache.get("popular") is not None) == survives, min_uses
    assert len(cache) > 0  # (the known-bad cache kept the flood)


def test_the_doorkeeper_forgets_what_it_has_not_seen_for_two_generations() -> None:
    cache = ResponseCache(64 * 1024, min_uses=2)
    cache.put("q", BODY)
    for i in range(2 * cache.window):
        cache.put(i, BODY)
    cache.put("q", BODY)  # counted as a first time again
    assert not kept(cache, "q")
    cache.put("q", BODY)
    assert kept(cache, "q")


def test_the_doorkeeper_is_paid_from_the_budget() -> None:
    budget = 1024 * 1024
    cache = ResponseCache(budget, min_uses=2)
    assert cache.window == budget // DOORKEEPER_SHARE // 2 // SEEN_COST
    assert cache.max_bytes == budget - 2 * cache.window * SEEN_COST
    assert ResponseCache(budget).max_bytes == budget  # no doorkeeper, the whole budget
    assert ResponseCache(0, min_uses=2).max_bytes == 0  # keep none: nothing remembered either
    none = ResponseCache(0, min_uses=2)
    none.put("q", BODY)
    none.put("q", BODY)
    assert len(none) == 0 and not none._seen
    with pytest.raises(ValueError):
        ResponseCache(budget, min_uses=0)


def test_what_the_doorkeeper_holds_fits_its_share() -> None:
    """SEEN_COST is an estimate from above of what one remembered key costs."""
    import tracemalloc  # lazy: only this test traces allocations

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        cache = ResponseCache(8 * 1024 * 1024, min_uses=2)
        for i in range(10 * cache.window):
            cache.put(("SELECT", i), BODY)  # a new tuple: its hash a full-size int
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(cache) == 0 and len(cache._seen) + len(cache._seen_before) <= 2 * cache.window
    assert held <= 2 * cache.window * SEEN_COST, f"{held} bytes for {2 * cache.window} keys"


def test_clearing_forgets_the_counts_too() -> None:
    window = ResponseCache(64 * 1024, min_uses=2).window
    for others in (0, window):
        cache = ResponseCache(64 * 1024, min_uses=2)
        cache.put("q", BODY)
        for i in range(others):  # (then "q" is in the older generation)
            cache.put(i, BODY)
        cache.clear()
        cache.put("q", BODY)
        assert not kept(cache, "q"), others


@settings(max_examples=300)
@given(
    min_uses=st.integers(2, 4),
    puts=st.lists(st.integers(0, 40), max_size=400),
)
def test_kept_only_after_enough_uses_and_always_after_close_ones(
    min_uses: int, puts: list[int]
) -> None:
    """Against a model of the puts: an answer is never kept before its key was put
    ``min_uses`` times since the cache last had room to forget it, and always kept when
    its last ``min_uses`` puts came within ``window`` puts of each other (small ints
    hash to themselves: no collisions). A tiny budget, so generations turn often."""
    cache = ResponseCache(64 * 1024, min_uses=min_uses)
    cache.window = 8  # (two generations of 8 keys; the rule holds for any window)
    since: dict[int, list[int]] = {}  # key -> the positions of its puts since it was kept
    for at, key in enumerate(puts):
        was_kept = kept(cache, key)
        cache.put(key, BODY)
        if was_kept:
            continue
        times = since.setdefault(key, [])
        times.append(at)
        now_kept = kept(cache, key)
        assert not now_kept or len(times) >= min_uses, (key, times)
        recent = times[-min_uses:]
        distinct_between = len(set(puts[recent[0] : at + 1])) if len(recent) == min_uses else 0
        if len(recent) == min_uses and distinct_between <= cache.window:
            assert now_kept, (key, times)
        if now_kept:
            since.pop(key)
        assert len(cache._seen) + len(cache._seen_before) <= 2 * cache.window
