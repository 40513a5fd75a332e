"""/catalog for people: a readable page read from the record (publisher and contact by name,
distributions with sizes and formats, the SPARQL service, the Chinese record), with its data
twins."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dipkg.core.release import open_release
from dipkg.core.settings import Settings
from sparql_api.app import create_app
from tests.conftest import StandInPool

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture(scope="module")
def client(built_data: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(), open_release(built_data), pool=StandInPool())) as c:
        yield c


@pytest.fixture(scope="module")
def page(client: TestClient) -> str:
    r = client.get("/catalog", headers={"Accept": BROWSER, "Accept-Language": "zh"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert str(r.url).endswith("/catalog.html")
    return html.unescape(r.text)


def test_publisher_contact_licence_by_name(page: str) -> None:
    s = Settings().catalog
    assert s.publisher_name_zh in page and f'href="mailto:{s.contact_email}"' in page
    assert f'href="{s.license_iri}" rel="license">{s.license_title}</a> (CC-BY-4.0)' in page


def test_every_distribution_with_its_size_format_and_checksum(page: str, manifest: dict) -> None:
    for d in manifest["dumps"]:  # the knowledge graph's and the source document's
        assert f'href="http://testserver/dumps/{d["file"]}"' in page, d["file"]
        assert f'data-bytes="{d["bytes"]}"' in page and d["sha256"] in page
    assert "RDF Turtle" in page and "<code>text/turtle</code> · gzip" in page


def test_the_sparql_service_and_the_chinese_record(page: str) -> None:
    assert 'href="http://testserver/sparql"' in page
    for name in ("dipkg-catalogue-cn.json", "dipkg-catalogue-cn.xlsx"):
        assert f'href="http://testserver/dumps/{name}"' in page


def test_data_twins(page: str) -> None:
    for ext, media in (
        ("ttl", "text/turtle"),
        ("jsonld", "application/ld+json"),
        ("nt", "application/n-triples"),
        ("rdf", "application/rdf+xml"),
    ):
        assert f'href="http://testserver/catalog.{ext}" type="{media}"' in page
    assert 'href="http://testserver/.well-known/void?format=ttl" type="text/turtle"' in page


def test_the_void_link_gives_a_browser_turtle(client: TestClient, page: str) -> None:
    """Followed by a browser, the page's VoID link answers what it says (Turtle), not what
    the browser's Accept would pick (application/xml;q=0.9: RDF/XML shown as XML)."""
    href = re.search(r'href="http://testserver(/\.well-known/void[^"]*)"', page)
    assert href is not None
    r = client.get(href.group(1), headers={"Accept": BROWSER})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/turtle")


def test_not_a_raw_property_table(page: str) -> None:
    """The old page listed property IRIs and values; this one names things."""
    assert "http://www.w3.org/ns/dcat#distribution" not in page
    assert not re.search(r"<th[^>]*>(属性|Property)</th>", page)


def test_english_and_validators(client: TestClient) -> None:
    r = client.get("/catalog.html?lang=en")
    assert Settings().catalog.catalog_title_en in r.text and "Publisher" in r.text
    again = client.get("/catalog.html?lang=en", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304
