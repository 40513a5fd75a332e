"""The query lane (sparql_api/lane.py) in process: which requests it takes, that it sends
what the layers send, that each request is logged once, and its 500.

Through real servers the lane is what tests/endpoint/test_hotpath.py compares with the
framework (byte for byte), and what the access log, limits, release switch and connection
tests send their queries through. Here the lane runs over a real ``LiveApp`` (a real
pool of workers on the test build) in front of the same stack ``dipkg serve`` gives it,
next to that stack alone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dipkg.core.settings import Settings
from sparql_api import lane
from sparql_api.lane import QueryLane
from sparql_api.live import LiveApp
from sparql_api.logs import RequestLog
from tests.endpoint.conftest import Counting

SCENARIO = "https://w3id.org/dipkg/scenario/guizhou-b1-s01"
SAME_ID = {"X-Request-Id": "same-id"}


class Switch:
    """The lane, or with ``X-Via: layers`` the layers alone: both on one event loop (the
    pool's), through one client."""

    def __init__(self, front: Any, layers: Any) -> None:
        self.front = front
        self.layers = layers

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        via = dict(scope.get("headers") or ()).get(b"x-via")
        await (self.layers if via == b"layers" else self.front)(scope, receive, send)


@pytest.fixture(scope="module")
def served(endpoint_data: Path) -> Iterator[tuple[TestClient, Counting, LiveApp]]:
    """(a client of the lane in front of the layers, or of the layers alone; the layers'
    counter; the live app), over one LiveApp, as sparql_api/server.py composes them."""
    live = LiveApp.open(Settings(query_workers=1, max_rows=50), endpoint_data)
    layers = Counting(RequestLog(live))
    with TestClient(Switch(QueryLane(layers, live), RequestLog(live))) as client:
        yield client, layers, live


LAYERS = {"X-Via": "layers"}


def reached(served: tuple, method: str, url: str, **kw: Any) -> int:
    front, layers, _ = served
    before = layers.calls
    front.request(method, url, **kw)
    return layers.calls - before


TAKEN = [
    ("GET", "/sparql", {"params": {"query": "ASK { ?s ?p ?o } # lane 1"}}),
    ("GET", "/query", {"params": {"query": "ASK { ?s ?p ?o } # lane 2"}}),
    ("GET", "/sparql", {"params": {"query": "ASK {"}}),  # a refusal is the lane's too
    ("POST", "/sparql", {"data": {"query": "ASK { ?s ?p ?o } # lane 3"}}),
    (
        "POST",
        "/sparql",
        {"content": "ASK {} # lane 4", "headers": {"Content-Type": "application/sparql-query"}},
    ),
]
LEFT = [
    ("GET", "/sparql", {}),  # the service description
    ("HEAD", "/sparql", {"params": {"query": "ASK {} # left 1"}}),
    ("GET", "/sparql", {"params": {"query": "ASK {} # left 2"}, "headers": {"If-None-Match": "x"}}),
    ("POST", "/sparql", {"content": "ASK {}", "headers": {"Content-Type": "text/plain"}}),
    ("GET", "/health", {}),
    # (the app's: a 301 to /sparql, the service's IRI; not followed, to count one request)
    ("GET", "/sparql/", {"params": {"query": "ASK {} # left 3"}, "follow_redirects": False}),
]


@pytest.mark.parametrize("method, url, kw", TAKEN)
def test_the_lane_answers_query_requests_itself(
    served: tuple, method: str, url: str, kw: dict
) -> None:
    assert reached(served, method, url, **kw) == 0


@pytest.mark.parametrize("method, url, kw", LEFT)
def test_the_rest_goes_through_the_layers_once(
    served: tuple, method: str, url: str, kw: dict
) -> None:
    assert reached(served, method, url, **kw) == 1


def snapshot(client: TestClient, method: str, url: str, via: dict, **kw: Any) -> tuple:
    kw["headers"] = {**SAME_ID, **via, **kw.get("headers", {})}
    r = client.request(method, url, **kw)
    return r.status_code, [(k, v) for k, v in r.headers.raw if k.lower() != b"date"], r.content


@pytest.mark.parametrize(
    "method, url, kw",
    [
        ("GET", "/sparql", {"params": {"query": f"SELECT ?p ?o WHERE {{ <{SCENARIO}> ?p ?o }}"}}),
        (
            "GET",
            "/sparql",
            {
                "params": {"query": f"DESCRIBE <{SCENARIO}>"},
                "headers": {"Accept": "text/turtle", "Accept-Encoding": "gzip"},
            },
        ),
        ("GET", "/sparql", {"params": {"query": "SELECT * WHERE { ?s ?p ?o }"}}),  # truncated
        ("GET", "/sparql", {"params": {"query": "ASK {", "format": "csv"}}),
        ("GET", "/sparql", {"params": {"query": "ASK {}"}, "headers": {"Accept": "image/png"}}),
        ("POST", "/sparql", {"data": {"query": "ASK { ?s ?p ?o }"}}),
        ("GET", "/sparql", {}),
    ],
)
def test_the_lane_sends_what_the_layers_send(
    served: tuple, method: str, url: str, kw: dict
) -> None:
    client, _, live = served
    ours = snapshot(client, method, url, {}, **kw)
    live.current.app.state.dipkg.fast_cache.clear()  # the layers answer it cold too
    theirs = snapshot(client, method, url, LAYERS, **kw)
    assert ours == theirs


def test_a_repeat_is_warm_whichever_way_it_came(served: tuple) -> None:
    client, _, live = served
    ctx = live.current.app.state.dipkg
    query = {"query": "SELECT ?s WHERE { ?s ?p ?o } LIMIT 2 # warm either way"}
    hits, runs = ctx.fast_cache.hits, ctx.cache.misses
    first = snapshot(client, "GET", "/sparql", {}, params=query)
    assert ctx.cache.misses == runs + 1  # a worker answered it
    again = snapshot(client, "GET", "/sparql", {}, params=query)  # kept from its 2nd time
    assert ctx.cache.misses == runs + 2 and ctx.fast_cache.hits == hits
    second = snapshot(client, "GET", "/sparql", LAYERS, params=query)  # the fast path's hit
    third = snapshot(client, "GET", "/sparql", {}, params=query)  # the lane's own
    assert ctx.fast_cache.hits == hits + 2 and ctx.cache.misses == runs + 2
    assert first == again == second == third  # headers in order (the request id last), bytes


def test_a_get_the_lane_keeps_is_kept_in_one_cache(served: tuple) -> None:
    """The fast path's cache keeps a cold GET's answer (from its second time: min_uses);
    the release's answer cache does not keep it again (its room is for the rest: POSTs,
    GETs the fast path passes by, requests through the layers), a POST it does. (The
    same query asked another way is then evaluated once more for that way.)"""
    client, _, live = served
    ctx = live.current.app.state.dipkg
    query = {"query": "SELECT ?s WHERE { ?s ?p ?o } LIMIT 3 # one cache"}
    fast, kept = len(ctx.fast_cache), len(ctx.cache)
    for _ in range(2):
        assert snapshot(client, "GET", "/sparql", {}, params=query)[0] == 200
    assert len(ctx.fast_cache) == fast + 1 and len(ctx.cache) == kept
    for _ in range(2):
        assert client.post("/sparql", data=query).status_code == 200
    assert len(ctx.cache) == kept + 1


def test_each_request_has_one_access_line(served: tuple, caplog: pytest.LogCaptureFixture) -> None:
    front = served[0]
    with caplog.at_level(logging.INFO, logger="dipkg.access"):
        for method, url, kw in [*TAKEN, *LEFT]:
            front.request(method, url, **kw)
    lines = [r for r in caplog.records if r.name == "dipkg.access"]
    assert len(lines) == len(TAKEN) + len(LEFT), [r.getMessage() for r in lines]


def _untimed(record: logging.LogRecord) -> tuple[int, str]:
    """An access record's level and line without its duration."""
    return record.levelno, record.getMessage().rsplit(" ", 1)[0]


@pytest.mark.parametrize(
    "kw",
    [
        {"params": {"query": "ASK { ?s ?p ?o } # logged"}},
        {"params": {"query": "ASK {"}},
        {"params": {"query": "ASK {}"}, "headers": {"Accept": "image/png"}},
    ],
)
def test_the_lane_s_access_line_is_the_layers(
    served: tuple, caplog: pytest.LogCaptureFixture, kw: dict
) -> None:
    client, _, live = served
    with caplog.at_level(logging.INFO, logger="dipkg.access"):
        client.get("/sparql", headers={**SAME_ID, **kw.get("headers", {})}, params=kw["params"])
        live.current.app.state.dipkg.fast_cache.clear()
        client.get(
            "/sparql", headers={**SAME_ID, **LAYERS, **kw.get("headers", {})}, params=kw["params"]
        )
    ours, theirs = (_untimed(r) for r in caplog.records if r.name == "dipkg.access")
    assert ours == theirs


async def broken(*args: Any, **kw: Any) -> Any:
    """An answer that fails unexpectedly (with a secret in its message)."""
    raise RuntimeError("/etc/passwd is not for you")


def test_an_unexpected_error_is_a_bare_500_logged_and_raised(
    served: tuple, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    front, _, live = served
    monkeypatch.setattr(lane, "respond", broken)
    client = TestClient(front.app, raise_server_exceptions=False)
    with caplog.at_level(logging.INFO):
        r = client.get("/sparql", params={"query": "ASK {} # boom"}, headers=SAME_ID)
    assert r.status_code == 500 and b"passwd" not in r.content
    assert r.headers["x-request-id"] == "same-id"
    assert r.json()["error"] == "internal"
    access = [x for x in caplog.records if x.name == "dipkg.access"]
    assert len(access) == 1 and access[0].levelno == logging.WARNING
    assert any(
        x.name == "sparql_api" and "unexpected error on GET /sparql" in x.getMessage()
        for x in caplog.records
    )
    assert live.current.inflight == 0  # the release is not held by the failed request
    with pytest.raises(RuntimeError, match="passwd"):  # and raised on, to the server
        TestClient(front.app).get("/sparql", params={"query": "ASK {} # boom, raised"})


def test_a_5xx_is_logged_with_the_access_log_off(
    served: tuple, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _, layers, live = served
    quiet = TestClient(QueryLane(layers, live, access_log=False), raise_server_exceptions=False)
    refused = "SELECT * WHERE { SERVICE <http://example.org/> { ?s ?p ?o } }"  # the guard's
    with caplog.at_level(logging.INFO, logger="dipkg.access"):
        assert quiet.get("/sparql", params={"query": refused}).status_code == 400
        monkeypatch.setattr(lane, "respond", broken)
        assert quiet.get("/sparql", params={"query": "ASK {} # quiet"}).status_code == 500
    access = [x for x in caplog.records if x.name == "dipkg.access"]
    assert [x.levelno for x in access] == [logging.WARNING]  # the 500 only


def test_the_comparison_catches_a_lane_that_answers_differently(
    served: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _, live = served
    whole = lane.whole

    async def no_cors(status: int, headers: list, *args: Any, **kw: Any) -> tuple[list, bytes]:
        sent, body = await whole(status, headers, *args, **kw)  # forgets the CORS headers
        return [h for h in sent if b"access-control" not in h[0]], body

    monkeypatch.setattr(lane, "whole", no_cors)
    kw = {"params": {"query": "ASK { ?s ?p ?o } # no CORS"}}
    ours = snapshot(client, "GET", "/sparql", {}, **kw)
    live.current.app.state.dipkg.fast_cache.clear()
    theirs = snapshot(client, "GET", "/sparql", LAYERS, **kw)
    assert ours[0] == theirs[0] == 200 and ours[2] == theirs[2]
    assert ours[1] != theirs[1]


@pytest.fixture(scope="module")
def wide(endpoint_data: Path) -> Iterator[tuple[TestClient, LiveApp]]:
    """The lane and the layers over a LiveApp whose row cap lets a result reach the spool."""
    live = LiveApp.open(Settings(query_workers=1, max_rows=100_000), endpoint_data)
    with TestClient(Switch(QueryLane(RequestLog(live), live), RequestLog(live))) as client:
        yield client, live


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_a_streamed_answer_is_the_layers_too(wide: tuple, encoding: str) -> None:
    client, live = wide
    kw = {
        "params": {"query": f"SELECT * WHERE {{ ?s ?p ?o }} # streamed, {encoding}"},
        "headers": {"Accept-Encoding": encoding},
    }
    ours = snapshot(client, "GET", "/sparql", {}, **kw)
    live.current.app.state.dipkg.fast_cache.clear()
    theirs = snapshot(client, "GET", "/sparql", LAYERS, **kw)
    assert ours[0] == 200 and ours == theirs
    if encoding == "identity":  # over the spool's threshold: it came from the worker's file
        from sparql_api.results import SPOOL_THRESHOLD

        assert len(ours[2]) > SPOOL_THRESHOLD


@pytest.mark.parametrize("how", ["the bare path off", "a root_path"])
def test_without_the_bare_path_the_layers_answer(endpoint_data: Path, how: str) -> None:
    """The lane's fallbacks (sparql_api/app.py ``bare``): a query goes to the layers."""
    settings = Settings(query_workers=1, sparql_hot_path=how != "the bare path off")
    live = LiveApp.open(settings, endpoint_data)
    if how == "a root_path":
        live.current.app.root_path = "/dipkg"
    layers = Counting(RequestLog(live))
    with TestClient(QueryLane(layers, live)) as client:
        client.get("/sparql", params={"query": "ASK {} # to the layers"})
    assert layers.calls == 1
