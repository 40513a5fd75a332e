"""The response caches' doorkeeper (sparql_api/cache.py): with ``min_uses`` an answer is
kept from its ``min_uses``-th time, so one-off queries neither cost the web process an
entry nor push the repeated answers out; what it remembers is bounded."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from itertools import pairwise
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparql_api.cache import DOORKEEPER_SHARE, SEEN_COST, Entry, ResponseCache
from tests.endpoint.conftest import server_in

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


def _distinct(window: int) -> Iterator[int]:
    yield from range(12 * window)


def _twice_spaced(window: int) -> Iterator[int]:  # each key again half a window later
    gap = max(1, window // 2)
    for i in range(12 * window):
        yield i if (i // gap) % 2 == 0 else i - gap


def _half_again(window: int) -> Iterator[int]:  # half the puts a recent key again
    draw = random.Random(3)
    for i in range(12 * window):
        yield i if draw.random() < 0.5 else max(0, i - draw.randrange(1, window + 1))


def _random(window: int) -> Iterator[int]:
    draw = random.Random(7)
    for _ in range(12 * window):
        yield draw.randrange(3 * window)


@pytest.mark.parametrize("pattern", [_distinct, _twice_spaced, _half_again, _random])
@pytest.mark.parametrize("min_uses", [2, 3])
@pytest.mark.parametrize("budget", [8 * 1024 * 1024, 11 * 1024 * 1024 // 2, 3 * 1024 * 1024])
def test_what_the_doorkeeper_holds_fits_its_share(
    budget: int, min_uses: int, pattern: Callable[[int], Iterator[int]]
) -> None:
    """SEEN_COST is from above: the most the doorkeeper holds at any moment, by
    tracemalloc, over its most keys (2 × window), plus pymalloc's rounding of each of
    the two objects a key makes (an int, its share of the dict's table: < 16 bytes
    each), whatever the traffic (windows of 2,048, 1,408 (not a power of two) and 768;
    keys kept and popped leave a dict sparse)."""
    import tracemalloc  # lazy: only this test traces allocations

    cache = ResponseCache(budget, min_uses=min_uses)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        for i in pattern(cache.window):
            cache._admits(("SELECT", i))  # (what put asks; a new tuple: a full-size hash)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert len(cache._seen) + len(cache._seen_before) <= 2 * cache.window
    per_key = peak / (2 * cache.window)
    assert per_key + 2 * 16 <= SEEN_COST, f"{per_key:.0f} bytes a key at the peak"


def test_an_answer_kept_then_pushed_out_is_counted_afresh() -> None:
    """Once kept, a key is forgotten by the doorkeeper (its entry stands for it): pushed
    out of the cache, it needs ``min_uses`` more times to come back."""
    cache = ResponseCache(64 * 1024, min_uses=2)
    for _ in range(2):
        cache.put("q", BODY)
    assert kept(cache, "q")
    others = 0
    while kept(cache, "q"):  # other answers, each kept, push it out
        for _ in range(2):
            cache.put(others, BODY)
        others += 1
    cache.put("q", BODY)
    assert not kept(cache, "q")
    cache.put("q", BODY)
    assert kept(cache, "q")


def test_keys_of_one_hash_share_a_count_never_an_answer() -> None:
    """(CPython hashes -1 and -2 alike.) The second is kept at its first time, under
    its own key with its own answer."""
    assert hash(-1) == hash(-2)
    cache = ResponseCache(64 * 1024, min_uses=2)
    cache.put(-1, Entry(b"one", []))
    cache.put(-2, Entry(b"two", []))
    assert kept(cache, -2) and not kept(cache, -1)
    assert cache.get(-2) == Entry(b"two", []) and cache.get(-1) is None


def test_a_put_of_a_kept_answer_replaces_it_without_the_doorkeeper() -> None:
    """(Two requests that missed at once: the second's put finds the first's entry.)"""
    cache = ResponseCache(64 * 1024, min_uses=2)
    for _ in range(2):
        cache.put("q", BODY)
    for _ in range(2):
        cache.put("other", BODY)
    cache.put("q", Entry(b"again", []))  # replaced and made the most recent
    assert cache.get("q") == Entry(b"again", []) and list(cache._items)[-1] == "q"


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
    window=st.integers(1, 12),
    puts=st.lists(st.integers(0, 40), max_size=400),
)
def test_kept_only_after_enough_uses_and_always_after_close_ones(
    min_uses: int, window: int, puts: list[int]
) -> None:
    """What holds of any sequence of puts (small ints hash to themselves: no shared
    counts; the cache holds every key, so the doorkeeper alone decides): an answer is
    never kept before its key was put ``min_uses`` times since it was last kept, and
    always kept when between each two of its last ``min_uses`` puts came at most
    ``window`` other keys (then no generation turned twice in between)."""
    cache = ResponseCache(64 * 1024, min_uses=min_uses)
    cache.window = window  # (any window; small ones turn the generations often)
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
        close = len(recent) == min_uses and all(
            len(set(puts[a + 1 : b]) - {key}) <= window for a, b in pairwise(recent)
        )
        assert now_kept or not close, (key, times)
        if now_kept:
            since.pop(key)
        assert len(cache._seen) + len(cache._seen_before) <= 2 * window


def test_dipkg_serve_keeps_an_answer_from_the_set_time(endpoint_data: Path, tmp_path: Path) -> None:
    """End to end: ``dipkg serve`` with DIPKG_RESPONSE_CACHE_MIN_USES=3, asked by httpx
    over 127.0.0.1; the release's answer cache (its hits in /health) answers a query's
    fourth POST and not one before it."""
    env = {"DIPKG_RESPONSE_CACHE_MIN_USES": "3", "DIPKG_QUERY_WORKERS": "1"}
    with server_in(endpoint_data, tmp_path, cli=True, **env) as srv:
        with httpx.Client(base_url=srv.url, timeout=30) as client:

            def hits() -> int:
                return client.get("/health").json()["queries"]["cache_hits"]

            query = {"query": "SELECT ?s WHERE { ?s ?p ?o } LIMIT 1 # kept from the third"}
            before = hits()
            answers = []
            for time in range(1, 5):
                answers.append(client.post("/sparql", data=query))
                assert answers[-1].status_code == 200
                assert hits() == before + (time == 4), time
            assert len({a.content for a in answers}) == 1
