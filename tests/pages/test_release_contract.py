"""The pages show what the build wrote into the release, never the serve-time settings or
the source tree: the footer's licence, the landing page's schema.org Dataset and the
query page's example questions equal the catalogue record and files of the build, even
when the server runs with other DIPKG_CATALOG__* values (the known-bad: before, the
landing page recomputed schema.org and the footer from the serve-time settings)."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import rdflib
from markupsafe import escape
from rdflib.namespace import DCTERMS, FOAF

from dipkg.core.iris import Minter
from dipkg.core.release import Release
from dipkg.core.settings import Settings
from kg.catalog import schema_org_dataset
from tests.endpoint.conftest import Server, serving, start_server, stop_server
from tests.pages.conftest import BROWSER_ACCEPT

#: what the server is started with: none of it is what the build used
SERVE_TIME = {
    "DIPKG_CATALOG__LICENSE_IRI": "https://example.org/licences/serve-time",
    "DIPKG_CATALOG__LICENSE_TITLE": "Serve-time licence",
    "DIPKG_CATALOG__PUBLISHER_NAME_EN": "Serve-time publisher",
    "DIPKG_CATALOG__PUBLISHER_NAME_ZH": "服务时发布者",
    "DIPKG_CATALOG__TITLE_EN": "Serve-time title",
    "DIPKG_CATALOG__TITLE_ZH": "服务时标题",
    "DIPKG_CATALOG__DESCRIPTION_EN": "Serve-time description",
    "DIPKG_CATALOG__DESCRIPTION_ZH": "服务时描述",
}


@pytest.fixture(scope="module")
def other_settings_site(
    built_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    yield from serving(
        built_data, tmp_path_factory, "contract-server", DIPKG_QUERY_WORKERS="1", **SERVE_TIME
    )


@pytest.fixture(scope="module")
def client(other_settings_site: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=other_settings_site.url, timeout=30) as c:
        yield c


def _record(release: Release) -> tuple[str, str]:
    """(licence IRI, English publisher name) of the catalogue record the build wrote."""
    graph = rdflib.Graph().parse(release.root / "catalog.ttl", format="turtle")
    dataset = rdflib.URIRef(Minter(release.base_iri).dataset())
    licence = graph.value(dataset, DCTERMS.license)
    publisher = graph.value(dataset, DCTERMS.publisher)
    names = {n.language: str(n) for n in graph.objects(publisher, FOAF.name)}
    return str(licence), names["en"]


def test_the_serve_time_settings_really_differ(release: Release) -> None:
    """The premise: recomputing from the serve-time settings (what the pages did before)
    gives another licence and publisher than the record."""
    licence, publisher = _record(release)
    serve_time = Settings(
        catalog={
            "license_iri": SERVE_TIME["DIPKG_CATALOG__LICENSE_IRI"],
            "publisher_name_en": SERVE_TIME["DIPKG_CATALOG__PUBLISHER_NAME_EN"],
        }
    )
    doc = schema_org_dataset(release.manifest, serve_time, Minter(release.base_iri), None)
    assert doc["license"] != licence and doc["publisher"]["name"] != publisher


def test_footer_and_landing_show_the_records_licence(client: httpx.Client, release: Release):
    licence, _ = _record(release)
    assert release.license.iri == licence
    for path in ("/", "/dumps/", "/query"):
        r = client.get(path, headers={"Accept": BROWSER_ACCEPT})
        assert r.status_code == 200, path
        assert f'href="{licence}" rel="license"' in r.text, path  # the footer
        assert release.license.title in r.text
        assert "serve-time" not in r.text.lower(), path
    landing = client.get("/", headers={"Accept": BROWSER_ACCEPT}).text
    assert f'<a rel="license" href="{licence}">' in landing


def test_schema_org_is_the_builds(client: httpx.Client, release: Release) -> None:
    licence, publisher = _record(release)
    page = client.get("/", headers={"Accept": BROWSER_ACCEPT}).text
    (script,) = re.findall(r'<script type="application/ld\+json">\s*(.*?)</script>', page, re.S)
    doc = json.loads(script.replace("<\\/", "</"))
    assert doc == release.schema_org()
    assert doc["license"] == licence and doc["publisher"]["name"] == publisher


def _texts(release: Release) -> dict[tuple[str, str | None], str]:
    """The catalogue record's dct:title and dct:description, by (term, language)."""
    graph = rdflib.Graph().parse(release.root / "catalog.ttl", format="turtle")
    dataset = rdflib.URIRef(Minter(release.base_iri).dataset())
    out = {}
    for term, name in ((DCTERMS.title, "title"), (DCTERMS.description, "description")):
        for text in graph.objects(dataset, term):
            assert isinstance(text, rdflib.Literal)
            out[name, text.language] = str(text)
    return out


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_landing_heading_is_the_builds(
    client: httpx.Client, release: Release, lang: str
) -> None:
    """Title and description come from the release (as the catalogue record has them), not
    from the serve-time DIPKG_CATALOG__TITLE_* / DESCRIPTION_* (the known-bad: before, the
    landing page read them from the server's settings)."""
    texts = _texts(release)
    other = "zh" if lang == "en" else "en"
    page = client.get(f"/?lang={lang}", headers={"Accept": BROWSER_ACCEPT}).text
    (title,) = re.findall(r"<title>(.*?)</title>", page.split("</head>")[0], re.S)
    assert str(escape(texts["title", lang])) in title
    assert f'<h1 id="title">{escape(texts["title", lang])}</h1>' in page
    assert f">{escape(texts['title', other])}</p>" in page  # the subtitle
    for code in ("en", "zh"):
        assert f">{escape(texts['description', code])}</p>" in page
    assert "serve-time" not in page.lower() and "服务时" not in page
    heading = release.manifest.site.heading
    assert (heading.title_en, heading.description_zh) == (
        texts["title", "en"],
        texts["description", "zh"],
    )


def test_the_query_page_shows_the_releases_questions(
    client: httpx.Client, release: Release
) -> None:
    questions = release.queries()
    assert len(questions) >= 5
    page = client.get("/query", headers={"Accept": BROWSER_ACCEPT}).text
    for q in questions:
        assert f'id="example-{q.id}"' in page
    chosen = client.get(f"/query?example={questions[1].id}", headers={"Accept": BROWSER_ACCEPT})
    assert str(escape(questions[1].query.strip())) in chosen.text


def test_validators_follow_the_whole_release(
    built_data: Path, other_settings_site: Server, tmp_path: Path
) -> None:
    """A release that differs only in what the pages show (here the heading; the same goes
    for the example questions or schema.org) keeps the build id (the data's) but gets new
    ETags on the pages, so a cache never revalidates a page it should fetch again; the
    SPARQL answers, which depend on the data only, keep theirs. Known-bad: before, every
    page's ETag was made from the build id."""
    copy = tmp_path / "data"
    shutil.copytree(built_data, copy, symlinks=True)
    manifest_path = copy / "current" / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["site"]["heading"]["title_en"] = "Another heading, the same data"
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True))
    other = start_server(copy, tmp_path, DIPKG_QUERY_WORKERS="1", **SERVE_TIME)
    try:
        query = {"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"}
        for path, params, same in (
            ("/", {"lang": "en"}, False),
            ("/dumps/", {}, False),
            ("/sparql", query, True),
        ):
            tags = []
            for server in (other_settings_site, other):
                r = httpx.get(
                    server.url + path,
                    params=params,
                    headers={  # one Host: the pages' links (and ETags) depend on it
                        "Host": "dipkg.test",
                        "Accept": BROWSER_ACCEPT if path != "/sparql" else "text/csv",
                    },
                    timeout=30,
                )
                assert r.status_code == 200, (path, r.text[:200])
                tags.append((r.headers["ETag"], r.headers["X-Dipkg-Build"]))
            assert tags[0][1] == tags[1][1], path  # the same data
            assert (tags[0][0] == tags[1][0]) is same, (path, tags)
        page = httpx.get(other.url + "/", params={"lang": "en"}, headers={"Accept": BROWSER_ACCEPT})
        assert "Another heading, the same data" in page.text
    finally:
        stop_server(other)
