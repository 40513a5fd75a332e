"""The bare path (sparql_api/hotpath.py): the same responses as through the framework.

Two real servers over the same build, one with the bare path and one without
(``DIPKG_SPARQL_HOT_PATH=false``), each on 127.0.0.1 with 127.0.0.2 as its trusted proxy,
get the same requests; status, headers (in order, all but Date) and raw body bytes (gzip
included) must agree (under ``dipkg serve`` the one with the bare path answers its shapes
in the query lane, sparql_api/lane.py: the lane against the framework). In process
(the app alone, where this middleware answers them): which requests it takes, that its
answers still fill the fast path (from a query's second time), and that the comparison
does catch a bare path that answers differently.

What wraps the answer is tested where it always was, now through the query lane that takes
these shapes under ``dipkg serve`` (sparql_api/lane.py; it is on by default and those tests
send its shapes): the worker freed when the client leaves and the
time limit (test_limits.py), the per-client 429 behind a trusted proxy
(reliability/test_fairness.py), the access log and request id (test_logs.py), the release
switch (reliability/test_live_update.py), the connection limits
(reliability/test_connections.py), OpenAPI's /sparql (test_http.py).
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dipkg.core.release import open_release
from dipkg.core.settings import Settings
from sparql_api import endpoint, hotpath
from sparql_api.app import create_app
from sparql_api.fastpath import FastPath
from sparql_api.hotpath import HotPath
from tests.endpoint.conftest import Counting, Server, server_in

MAX_QUERY_BYTES = 8192  # above 4096 the guard runs on a thread: both kinds are in the corpus
PROXY = "127.0.0.2"
SCENARIO = "https://w3id.org/dipkg/ontology#Scenario"
IGNORED = {b"date"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
DIRECT = {"Content-Type": "application/sparql-query"}

#: sent with every request unless it has its own: one Host for both servers (the service
#: description's URL is made of it), one request id (echoed)
DEFAULTS = [("Host", "dipkg.test"), ("X-Request-Id", "same-id")]

Snapshot = tuple[int, list[tuple[bytes, bytes]], bytes]


@pytest.fixture(scope="module")
def pair(endpoint_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Server]]:
    """[with the bare path, without it], the same settings otherwise."""
    with contextlib.ExitStack() as servers:
        yield [
            servers.enter_context(
                server_in(
                    endpoint_data,
                    tmp_path_factory.mktemp(f"hot-{hot}"),
                    DIPKG_SPARQL_HOT_PATH=hot,
                    DIPKG_QUERY_WORKERS="1",
                    DIPKG_QUERY_TIMEOUT="1",
                    DIPKG_MAX_ROWS="300",
                    DIPKG_MAX_QUERY_BYTES=str(MAX_QUERY_BYTES),
                    DIPKG_TRUSTED_PROXIES=f'["{PROXY}"]',
                )
            )
            for hot in ("true", "false")
        ]


def snapshot(client: httpx.Client, method: str, url: str, **kw: Any) -> Snapshot:
    """Status, headers (in order, without Date) and the body's bytes as sent (not decoded)."""
    response = client.send(client.build_request(method, url, **kw), stream=True)
    try:
        body = b"".join(response.iter_raw())
    finally:
        response.close()
    headers = [(k.lower(), v) for k, v in response.headers.raw if k.lower() not in IGNORED]
    return response.status_code, headers, body


def differences(a: Snapshot, b: Snapshot) -> list[str]:
    out = []
    if a[0] != b[0]:
        out.append(f"status {a[0]} != {b[0]}")
    if a[1] != b[1]:
        out.append(f"headers {a[1]} != {b[1]}")
    if a[2] != b[2]:
        out.append(f"body {a[2][:300]!r} != {b[2][:300]!r}")
    return out


def _without(snap: Snapshot, name: bytes) -> Snapshot:
    return snap[0], [(k, v) for k, v in snap[1] if k != name], snap[2]


def _untimed(snap: Snapshot) -> Snapshot:
    body = json.loads(snap[2])
    assert body["details"].pop("elapsed_seconds") >= 1.0
    return snap[0], _without(snap, b"content-length")[1], json.dumps(body).encode()


_tags = itertools.count()


def q(text: str) -> str:
    """``text`` made unique (a comment), so no cache answers it: each case is cold."""
    return f"{text}\n# case {next(_tags)}"


def cases() -> list[tuple[str, str, str, dict[str, Any]]]:
    """(name, method, path, httpx request arguments)."""
    point = f"SELECT ?p ?o WHERE {{ <{SCENARIO}> ?p ?o }}"
    many = "SELECT ?s ?p ?o WHERE { ?s ?p ?o }"
    ask = "ASK { ?s a ?t }"
    construct = f"CONSTRUCT {{ ?s a <{SCENARIO}> }} WHERE {{ ?s a <{SCENARIO}> }}"
    describe = f"DESCRIBE <{SCENARIO}>"
    out: list[tuple[str, str, str, dict[str, Any]]] = []

    def get(name: str, params: Any, path: str = "/sparql", **headers: str) -> None:
        out.append(("GET " + name, "GET", path, {"params": params, "headers": headers}))

    def post(name: str, content: bytes | str, ctype: dict[str, str], **headers: str) -> None:
        out.append(
            (
                "POST " + name,
                "POST",
                "/sparql",
                {"content": content, "headers": {**ctype, **headers}},
            )
        )

    # good queries, every result format by Accept and by format=
    for accept in (
        None,
        "application/sparql-results+json",
        "application/sparql-results+xml",
        "text/csv",
        "text/tab-separated-values",
        "application/json",
        "*/*",
        "text/csv;q=0.5, application/sparql-results+xml;q=0.9",
        "text/turtle",  # not offered for a SELECT: 406
        "image/png",
    ):
        extra = {"Accept": accept} if accept else {}
        get(f"select {accept}", {"query": q(point)}, **extra)
        get(f"ask {accept}", {"query": q(ask)}, **extra)
    for accept in (
        None,
        "text/turtle",
        "application/n-triples",
        "application/ld+json",
        "application/rdf+xml",
        "application/sparql-results+json",
    ):
        extra = {"Accept": accept} if accept else {}
        get(f"construct {accept}", {"query": q(construct)}, **extra)
        get(f"describe {accept}", {"query": q(describe)}, **extra)
    for name in (
        "json",
        "xml",
        "csv",
        "tsv",
        "turtle",
        "nt",
        "application/sparql-results+xml",
        "nonsense",
    ):
        get(f"select format={name}", {"query": q(point), "format": name})
        get(f"construct output={name}", {"query": q(construct), "output": name})
    # a large result, cut at the row cap, plain and gzipped
    get("row cap", {"query": q(many)})
    for encoding in ("gzip", "gzip;q=0", "br", "*", "identity"):
        get(f"gzip {encoding}", {"query": q(many)}, **{"Accept-Encoding": encoding})
        get(f"gzip small {encoding}", {"query": q(ask)}, **{"Accept-Encoding": encoding})
    get("gzip error", {"query": q(point), "format": "nonsense"}, **{"Accept-Encoding": "gzip"})
    # refusals, in the one error shape
    get("syntax", {"query": q("SELECT ?s WHERE {\n  ?s ?p \n}")})
    get("syntax prefix", {"query": q("SELECT ?s WHERE { ?s a ex:Thing }")})
    get("stray char", {"query": q("SELECT ?s WHERE { ?s\u3000?p ?o }")})
    get("service", {"query": q("SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }")})
    get(
        "service escaped", {"query": q("SELECT * WHERE { \\u0053ERVICE <http://x/> { ?s ?p ?o } }")}
    )
    get("update in query", {"query": q("INSERT DATA { <a:b> <a:c> <a:d> }")})
    get("load", {"query": q("LOAD <http://127.0.0.1:9/x>")})
    get("update param", {"update": "INSERT DATA { <a:b> <a:c> <a:d> }"})
    get("query and update", {"query": q(ask), "update": "CLEAR ALL"})
    get("two queries", [("query", q(ask)), ("query", q(ask))])
    get("empty query", {"query": "   "})
    get("too long", {"query": q("ASK {}" + " " * MAX_QUERY_BYTES)})
    get("long", {"query": q("ASK { ?s ?p ?o }" + " " * 5000)})
    get("long syntax", {"query": q("ASK { ?s ?p " + " " * 5000 + "}")})
    get("too deep", {"query": q("ASK " + "{" * 300 + "}" * 300)})
    get("bad graph iri", {"query": q(ask), "default-graph-uri": "not an iri"})
    get(
        "union and default",
        {"query": q(ask), "union-default-graph": "", "default-graph-uri": "http://x/"},
    )
    get(
        "datasets",
        [
            ("query", q(ask)),
            ("default-graph-uri", "http://example.org/a"),
            ("named-graph-uri", "http://example.org/b"),
        ],
    )
    get("union", {"query": q(ask), "union-default-graph": "true"})
    out.append(("GET bad utf-8", "GET", "/sparql?query=%FF%FE", {}))
    out.append(("GET no value", "GET", "/sparql?query", {}))
    out.append(
        (
            "GET percent",
            "GET",
            "/sparql?query=" + quote(q('ASK { FILTER("%41+b" != "") }'), safe=""),
            {},
        )
    )
    # CORS, proxies, request ids
    get("origin", {"query": q(point)}, Origin="https://example.org")
    get(
        "forwarded",
        {"query": q(point)},
        **{
            "X-Forwarded-For": "203.0.113.9",
            "X-Forwarded-Host": "example.org",
            "X-Forwarded-Proto": "https",
        },
    )
    get("forwarded garbled", {"query": q(point)}, **{"X-Forwarded-For": "not an address, 10.0.0.1"})
    get("request id", {"query": q(point)}, **{"X-Request-Id": "fixed-id-1"})
    get("insane request id", {"query": q(point)}, **{"X-Request-Id": "two words"})
    get("query path", {"query": q(point)}, path="/query")
    # POST, both kinds
    post("form", "query=" + quote(q(point), safe=""), FORM)
    post("form + format", "format=csv&query=" + quote(q(point), safe=""), FORM)
    post(
        "form with graphs",
        "query=" + quote(q(ask), safe="") + "&named-graph-uri=http%3A%2F%2Fx%2F",
        FORM,
    )
    post(
        "form charset",
        "query=" + quote(q(ask), safe=""),
        {"Content-Type": FORM["Content-Type"] + "; charset=UTF-8"},
    )
    post("form syntax", "query=" + quote(q("SELECT { ?s }"), safe=""), FORM)
    post("form update", "update=" + quote("CLEAR ALL", safe=""), FORM)
    post("form no query", "format=json", FORM)
    post("form bad utf-8", b"query=%FF%FE", FORM)
    post("form too long", "query=" + "a" * (MAX_QUERY_BYTES + 10), FORM)
    post("form too large", "query=" + "a" * (4 * MAX_QUERY_BYTES + 70 * 1024), FORM)
    post("direct", q(point), DIRECT)
    post("direct csv", q(point), DIRECT, Accept="text/csv")
    post("direct utf8", q(point), {"Content-Type": "application/sparql-query; charset=utf-8"})
    post("direct latin-1", q(point), {"Content-Type": "application/sparql-query; charset=latin-1"})
    post("direct bad utf-8", b"ASK { \xff }", DIRECT)
    post("direct too long", q("ASK {}" + " " * MAX_QUERY_BYTES), DIRECT)
    post(
        "direct service", q("ASK { SERVICE <http://x/> { } }"), DIRECT, Origin="https://example.org"
    )
    post("direct gzip", q(many), DIRECT, **{"Accept-Encoding": "gzip"})
    out.append(
        (
            "POST direct + query in url",
            "POST",
            "/sparql",
            {"params": {"query": q(ask)}, "content": q(ask), "headers": DIRECT},
        )
    )
    out.append(
        (
            "POST form + url params",
            "POST",
            "/sparql",
            {"params": {"format": "xml"}, "content": "query=" + quote(q(ask)), "headers": FORM},
        )
    )
    out.append(
        (
            "GET two Accept headers",
            "GET",
            "/sparql",
            {
                "params": {"query": q(point)},
                "headers": [("Accept", "text/csv"), ("Accept", "application/sparql-results+xml")],
            },
        )
    )
    out.append(
        (
            "POST chunked form",
            "POST",
            "/sparql",
            {"content": [b"query=", quote(q(point), safe="").encode()], "headers": FORM},
        )
    )
    # stopped at the time limit: 503 with Retry-After
    runaway = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
    post("runaway", "query=" + quote(q(runaway), safe=""), FORM)
    # what the bare path leaves to the app
    post("update", "CLEAR ALL", {"Content-Type": "application/sparql-update"})
    post("odd type", q(ask), {"Content-Type": "text/plain"})
    post("no type", b"", {})
    get("service description", {})
    get("service description turtle", {}, Accept="text/turtle")
    get("query page", {}, Accept="text/html")
    get("conditional", {"query": q(point)}, **{"If-None-Match": '"nothing"'})
    get("trailing slash", {"query": q(point)}, path="/sparql/")
    out.append(("HEAD", "HEAD", "/sparql", {"params": {"query": q(point)}}))
    out.append(
        (
            "OPTIONS",
            "OPTIONS",
            "/sparql",
            {"headers": {"Origin": "https://example.org", "Access-Control-Request-Method": "POST"}},
        )
    )
    out.append(("PUT", "PUT", "/sparql", {"content": q(ask), "headers": DIRECT}))
    return out


CASES = cases()


def _client(server: Server, address: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.url, timeout=30, transport=httpx.HTTPTransport(local_address=address)
    )


@pytest.mark.parametrize("peer", ["127.0.0.1", PROXY], ids=["direct", "via-proxy"])
def test_the_bare_path_answers_as_the_framework_does(pair: list[Server], peer: str) -> None:
    hot, plain = pair
    with _client(hot, peer) as a, _client(plain, peer) as b:
        problems = {}
        statuses = set()
        for name, method, path, kw in CASES:
            given = kw.get("headers", {})
            given = list(given.items() if isinstance(given, dict) else given)
            named = {k.lower() for k, _ in given}
            headers = [(k, v) for k, v in DEFAULTS if k.lower() not in named] + given
            ours = snapshot(a, method, path, **{**kw, "headers": headers})
            theirs = snapshot(b, method, path, **{**kw, "headers": headers})
            statuses.add(ours[0])
            if name == "GET insane request id":  # replaced by a fresh random id: compare the rest
                ours, theirs = _without(ours, b"x-request-id"), _without(theirs, b"x-request-id")
            if name == "POST runaway":  # the time it ran is measured: compare the rest
                ours, theirs = _untimed(ours), _untimed(theirs)
            found = differences(ours, theirs)
            if found:
                problems[name] = found
        assert not problems, problems
    # the corpus covers answers, refusals and what the app keeps
    assert {200, 304, 400, 403, 405, 406, 413, 415, 204, 503} - statuses <= {304}, statuses


QUERY_PARTS = [
    "SELECT",
    "ASK",
    "CONSTRUCT",
    "DESCRIBE",
    "*",
    "?s",
    "?p",
    "?o",
    "WHERE",
    "{",
    "}",
    "(",
    ")",
    ".",
    ";",
    ",",
    "a",
    "<http://x/>",
    f"<{SCENARIO}>",
    '"text"',
    "'x'",
    "LIMIT 3",
    "FILTER",
    "SERVICE",
    "service",
    "INSERT",
    "DATA",
    "LOAD",
    "PREFIX ex: <http://x/>",
    "ex:y",
    "#c\n",
    "\n",
    " ",
    "\t",
    "\\u0053",
    "\u3000",
    "é",
    "COUNT(*)",
    "AS",
    "?n",
    "GROUP BY",
    "ORDER BY",
    "1",
    "true",
    "BIND",
    "VALUES",
    "UNION",
    "OPTIONAL",
    "GRAPH",
    "\x00",
    "%41",
    "+",
]
MEDIA = [
    "application/sparql-results+json",
    "application/sparql-results+xml",
    "text/csv",
    "text/tab-separated-values",
    "application/json",
    "text/turtle",
    "application/n-triples",
    "application/ld+json",
    "application/rdf+xml",
    "application/n-quads",
    "text/html",
    "*/*",
    "text/*",
    "application/*",
    "image/png",
    "text/csv;charset=latin-1",
    "bogus",
]
queries = st.lists(st.sampled_from(QUERY_PARTS), min_size=0, max_size=14).map(" ".join) | st.text(
    max_size=40
)
accepts = st.none() | st.lists(
    st.tuples(st.sampled_from(MEDIA), st.sampled_from(["", ";q=0", ";q=0.5", ";q=1", ";q=x"])),
    min_size=1,
    max_size=3,
).map(lambda items: ", ".join(m + w for m, w in items))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    query=queries,
    accept=accepts,
    post=st.sampled_from(["GET", "form", "direct"]),
    fmt=st.none() | st.sampled_from(["json", "csv", "turtle", "x"]),
)
def test_any_query_and_accept_get_the_same_answer(
    pair: list[Server], query: str, accept: str | None, post: str, fmt: str | None
) -> None:
    hot, plain = pair
    headers = {"Host": "dipkg.test", "X-Request-Id": "same-id"}
    if accept is not None:
        headers["Accept"] = accept
    params = {"format": fmt} if fmt else {}
    if post == "GET":
        kw: dict[str, Any] = {"params": {**params, "query": query}, "headers": headers}
    elif post == "form":
        kw = {"params": params, "data": {"query": query}, "headers": headers}
    else:
        kw = {"params": params, "content": query.encode("utf-8"), "headers": {**headers, **DIRECT}}
    method = "GET" if post == "GET" else "POST"
    with (
        httpx.Client(base_url=hot.url, timeout=30) as a,
        httpx.Client(base_url=plain.url, timeout=30) as b,
    ):
        # three times each: a cold answer, again (then kept: DIPKG_RESPONSE_CACHE_MIN_USES),
        # then its repeat (from the fast path when cacheable)
        for _ in range(3):
            assert not differences(
                snapshot(a, method, "/sparql", **kw), snapshot(b, method, "/sparql", **kw)
            )


# --- in process ------------------------------------------------------------------


@pytest.fixture(scope="module")
def apps(endpoint_data: Path) -> Iterator[tuple[TestClient, TestClient]]:
    release = open_release(endpoint_data)
    on = create_app(Settings(query_workers=1, max_rows=50), release)
    off = create_app(Settings(query_workers=1, max_rows=50, sparql_hot_path=False), release)
    with TestClient(on) as a, TestClient(off) as b:
        yield a, b


def _layers(client: TestClient) -> tuple[FastPath, HotPath | None]:
    client.get("/health")  # the stack is built on the first request
    fast = client.app.middleware_stack  # type: ignore[attr-defined]
    assert isinstance(fast, FastPath)
    return fast, fast.app if isinstance(fast.app, HotPath) else None


def test_the_setting_turns_the_bare_path_off(apps: tuple[TestClient, TestClient]) -> None:
    on, off = apps
    assert _layers(on)[1] is not None
    assert _layers(off)[1] is None  # the fast path stays, in front of the framework


TAKEN = [
    ("GET", "/sparql", {"params": {"query": "ASK { ?s ?p ?o } # taken 1"}}),
    ("GET", "/query", {"params": {"query": "ASK { ?s ?p ?o } # taken 2"}}),
    ("GET", "/sparql", {"params": {"query": "SELECT * WHERE { SERVICE <http://x/> {} }"}}),
    ("GET", "/sparql", {"params": {"query": "ASK {", "format": "nonsense"}}),
    ("POST", "/sparql", {"data": {"query": "ASK { ?s ?p ?o } # taken 3"}}),
    ("POST", "/sparql", {"content": "ASK { ?s ?p ?o } # taken 4", "headers": DIRECT}),
    (
        "POST",
        "/sparql",
        {
            "content": "ASK {}",
            "headers": {"Content-Type": "application/sparql-query; charset=latin-1"},
        },
    ),
]
LEFT = [
    ("GET", "/sparql", {}),  # the service description
    ("GET", "/sparql", {"headers": {"Accept": "text/html"}}),
    ("HEAD", "/sparql", {"params": {"query": "ASK {} # left 1"}}),
    ("OPTIONS", "/sparql", {}),
    ("PATCH", "/sparql", {}),
    (
        "GET",
        "/sparql",
        {"params": {"query": "ASK {} # left 2"}, "headers": {"If-None-Match": '"x"'}},
    ),
    (
        "GET",
        "/sparql",
        {
            "params": {"query": "ASK {} # left 3"},
            "headers": {"If-Modified-Since": "Tue, 01 Dec 2026 00:00:00 GMT"},
        },
    ),
    (
        "POST",
        "/sparql",
        {"content": "CLEAR ALL", "headers": {"Content-Type": "application/sparql-update"}},
    ),
    ("POST", "/sparql", {"content": "ASK {}", "headers": {"Content-Type": "text/plain"}}),
    ("POST", "/sparql", {}),
    ("GET", "/sparql/", {"params": {"query": "ASK {} # left 4"}}),
    ("GET", "/health", {}),
]


def reaching_the_framework(client: TestClient, method: str, path: str, kw: dict) -> int:
    """How many times this request reached the app behind the bare path (0 or 1)."""
    hot = _layers(client)[1]
    assert hot is not None
    spy = Counting(hot.app)
    hot.app, inner = spy, hot.app
    try:
        client.request(method, path, **kw)
    finally:
        hot.app = inner
    return spy.calls


@pytest.mark.parametrize("method, path, kw", TAKEN)
def test_the_common_shapes_skip_the_framework(
    apps: tuple[TestClient, TestClient], method: str, path: str, kw: dict
) -> None:
    assert reaching_the_framework(apps[0], method, path, kw) == 0


@pytest.mark.parametrize("method, path, kw", LEFT)
def test_the_rest_goes_to_the_framework(
    apps: tuple[TestClient, TestClient], method: str, path: str, kw: dict
) -> None:
    assert reaching_the_framework(apps[0], method, path, kw) == 1


def test_a_cold_answer_makes_the_next_repeat_warm(apps: tuple[TestClient, TestClient]) -> None:
    """From its second time (min_uses): the first is counted, not kept."""
    on, _ = apps
    fast, hot = _layers(on)
    assert hot is not None
    ctx = on.app.state.dipkg  # type: ignore[attr-defined]
    query = {"query": "SELECT ?s WHERE { ?s ?p ?o } LIMIT 2 # cold then warm"}
    misses, hits, runs = fast.cache.misses, fast.cache.hits, ctx.cache.misses
    first = on.get("/sparql", params=query)
    assert first.status_code == 200 and fast.cache.misses == misses + 1
    assert ctx.cache.misses == runs + 1  # a worker answered it
    assert on.get("/sparql", params=query).content == first.content
    assert fast.cache.misses == misses + 2 and ctx.cache.misses == runs + 2  # not kept yet
    second = on.get("/sparql", params=query)
    assert fast.cache.hits == hits + 1 and ctx.cache.misses == runs + 2
    assert (second.status_code, second.headers, second.content) == (
        first.status_code,
        first.headers,
        first.content,
    )


def test_a_bare_path_that_answers_differently_is_caught(
    apps: tuple[TestClient, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    on, off = apps
    query = {"query": "ASK { ?s ?p ?o } # in process"}
    agree = differences(
        snapshot(on, "GET", "/sparql", params=query), snapshot(off, "GET", "/sparql", params=query)
    )
    assert not agree, agree
    whole = hotpath.send_whole

    async def no_cors(send: Any, status: int, headers: list, *args: Any) -> None:
        async def strip(message: dict) -> None:  # forgets the CORS headers
            if message["type"] == "http.response.start":
                message["headers"] = [
                    h for h in message["headers"] if b"access-control" not in h[0]
                ]
            await send(message)

        await whole(strip, status, headers, *args)

    monkeypatch.setattr(hotpath, "send_whole", no_cors)
    query = {"query": "ASK { ?s ?p ?o } # in process, no CORS"}
    found = differences(
        snapshot(on, "GET", "/sparql", params=query), snapshot(off, "GET", "/sparql", params=query)
    )
    assert found and "access-control-allow-origin" in found[0], found


def test_an_unexpected_error_is_the_app_s_500(
    apps: tuple[TestClient, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    on, off = apps

    async def broken(*args: Any, **kw: Any) -> Any:
        raise RuntimeError("/etc/passwd is not for you")

    monkeypatch.setattr(hotpath, "answer", broken)
    monkeypatch.setattr(endpoint, "answer", broken)
    query = {"query": "ASK {} # boom"}
    ours = snapshot(
        TestClient(on.app, raise_server_exceptions=False), "GET", "/sparql", params=query
    )
    theirs = snapshot(
        TestClient(off.app, raise_server_exceptions=False), "GET", "/sparql", params=query
    )
    assert ours[0] == 500 and b"passwd" not in ours[2]
    assert not differences(ours, theirs), differences(ours, theirs)
