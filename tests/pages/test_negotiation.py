"""Dereferencing: every resource kind x every format, by Accept (303 to a document)
and by extension (200), against the real server; each description agrees with the dumps."""

from __future__ import annotations

import json
import re

import httpx
import pyoxigraph as ox
import pytest
import rdflib
from rdflib.term import BNode

from sparql_api.describe import changed_literals
from tests.pages.conftest import BROWSER_ACCEPT

BASE = "https://w3id.org/dipkg/"
#: one resource of each kind: (kind, path, IRI, graph it lives in)
KINDS = [
    ("domain", "domain/industry", BASE + "domain/industry", "data"),
    ("scenario", "scenario/guizhou-b1-s01", BASE + "scenario/guizhou-b1-s01", "data"),
    ("category", "scenario/guizhou-b1-s01/data/1", BASE + "scenario/guizhou-b1-s01/data/1", "data"),
    (
        "field",
        "scenario/guizhou-b1-s01/data/1.2",
        BASE + "scenario/guizhou-b1-s01/data/1.2",
        "data",
    ),
    ("guide", "guide/guizhou-b1", BASE + "guide/guizhou-b1", "data"),
    ("ontology", "ontology", "https://w3id.org/dipkg/ontology", "data"),
    ("concept", "concept/voltage", BASE + "concept/voltage", "data"),
    ("scheme", "scheme/domains", BASE + "scheme/domains", "data"),
    ("dataset", "dataset", BASE + "dataset", "catalog"),
    # its dcat:byteSize is an xsd:nonNegativeInteger, which the store keeps as xsd:integer
    (
        "distribution",
        "dataset/distribution/dipkg-nt",
        BASE + "dataset/distribution/dipkg-nt",
        "catalog",
    ),
]
#: Accept header -> (extension, media type)
FORMATS = [
    ("text/html", "html", "text/html"),
    ("text/turtle", "ttl", "text/turtle"),
    ("application/ld+json", "jsonld", "application/ld+json"),
    ("application/n-triples", "nt", "application/n-triples"),
    ("application/rdf+xml", "rdf", "application/rdf+xml"),
]
RDFLIB = {"ttl": "turtle", "jsonld": "json-ld", "nt": "nt", "rdf": "xml"}


def media(response: httpx.Response) -> str:
    return response.headers["content-type"].split(";")[0].strip()


def vary(response: httpx.Response) -> set[str]:
    return {v.strip().lower() for v in response.headers.get("vary", "").split(",") if v.strip()}


@pytest.mark.parametrize("kind,path,iri,graph", KINDS, ids=[k[0] for k in KINDS])
@pytest.mark.parametrize("accept,ext,mtype", FORMATS, ids=[f[1] for f in FORMATS])
def test_accept_gives_303_to_the_document(
    http: httpx.Client, site, kind, path, iri, graph, accept, ext, mtype
):
    r = http.get("/" + path, headers={"Accept": accept})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"{site.url}/{path}.{ext}"
    assert "accept" in vary(r)
    final = http.get(r.headers["location"], headers={"Accept": accept})
    assert final.status_code == 200
    assert media(final) == mtype
    # the document's type is fixed by its URL: not negotiated, no Vary: Accept
    # (a page varies by language)
    assert "accept" not in vary(final)
    assert ("accept-language" in vary(final)) == (ext == "html")


@pytest.mark.parametrize("kind,path,iri,graph", KINDS, ids=[k[0] for k in KINDS])
def test_browsers_and_wildcards_get_html(http: httpx.Client, site, kind, path, iri, graph):
    for accept in (BROWSER_ACCEPT, "*/*", None):
        headers = {"Accept": accept} if accept else {}
        r = http.get("/" + path, headers=headers)
        assert r.status_code == 303
        assert r.headers["location"].endswith(f"/{path}.html")


@pytest.mark.parametrize("kind,path,iri,graph", KINDS, ids=[k[0] for k in KINDS])
@pytest.mark.parametrize("ext", ["ttl", "jsonld", "nt", "rdf"])
def test_extension_documents_parse_and_agree_with_the_dumps(
    http: httpx.Client, kind, path, iri, graph, ext, dump_graph, catalog_graph
):
    r = http.get(
        f"/{path}.{ext}", headers={"Accept": "image/png"}
    )  # the extension decides, not Accept
    assert r.status_code == 200
    assert media(r) == dict((f[1], f[2]) for f in FORMATS)[ext]
    g = rdflib.Graph()
    g.parse(data=r.content, format=RDFLIB[ext], publicID=f"http://example.invalid/{path}")
    subject = rdflib.URIRef(iri)
    assert (subject, None, None) in g, f"{iri} is not described"
    reference = dump_graph if graph == "data" else catalog_graph
    missing = [t for t in g if not _in(reference, t)]
    assert not missing, f"{len(missing)} triples not in the published files, e.g. {missing[:3]}"
    if ext == "jsonld":
        doc = json.loads(r.content)
        assert "@context" in doc and "@graph" in doc  # compacted with the project's context


@pytest.mark.parametrize("path", [k[1] for k in KINDS] + ["catalog"])
def test_documents_link_their_twins_in_the_link_header(http: httpx.Client, path):
    """Each document names the other formats in a Link header (rel="alternate", relative to
    its own URL): an RDF document has no <link> element to say so. The catalogue record's
    documents (their own routes) too."""
    for _, ext, _ in FORMATS:
        url = httpx.URL(f"{http.base_url}/{path}.{ext}")
        r = http.get(url)
        assert r.status_code == 200
        links = r.headers.get_list("link", split_commas=True)
        twins = {}
        for link in links:
            target, *params = [part.strip() for part in link.split(";")]
            attrs = dict(p.split("=", 1) for p in params)
            assert attrs["rel"] == '"alternate"', link
            twins[attrs["type"].strip('"')] = url.join(target.strip("<>"))
        assert set(twins) == {m for _, e, m in FORMATS if e != ext}, (ext, links)
        for mtype, twin in twins.items():
            t = http.get(twin)
            assert t.status_code == 200 and media(t) == mtype, twin
        head = http.head(url)
        assert head.headers.get_list("link", split_commas=True) == links
        # a script on another origin (a browser-based RDF client) may read it
        exposed = r.headers["access-control-expose-headers"].lower().split(",")
        assert "link" in {h.strip() for h in exposed}


def _in(graph: rdflib.Graph, triple) -> bool:
    if not any(isinstance(t, BNode) for t in triple):
        return triple in graph
    pattern = tuple(None if isinstance(t, BNode) else t for t in triple)
    return any(True for _ in graph.triples(pattern))


def test_same_graph_in_every_format(http: httpx.Client):
    sizes = set()
    for ext in RDFLIB:
        g = rdflib.Graph()
        g.parse(data=http.get(f"/scenario/guizhou-b1-s05.{ext}").content, format=RDFLIB[ext])
        sizes.add(len(g))
    assert len(sizes) == 1


def test_descriptions_carry_the_useful_neighbours(http: httpx.Client):
    def graph(path: str) -> rdflib.Graph:
        g = rdflib.Graph()
        g.parse(data=http.get(path + ".nt").content, format="nt")
        return g

    DIP = rdflib.Namespace("https://w3id.org/dipkg/ontology#")
    RDFS = rdflib.RDFS
    field = graph("/scenario/guizhou-b1-s01/data/1.2")
    cat, scen = (
        rdflib.URIRef(BASE + "scenario/guizhou-b1-s01/data/1"),
        rdflib.URIRef(BASE + "scenario/guizhou-b1-s01"),
    )
    assert (cat, DIP.hasField, rdflib.URIRef(BASE + "scenario/guizhou-b1-s01/data/1.2")) in field
    assert (cat, RDFS.label, None) in field and (scen, RDFS.label, None) in field
    domain = graph("/domain/industry")
    assert len(set(domain.subjects(DIP.domain, rdflib.URIRef(BASE + "domain/industry")))) == 6
    concept = graph("/concept/voltage")
    assert any(
        True for _ in concept.subjects(DIP.dataKind, rdflib.URIRef(BASE + "concept/voltage"))
    )
    onto = graph("/ontology")
    assert (DIP.Scenario, RDFS.label, None) in onto and (
        DIP.hasField,
        RDFS.range,
        DIP.DataField,
    ) in onto


def test_unknown_iri_is_a_404_page_or_json(http: httpx.Client):
    r = http.get("/scenario/guizhou-b1-s99", headers={"Accept": BROWSER_ACCEPT})
    assert r.status_code == 404 and media(r) == "text/html"
    assert "<h1>" in r.text and "/scenario/guizhou-b1-s99" in r.text
    assert r.headers["content-language"] == "zh-Hans"  # as every page says its language
    en = http.get("/scenario/guizhou-b1-s99?lang=en", headers={"Accept": BROWSER_ACCEPT})
    assert en.status_code == 404 and en.headers["content-language"] == "en"
    r = http.get("/scenario/guizhou-b1-s99", headers={"Accept": "text/turtle"})
    assert r.status_code == 404 and media(r) == "application/json"
    assert r.json()["error"] == "not-found" and r.json()["status"] == 404
    for path in ("/scenario/guizhou-b1-s99.ttl", "/nothing/here.html", "/domain/"):
        assert http.get(path).status_code == 404


def test_nothing_acceptable_is_a_406_listing_the_offers(http: httpx.Client):
    r = http.get("/scenario/guizhou-b1-s01", headers={"Accept": "image/png"})
    assert r.status_code == 406
    body = r.json()
    assert body["error"] == "not-acceptable" and body["status"] == 406
    assert set(body["details"]["offered"]) == {f[2] for f in FORMATS}
    assert "accept" in vary(r)


def test_quality_values_decide(http: httpx.Client):
    r = http.get("/domain/finance", headers={"Accept": "text/html;q=0.5, text/turtle"})
    assert r.headers["location"].endswith(".ttl")
    r = http.get("/domain/finance", headers={"Accept": "application/json"})  # JSON-LD is JSON
    assert r.headers["location"].endswith(".jsonld")


def test_forwarded_host_and_proto_are_honoured(http: httpx.Client):
    h = {
        "Accept": "text/turtle",
        "X-Forwarded-Host": "data.example.org",
        "X-Forwarded-Proto": "https",
    }
    r = http.get("/scenario/guizhou-b1-s02", headers=h)
    assert r.headers["location"] == "https://data.example.org/scenario/guizhou-b1-s02.ttl"
    page = http.get("/scenario/guizhou-b1-s02.html", headers=h).text
    assert 'href="https://data.example.org/domain/industry"' in page


@pytest.mark.parametrize(
    "headers",
    [
        {"If-None-Match": "*"},
        {"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"},
    ],
)
@pytest.mark.parametrize("path", ["/scenario/nope.ttl", "/nothing/here.jsonld", "/scenario/x.html"])
def test_no_304_for_a_document_that_is_not_there(http: httpx.Client, path, headers):
    """A 304 says the client's copy is current: for a document that does not exist the
    answer is 404, whatever the validators (If-None-Match: * above all)."""
    assert http.get(path, headers=headers).status_code == 404
    assert http.get("/scenario/guizhou-b1-s03.ttl", headers=headers).status_code == 304


@pytest.mark.parametrize(
    "path", ["/scenario/guizhou-b1-s01.html", "/", "/map", "/dumps/", "/match", "/query"]
)
def test_language_links_keep_the_proxys_prefix(http: httpx.Client, path):
    """Behind a trusted proxy's X-Forwarded-Prefix every link of a page is below it: the
    language switch and the hreflang alternates too."""
    h = {"X-Forwarded-Host": "example.org", "X-Forwarded-Proto": "https", "Accept": "text/html"}
    page = http.get(path, headers={**h, "X-Forwarded-Prefix": "/kg"}, follow_redirects=True)
    assert page.status_code == 200, page.text[:200]
    hreflang = re.findall(r'hreflang="(?:zh|en)" href="([^"]*)"', page.text)
    switch = re.findall(r'<a href="([^"]*)" lang="(?:zh-Hans|en)" hreflang=', page.text)
    assert len(hreflang) == 1 and len(switch) == 2  # (the alternate: the other language)
    assert all(h.startswith(f"/kg{path.rstrip('/')}") for h in hreflang + switch), hreflang + switch
    plain = http.get(path, headers=h).text  # without a prefix: as before
    assert all(
        x.startswith(path.rstrip("/") or "/") and not x.startswith("/kg")
        for x in re.findall(r'hreflang="(?:zh|en)" href="([^"]*)"', plain)
    )


def test_validators_and_head(http: httpx.Client):
    r = http.get("/scenario/guizhou-b1-s03.ttl")
    tag = r.headers["etag"]
    assert r.headers["last-modified"]
    again = http.get("/scenario/guizhou-b1-s03.ttl", headers={"If-None-Match": tag})
    assert again.status_code == 304
    html = http.get("/scenario/guizhou-b1-s03.html", headers={"Accept-Language": "en"})
    zh = http.get("/scenario/guizhou-b1-s03.html", headers={"Accept-Language": "zh"})
    assert html.headers["etag"] != zh.headers["etag"] != tag
    head = http.head("/scenario/guizhou-b1-s03.ttl")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == r.headers["content-type"]


def test_every_scenario_and_item_dereferences(http: httpx.Client, dump_graph):
    DIP = rdflib.Namespace("https://w3id.org/dipkg/ontology#")
    scenarios = sorted(set(dump_graph.subjects(rdflib.RDF.type, DIP.Scenario)))
    assert len(scenarios) == 23
    for s in scenarios:
        path = str(s)[len(BASE) :]
        assert http.get(f"/{path}.html").status_code == 200
    items = sorted(set(dump_graph.subjects(rdflib.RDF.type, DIP.DataField)))[:40]
    for item in items:
        assert (
            http.get("/" + str(item)[len(BASE) :], headers={"Accept": "text/turtle"}).status_code
            == 303
        )


def test_the_ontologys_version_iri_dereferences(http: httpx.Client, site, dump_graph):
    """owl:versionIRI <…/ontology/0.1.0> is in the dumps and below the base: it answers
    like the ontology's own IRI (303 to its documents), not 404."""
    OWL = rdflib.OWL
    onto = rdflib.URIRef("https://w3id.org/dipkg/ontology")
    version = dump_graph.value(onto, OWL.versionIRI)
    assert version is not None and str(version).startswith(BASE)
    path = "/" + str(version)[len(BASE) :]
    for accept, ext, mtype in FORMATS:
        r = http.get(path, headers={"Accept": accept})
        assert r.status_code == 303, (accept, r.status_code)
        assert r.headers["location"] == f"{site.url}/ontology.{ext}"
        assert "accept" in vary(r)
        doc = http.get(r.headers["location"])
        assert doc.status_code == 200 and media(doc) == mtype
    ttl = http.get(f"{site.url}/ontology.ttl")
    g = rdflib.Graph().parse(data=ttl.text, format="turtle")
    assert (onto, OWL.versionIRI, version) in g
    assert http.get(path + "9", headers={"Accept": "text/turtle"}).status_code == 404
    assert http.get("/ontology/0.0.1", headers={"Accept": "text/turtle"}).status_code == 404


def test_the_catalogue_graphs_name_dereferences(http: httpx.Client, site):
    """The named graph {base}graph/catalog (the service description's sd:name) is below the
    base: it answers with the record it holds (303 to /catalog's documents), not 404."""
    sd = rdflib.Graph().parse(
        data=http.get("/sparql", headers={"Accept": "text/turtle"}).text, format="turtle"
    )
    names = set(
        sd.objects(None, rdflib.URIRef("http://www.w3.org/ns/sparql-service-description#name"))
    )
    assert names == {rdflib.URIRef(BASE + "graph/catalog")}
    for accept, ext, mtype in FORMATS:
        r = http.get("/graph/catalog", headers={"Accept": accept})
        assert r.status_code == 303, (accept, r.status_code)
        assert r.headers["location"] == f"{site.url}/catalog.{ext}"
        assert "accept" in vary(r)
        doc = http.get(r.headers["location"])
        assert doc.status_code == 200 and media(doc) == mtype
    assert http.get("/graph/catalog2", headers={"Accept": "text/turtle"}).status_code == 404
    assert http.get("/graph/", headers={"Accept": "text/turtle"}).status_code == 404


def test_home_page_sends_rdf_clients_to_the_dataset(http: httpx.Client, site):
    r = http.get("/", headers={"Accept": "text/turtle"})
    assert r.status_code == 303 and r.headers["location"] == f"{site.url}/dataset.ttl"
    assert "accept" in vary(r)
    assert http.get("/", headers={"Accept": BROWSER_ACCEPT}).status_code == 200
    assert http.get("/", headers={"Accept": "image/png"}).status_code == 200


def test_the_literals_a_store_rewrites_are_found(tmp_path):
    """Oxigraph keeps derived integer types as xsd:integer and numbers in their canonical
    form; the description gives back what the record wrote. What it keeps as written is
    not listed; nor is a literal held by a blank node (no IRI to find it by)."""
    ttl = tmp_path / "record.ttl"
    ttl.write_text(
        "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
        '<http://e/a> <http://e/size> 5, "7"^^xsd:nonNegativeInteger ;\n'
        '  <http://e/n> "05"^^xsd:integer ;\n'
        '  <http://e/t> "x", "y"@en, true, "2024-01-01"^^xsd:date ;\n'
        '  <http://e/b> [ <http://e/size> "9"^^xsd:positiveInteger ] .\n',
        encoding="utf-8",
    )
    xsd = "http://www.w3.org/2001/XMLSchema#"

    def lit(value: str, kind: str) -> ox.Literal:
        return ox.Literal(value, datatype=ox.NamedNode(xsd + kind))

    assert changed_literals(ttl) == {
        ("http://e/a", "http://e/size", lit("7", "integer")): lit("7", "nonNegativeInteger"),
        ("http://e/a", "http://e/n", lit("5", "integer")): lit("05", "integer"),
    }
    assert changed_literals(tmp_path / "absent.ttl") == {}
    assert changed_literals(None) == {}


def test_every_literal_the_store_rewrites_is_held_by_an_iri(release) -> None:
    """A description gives a rewritten literal back by its subject's IRI (a blank node's
    has none to find it by): so every one in the record must have one, or the promise
    that a description is a subset of the published files breaks unseen. The record has
    such literals (dcat:byteSize), so this cannot pass on none."""
    quads = list(ox.parse(path=str(release.catalog_file), format=ox.RdfFormat.TURTLE))
    store = ox.Store()
    store.extend(quads)
    kept = set(store)
    rewritten = [q for q in quads if isinstance(q.object, ox.Literal) and q not in kept]
    assert rewritten
    assert all(isinstance(q.subject, ox.NamedNode) for q in rewritten), [
        q for q in rewritten if not isinstance(q.subject, ox.NamedNode)
    ][:3]
