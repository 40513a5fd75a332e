"""No client can plant an answer for another in the server's caches (a real server, httpx).

The fast path and the query lane key a GET's answer on the headers it may depend on,
while the app reads the first of a repeated header: a request that repeats one is
answered but never kept. X-Forwarded-* count, in the answer and in the key, only from a
trusted proxy (the tests' server trusts 127.0.0.1, sparql_api.protocol.forwarded_trusted).
"""

from __future__ import annotations

import httpx
import pytest

from tests.endpoint.conftest import Server

POISON_TIMES = 4  # more than a cache's admission needs (sparql_api.cache.ResponseCache)

CASES = [
    # path, the planted Accept (first, read by the app), the victim's (last, in the key)
    ("/sparql?query=ASK%20%7B%7D%0A%23poison", "text/csv", "application/sparql-results+json"),
    ("/map", "application/json", "text/html"),
    ("/scenario/guizhou-b1-s01", "text/turtle", "text/html"),
]


@pytest.mark.parametrize(("path", "planted", "wanted"), CASES)
def test_a_repeated_accept_plants_nothing_for_the_next_client(
    server: Server, path: str, planted: str, wanted: str
) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for _ in range(POISON_TIMES):
            r = client.get(path, headers=[("Accept", planted), ("Accept", wanted)])
            assert r.status_code in (200, 303)
        victim = client.get(path, headers={"Accept": wanted})
    assert victim.status_code in (200, 303)
    if victim.status_code == 303:
        assert victim.headers["location"].endswith(".html")
    else:
        assert victim.headers["content-type"].startswith(wanted)


def test_a_repeated_accept_language_plants_nothing(server: Server) -> None:
    path = "/scenario/guizhou-b1-s02.html"
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for _ in range(POISON_TIMES):
            client.get(path, headers=[("Accept-Language", "en"), ("Accept-Language", "zh-CN")])
        victim = client.get(path, headers={"Accept-Language": "zh-CN"})
    assert victim.status_code == 200
    assert victim.headers["content-language"].startswith("zh")
