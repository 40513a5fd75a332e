"""SERVICE is refused before execution: a loopback listener must receive nothing."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.listener import Listener


@pytest.fixture()
def listener() -> Iterator[Listener]:
    lst = Listener()
    yield lst
    lst.close()


def spellings(port: int) -> list[str]:
    u = f"http://127.0.0.1:{port}/sparql"
    return [
        f"SELECT * WHERE {{ SERVICE <{u}> {{ ?s ?p ?o }} }}",
        f"select * where {{ service <{u}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SeRvIcE <{u}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SERVICE SILENT <{u}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ service silent<{u}>{{ ?s ?p ?o }} }}",
        f"select*where{{service<{u}>{{}}}}",
        f"ASK{{SERVICE<{u}>{{}}}}",
        f"SELECT * WHERE {{ SERVICE # a comment\n <{u}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SERVICE\n\t\r\nSILENT # c\n<{u}>\n{{ ?s ?p ?o }} }}",
        f"PREFIX r: <http://127.0.0.1:{port}/>"
        " SELECT * WHERE { SERVICE r:sparql { ?s ?p ?o } }",
        f"PREFIX : <http://127.0.0.1:{port}/> SELECT * WHERE {{ SERVICE:sparql {{ ?s ?p ?o }} }}",
        f"PREFIX service: <http://127.0.0.1:{port}/>"
        " SELECT * WHERE { SERVICE service:{ ?s ?p ?o } }",
        f"BASE <http://127.0.0.1:{port}/> SELECT * WHERE {{ SERVICE <sparql> {{ ?s ?p ?o }} }}",
        f"BASE <http://127.0.0.1:{port}/x/>"
        " SELECT * WHERE { SERVICE <../sparql> { ?s ?p ?o } }",
        f"SELECT * WHERE {{ ?s ?p ?o OPTIONAL {{ SERVICE <{u}> {{ ?s ?q ?r }} }} }}",
        f"SELECT * WHERE {{ ?s ?p ?o MINUS {{ SERVICE <{u}> {{ ?s ?q ?r }} }} }}",
        f"SELECT * WHERE {{ {{ SELECT ?s WHERE {{ SERVICE <{u}> {{ ?s ?p ?o }} }} }} }}",
        f"SELECT * WHERE {{ ?s ?p ?o FILTER EXISTS {{ SERVICE <{u}> {{ ?s ?p ?o }} }} }}",
        f"SELECT * WHERE {{ {{ ?s ?p ?o }} UNION {{ SERVICE <{u}> {{ ?s ?p ?o }} }} }}",
        f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ SERVICE <{u}> {{ ?s ?p ?o }} }}",
        f"DESCRIBE ?s WHERE {{ SERVICE <{u}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ BIND(<{u}> AS ?u) SERVICE ?u {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ VALUES ?u {{ <{u}> }} SERVICE ?u {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ ?s ?p true SERVICE <{u}> {{ }} }}",
        f"SELECT * WHERE {{ ?s ?p trueSERVICE <{u}> {{ }} }}",
        f"SELECT * WHERE {{ ?s ?p 1SERVICE <{u}> {{ }} }}",
        f'SELECT * WHERE {{ ?s ?p "a\\"b" . SERVICE <{u}> {{ }} }}',
        f"SELECT * WHERE {{ ?s ?p ?o # x\r SERVICE <{u}> {{}} }}",
        f"SELECT * WHERE {{ GRAPH ?g {{ SERVICE <{u}> {{ ?s ?p ?o }} }} }}",
        f"SELECT (COUNT(*) AS ?n) WHERE {{ SERVICE <{u}> {{ ?s ?p ?o }} }} GROUP BY ?s",
    ]


@pytest.mark.parametrize("index", range(len(spellings(1))))
@pytest.mark.parametrize("how", ["get", "form", "direct"])
def test_service_is_refused_and_nothing_connects(
    client: httpx.Client, listener: Listener, index: int, how: str
) -> None:
    query = spellings(listener.port)[index]
    if how == "get":
        r = client.get("/sparql", params={"query": query})
    elif how == "form":
        r = client.post("/sparql", data={"query": query})
    else:
        r = client.post(
            "/sparql", content=query.encode(), headers={"Content-Type": "application/sparql-query"}
        )
    assert r.status_code == 400, (query, r.text)
    assert r.json()["error"] == "service-refused"
    assert listener.accepted == 0


def test_from_and_from_named_fetch_nothing(client: httpx.Client, listener: Listener) -> None:
    u = f"http://127.0.0.1:{listener.port}/data.ttl"
    for query in (
        f"SELECT * FROM <{u}> WHERE {{ ?s ?p ?o }}",
        f"SELECT * FROM NAMED <{u}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
        f"ASK FROM <{u}> {{ ?s ?p ?o }}",
    ):
        r = client.get("/sparql", params={"query": query})
        assert r.status_code == 200, r.text
    r = client.get(
        "/sparql",
        params={
            "query": "SELECT * WHERE { ?s ?p ?o }",
            "default-graph-uri": u,
            "named-graph-uri": u,
        },
    )
    assert r.status_code == 200
    assert listener.accepted == 0


def test_service_in_strings_iris_variables_is_not_refused(client: httpx.Client) -> None:
    for query in (
        'SELECT ?service WHERE { BIND("SERVICE <http://127.0.0.1:9/>" AS ?service) }',
        "PREFIX ex: <http://example.org/> SELECT * WHERE { ?s ex:SERVICE ?o }",
        "SELECT * WHERE { ?s <http://example.org/SERVICE> ?o } # SERVICE <http://x/> {}",
        "PREFIX service: <http://example.org/> SELECT * WHERE { service:x ?p ?o }",
        "SELECT $service WHERE { _:SERVICE ?p $service }",
        "SELECT * WHERE { ?s ?p ?o FILTER(?o = 'x'@service) }",
    ):
        r = client.get("/sparql", params={"query": query})
        assert r.status_code == 200, (query, r.text)


def test_workers_have_no_network(server, client: httpx.Client, listener: Listener) -> None:
    """The second wall: a worker cannot connect even if a SERVICE got past the guard."""
    import json
    import subprocess
    import sys

    code = (
        "import socket, json\n"
        "from sparql_api.workers import _isolate_network\n"
        "ok = _isolate_network()\n"
        "s = socket.socket()\n"
        "s.settimeout(1)\n"
        "try:\n"
        f"    s.connect(('127.0.0.1', {listener.port})); reached = True\n"
        "except OSError:\n"
        "    reached = False\n"
        "print(json.dumps({'isolated': ok, 'reached': reached}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    result = json.loads(out.stdout)
    if not result["isolated"]:
        pytest.skip("this OS refuses network namespaces; the guard is the only wall here")
    assert result["reached"] is False
    assert listener.accepted == 0


def test_long_queries_are_guarded_too(client: httpx.Client, listener: Listener) -> None:
    padding = "# " + "x" * 10_000 + "\n"
    query = (
        padding + f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{listener.port}/> {{ ?s ?p ?o }} }}"
    )
    r = client.post("/sparql", data={"query": query})
    assert r.status_code == 400 and r.json()["error"] == "service-refused" and r.json()["line"] == 2
    assert (
        client.post("/sparql", data={"query": padding + "INSERT DATA { <a> <b> <c> }"}).status_code
        == 403
    )
    assert client.post("/sparql", data={"query": padding + "ASK {}"}).status_code == 200
    assert listener.accepted == 0
