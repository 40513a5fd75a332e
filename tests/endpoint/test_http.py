"""Every status of the endpoint, through httpx against the real server."""

from __future__ import annotations

import gzip
import json
from urllib.parse import quote

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.endpoint.conftest import MAX_ROWS

COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
ONE = "SELECT ?s WHERE { ?s ?p ?o } ORDER BY ?s LIMIT 1"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def assert_error(resp: httpx.Response, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert body["error"] == code and body["status"] == status and body["message"]
    assert set(body) <= {"error", "status", "message", "file", "line", "column", "details"}
    return body


def test_get_post_form_and_direct_agree(client: httpx.Client) -> None:
    a = client.get("/sparql", params={"query": COUNT})
    b = client.post("/sparql", data={"query": COUNT})
    c = client.post("/sparql", content=COUNT, headers={"Content-Type": "application/sparql-query"})
    for r in (a, b, c):
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/sparql-results+json; charset=utf-8"
    n = int(a.json()["results"]["bindings"][0]["n"]["value"])
    assert n > 1000
    assert b.json() == a.json() == c.json()


@pytest.mark.parametrize(
    "content_type,url_param",
    [
        ("application/x-www-form-urlencoded", "query"),
        ("application/x-www-form-urlencoded", "update"),
        ("application/sparql-query", "query"),
    ],
)
def test_a_second_query_in_the_url_of_a_post_is_refused(
    client: httpx.Client, content_type: str, url_param: str
) -> None:
    """A POST's query goes in its body; one in the URL as well is a second query, refused
    as in a GET with two. A form body's query silently replaced the URL's (the client got
    the answer to one of its two queries), while application/sparql-query refused it."""
    body = "query=" + quote(COUNT, safe="") if "form" in content_type else COUNT
    r = client.post(
        "/sparql?" + url_param + "=" + quote("ASK {}", safe=""),
        content=body,
        headers={"Content-Type": content_type},
    )
    assert_error(r, 400, "bad-request")
    # the dataset may still come in the URL
    r = client.post(
        "/sparql?default-graph-uri=" + quote("https://w3id.org/dipkg/graph/catalog", safe=""),
        content=body,
        headers={"Content-Type": content_type},
    )
    assert r.status_code == 200, r.text
    assert 0 < int(r.json()["results"]["bindings"][0]["n"]["value"]) < 1000


def test_form_is_decoded_exactly_once(client: httpx.Client) -> None:
    # the query text contains a literal "%41": form-encoded as %2541 it must stay %41
    query = 'SELECT ?x WHERE { BIND("%41+b" AS ?x) }'
    body = "query=" + quote(query, safe="")
    r = client.post("/sparql", content=body, headers=FORM)
    assert r.status_code == 200, r.text
    assert r.json()["results"]["bindings"][0]["x"]["value"] == "%41+b"
    r = client.get("/sparql?query=" + quote(query, safe=""))
    assert r.json()["results"]["bindings"][0]["x"]["value"] == "%41+b"


def test_default_and_named_graph_uri(client: httpx.Client) -> None:
    # a default graph made of a graph that does not exist is empty
    r = client.get(
        "/sparql", params={"query": COUNT, "default-graph-uri": "http://example.org/none"}
    )
    assert r.json()["results"]["bindings"][0]["n"]["value"] == "0"
    q = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
    r = client.post(
        "/sparql",
        data={"query": q, "named-graph-uri": ["http://example.org/a", "http://example.org/b"]},
    )
    assert r.status_code == 200
    assert r.json()["results"]["bindings"][0]["n"]["value"] == "0"
    r = client.get("/sparql", params={"query": COUNT, "default-graph-uri": "not an iri"})
    assert_error(r, 400, "bad-request")


def test_a_protocol_dataset_is_the_whole_dataset(client: httpx.Client) -> None:
    """SPARQL 1.1 Protocol §2.1.4: the parameters give the dataset, as FROM and FROM NAMED
    do; a part not given is empty. ``named-graph-uri`` alone left the whole data as the
    default graph (10,798 triples here), ``default-graph-uri`` alone every named graph."""
    catalog = "https://w3id.org/dipkg/graph/catalog"
    named = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"

    def count(query: str, **params: str) -> int:
        r = client.get("/sparql", params={"query": query, **params})
        assert r.status_code == 200, r.text
        return int(r.json()["results"]["bindings"][0]["n"]["value"])

    assert count(COUNT) > count(COUNT, **{"default-graph-uri": catalog}) > 0
    assert count(COUNT, **{"named-graph-uri": catalog}) == 0
    assert count(COUNT.replace("WHERE", f"FROM NAMED <{catalog}> WHERE")) == 0
    assert count(named, **{"named-graph-uri": catalog}) == count(named) > 0
    assert count(named, **{"default-graph-uri": catalog}) == 0
    assert count(named.replace("WHERE", f"FROM <{catalog}> WHERE")) == 0
    # union-default-graph keeps its default graph beside the named graphs given
    both = {"union-default-graph": "true", "named-graph-uri": catalog}
    assert count(COUNT, **both) == count(COUNT, **{"union-default-graph": "true"})


@pytest.mark.parametrize(
    "accept,ctype",
    [
        (None, "application/sparql-results+json; charset=utf-8"),
        ("*/*", "application/sparql-results+json; charset=utf-8"),
        ("application/sparql-results+xml", "application/sparql-results+xml; charset=utf-8"),
        ("text/csv", "text/csv; charset=utf-8"),
        ("text/tab-separated-values", "text/tab-separated-values; charset=utf-8"),
        ("application/json", "application/json; charset=utf-8"),
        (
            "text/csv;q=0.5, application/sparql-results+xml;q=0.9",
            "application/sparql-results+xml; charset=utf-8",
        ),
        ("text/*", "text/csv; charset=utf-8"),
    ],
)
def test_select_negotiation(client: httpx.Client, accept: str | None, ctype: str) -> None:
    headers = {"Accept": accept} if accept else {}
    r = client.get("/sparql", params={"query": ONE}, headers=headers)
    assert r.status_code == 200
    assert r.headers["content-type"] == ctype
    assert "Accept" in r.headers["vary"] and "Accept-Encoding" in r.headers["vary"]


@pytest.mark.parametrize(
    "accept,ctype",
    [
        (None, "text/turtle; charset=utf-8"),
        ("application/n-triples", "application/n-triples; charset=utf-8"),
        ("application/ld+json", "application/ld+json; charset=utf-8"),
        ("application/rdf+xml", "application/rdf+xml; charset=utf-8"),
    ],
)
def test_construct_negotiation(client: httpx.Client, accept: str | None, ctype: str) -> None:
    q = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 5"
    r = client.get("/sparql", params={"query": q}, headers={"Accept": accept} if accept else {})
    assert r.status_code == 200
    assert r.headers["content-type"] == ctype
    import rdflib

    fmt = {
        "text/turtle": "turtle",
        "application/n-triples": "nt",
        "application/ld+json": "json-ld",
        "application/rdf+xml": "xml",
    }[ctype.split(";")[0]]
    assert len(rdflib.Graph().parse(data=r.content, format=fmt)) == 5


@pytest.mark.parametrize(
    "name,ctype",
    [
        ("json", "application/sparql-results+json"),
        ("xml", "application/sparql-results+xml"),
        ("csv", "text/csv"),
        ("tsv", "text/tab-separated-values"),
        ("text/csv", "text/csv"),
    ],
)
def test_format_parameter_overrides_accept(client: httpx.Client, name: str, ctype: str) -> None:
    r = client.get(
        "/sparql",
        params={"query": ONE, "format": name},
        headers={"Accept": "application/sparql-results+xml"},
    )
    assert r.headers["content-type"].split(";")[0] == ctype
    r = client.get("/sparql", params={"query": ONE, "output": name})
    assert r.headers["content-type"].split(";")[0] == ctype


def test_format_for_graphs(client: httpx.Client) -> None:
    q = "DESCRIBE ?s WHERE { ?s ?p ?o } LIMIT 1"
    for name, ctype in [
        ("turtle", "text/turtle"),
        ("json", "application/ld+json"),
        ("xml", "application/rdf+xml"),
        ("nt", "application/n-triples"),
    ]:
        r = client.get("/sparql", params={"query": q, "format": name})
        assert r.status_code == 200 and r.headers["content-type"].split(";")[0] == ctype


@pytest.mark.parametrize(
    "params,headers,status",
    [
        ({"query": ONE}, {"Accept": ",".join(f"text/x{i}" for i in range(3000))}, 406),
        ({"query": ONE, "format": "x" * 5000}, {}, 406),
        ({"query": ONE, "default-graph-uri": "not an iri " * 300}, {}, 400),
    ],
    ids=["accept", "format", "graph-iri"],
)
def test_an_error_quotes_a_bounded_part_of_the_request(
    client: httpx.Client, params: dict[str, str], headers: dict[str, str], status: int
) -> None:
    """A 30 KB Accept header was sent back whole in the 406's message (every error's
    message quotes at most errors.QUOTED characters of what the client sent)."""
    r = client.get("/sparql", params=params, headers=headers)
    assert r.status_code == status
    assert len(r.json()["message"]) < 300 and "…" in r.json()["message"]
    assert len(r.content) < 4000  # (a 406 also lists the formats offered)


def test_406_lists_offers(client: httpx.Client) -> None:
    r = client.get("/sparql", params={"query": ONE}, headers={"Accept": "text/turtle"})
    body = assert_error(r, 406, "not-acceptable")
    assert "application/sparql-results+json" in body["details"]["offered"]
    r = client.get(
        "/sparql",
        params={"query": "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 1"},
        headers={"Accept": "text/csv"},
    )
    body = assert_error(r, 406, "not-acceptable")
    assert "text/turtle" in body["details"]["offered"]
    r = client.get(
        "/sparql",
        params={"query": ONE},
        headers={"Accept": "application/sparql-results+json;q=0, */*;q=0.5"},
    )
    assert r.headers["content-type"].startswith("application/sparql-results+xml")
    r = client.get(
        "/sparql", params={"query": ONE}, headers={"Accept": "application/sparql-results+json;q=0"}
    )
    assert_error(r, 406, "not-acceptable")
    r = client.get("/sparql", params={"query": ONE, "format": "html"})
    assert_error(r, 406, "not-acceptable")


def test_syntax_error_has_line_and_column(client: httpx.Client) -> None:
    r = client.get("/sparql", params={"query": "SELECT * WHERE {\n  ?s ?p ?o .\n  FILTER(?x = ) }"})
    body = assert_error(r, 400, "query-syntax")
    assert body["line"] == 3 and body["column"] >= 13
    assert "3:" in body["message"]


@pytest.mark.parametrize("how", ["form-update", "sparql-update", "query-param", "get-update"])
def test_updates_are_403(client: httpx.Client, how: str) -> None:
    update = "INSERT DATA { <http://e/a> <http://e/b> <http://e/c> }"
    if how == "form-update":
        r = client.post("/sparql", data={"update": update})
    elif how == "sparql-update":
        r = client.post(
            "/sparql", content=update, headers={"Content-Type": "application/sparql-update"}
        )
    elif how == "query-param":
        r = client.post("/sparql", data={"query": "PREFIX e: <http://e/>\n" + update})
    else:
        r = client.get("/sparql", params={"update": update})
    assert_error(r, 403, "update-forbidden")


@pytest.mark.parametrize(
    "op",
    [
        "DELETE WHERE { ?s ?p ?o }",
        "LOAD <http://127.0.0.1:9/x>",
        "CLEAR ALL",
        "DROP DEFAULT",
        "CREATE GRAPH <http://e/g>",
        "COPY DEFAULT TO <http://e/g>",
        "MOVE DEFAULT TO <http://e/g>",
        "ADD DEFAULT TO <http://e/g>",
        "WITH <http://e/g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
        "base <http://e/> # c\n load <x>",
    ],
)
def test_every_update_operation_is_403(client: httpx.Client, op: str) -> None:
    assert_error(client.post("/sparql", data={"query": op}), 403, "update-forbidden")


def test_the_store_did_not_change(client: httpx.Client) -> None:
    before = client.get("/sparql", params={"query": COUNT}).json()
    client.post("/sparql", data={"update": "CLEAR ALL"})
    client.post("/sparql", data={"query": "CLEAR ALL"})
    after = client.post("/sparql", data={"query": COUNT + " "}).json()  # not from the cache
    assert before == after


def test_both_query_and_update_is_400(client: httpx.Client) -> None:
    assert_error(
        client.post("/sparql", data={"query": ONE, "update": "CLEAR ALL"}), 400, "bad-request"
    )


def test_missing_query_on_post_is_400(client: httpx.Client) -> None:
    assert_error(client.post("/sparql", data={"format": "json"}), 400, "bad-request")
    assert_error(
        client.post("/sparql", content=b"", headers={"Content-Type": "application/sparql-query"}),
        400,
        "bad-request",
    )


def test_unsupported_content_type_is_415(client: httpx.Client) -> None:
    r = client.post(
        "/sparql", content=json.dumps({"query": ONE}), headers={"Content-Type": "application/json"}
    )
    body = assert_error(r, 415, "unsupported-media-type")
    assert "application/sparql-query" in body["details"]["accepted"]
    r = client.post("/sparql", files={"query": ("q", ONE)})  # multipart
    assert_error(r, 415, "unsupported-media-type")


def test_too_long_query_is_413(client: httpx.Client) -> None:
    long = ONE + " #" + "x" * (64 * 1024)
    assert_error(client.post("/sparql", data={"query": long}), 413, "query-too-large")
    assert_error(
        client.post("/sparql", content=long, headers={"Content-Type": "application/sparql-query"}),
        413,
        "query-too-large",
    )
    # (GET: see test_inprocess.py, with a small limit; httpx caps URLs at 64 KiB)


def test_etag_last_modified_304(client: httpx.Client) -> None:
    r = client.get("/sparql", params={"query": ONE})
    tag, modified = r.headers["etag"], r.headers["last-modified"]
    assert tag.startswith('W/"') and modified.endswith("GMT")
    r2 = client.get("/sparql", params={"query": ONE}, headers={"If-None-Match": tag})
    assert r2.status_code == 304 and r2.content == b"" and r2.headers["etag"] == tag
    r3 = client.get("/sparql", params={"query": ONE}, headers={"If-Modified-Since": modified})
    assert r3.status_code == 304
    # another variant, another tag
    r4 = client.get(
        "/sparql", params={"query": ONE}, headers={"Accept": "text/csv", "If-None-Match": tag}
    )
    assert r4.status_code == 200 and r4.headers["etag"] != tag
    r5 = client.get(
        "/sparql",
        params={"query": ONE},
        headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"},
    )
    assert r5.status_code == 200


def test_cors_and_preflight(client: httpx.Client) -> None:
    r = client.get("/sparql", params={"query": ONE}, headers={"Origin": "https://example.org"})
    assert r.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in r.headers
    r = client.options(
        "/sparql",
        headers={
            "Origin": "https://example.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == "*"
    assert "POST" in r.headers["access-control-allow-methods"]
    assert "content-type" in r.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in r.headers


@pytest.mark.parametrize(
    "path", ["/sparql", "/sparql?query=" + quote(ONE), "/health", "/openapi.json"]
)
def test_head_on_every_get_route(client: httpx.Client, path: str) -> None:
    g = client.get(path)
    h = client.head(path)
    assert h.status_code == g.status_code == 200
    assert h.content == b""
    assert h.headers["content-type"] == g.headers["content-type"]


def test_gzip_when_asked(client: httpx.Client) -> None:
    q = "SELECT * WHERE { ?s ?p ?o } LIMIT 200"
    r = client.get("/sparql", params={"query": q}, headers={"Accept-Encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip"
    assert r.json()["results"]["bindings"]  # httpx decodes
    raw = httpx.get(
        str(client.base_url) + "/sparql", params={"query": q}, headers={"Accept-Encoding": "gzip"}
    ).read()  # decoded body
    assert json.loads(raw)
    with httpx.stream(
        "GET",
        str(client.base_url) + "/sparql",
        params={"query": q},
        headers={"Accept-Encoding": "gzip"},
    ) as s:
        compressed = b"".join(s.iter_raw())
    assert json.loads(gzip.decompress(compressed))
    r = client.get("/sparql", params={"query": q}, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in r.headers
    assert r.headers["vary"].count("Accept-Encoding") == 1


def test_row_cap_is_signalled(client: httpx.Client) -> None:
    q = "SELECT * WHERE { ?s ?p ?o }"
    r = client.get("/sparql", params={"query": q})
    assert r.status_code == 200
    assert r.headers["x-dipkg-truncated"] == "true"
    body = r.json()
    assert len(body["results"]["bindings"]) == MAX_ROWS
    assert body["truncated"] is True and "truncated" in body["note"]
    for accept in ("text/csv", "application/sparql-results+xml", "text/tab-separated-values"):
        r = client.get("/sparql", params={"query": q}, headers={"Accept": accept})
        assert r.headers["x-dipkg-truncated"] == "true"
    r = client.get("/sparql", params={"query": "CONSTRUCT WHERE { ?s ?p ?o }"})
    assert r.headers["x-dipkg-truncated"] == "true"
    r = client.get("/sparql", params={"query": f"SELECT * WHERE {{ ?s ?p ?o }} LIMIT {MAX_ROWS}"})
    assert "x-dipkg-truncated" not in r.headers
    assert "truncated" not in r.json()


def test_service_description(client: httpx.Client) -> None:
    import rdflib

    r = client.get("/sparql")
    assert r.status_code == 200 and r.headers["content-type"] == "text/turtle; charset=utf-8"
    g = rdflib.Graph().parse(data=r.text, format="turtle")
    sd = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
    endpoint = rdflib.URIRef(str(client.base_url) + "/sparql")
    assert (endpoint, sd.endpoint, endpoint) in g
    assert (endpoint, sd.supportedLanguage, sd.SPARQL11Query) in g
    assert (endpoint, sd.supportedLanguage, sd.SPARQL11Update) not in g
    formats = set(g.objects(endpoint, sd.resultFormat))
    assert rdflib.URIRef("http://www.w3.org/ns/formats/SPARQL_Results_JSON") in formats
    assert rdflib.URIRef("http://www.w3.org/ns/formats/Turtle") in formats
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert rdflib.URIRef("https://www.iana.org/assignments/media-types/" + xlsx) in formats
    assert len(formats) == 11, sorted(formats)  # four tables, six graphs, the workbook
    triples = list(g.objects(None, rdflib.URIRef("http://rdfs.org/ns/void#triples")))
    assert triples and int(triples[0]) > 1000
    # behind a proxy
    r = client.get(
        "/sparql",
        headers={
            "X-Forwarded-Host": "kg.example.org",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Prefix": "/dipkg",
            "Accept": "application/n-triples",
        },
    )
    assert "<https://kg.example.org/dipkg/sparql> " in r.text
    assert r.headers["content-type"] == "application/n-triples; charset=utf-8"
    r = client.get("/sparql", headers={"Accept": "application/ld+json"})
    assert r.headers["content-type"].startswith("application/ld+json")


def test_health(client: httpx.Client) -> None:
    r = client.get("/health")
    body = r.json()
    assert body["status"] == "ok" and body["build_id"] and body["triples"] > 1000
    assert body["workers"]["alive"] >= 1


@pytest.mark.parametrize(
    "method,path,status,code",
    [
        ("GET", "/nowhere", 404, "not-found"),
        ("DELETE", "/sparql", 405, "method-not-allowed"),
        ("PUT", "/health", 405, "method-not-allowed"),
    ],
)
def test_framework_errors_have_the_one_shape(
    client: httpx.Client, method: str, path: str, status: int, code: str
) -> None:
    # (a 404 for a browser is an HTML page since the linked-data pages landed; API clients get JSON)
    assert_error(client.request(method, path, headers={"Accept": "application/json"}), status, code)


def test_openapi_documents_the_protocol(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    get = spec["paths"]["/sparql"]["get"]
    names = {p["name"] for p in get["parameters"]}
    assert {"query", "default-graph-uri", "named-graph-uri", "format"} <= names
    post = spec["paths"]["/sparql"]["post"]
    assert {"application/x-www-form-urlencoded", "application/sparql-query"} <= set(
        post["requestBody"]["content"]
    )
    for status in ("400", "403", "406", "413", "415", "503"):
        assert status in post["responses"]
    # every type a query may be answered with is documented: N-Quads and TriG too (a
    # CONSTRUCT asked for them got an undocumented type: schemathesis found it by chance)
    from sparql_api.negotiation import RESULT_OFFERS, graph_offers

    offered = {o.media_type for o in RESULT_OFFERS + graph_offers(True)}
    for op in (get, post):
        assert offered <= set(op["responses"]["200"]["content"]), offered
    assert {"application/n-quads", "application/trig"} <= offered


def test_oxigraph_serve_compatibility(client: httpx.Client) -> None:
    # oxigraph serve's /query path and its union-default-graph flag
    r = client.get("/query", params={"query": COUNT})
    assert r.status_code == 200
    default = int(r.json()["results"]["bindings"][0]["n"]["value"])
    r = client.post("/query", data={"query": COUNT, "union-default-graph": ""})
    union = int(r.json()["results"]["bindings"][0]["n"]["value"])
    named = client.get(
        "/sparql", params={"query": "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"}
    )
    in_named = int(named.json()["results"]["bindings"][0]["n"]["value"])
    assert union == default + in_named
    r = client.get(
        "/sparql",
        params={"query": COUNT, "union-default-graph": "", "default-graph-uri": "http://e/g"},
    )
    assert_error(r, 400, "bad-request")


def test_named_graphs_are_described_and_quads_offered(client: httpx.Client) -> None:
    graphs = client.get(
        "/sparql", params={"query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"}
    ).json()
    names = [b["g"]["value"] for b in graphs["results"]["bindings"]]
    if not names:
        pytest.skip("this build has no named graph")
    sd = client.get("/sparql", headers={"Accept": "application/n-triples"}).text
    for name in names:
        assert f"<http://www.w3.org/ns/sparql-service-description#name> <{name}>" in sd
    assert "<http://www.w3.org/ns/formats/N-Quads>" in sd
    q = "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 3"
    for accept in ("application/n-quads", "application/trig"):
        r = client.get("/sparql", params={"query": q}, headers={"Accept": accept})
        assert r.status_code == 200 and r.headers["content-type"].startswith(accept)


@pytest.mark.parametrize("predicate", ["http://ex.org/1", "http://ex.org/p/", "urn:x:2"])
def test_rdf_xml_refuses_a_predicate_it_cannot_write(client: httpx.Client, predicate: str) -> None:
    """An element name is a namespace and an XML name: Oxigraph's writer gave
    ``<oxprefix: xmlns:oxprefix="http://ex.org/1">`` with a 200, which no XML parser
    (nor SPARQLWrapper's RDFXML) reads."""
    q = f'CONSTRUCT {{ <http://ex.org/s> <{predicate}> "x" }} WHERE {{}}'
    r = client.get("/sparql", params={"query": q}, headers={"Accept": "application/rdf+xml"})
    body = assert_error(r, 406, "not-acceptable")
    assert body["details"]["predicate"] == predicate
    assert "application/rdf+xml" not in body["details"]["offered"]
    assert "text/turtle" in body["details"]["offered"]
    for accept in ("text/turtle", "application/n-triples", "application/ld+json"):
        r = client.get("/sparql", params={"query": q}, headers={"Accept": accept})
        assert r.status_code == 200, r.text


CONTROL = 'SELECT ?x WHERE { BIND("a\\u0007b" AS ?x) }'
#: one row over the 1 MiB spool threshold, the control character at its end
CONTROL_LATE = (
    'SELECT ?x WHERE { BIND("0123456789abcdef" AS ?a0) '
    + " ".join(f"BIND(CONCAT(?a{i}, ?a{i}) AS ?a{i + 1})" for i in range(17))
    + ' BIND(CONCAT(?a17, "\\u0001") AS ?x) }'
)


@pytest.mark.parametrize(
    "query,accept,fmt",
    [
        (CONTROL, "application/sparql-results+xml", "xml"),
        (CONTROL_LATE, "application/sparql-results+xml", "xml"),
        (
            CONTROL.replace("SELECT ?x", "CONSTRUCT { <http://ex.org/s> <http://ex.org/p> ?x }"),
            "application/rdf+xml",
            "rdfxml",
        ),
        (CONTROL.replace("\\u0007", "\\uFFFE"), "application/sparql-results+xml", "xml"),
        (
            CONTROL.replace("\\u0007", "\\uFFFF").replace(
                "SELECT ?x", "CONSTRUCT { <http://ex.org/s> <http://ex.org/p> ?x }"
            ),
            "application/rdf+xml",
            "rdfxml",
        ),
    ],
    ids=["select", "select-spooled", "construct", "select-fffe", "construct-ffff"],
)
def test_xml_refuses_a_character_xml_cannot_carry(
    client: httpx.Client, query: str, accept: str, fmt: str
) -> None:
    """XML 1.0 has no way to write U+0001-U+0008, U+FFFE or U+FFFF (not even as ``&#7;``):
    Oxigraph's writers put them raw in a 200 no XML parser reads. The other formats
    carry them."""
    r = client.get("/sparql", params={"query": query}, headers={"Accept": accept})
    body = assert_error(r, 406, "not-acceptable")
    injected = next(c for c in ("U+0001", "U+0007", "U+FFFE", "U+FFFF") if f"\\u{c[2:]}" in query)
    assert body["details"]["format"] == fmt and body["details"]["character"] == injected
    assert accept not in body["details"]["offered"] and body["details"]["offered"]
    other = body["details"]["offered"][0]
    r = client.get("/sparql", params={"query": query}, headers={"Accept": other})
    assert r.status_code == 200, r.text


def test_xml_keeps_a_carriage_return(client: httpx.Client) -> None:
    """An XML parser reads a raw CR (or CRLF) as LF: written raw, ``"c\\rd"`` came back
    ``"c\\nd"``. It is written ``&#13;``; tab and LF stay as they are."""
    import xml.dom.minidom

    import rdflib

    value = "c\rd\r\ne\tf\ng"
    select = 'SELECT ?x WHERE { BIND("c\\rd\\r\\ne\\tf\\ng" AS ?x) }'
    r = client.get(
        "/sparql", params={"query": select}, headers={"Accept": "application/sparql-results+xml"}
    )
    assert r.status_code == 200, r.text
    [literal] = xml.dom.minidom.parseString(r.content).getElementsByTagName("literal")
    assert literal.firstChild.data == value  # type: ignore[union-attr]
    construct = select.replace("SELECT ?x", "CONSTRUCT { <http://ex.org/s> <http://ex.org/p> ?x }")
    r = client.get(
        "/sparql", params={"query": construct}, headers={"Accept": "application/rdf+xml"}
    )
    assert r.status_code == 200, r.text
    [obj] = rdflib.Graph().parse(data=r.content, format="xml").objects()
    assert str(obj) == value


def test_rdf_xml_writes_predicates_ending_in_an_xml_name(client: httpx.Client) -> None:
    import xml.dom.minidom

    import rdflib

    q = (
        'CONSTRUCT { <http://ex.org/s> <urn:x> "a" ; <http://ex.org/%41b> "b" ; '
        '<http://ex.org/中文> "c" ; <http://ex.org/a.1> "d" ; <http://ex.org/_1> "e" } WHERE {}'
    )
    r = client.get("/sparql", params={"query": q}, headers={"Accept": "application/rdf+xml"})
    assert r.status_code == 200, r.text
    xml.dom.minidom.parseString(r.content)
    assert len(rdflib.Graph().parse(data=r.content, format="xml")) == 5


@pytest.mark.parametrize(
    "accept",
    [
        "text/turtle",
        "application/n-triples",
        "application/ld+json",
        "application/rdf+xml",
        "application/n-quads",
        "application/trig",
    ],
)
def test_service_description_in_every_rdf_format(client: httpx.Client, accept: str) -> None:
    import rdflib

    r = client.get("/sparql", headers={"Accept": accept})
    if r.status_code == 406:  # N-Quads/TriG only when the store has named graphs
        assert accept in ("application/n-quads", "application/trig")
        return
    assert r.status_code == 200 and r.headers["content-type"] == f"{accept}; charset=utf-8"
    fmt = {
        "text/turtle": "turtle",
        "application/n-triples": "nt",
        "application/ld+json": "json-ld",
        "application/rdf+xml": "xml",
        "application/n-quads": "nquads",
        "application/trig": "trig",
    }[accept]
    g = rdflib.Dataset().parse(data=r.content, format=fmt)
    assert len(g) > 10


def test_an_undeclared_prefix_is_named_with_the_line_to_add(client: httpx.Client) -> None:
    r = client.get("/sparql", params={"query": "SELECT * WHERE {\n  ?s a dip:Scenario }"})
    body = assert_error(r, 400, "query-syntax")
    assert (body["line"], body["column"]) == (2, 8)
    assert "PREFIX dip: <https://w3id.org/dipkg/ontology#>" in body["message"]
    assert body["details"] == {"prefix": "dip", "namespace": "https://w3id.org/dipkg/ontology#"}


def test_an_undeclared_prefix_as_a_subject_is_named_too(client: httpx.Client) -> None:
    # pyoxigraph's own message for it was "syntax error at 2:24: expected OPTIONAL"
    query = 'SELECT * WHERE {\n  ?s ?p "贵州" . skos:x ?p ?o }'
    body = assert_error(client.get("/sparql", params={"query": query}), 400, "query-syntax")
    assert (body["line"], body["column"]) == (2, 16)  # in characters
    assert body["details"]["prefix"] == "skos"


def test_a_syntax_error_lists_what_may_come_not_unicode_ranges(client: httpx.Client) -> None:
    r = client.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o"})
    body = assert_error(r, 400, "query-syntax")
    assert "\\u{" not in body["message"] and "..=" not in body["message"]
    assert '"}"' in body["details"]["expected"] and "expected" in body["message"]


def test_health_and_openapi_name_the_version(client: httpx.Client) -> None:
    import dipkg

    assert client.get("/health").json()["version"] == dipkg.__version__
    assert client.get("/openapi.json").json()["info"]["version"] == dipkg.__version__


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


@pytest.mark.parametrize(
    "path,allow",
    [
        ("/sparql", "GET, HEAD, POST, OPTIONS"),
        ("/query", "GET, HEAD, POST, OPTIONS"),
        ("/health", "GET, HEAD, OPTIONS"),
    ],
)
def test_a_405_lists_exactly_the_methods_the_route_accepts(
    client: httpx.Client, path: str, allow: str
) -> None:
    # Starlette named only its first matching route: /sparql said "Allow: GET"
    refused = client.request("DELETE", path, headers={"Accept": "application/json"})
    body = assert_error(refused, 405, "method-not-allowed")
    assert refused.headers["allow"] == allow and body["details"]["allow"] == allow.split(", ")
    assert "DELETE" in body["message"] and allow in body["message"]
    for method in METHODS:  # every listed method is answered, every other one is a 405
        params = {"query": "ASK {}"} if method in ("GET", "HEAD") else None
        data = {"query": "ASK {}"} if method == "POST" else None
        r = client.request(
            method, path, params=params, data=data, headers={"Accept": "application/json"}
        )
        assert (r.status_code != 405) == (method in allow.split(", ")), (method, r.status_code)
        if r.status_code == 405:
            assert r.headers["allow"] == allow


@pytest.mark.parametrize("size", [10_000, 300 * 1024])
def test_gzip_gives_the_same_bytes_every_time(size: int) -> None:
    """A compressed body has no timestamp, small or large (large ones are compressed off
    the event loop). Known-bad: bodies over 256 KiB were compressed with the clock's mtime."""
    import asyncio
    import time

    from sparql_api.http import gzip_send

    body = json.dumps([{"i": i, "label": f"数据 {i}"} for i in range(size // 20)]).encode()[:size]

    async def compress() -> bytes:
        sent: list[dict] = []

        async def collect(message: dict) -> None:
            sent.append(message)

        send = gzip_send(collect, wants=True)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})
        return sent[-1]["body"]

    first = asyncio.run(compress())
    time.sleep(1.1)  # gzip's mtime has one-second resolution
    assert asyncio.run(compress()) == first and gzip.decompress(first) == body


_HEADER_NAMES = [
    b"vary",
    b"content-encoding",
    b"content-length",
    b"content-type",
    b"access-control-allow-origin",
    b"access-control-expose-headers",
    b"etag",
]
_HEADER_VALUES = ["Accept", "Accept, Accept-Encoding", " accept-encoding ,Origin", "", "gzip", "*"]


@settings(max_examples=300, deadline=None)
@given(
    status=st.sampled_from([200, 204, 304, 400, 406, 503]),
    headers=st.lists(
        st.tuples(st.sampled_from(_HEADER_NAMES), st.sampled_from(_HEADER_VALUES)), max_size=6
    ),
    size=st.sampled_from([0, 1, 511, 512, 2000]),
    wants=st.booleans(),
)
def test_send_whole_sends_what_the_gzip_and_cors_layers_send(
    status: int, headers: list[tuple[bytes, str]], size: int, wants: bool
) -> None:
    """The bare path's one-step way out (http.send_whole) against a Response through
    gzip_send(cors_send(send)), for any headers (repeated, already encoded, a Vary or
    not), status, size and Accept-Encoding. Known-bad below: CORS headers forgotten."""
    import asyncio

    from starlette.responses import Response

    from sparql_api.http import cors_send, gzip_send, send_whole

    body = (b'{"x": "%d"}' % size) * (size // 10) + b"y" * (size % 10)
    raw = [(name, value.encode("latin-1")) for name, value in headers]

    async def both() -> tuple[list[dict], list[dict]]:
        by_layers: list[dict] = []
        in_one: list[dict] = []

        async def into(sent: list[dict], message: dict) -> None:
            sent.append(message)

        response = Response(body, status_code=status)
        response.raw_headers = list(raw)
        await response(
            {"type": "http"}, None, gzip_send(cors_send(lambda m: into(by_layers, m)), wants)
        )  # type: ignore[arg-type]
        await send_whole(lambda m: into(in_one, m), status, list(raw), body, wants)
        return by_layers, in_one

    layers, one = asyncio.run(both())
    assert one == layers


def test_send_whole_comparison_catches_a_difference() -> None:
    import asyncio

    from starlette.responses import Response

    from sparql_api.http import gzip_send, send_whole

    async def both() -> tuple[list[dict], list[dict]]:
        by_layers: list[dict] = []
        in_one: list[dict] = []

        async def into(sent: list[dict], message: dict) -> None:
            sent.append(message)

        await Response(b"x" * 600)(
            {"type": "http"}, None, gzip_send(lambda m: into(by_layers, m), True)
        )  # type: ignore[arg-type]
        await send_whole(
            lambda m: into(in_one, m), 200, Response(b"x" * 600).raw_headers, b"x" * 600, True
        )
        return by_layers, in_one

    layers, one = asyncio.run(both())  # the layers without cors_send: no CORS headers
    assert one != layers and one[0]["headers"][-2] == (b"access-control-allow-origin", b"*")


@settings(max_examples=200, deadline=None)
@given(
    ctype=st.sampled_from(["application/sparql-results+json", "text/csv; charset=utf-8"]),
    rows=st.integers(0, 10**6),
    truncated=st.booleans(),
    size=st.sampled_from([0, 1, 600]),
    wants=st.booleans(),
)
def test_a_ready_answer_is_the_response_it_replaces(
    ctype: str, rows: int, truncated: bool, size: int, wants: bool
) -> None:
    """A query answer (endpoint._ready: the release's head encoded once) has the raw
    headers Starlette's Response makes of the same header dict, and leaves the one-step
    way out (http.whole) as that Response does, the shortcut for a Ready one included."""
    import asyncio
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from starlette.responses import Response

    from sparql_api.endpoint import _answer_head, _headers, _ready
    from sparql_api.fastpath import cacheable
    from sparql_api.http import Ready, whole

    ctx = SimpleNamespace(
        answer_head=None,
        last_modified=datetime(2026, 12, 1, 8, 0, tzinfo=UTC),
        release=SimpleNamespace(build_id="20261201-b1"),
    )
    tag, body = 'W/"0123abcd"', b"r" * size
    extra = {"Content-Type": ctype, "X-Dipkg-Rows": str(rows)}
    if truncated:
        extra["X-Dipkg-Truncated"] = "true"
        extra["X-Dipkg-Max-Rows"] = "1000"
    raw = tuple((k.lower().encode(), v.encode()) for k, v in extra.items())
    head = _answer_head(ctx)  # type: ignore[arg-type]
    # _ready concatenates where the dict merged: the answer's names are not the head's
    assert not {n for n, _ in raw} & ({n for n, _ in head} | {b"etag", b"content-length"})
    ours = _ready(tag, head, raw, body)
    theirs = Response(body, headers={**_headers(ctx, tag), **extra})  # type: ignore[arg-type]
    assert type(ours) is Ready and ours.raw_headers == theirs.raw_headers
    assert cacheable(ours.raw_headers)  # the fast path keeps a Ready answer unasked
    assert ours.body == theirs.body and ours.status_code == theirs.status_code == 200

    async def out(ready: bool) -> tuple[list, bytes]:
        return await whole(200, ours.raw_headers, body, wants, ready=ready)

    assert asyncio.run(out(True)) == asyncio.run(out(False))


def test_http_date_is_remembered_but_always_the_instant_in_gmt() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    from sparql_api.http import http_date

    utc = datetime(2026, 1, 1, 8, 0, 0, tzinfo=UTC)
    east = utc.astimezone(timezone(timedelta(hours=8)))  # the same instant: equal, same hash
    assert http_date(utc) == http_date(east) == "Thu, 01 Jan 2026 08:00:00 GMT"
    assert http_date(utc + timedelta(seconds=1)) == "Thu, 01 Jan 2026 08:00:01 GMT"


def test_odd_validators_and_lengths_are_no_500(server) -> None:
    """A date of a 20-digit year in If-Modified-Since is ignored; a Content-Length of 5,000
    leading zeros reads as the number it is (int() refuses texts of over 4,300 digits)."""
    import socket

    r = httpx.get(
        server.sparql,
        params={"query": "ASK {}"},
        headers={"If-Modified-Since": "Mon, 01 Jan 99999999999999999999 00:00:00 GMT"},
        timeout=30,
    )
    assert r.status_code == 200
    host, port = server.url.removeprefix("http://").split(":")
    body = b"ASK {}"
    head = (
        f"POST /sparql HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
        "Content-Type: application/sparql-query\r\nAccept: application/sparql-results+json\r\n"
        f"Content-Length: {'0' * 5000}{len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
