"""/catalog and /.well-known/void: content negotiation over the release's record,
in-process (FastAPI TestClient) and on a real uvicorn server."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import rdflib
from fastapi.testclient import TestClient
from rdflib.compare import isomorphic

from dipkg.core.errors import StoreError
from dipkg.core.release import open_release
from dipkg.core.settings import Settings
from sparql_api import catalog_routes
from sparql_api.app import create_app
from sparql_api.state import context
from tests.conftest import StandInPool

ROOT = Path(__file__).resolve().parents[2]
VOID = rdflib.Namespace("http://rdfs.org/ns/void#")
FORMATS = {  # media type -> rdflib parser
    "text/turtle": "turtle",
    "application/n-triples": "nt",
    "application/ld+json": "json-ld",
    "application/rdf+xml": "xml",
}


@pytest.fixture(scope="module")
def client(built_data: Path) -> Iterator[TestClient]:
    app = create_app(Settings(), open_release(built_data), pool=StandInPool(), routers=[])
    with TestClient(app) as c:
        yield c


def parse(body: bytes, media_type: str) -> rdflib.Graph:
    return rdflib.Graph().parse(data=body, format=FORMATS[media_type])


def test_read_once_on_first_use_not_at_startup(built_data: Path) -> None:
    """The record (and rdflib, which parses it) loads on the first request that needs it,
    then serves every later one (the memory of `dipkg serve`, tests/test_serve_imports.py)."""
    app = create_app(Settings(), open_release(built_data), pool=StandInPool(), routers=[])
    with TestClient(app) as c:
        ctx = app.state.dipkg
        assert ctx.catalog is None
        assert c.get("/catalog.ttl").status_code == 200
        docs = ctx.catalog
        assert docs is not None
        for path in ("/catalog?format=nt", "/.well-known/void", "/catalog.html"):
            assert c.get(path).status_code == 200, path
        assert ctx.catalog is docs


def test_a_release_without_its_record_is_refused_at_startup(
    built_data: Path, tmp_path: Path
) -> None:
    """The record is read on first use, but its absence is still found before serving."""
    catalog_routes.check(open_release(built_data))  # the real release has one
    data = tmp_path / "data"
    shutil.copytree(built_data, data, symlinks=True)
    release = open_release(data)
    release.catalog_file.unlink()  # the file its manifest names
    with pytest.raises(StoreError) as err:
        catalog_routes.check(release)
    assert "no catalogue record (catalog.ttl)" in str(err.value)
    assert str(release.catalog_file) in str(err.value)


def test_a_release_whose_record_does_not_parse_is_refused_before_serving(
    built_data: Path, tmp_path: Path
) -> None:
    """A garbled catalog.ttl is found at start-up (by pyoxigraph, without loading rdflib):
    `dipkg serve` exits with one line naming the file instead of answering 500 on the
    record's routes. Known-bad: the check only looked for the file."""
    data = tmp_path / "data"
    shutil.copytree(built_data, data, symlinks=True)
    record = data / "current" / "catalog.ttl"
    record.write_bytes(record.read_bytes()[:-200] + b" <broken")
    with pytest.raises(StoreError) as err:
        catalog_routes.check(open_release(data))
    assert "catalogue record does not parse" in str(err.value)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIPKG_")}
    env["DIPKG_QUERY_WORKERS"] = "1"
    done = subprocess.run(
        [sys.executable, "-m", "dipkg.cli", "serve", "--data", str(data), "--port", "9"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode != 0
    assert "catalogue record does not parse" in done.stderr and "Traceback" not in done.stderr
    assert str(record.resolve()) in done.stderr or "catalog.ttl" in done.stderr


def test_turtle_is_the_default_and_the_build_file(client: TestClient, release: Path) -> None:
    r = client.get("/catalog")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/turtle; charset=utf-8"
    assert r.content == (release / "catalog.ttl").read_bytes()
    assert r.headers["etag"]


@pytest.mark.parametrize("media_type", list(FORMATS))
def test_every_format_says_the_same(
    client: TestClient, record: rdflib.Graph, media_type: str
) -> None:
    r = client.get("/catalog", headers={"Accept": media_type})
    assert r.status_code == 200 and r.headers["content-type"].startswith(media_type)
    assert isomorphic(parse(r.content, media_type), record)


@pytest.mark.parametrize(
    "name, media_type",
    [
        ("ttl", "text/turtle"),
        ("nt", "application/n-triples"),
        ("jsonld", "application/ld+json"),
        ("rdf", "application/rdf+xml"),
    ],
)
def test_format_parameter(client: TestClient, name: str, media_type: str) -> None:
    r = client.get(f"/catalog?format={name}", headers={"Accept": "text/turtle"})
    assert r.status_code == 200 and r.headers["content-type"].startswith(media_type)


def test_catalog_redirects_like_every_resource(client: TestClient) -> None:
    for accept, extension in [
        ("text/turtle", "ttl"),
        ("application/ld+json", "jsonld"),
        ("*/*", "ttl"),
        ("application/n-triples", "nt"),
        ("application/rdf+xml", "rdf"),
        # HTML is weighed against the RDF types, not only named
        ("text/turtle, text/html;q=0.5", "ttl"),
        ("application/ld+json, text/html;q=0.9", "jsonld"),
        ("text/html;q=0.1, application/n-triples;q=0.2", "nt"),
        ("text/turtle;q=0.5, text/html", "html"),
    ]:
        r = client.get("/catalog", headers={"Accept": accept}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].endswith(f"/catalog.{extension}")
        assert "Accept" in r.headers["vary"]


def test_format_html_is_the_page_the_406_offers(client: TestClient) -> None:
    """/catalog's 406 lists html among its formats: ?format=html is the page (a 303, as
    the negotiated one), not a 406 saying html is not offered."""
    refused = client.get("/catalog", headers={"Accept": "image/png"})
    assert refused.status_code == 406
    assert ["html"] in refused.json()["details"]["formats"].values()
    r = client.get("/catalog?format=html&lang=en", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("/catalog.html?lang=en")
    assert client.get("/catalog?format=ttl").headers["content-type"].startswith("text/turtle")


def test_the_query_string_survives_the_303(client: TestClient) -> None:
    """As for every resource (docs/linked-data.md: /domain/industry?lang=en ->
    /domain/industry.html?lang=en): the language switch's ?lang=en reaches the page."""
    r = client.get("/catalog?lang=en", headers={"Accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("/catalog.html?lang=en")
    page = client.get(r.headers["location"])
    assert page.status_code == 200 and page.headers["content-language"] == "en"
    r = client.get("/catalog?lang=en", headers={"Accept": "text/turtle"}, follow_redirects=False)
    assert r.headers["location"].endswith("/catalog.ttl?lang=en")


def test_browsers_get_the_page_and_unknown_types_get_406(client: TestClient) -> None:
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    r = client.get("/catalog", headers={"Accept": browser}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("/catalog.html")
    r = client.get("/catalog", headers={"Accept": browser})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    r = client.get("/catalog", headers={"Accept": "image/png"})
    assert r.status_code == 406 and "Accept" in r.headers["vary"]
    body = r.json()
    assert body["error"] == "not-acceptable" and "text/turtle" in body["details"]["offered"]


@pytest.mark.parametrize("path", ["/.well-known/void", "/sparql"])
def test_every_406_of_a_negotiated_answer_varies_on_accept(client: TestClient, path: str) -> None:
    """The VoID description and the service description are chosen by Accept: their 406 is
    too (docs/linked-data.md, "Vary: Accept on every negotiated response"), or a cache
    could give one client's 406 to the next."""
    r = client.get(path, headers={"Accept": "image/png"})
    assert r.status_code == 406 and r.json()["error"] == "not-acceptable"
    assert "accept" in {v.strip().lower() for v in r.headers["vary"].split(",")}
    ok = client.get(path, headers={"Accept": "text/turtle"})
    assert ok.status_code == 200 and "Accept" in ok.headers["vary"]


def test_etag_revalidation(client: TestClient) -> None:
    r = client.get("/catalog")
    again = client.get("/catalog", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and not again.content


@pytest.mark.parametrize(
    "path",
    [
        "/catalog?format=ttl",
        "/catalog.ttl",
        "/catalog.jsonld",
        "/.well-known/void",
        "/" + catalog_routes.CN_SCHEMA_PATH,
    ],
)
def test_etag_revalidation_compares_weakly(client: TestClient, path: str) -> None:
    """The record's tags are weak, as every tag of the app: the gzipped and the plain body
    share one (RFC 9110 §8.8.3: a strong tag must change with the encoding; known-bad: the
    same strong tag on both). Revalidation compares weakly (§13.1.2), with ``*`` too;
    another tag gets the document."""
    plain = client.get(path, headers={"Accept-Encoding": "identity"})
    zipped = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip" and "content-encoding" not in plain.headers
    tag = plain.headers["etag"]
    assert tag.startswith('W/"') and zipped.headers["etag"] == tag
    for sent in (tag, tag.removeprefix("W/"), f'"other", {tag}', "*"):
        r = client.get(path, headers={"If-None-Match": sent})
        assert r.status_code == 304 and not r.content, sent
    assert client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200


@pytest.mark.parametrize("path", ["/catalog.ttl", "/catalog?format=nt", "/.well-known/void"])
def test_the_record_has_the_releases_last_modified(client: TestClient, path: str) -> None:
    """A harvester polling the record with If-Modified-Since gets 304 until a new release,
    as it does for every other document of the release (pages, dumps, /sparql)."""
    page = client.get("/catalog.html")
    r = client.get(path)
    assert r.status_code == 200
    assert r.headers["last-modified"] == page.headers["last-modified"]
    since = {"If-Modified-Since": r.headers["last-modified"]}
    again = client.get(path, headers=since)
    assert again.status_code == 304 and not again.content
    assert again.headers["etag"] == r.headers["etag"]
    old = {"If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"}
    assert client.get(path, headers=old).status_code == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2)
    assert client.get(path, headers={**since, "If-None-Match": '"other"'}).status_code == 200


@pytest.mark.parametrize("media_type", list(FORMATS))
def test_void(client: TestClient, record: rdflib.Graph, minter, media_type: str) -> None:
    r = client.get("/.well-known/void", headers={"Accept": media_type})
    assert r.status_code == 200 and r.headers["content-type"].startswith(media_type)
    void = parse(r.content, media_type)
    dataset = rdflib.URIRef(minter.dataset())
    for prop in (
        "triples",
        "entities",
        "classes",
        "properties",
        "distinctSubjects",
        "distinctObjects",
        "sparqlEndpoint",
        "uriSpace",
        "dataDump",
        "vocabulary",
        "classPartition",
        "propertyPartition",
    ):
        assert set(void.objects(dataset, VOID[prop])) == set(record.objects(dataset, VOID[prop])), (
            prop
        )
    for part in record.objects(dataset, VOID.classPartition):
        assert set(void.predicate_objects(part)) == set(record.predicate_objects(part))
    assert not list(
        void.subjects(rdflib.RDF.type, rdflib.URIRef("http://www.w3.org/ns/dcat#Distribution"))
    )


# -- a real server --------------------------------------------------------------------
APP = """
import os, uvicorn
from dipkg.core.release import open_release
from dipkg.core.settings import Settings
from sparql_api import catalog_routes
from sparql_api.app import create_app
app = create_app(Settings(), open_release(os.environ["CATALOG_TEST_DATA"]), routers=[])
uvicorn.run(app, host="127.0.0.1", port=int(os.environ["CATALOG_TEST_PORT"]), log_level="warning")
"""


@pytest.fixture(scope="module")
def server(built_data: Path, tmp_path_factory) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIPKG_")}
    env.update(
        CATALOG_TEST_DATA=str(built_data),
        CATALOG_TEST_PORT=str(port),
        DIPKG_QUERY_WORKERS="1",
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    log = tmp_path_factory.mktemp("catalog-server") / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", APP], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {log.read_text()}")
            try:
                if httpx.get(url + "/catalog.ttl", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {log.read_text()}")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest.mark.slow
def test_real_server(server: str, record: rdflib.Graph, release: Path) -> None:
    with httpx.Client(base_url=server, timeout=30, follow_redirects=True) as c:
        r = c.get("/catalog")
        assert r.status_code == 200 and r.content == (release / "catalog.ttl").read_bytes()
        for media_type in FORMATS:
            r = c.get("/catalog", headers={"Accept": media_type, "Accept-Encoding": "gzip"})
            assert r.status_code == 200 and r.headers["content-type"].startswith(media_type)
            assert isomorphic(parse(r.content, media_type), record)
        r = c.get("/.well-known/void", headers={"Accept": "application/ld+json"})
        assert r.status_code == 200 and json.loads(r.content)
        assert c.get("/catalog", headers={"Accept": "image/png"}).status_code == 406
        assert c.head("/catalog").status_code == 200
        assert c.get("/catalog", follow_redirects=False).status_code == 303


def test_the_service_description_agrees_with_void(
    client: TestClient, record: rdflib.Graph, minter
) -> None:
    r = client.get("/sparql", headers={"Accept": "text/turtle"})
    assert r.status_code == 200
    sd = rdflib.Graph().parse(data=r.content, format="turtle")
    dataset = rdflib.URIRef(minter.dataset())
    assert {int(o) for o in sd.objects(None, VOID.triples)} == {
        int(record.value(dataset, VOID.triples))
    }
    assert {str(o) for o in sd.objects(None, VOID.uriSpace)} == {
        str(record.value(dataset, VOID.uriSpace))
    }
    SD = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
    assert (None, SD.endpoint, None) in sd


def test_the_routes_take_the_state_as_a_fastapi_dependency(built_data: Path) -> None:
    """/catalog, its documents, /.well-known/void and /catalog.html read the state through
    Depends(context) (docs/architecture.md), so an override reaches all of them (the
    known-bad: before, all but the page read request.app.state and ignored it)."""
    app = create_app(Settings(), open_release(built_data), pool=StandInPool(), routers=[])
    with TestClient(app) as c:
        ctx = app.state.dipkg
        assert ctx.catalog is None  # read on first use, not at startup (memory)
        docs = catalog_routes._docs(ctx)
        assert docs is not None and ctx.catalog is docs
        swapped = dataclasses.replace(docs, record=docs.void, void=docs.record)
        other = dataclasses.replace(ctx, catalog=swapped, catalog_views={})
        app.dependency_overrides[context] = lambda: other
        ttl = c.get("/catalog.ttl").content
        assert ttl == docs.void.variants["turtle"] != docs.record.variants["turtle"]
        assert c.get("/catalog?format=ttl").content == ttl
        void = c.get("/.well-known/void", headers={"Accept": "text/turtle"}).content
        assert void == docs.record.variants["turtle"]
        app.dependency_overrides.clear()
        ctx.fast_cache.clear()  # the outermost fast path keeps finished answers
        assert c.get("/catalog.ttl").content == docs.record.variants["turtle"]
