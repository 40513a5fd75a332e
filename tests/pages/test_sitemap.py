"""``/sitemap.xml`` on a real server: every page of the release, for crawlers.

The pages it must list are found independently (rdflib over the N-Triples dump: every
resource under the base of a type that has a page), and a sample of its URLs is fetched:
each answers 200 with a page in the language the URL asks for. Beside it: the list the
build writes, its parts past the protocol's 50,000 URLs (the router's own code with a small
part size), and a release built before the list.
"""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

import httpx
import pytest
import rdflib
from fastapi import FastAPI
from fastapi.testclient import TestClient

from dipkg.core import sitemap as lists
from dipkg.core.iris import document_order
from dipkg.core.manifest import Manifest
from dipkg.core.release import Release
from sparql_api import sitemap
from sparql_api.pages.site import make_site
from sparql_api.pages.views import RESOURCE_KINDS

NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "x": "http://www.w3.org/1999/xhtml"}
BASE = "https://w3id.org/dipkg/"


def _locs(body: bytes) -> list[ET.Element]:
    root = ET.fromstring(body)
    assert root.tag == f"{{{NS['s']}}}urlset"
    return root.findall("s:url", NS)


def test_the_page_types_are_the_pages_kinds() -> None:
    """The build lists the resources of the types the pages render (the two lists live on
    the two sides of the build/web boundary)."""
    assert set(lists.PAGE_TYPES) == {kind.type for kind in RESOURCE_KINDS}


def test_the_sitemap_lists_every_page_in_both_languages(
    http: httpx.Client, dump_graph, release: Release
) -> None:
    types = {rdflib.URIRef(t) for t in lists.PAGE_TYPES}
    expected = {
        str(s)[len(BASE) :]
        for s, t in dump_graph.subject_objects(rdflib.RDF.type)
        if t in types and str(s).startswith(BASE) and "#" not in str(s)
    }
    assert len(expected) > 1000 and "ontology" in expected
    r = http.get("/sitemap.xml")
    assert r.status_code == 200 and r.headers["content-type"] == "application/xml; charset=utf-8"
    urls = _locs(r.content)
    root = str(http.base_url).rstrip("/")
    pages = [root + "/" + p for p in lists.SITE_PAGES] + [
        f"{root}/{p}.html" for p in sorted(expected, key=document_order)
    ]
    assert [u.findtext("s:loc", namespaces=NS) for u in urls] == [
        f"{page}?lang={code}" for page in pages for code in ("zh", "en")
    ]
    modified = release.manifest.modified
    assert modified and {u.findtext("s:lastmod", namespaces=NS) for u in urls} == {modified}
    links = {link.get("hreflang"): link.get("href") for link in urls[2].findall("x:link", NS)}
    assert links == {
        "zh-Hans": f"{root}/catalog.html?lang=zh",
        "en": f"{root}/catalog.html?lang=en",
        "x-default": f"{root}/catalog.html",
    }
    again = http.get("/sitemap.xml", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304
    assert http.get("/sitemap-1.xml").status_code == 404  # one file: no parts
    assert f"Sitemap: {root}/sitemap.xml" in http.get("/robots.txt").text


def test_it_is_streamed_gzipped_or_not_and_a_head_makes_nothing(http: httpx.Client) -> None:
    """Up to 20 MB a part: sent in pieces (no Content-Length), gzipped here for a client that
    takes gzip (the app leaves a streamed body as it is), the same XML either way."""
    plain = http.get("/sitemap.xml", headers={"Accept-Encoding": "identity"})
    packed = http.get("/sitemap.xml", headers={"Accept-Encoding": "gzip"})
    assert "content-length" not in plain.headers and "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.content == plain.content  # (httpx decodes the gzip)
    assert "Accept-Encoding" in packed.headers["vary"]
    assert plain.headers["etag"] == packed.headers["etag"]  # (weak: one per content)
    head = http.head("/sitemap.xml")
    assert head.status_code == 200 and head.content == b""
    assert head.headers.get("content-length") in (None, str(len(plain.content)))
    assert head.headers["content-type"] == plain.headers["content-type"]


def test_a_sample_of_its_urls_are_pages(http: httpx.Client) -> None:
    """Every site page and the first and last resource of each kind, in both languages:
    200, HTML, the language asked."""
    locs = [u.findtext("s:loc", namespaces=NS) for u in _locs(http.get("/sitemap.xml").content)]
    root = str(http.base_url).rstrip("/")
    sample = locs[: 2 * len(lists.SITE_PAGES)]
    by_kind: dict[str, list[str]] = {}
    for loc in locs[len(sample) :]:
        by_kind.setdefault(loc[len(root) + 1 :].split("/")[0], []).append(loc)
    assert {"scenario", "domain", "guide", "scheme", "concept"} <= set(by_kind)
    for found in by_kind.values():
        sample += found[:2] + found[-2:]
    for loc in sample:
        page = http.get(loc, headers={"Accept": "text/html"})
        assert page.status_code == 200, loc
        assert page.headers["content-type"].startswith("text/html"), loc
        want = "en" if loc.endswith("lang=en") else "zh-Hans"
        assert page.headers["content-language"] == want, loc


def test_behind_a_proxy_the_urls_are_the_public_ones(http: httpx.Client) -> None:
    h = {"X-Forwarded-Host": "data.example.org", "X-Forwarded-Proto": "https"}
    h["X-Forwarded-Prefix"] = "/kg"
    locs = [
        u.findtext("s:loc", namespaces=NS)
        for u in _locs(http.get("/sitemap.xml", headers=h).content)
    ]
    assert locs[0] == "https://data.example.org/kg/?lang=zh"
    assert all(loc.startswith("https://data.example.org/kg/") for loc in locs)


def test_the_release_lists_its_pages(release: Release) -> None:
    paths = release.page_paths()
    assert paths[:2] == ["concept/abnormal-parameters", "concept/accident-cause"]
    assert "scenario/guizhou-b1-s02" in paths
    assert paths.index("scenario/guizhou-b1-s02") < paths.index("scenario/guizhou-b1-s10")
    assert len(paths) == len(set(paths))


def _app(release: Release, settings, max_urls: int) -> TestClient:
    app = FastAPI()
    app.include_router(sitemap.make_router(make_site(settings, release), max_urls=max_urls))
    return TestClient(app)


def test_a_long_list_is_served_in_parts(release: Release) -> None:
    """Past the protocol's limit the sitemap is an index of parts, each a sitemap; the parts
    hold every URL once, in order (here 200 URLs a part: the router's own code)."""
    from dipkg.core.settings import Settings

    whole = _locs(_app(release, Settings(), 10**9).get("/sitemap.xml").content)
    client = _app(release, Settings(), 200)
    index = ET.fromstring(client.get("/sitemap.xml").content)
    assert index.tag == f"{{{NS['s']}}}sitemapindex"
    parts = [s.findtext("s:loc", namespaces=NS) for s in index.findall("s:sitemap", NS)]
    assert len(parts) == -(-len(whole) // 200)
    got = []
    for n, loc in enumerate(parts, 1):
        assert loc == f"http://testserver/sitemap-{n}.xml"
        part = _locs(client.get(f"/sitemap-{n}.xml").content)
        assert 0 < len(part) <= 200
        got += [u.findtext("s:loc", namespaces=NS) for u in part]
    assert got == [u.findtext("s:loc", namespaces=NS) for u in whole]
    assert client.get(f"/sitemap-{len(parts) + 1}.xml").status_code == 404
    assert client.get("/sitemap-0.xml").status_code == 404


def test_a_release_built_before_the_list_maps_the_site_pages(release: Release) -> None:
    """A manifest without ``pages`` (a release built before the list) still reads, and its
    sitemap lists the site's own pages; a list with a line that is no path is refused."""
    data = release.manifest.to_json()
    del data["site"]["pages"]
    old = Manifest.from_json(data, file="manifest.json")
    assert old.site is not None and old.site.pages is None
    older = dataclasses.replace(release, manifest=old)
    assert older.page_paths() == []
    from dipkg.core.settings import Settings

    urls = _locs(_app(older, Settings(), 25_000).get("/sitemap.xml").content)
    assert len(urls) == 2 * len(lists.SITE_PAGES)


@pytest.mark.parametrize("line", ["scenario/a b", "a#b", "", "<x>", "中文"])
def test_a_path_the_list_cannot_hold_is_not_safe(line: str) -> None:
    assert not lists.safe(line)
