"""The fast path (sparql_api/fastpath.py): repeats of cacheable GETs skip the app; nothing else
does."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from dipkg.core.release import open_release
from dipkg.core.settings import Settings
from sparql_api.app import create_app
from sparql_api.cache import Entry, ResponseCache
from sparql_api.fastpath import FastPath


@pytest.fixture(scope="module")
def app_client(endpoint_data: Path) -> Iterator[TestClient]:
    app = create_app(Settings(query_workers=1, query_timeout=5), open_release(endpoint_data))
    with TestClient(app) as client:
        yield client


class CountingApp:
    """An ASGI app that counts calls and answers what the test tells it to."""

    def __init__(
        self,
        status: int = 200,
        headers: list[tuple[bytes, bytes]] | None = None,
        body: bytes = b"ok",
        chunks: int = 1,
    ) -> None:
        self.calls = 0
        self.status = status
        self.headers = (
            headers
            if headers is not None
            else [
                (b"content-type", b"text/plain"),
                (b"etag", b'"x"'),
                (b"cache-control", b"public, no-cache"),
            ]
        )
        self.body = body
        self.chunks = chunks

    async def __call__(self, scope, receive, send):
        self.calls += 1
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        size = max(1, len(self.body) // self.chunks)
        parts = [self.body[i : i + size] for i in range(0, len(self.body), size)] or [b""]
        for index, part in enumerate(parts):
            await send(
                {"type": "http.response.body", "body": part, "more_body": index < len(parts) - 1}
            )


def request(
    app, method="GET", path="/sparql", query=b"query=ASK%7B%7D", headers=(), client="127.0.0.1"
):
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": query,
        "headers": [(k.lower(), v) for k, v in headers],
        "root_path": "",
        "client": (client, 50000),
    }
    asyncio.run(app(scope, receive, send))
    status = sent[0]["status"]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return status, sent[0]["headers"], body


def test_a_repeat_is_answered_without_the_app():
    inner = CountingApp()
    app = FastPath(inner)
    first = request(app, headers=[(b"Accept", b"application/json")])
    second = request(app, headers=[(b"Accept", b"application/json")])
    assert first == second and inner.calls == 1


@pytest.mark.parametrize(
    "header",
    [
        b"Accept",
        b"Accept-Encoding",
        b"Accept-Language",
        b"Host",
        b"X-Forwarded-Host",
        b"X-Forwarded-Proto",
        b"X-Forwarded-Prefix",
    ],
)
def test_every_header_a_response_may_depend_on_is_part_of_the_key(header):
    inner = CountingApp()
    app = FastPath(inner, trusted=["127.0.0.1"])  # (X-Forwarded-*: from a trusted proxy)
    request(app, headers=[(header, b"one")])
    request(app, headers=[(header, b"two")])
    assert inner.calls == 2


@pytest.mark.parametrize(
    "header", [b"X-Forwarded-Host", b"X-Forwarded-Proto", b"X-Forwarded-Prefix"]
)
def test_forwarded_headers_key_only_from_a_trusted_proxy(header):
    """The app ignores X-Forwarded-* from anyone but a trusted proxy, and so does the key:
    a client cannot split the cache with them, nor plant an answer under a proxy's key."""
    inner = CountingApp()
    app = FastPath(inner, trusted=["10.0.0.1"])
    request(app, headers=[(header, b"example.org")], client="203.0.113.9")
    request(app, client="203.0.113.9")
    assert inner.calls == 1  # the same answer: the same key
    request(app, headers=[(header, b"example.org")], client="10.0.0.1")
    assert inner.calls == 2  # from the proxy: an answer of its own


@pytest.mark.parametrize("header", [b"Accept", b"Accept-Language", b"Host", b"Accept-Encoding"])
def test_a_keyed_header_twice_is_never_kept_nor_served(header):
    """The app reads the first of a repeated header: kept under either copy, its answer
    could reach a client who sent the other (cache poisoning)."""
    inner = CountingApp()
    app = FastPath(inner)
    twice = [(header, b"one"), (header, b"two")]
    for _ in range(4):
        request(app, headers=twice)
    request(app, headers=[(header, b"two")])
    request(app, headers=[(header, b"one")])
    assert inner.calls == 6
    request(app, headers=[(header, b"one")])
    request(app, headers=twice)
    assert inner.calls == 7  # a single header is kept as before; twice is not served from it


def test_query_string_and_path_are_part_of_the_key():
    inner = CountingApp()
    app = FastPath(inner)
    request(app, query=b"query=ASK%7B%7D")
    request(app, query=b"query=ASK%7B%20%7D")
    request(app, path="/other")
    assert inner.calls == 3


@pytest.mark.parametrize(
    "header",
    [b"If-None-Match", b"If-Modified-Since", b"Range", b"If-Range", b"Cookie", b"Authorization"],
)
def test_conditional_and_range_requests_always_reach_the_app(header):
    inner = CountingApp()
    app = FastPath(inner)
    request(app)
    request(app, headers=[(header, b"x")])
    assert inner.calls == 2


@pytest.mark.parametrize("method", ["HEAD", "POST", "OPTIONS"])
def test_other_methods_always_reach_the_app(method):
    inner = CountingApp()
    app = FastPath(inner)
    request(app, method=method)
    request(app, method=method)
    assert inner.calls == 2


@pytest.mark.parametrize(
    "status, headers",
    [
        (404, [(b"etag", b'"x"'), (b"cache-control", b"public")]),
        (200, [(b"cache-control", b"public")]),  # no ETag
        (200, [(b"etag", b'"x"'), (b"cache-control", b"no-store")]),
        (200, [(b"etag", b'"x"')]),  # no Cache-Control: public
        (200, [(b"etag", b'"x"'), (b"cache-control", b"private")]),
        (200, [(b"etag", b'"x"'), (b"cache-control", b"public"), (b"set-cookie", b"a=b")]),
    ],
)
def test_only_what_the_app_marks_cacheable_is_kept(status, headers):
    inner = CountingApp(status=status, headers=headers)
    app = FastPath(inner)
    request(app)
    request(app)
    assert inner.calls == 2


def test_large_and_streamed_bodies():
    small = CountingApp(body=b"x" * 5000, chunks=5)
    app = FastPath(small, ResponseCache(max_bytes=10_000, max_entry_bytes=6000))
    assert request(app)[2] == request(app)[2] == b"x" * 5000
    assert small.calls == 1
    big = CountingApp(body=b"y" * 7000, chunks=3)
    app = FastPath(big, ResponseCache(max_bytes=10_000, max_entry_bytes=6000))
    assert request(app)[2] == request(app)[2] == b"y" * 7000
    assert big.calls == 2


def test_the_real_app_serves_repeats_from_the_fast_path(app_client):
    state = app_client.app.state.dipkg
    query = {"query": "SELECT ?s WHERE { ?s a <https://w3id.org/dipkg/ontology#Scenario> } LIMIT 3"}
    first = app_client.get("/sparql", params=query)
    app_client.get("/sparql", params=query)  # (kept from its second time: min_uses)
    hits = state.fast_cache.hits
    second = app_client.get("/sparql", params=query)
    assert state.fast_cache.hits == hits + 1
    assert first.content == second.content and first.headers == second.headers
    again = app_client.get(
        "/sparql", params=query, headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304  # conditional requests still get their 304 from the app
    health = app_client.get("/health")
    assert health.status_code == 200 and app_client.get("/health").json()  # never cached (no-store)


def test_a_full_cache_holds_about_its_budget():
    """The budget counts what entries really hold (keys, headers and the objects around
    them), not only the bodies: filled with many small answers (as a cold benchmark filled
    it when every answer was kept, as DIPKG_RESPONSE_CACHE_MIN_USES=1 still does), the
    cache's memory stays near its budget. Known-bad: counting bodies only let
    20,000 answers of 100 bytes hold ~10 times the budget."""
    import tracemalloc  # lazy: only this test traces allocations

    budget = 1024 * 1024
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        endpoint = ResponseCache(max_bytes=budget)
        fast = ResponseCache(max_bytes=budget)
        for i in range(20_000):
            query = f"SELECT ?p ?o WHERE {{ <https://w3id.org/dipkg/scenario/s{i}> ?p ?o }}"
            body = (b"%d" % i) * 20
            headers = {
                "ETag": f'W/"{i:032x}"',
                "Cache-Control": "public, max-age=300",
                "Content-Type": "application/sparql-results+json",
                "X-Dipkg-Rows": "20",
            }
            endpoint.put(
                (query, "application/sparql-results+json|-", ((), (), False)), Entry(body, headers)
            )
            fast.put(
                ("", "/sparql", query.encode(), b"application/json", b"", b"", b"h", b"", b"", b""),
                Entry(body, [(k.lower().encode(), v.encode()) for k, v in headers.items()]),
            )
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert endpoint.size <= budget and fast.size <= budget
    assert held < 1.25 * 2 * budget, f"{held / 2**20:.1f} MiB held for 2 MiB of budget"


@given(
    key=st.one_of(
        st.binary(max_size=40),
        st.tuples(
            st.text(max_size=40),
            st.text(max_size=10),
            st.tuples(
                st.tuples(st.text(max_size=9)), st.tuples(st.text(max_size=9)), st.booleans()
            ),
        ),
    ),
    body=st.binary(max_size=64),
    headers=st.one_of(
        st.dictionaries(st.text(max_size=12), st.text(max_size=12), max_size=5),
        st.lists(st.tuples(st.binary(max_size=12), st.binary(max_size=12)), max_size=5),
        st.lists(st.tuples(st.binary(max_size=12), st.binary(max_size=12)), max_size=5).map(tuple),
    ),
)
def test_an_entrys_cost_counts_its_body_key_and_every_header(key, body, headers) -> None:
    """cache.cost sums the headers in C: the same figure as counting them one by one."""
    from sparql_api.cache import ENTRY_OVERHEAD, HEADER_OVERHEAD, cost

    expected = len(body) + ENTRY_OVERHEAD
    for part in key if isinstance(key, tuple) else (key,):
        if isinstance(part, (str, bytes)):
            expected += len(part)
        elif isinstance(part, tuple):
            expected += sum(len(p) for p in part if isinstance(p, (str, bytes)))
    pairs = headers.items() if isinstance(headers, dict) else headers
    expected += sum(HEADER_OVERHEAD + len(name) + len(value) for name, value in pairs)
    assert cost(key, Entry(body, headers)) == expected
