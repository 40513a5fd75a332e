"""``dipkg serve`` keeps what it holds for good out of the cycle collector's rounds
(sparql_api.live.settle_heap), and still frees a retired release's reference cycles."""

from __future__ import annotations

import gc
import weakref

from sparql_api.live import settle_heap


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_settling_freezes_what_is_held_and_frees_it_once_let_go() -> None:
    held = [_Cycle()]
    gone = weakref.ref(held[0])
    try:
        settle_heap()
        assert gc.get_freeze_count() > 0
        held.clear()  # a release retired: its app's cycles are garbage now
        gc.collect()
        assert gone() is not None, "frozen: the collector does not walk it"  # the known-bad
        settle_heap()  # what LiveApp does once a retired release is let go
        assert gone() is None
    finally:
        gc.unfreeze()  # the test process keeps collecting as before
