"""Hostile queries: SERVICE and LOAD in many spellings (GET, POST form, POST direct),
deep nesting (parser recursion), long flat chains (evaluator recursion), huge VALUES
blocks, regex bombs. Each is refused (4xx) or bounded by the limits (503 at the
deadline), never a dead worker, and the server keeps answering cheap queries.
(tests/endpoint/test_service.py has 30 SERVICE spellings; these are the others.)"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from sparql_api.guard import MAX_NESTING, check_query
from tests.endpoint.conftest import Server, serving
from tests.listener import Listener
from tests.reliability.conftest import record

# timing and CPU thresholds: run alone, after the rest (`make test`: -m serial)
pytestmark = pytest.mark.serial

LIMIT = 3.0
MAX_BYTES = 65536
SEEN: Counter = Counter()


@pytest.fixture(scope="module")
def server(canary_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from serving(
        canary_data,
        tmp_path_factory,
        "hostile-q",
        DIPKG_QUERY_TIMEOUT=str(LIMIT),
        DIPKG_QUERY_WORKERS="2",
        DIPKG_MAX_QUERY_BYTES=str(MAX_BYTES),
        DIPKG_MAX_ROWS="1000",
    )
    record("hostile_queries", dict(sorted(SEEN.items())))


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    lst = Listener()
    yield lst
    lst.close()


def send(server: Server, query: str, how: str = "form") -> httpx.Response:
    if how == "get":
        return httpx.get(server.sparql, params={"query": query}, timeout=30)
    if how == "direct":
        return httpx.post(
            server.sparql,
            content=query.encode(),
            headers={"Content-Type": "application/sparql-query"},
            timeout=30,
        )
    return httpx.post(server.sparql, data={"query": query}, timeout=30)


def cheap_still_answers(server: Server) -> None:
    r = httpx.get(
        server.sparql, params={"query": f"ASK {{ ?s ?p ?o }} # {time.time_ns()}"}, timeout=30
    )
    assert r.status_code == 200 and r.json()["boolean"] is True, r.text


def deaths(server: Server) -> int:
    return httpx.get(server.url + "/health", timeout=10).json()["queries"]["deaths"]


# --- SERVICE and LOAD ----------------------------------------------------------


def service_spellings(port: int) -> list[str]:
    u = f"http://127.0.0.1:{port}/sparql"
    return [
        f"SELECT * WHERE {{ SERVICE\t<{u}>\t{{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SERVICE\r\n<{u}>{{}} }}",
        f"SELECT * WHERE {{ sErViCe SiLeNt <{u}> {{ ?s ?p ?o }} }}",
        # no block comments in SPARQL: still refused
        f"SELECT * WHERE {{ SERVICE/**/<{u}> {{ }} }}",
        f"SELECT * WHERE {{ SERVICE <{u}?query=ASK%7B%7D> {{ }} }}",
        f"SELECT * WHERE {{ SERVICE <{u}#frag> {{ }} }}",
        f"SELECT * WHERE {{ SERVICE <http://[::1]:{port}/> {{ }} }}",
        f"SELECT * WHERE {{ SERVICE <http://localhost:{port}/> {{ }} }}",
        "SELECT * WHERE { SERVICE <file:///etc/passwd> { } }",
        f"SELECT * WHERE {{ SERVICE <ftp://127.0.0.1:{port}/> {{ }} }}",
        f"SELECT * WHERE {{ SERVICE <http://2130706433:{port}/> {{ }} }}",
        f"SELECT * WHERE {{ SERVICE <http://127.1:{port}/> {{ }} }}",
        f"PREFIX s: <{u}> SELECT * WHERE {{ SERVICE s: {{ }} }}",
        f"PREFIX SERVICE: <{u}> SELECT * WHERE {{ SERVICE SERVICE: {{ }} }}",
        f"SELECT * WHERE {{ SERVICE ?u {{ }} VALUES ?u {{ <{u}> }} }}",
        f"SELECT * WHERE {{ {{ {{ {{ SERVICE <{u}> {{ }} }} }} }} }}",
        f"SELECT * WHERE {{ ?s ?p ?o . FILTER NOT EXISTS {{ SERVICE <{u}> {{ ?s ?p ?o }} }} }}",
        f"SELECT (COUNT(*) AS ?n) WHERE {{ SERVICE <{u}> {{ ?s ?p ?o }} }} HAVING (?n > 0)",
        f"ASK {{ BIND(1 AS ?x) SERVICE <{u}> {{ }} }}",
        f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ OPTIONAL {{ SERVICE SILENT <{u}> {{ ?s ?p ?o }} }} }}",
        f'SELECT * WHERE {{ ?s ?p """x""" SERVICE <{u}> {{ }} }}',
        f"SELECT * WHERE {{ ?s ?p '''x''' SERVICE <{u}> {{ }} }}",
        f"SELECT * WHERE {{ ?s ?p 'x'@en SERVICE <{u}> {{ }} }}",
        f"SELECT * WHERE {{ ?s ?p 1.5e3 SERVICE <{u}> {{ }} }}",
        f"\ufeffSELECT * WHERE {{ SERVICE <{u}> {{ }} }}",
    ]


def load_spellings(port: int) -> list[str]:
    u = f"http://127.0.0.1:{port}/data.ttl"
    return [
        f"LOAD <{u}>",
        f"load <{u}>",
        f"LoAd SiLeNt <{u}>",
        f"LOAD <{u}> INTO GRAPH <urn:g>",
        f"LOAD SILENT <{u}> INTO GRAPH <urn:g>",
        f"LOAD<{u}>",
        f"# comment\nLOAD <{u}>",
        f"PREFIX x: <http://127.0.0.1:{port}/> LOAD x:data.ttl",
        f"BASE <http://127.0.0.1:{port}/> LOAD <data.ttl>",
        f"PREFIX a: <urn:a> BASE <urn:b> PREFIX c: <urn:c> LOAD <{u}>",
        f"LOAD <{u}> ; LOAD <{u}>",
        f"ASK {{}} ; LOAD <{u}>",
        "LOAD <file:///etc/passwd>",
        f"LOAD <{u}> INTO GRAPH <file:///tmp/x>",
        f"CLEAR ALL ; LOAD <{u}>",
        f"\ufeffLOAD <{u}>",
    ]


@pytest.mark.parametrize("how", ["get", "form", "direct"])
def test_service_in_more_spellings_is_refused_and_nothing_connects(
    server: Server, listener: Listener, how: str
) -> None:
    for query in service_spellings(listener.port):
        r = send(server, query, how)
        SEEN["service_spellings_sent"] += 1
        assert r.status_code == 400, (query, r.status_code, r.text)
        assert r.json()["error"] in ("service-refused", "query-syntax"), (query, r.text)
    assert listener.accepted == 0


@pytest.mark.parametrize("how", ["get", "form", "direct", "update-param", "update-type"])
def test_load_in_every_spelling_is_refused_and_nothing_connects(
    server: Server, listener: Listener, how: str
) -> None:
    for query in load_spellings(listener.port):
        if how == "update-param":
            r = httpx.post(server.sparql, data={"update": query}, timeout=30)
        elif how == "update-type":
            r = httpx.post(
                server.sparql,
                content=query.encode(),
                headers={"Content-Type": "application/sparql-update"},
                timeout=30,
            )
        else:
            r = send(server, query, how)
        SEEN["load_spellings_sent"] += 1
        assert r.status_code in (400, 403), (how, query, r.status_code, r.text)
        assert {"error", "status", "message"} <= r.json().keys()
    assert listener.accepted == 0
    cheap_still_answers(server)


# --- recursion --------------------------------------------------------------------


def _fit(make: Callable[[int], str], limit: int = MAX_BYTES) -> str:
    """``make(n)`` for the largest n (below 40,000) that fits in ``limit`` bytes."""
    n = 40_000
    while len(make(n).encode()) > limit:
        n = int(n * 0.97)
    return make(n)


NESTED = {
    "10,000 nested { }": lambda: "SELECT * WHERE " + "{" * 10_000 + "}" * 10_000,
    "nested { } up to the size limit": lambda: _fit(
        lambda n: "SELECT * WHERE " + "{" * n + "}" * n
    ),
    "nested OPTIONAL": lambda: _fit(
        lambda n: "SELECT * WHERE { " + "OPTIONAL { " * n + "}" * n + "}"
    ),
    "nested FILTER EXISTS": lambda: _fit(
        lambda n: "ASK { " + "FILTER EXISTS { " * n + "}" * n + "}"
    ),
    "nested sub-SELECTs": lambda: _fit(
        lambda n: "SELECT * WHERE " + "{ SELECT * WHERE " * n + "{}" + "}" * n
    ),
    "nested UNION": lambda: _fit(lambda n: "SELECT * WHERE " + "{ {} UNION " * n + "{}" + "}" * n),
    "nested ( ) in an expression": lambda: _fit(
        lambda n: "ASK { FILTER(" + "(" * n + "1" + ")" * n + ") }"
    ),
    "nested -( ) in an expression": lambda: _fit(
        lambda n: "ASK { BIND(" + "-(" * n + "1" + ")" * n + " AS ?x) }"
    ),
    "nested [ ] blank nodes": lambda: _fit(
        lambda n: "ASK { ?s ?p " + "[ <urn:p> " * n + "1" + "]" * n + " }"
    ),
    "nested ( ) collections": lambda: _fit(
        lambda n: "ASK { ?s ?p " + "(" * n + "1" + ")" * n + " }"
    ),
    "nested ( ) property paths": lambda: _fit(
        lambda n: "ASK { ?s " + "(" * n + "<urn:p>" + ")" * n + " ?o }"
    ),
    "nested [ ] in a CONSTRUCT template": lambda: _fit(
        lambda n: "CONSTRUCT { <urn:a> <urn:p> " + "[ <urn:p> " * n + "1" + "]" * n + " } WHERE {}"
    ),
    "unbalanced: 20,000 {": lambda: "SELECT * WHERE " + "{" * 20_000,
}

CHAINS = {  # flat in the text, deep in the algebra: no nesting limit applies
    "3,000 BINDs": lambda: _fit(
        lambda n: "SELECT * WHERE { " + "".join(f"BIND({i} AS ?v{i}) " for i in range(n)) + "}"
    ),
    "7,000 UNIONs": lambda: _fit(lambda n: "SELECT * WHERE { {} " + "UNION {} " * n + "}"),
    "5,000 OPTIONALs": lambda: _fit(lambda n: "SELECT * WHERE { " + "OPTIONAL {} " * n + "}"),
    "7,000 MINUSes": lambda: _fit(lambda n: "SELECT * WHERE { " + "MINUS {} " * n + "}"),
    "10,000 ||": lambda: _fit(lambda n: "ASK { FILTER(" + "true||" * n + "true) }"),
    "32,000 +": lambda: _fit(lambda n: "ASK { FILTER(" + "1+" * n + "1) }"),
    "40,000 !": lambda: _fit(lambda n: "ASK { FILTER(" + "!" * n + "true) }"),
    "5,000 FILTERs": lambda: _fit(lambda n: "ASK { " + "FILTER(true) " * n + "}"),
    "5,800-step sequence path": lambda: _fit(
        lambda n: "ASK { ?s " + "/".join(["<urn:p>"] * n) + " ?o }"
    ),
    "5,800-way alternative path": lambda: _fit(
        lambda n: "ASK { ?s " + "|".join(["<urn:p>"] * n) + " ?o }"
    ),
    "5,500 triple patterns": lambda: _fit(lambda n: "ASK { " + "?s ?p ?o . " * n + "}"),
    "16,000 CONCAT arguments": lambda: _fit(
        lambda n: "SELECT (CONCAT(" + ",".join(['"a"'] * n) + ") AS ?x) {}"
    ),
    "9,000 GROUP BY keys": lambda: _fit(
        lambda n: (
            "SELECT (COUNT(*) AS ?c) WHERE { ?s ?p ?o } GROUP BY "
            + " ".join(f"?v{i}" for i in range(n))
        )
    ),
    "4,700 projected expressions": lambda: _fit(
        lambda n: "SELECT " + " ".join(f"(1 AS ?v{i})" for i in range(n)) + " {}"
    ),
}


def test_the_guard_measures_nesting_without_recursion() -> None:
    check_query("SELECT * WHERE " + "{" * MAX_NESTING + "}" * MAX_NESTING)
    with pytest.raises(Exception) as info:
        check_query("SELECT * WHERE " + "{" * (MAX_NESTING + 1) + "}" * (MAX_NESTING + 1))
    assert getattr(info.value, "code", "") == "query-too-deep" and info.value.status == 400
    # brackets in strings, IRIs and comments do not count
    check_query('SELECT * WHERE { BIND("' + "{" * 1000 + '" AS ?x) } # ' + "(" * 1000)


@pytest.mark.parametrize("name", list(NESTED))
def test_deep_nesting_is_refused_without_a_dead_worker(server: Server, name: str) -> None:
    query = NESTED[name]()
    before = deaths(server)
    r = send(server, query)
    SEEN["deep_nesting_queries"] += 1
    assert r.status_code in (400, 413), (name, r.status_code, r.text[:300])
    assert r.json()["error"] in ("query-too-deep", "query-syntax", "query-too-large"), r.text[:300]
    assert deaths(server) == before
    cheap_still_answers(server)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CHAINS))
def test_long_chains_answer_or_stop_at_the_limit_without_a_dead_worker(
    server: Server, name: str
) -> None:
    query = CHAINS[name]()
    assert len(query.encode()) <= MAX_BYTES
    before = deaths(server)
    started = time.monotonic()
    r = send(server, query)
    elapsed = time.monotonic() - started
    SEEN["long_chain_queries"] += 1
    assert r.status_code in (200, 400, 503), (name, r.status_code, r.text[:300])
    if r.status_code == 503:
        assert r.json()["error"] == "timeout", (name, r.text[:300])
        assert elapsed <= LIMIT * 1.1 + 0.5, elapsed
        SEEN["long_chain_queries_stopped_at_limit"] += 1
    assert deaths(server) == before, f"{name}: the worker died ({r.text[:200]})"
    cheap_still_answers(server)


# --- size and regular expressions --------------------------------------------------


def test_huge_values_blocks_answer_or_are_refused_by_size(server: Server) -> None:
    def values(n: int) -> str:
        return (
            "SELECT (COUNT(*) AS ?n) WHERE { VALUES ?x { "
            + " ".join(f'"v{i}"' for i in range(n))
            + " } }"
        )

    query = _fit(values)
    r = send(server, query)
    assert r.status_code == 200, r.text[:300]
    assert int(r.json()["results"]["bindings"][0]["n"]["value"]) > 7000
    rows = _fit(
        lambda n: (
            "SELECT * WHERE { VALUES (?x ?y) { "
            + " ".join(f"({i} '{i}')" for i in range(n))
            + " } }"
        )
    )
    r = send(server, rows)  # more rows than the row cap: cut, and said so
    assert r.status_code == 200 and r.headers.get("x-dipkg-truncated") == "true", r.text[:300]
    over = values(9000)
    assert len(over.encode()) > MAX_BYTES
    for how in ("form", "direct"):  # (httpx itself refuses a GET URL this long)
        r = send(server, over, how)
        assert r.status_code == 413 and r.json()["error"] == "query-too-large", r.text[:300]
    SEEN["huge_values_queries"] += 4
    cheap_still_answers(server)


BOMBS = [
    ('"' + "a" * 30_000 + '!"', "^(a+)+$"),
    ('"' + "a" * 30_000 + '!"', "^(a|aa)+$"),
    ('"' + "a" * 30_000 + '!"', "^(a|a?)+$"),
    ('"' + "a" * 30_000 + '"', "(.*a){25}"),
    ('"' + "ab" * 15_000 + '"', "^((ab)*)*c"),
    ('"' + "x" * 30_000 + '"', "(x+x+)+y"),
    ('"' + "a" * 20_000 + '"', "^(\\\\w+\\\\s?)*$!"),
    ('"' + "a" * 5_000 + '"', "a{1000}{1000}"),
    ('"a"', "(" * 200 + "a" + ")*" * 200),
    ('"a"', "a{100000}"),
    ('"a"', "[" + "a-" * 10_000 + "]"),
]


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(BOMBS)))
def test_regex_bombs_are_bounded(server: Server, index: int) -> None:
    literal, pattern = BOMBS[index]
    before = deaths(server)
    started = time.monotonic()
    for query in (
        f'ASK {{ BIND({literal} AS ?s) FILTER(REGEX(?s, "{pattern}")) }}',
        f'SELECT (REPLACE({literal}, "{pattern}", "x") AS ?r) {{}}',
        f'ASK {{ ?s ?p ?o FILTER(REGEX(STR(?o), "{pattern}", "i")) }}',
    ):
        started = time.monotonic()
        r = send(server, query)
        elapsed = time.monotonic() - started
        SEEN["regex_bombs_sent"] += 1
        assert r.status_code in (200, 400, 503), (pattern[:50], r.status_code, r.text[:300])
        if r.status_code == 503:
            assert r.json()["error"] == "timeout" and elapsed <= LIMIT * 1.1 + 0.5
    assert deaths(server) == before
    cheap_still_answers(server)


# --- the guard alone: a server whose workers have the network (as where unshare is refused) --


@pytest.fixture(scope="module")
def open_server(canary_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from serving(
        canary_data,
        tmp_path_factory,
        "hostile-open",
        DIPKG_QUERY_TIMEOUT=str(LIMIT),
        DIPKG_QUERY_WORKERS="1",
        DIPKG_WORKER_SANDBOX="false",
    )


def guard_bypasses(port: int) -> list[str]:
    """Spellings that got past the guard before it followed the grammar's character classes
    (each reached the listener on a server without the sandbox) and their relatives."""
    root = f"http://127.0.0.1:{port}/internal#"
    return [
        f"PREFIX : <{root}> SELECT * WHERE {{ SERVICE:x\u0301 {{ ?s ?p ?o }} }}",  # combining mark
        f"PREFIX : <{root}> SELECT * WHERE {{ SERVICE:x\u203f {{ ?s ?p ?o }} }}",  # undertie
        # zero-width joiner
        f"PREFIX : <{root}> SELECT * WHERE {{ SERVICE:x\u200d {{ ?s ?p ?o }} }}",
        f"PREFIX : <{root}> SELECT * WHERE {{ SERVICE:x\u00b7y {{ ?s ?p ?o }} }}",  # middle dot
        # Thai vowel sign
        f"PREFIX : <{root}> SELECT * WHERE {{ SERVICE:\u0e01\u0e31 {{ ?s ?p ?o }} }}",
        f"PREFIX : <{root}> SELECT * WHERE {{ SERVICE:x\\~y {{ ?s ?p ?o }} }}",  # local escape
        # pyoxigraph ends a local name after its second run of dots: SERVICE follows
        f"PREFIX ex: <http://example.org/> PREFIX : <{root}> "
        f"SELECT * WHERE {{ ?s ?p ?o OPTIONAL {{ ?s ?p ex:a.b.SERVICE:x {{ ?s ?p ?o }} }} }}",
    ]


def test_guard_bypasses_are_refused_and_nothing_connects_without_the_sandbox(
    open_server: Server, listener: Listener
) -> None:
    health = httpx.get(open_server.url + "/health", timeout=10).json()
    assert health["network_sandbox"].startswith("off"), health
    assert health["network_filter"].startswith("off"), health  # both walls down: the guard alone
    assert "WITHOUT the network sandbox" in open_server.log.read_text()
    for query in guard_bypasses(listener.port):
        for how in ("get", "form", "direct"):
            r = send(open_server, query, how)
            SEEN["guard_bypasses_sent"] += 1
            assert r.status_code == 400 and r.json()["error"] == "service-refused", (query, r.text)
    assert listener.accepted == 0
