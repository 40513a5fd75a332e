"""The map of shared data on the real server (httpx against uvicorn on 127.0.0.1):
``/map`` (HTML with inline SVG, or JSON/CSV/SVG by Accept), ``/map.svg``, ``/map.csv``,
``/map.json``; every link of the picture leads somewhere; the small pictures of the
landing and concept pages; a release without (or with a broken) map.json."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import xml.etree.ElementTree as ET
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest

from dipkg.core import datamap, formats
from dipkg.core.errors import StoreError
from sparql_api import datamap as sparql_datamap
from sparql_api import negotiation
from sparql_api.datamap import MapData
from sparql_api.describe import Describer
from tests.pages.conftest import BROWSER_ACCEPT

SVG_NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def release_map(release) -> dict:
    return json.loads((release.root / datamap.MAP_FILE).read_text(encoding="utf-8"))


def test_the_json_twin_is_the_release_file(http, release):
    r = http.get("/map.json")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert r.content == (release.root / datamap.MAP_FILE).read_bytes()
    again = http.get("/map.json", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304


def test_the_csv_twin_reads_as_a_table(http, release_map):
    r = http.get("/map.csv")
    assert r.status_code == 200 and r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.content.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(rows) == len(release_map["cells"])
    assert list(rows[0])[0] == "domain_zh"
    cell = next(c for c in release_map["cells"] if c["kind"].endswith("/concept/temperature"))
    row = next(x for x in rows if x["scenario"] == cell["scenario"] and x["kind"] == cell["kind"])
    assert row["kind_zh"] == "温度" and row["kind_en"] == "Temperature"
    assert int(row["fields"]) == len(cell["fields"])
    assert row["field_iris"].split() == [f["iri"] for f in cell["fields"]]


@pytest.mark.parametrize(
    "accept,media",
    [
        (BROWSER_ACCEPT, "text/html"),
        (None, "text/html"),
        ("application/json", "application/json"),
        ("text/csv", "text/csv"),
        ("image/svg+xml", "image/svg+xml"),
        ("image/*", "image/svg+xml"),
    ],
)
def test_map_negotiates(http, accept, media):
    r = http.get("/map", headers={"Accept": accept} if accept else {})
    assert r.status_code == 200
    assert r.headers["content-type"].split(";")[0] == media
    assert "Accept" in r.headers["vary"]


def test_the_maps_offers_are_the_registrys() -> None:
    """JSON and CSV are the registry's formats (dipkg/core/formats.py), the same offers the
    rest of the app makes, not a copy of their own (the known-bad: before, sparql_api/datamap.py
    built both by hand); the headers they give are pinned by the tests around this one."""
    assert sparql_datamap.JSON is negotiation.JSON
    assert sparql_datamap.CSV == negotiation.Offer.of(formats.CSV)
    assert sparql_datamap.JSON.format is formats.JSON


def test_map_refuses_what_it_cannot_give(http):
    r = http.get("/map", headers={"Accept": "application/pdf"})
    assert r.status_code == 406
    body = r.json()
    assert body["error"] and "image/svg+xml" in json.dumps(body)


def _svg(text: str) -> ET.Element:
    return ET.fromstring(text.encode("utf-8"))


def test_the_svg_is_a_labelled_picture_in_the_pages_language(http, release_map):
    zh = http.get("/map.svg", headers={"Accept-Language": "zh-CN"})
    assert zh.status_code == 200 and zh.headers["content-type"] == "image/svg+xml; charset=utf-8"
    assert zh.headers["content-language"] == "zh-Hans" and "Accept-Language" in zh.headers["vary"]
    root = _svg(zh.text)
    assert root.tag == SVG_NS + "svg" and root.get("role") == "group"
    assert "WenQuanYi Zen Hei" in root.get("font-family")
    assert root.find(SVG_NS + "title").text.startswith("共享数据地图")
    assert "每行是一个应用场景" in root.find(SVG_NS + "desc").text
    texts = {"".join(t.itertext()) for t in root.iter(SVG_NS + "text")}
    assert any("温度" in t for t in texts)
    en = _svg(http.get("/map.svg?lang=en").text)
    assert en.find(SVG_NS + "title").text.startswith("Map of shared data")
    assert any("Temperature" in "".join(t.itertext()) for t in en.iter(SVG_NS + "text"))
    # one labelled link per non-empty cell, and its number is the count of fields
    cells = [a for a in root.iter(SVG_NS + "a") if a.get("class") == "cell"]
    assert len(cells) == len(release_map["cells"])
    by_key = {(c["scenario"], c["kind"]): c for c in release_map["cells"]}
    for a in cells:
        cell = by_key[(a.get("data-scenario"), a.get("data-kind"))]
        assert a.get("aria-label").endswith(f"{len(cell['fields'])} 个数据项")
        assert "".join(a.find(SVG_NS + "text").itertext()) == str(len(cell["fields"]))
    # in English, one field is "1 field" (it said "1 fields")
    for a in (a for a in en.iter(SVG_NS + "a") if a.get("class") == "cell"):
        n = len(by_key[(a.get("data-scenario"), a.get("data-kind"))]["fields"])
        assert a.get("aria-label").endswith(f": {n} field" if n == 1 else f": {n} fields")


def test_every_link_of_the_map_leads_to_a_page(http):
    root = _svg(http.get("/map.svg").text)
    hrefs = sorted({a.get("href") for a in root.iter(SVG_NS + "a")})
    assert len(hrefs) > 90  # 23 scenarios, 5 domains, 68 kinds and 16 groups
    base = str(http.base_url).rstrip("/")
    for href in hrefs:
        assert href.startswith(base + "/"), href  # on this server
        r = http.get(urlsplit(href).path, headers={"Accept": BROWSER_ACCEPT})
        assert r.status_code == 303, href
        assert http.get(r.headers["location"]).status_code == 200, href


def test_the_page_has_the_picture_its_caption_and_its_twins(http):
    r = http.get("/map", headers={"Accept": BROWSER_ACCEPT, "Accept-Language": "en"})
    html = r.text
    assert r.headers["content-language"] == "en"
    assert '<svg class="datamap"' in html and 'aria-labelledby="map-title map-desc"' in html
    assert '<figcaption class="prose" id="map-caption">Each row is an application scenario' in html
    for twin in ("/map.json", "/map.csv", "/map.svg"):
        assert f'href="{str(http.base_url).rstrip("/")}{twin}"' in html
    assert "<script" not in html.split('<svg class="datamap"')[1].split("</svg>")[0]


def test_the_landing_page_shows_domains_at_a_glance_and_links_the_map(http):
    html = http.get("/", headers={"Accept": BROWSER_ACCEPT, "Accept-Language": "zh"}).text
    overview = html.split('id="overview"')[1].split("</section>")[0]
    assert 'class="bars"' in overview and "各领域的场景数" in overview
    assert (
        overview.count('aria-label="') == 5 and "工业领域：6 个场景" in overview
    )  # a labelled bar per domain
    assert 'id="map-link"' in overview and "/map" in overview


def test_the_concept_page_shows_which_scenarios_use_the_kind(http):
    r = http.get("/concept/temperature.html?lang=en")
    part = r.text.split('id="kind-scenarios"')[1].split("</section>")[0]
    bars = part.count('aria-label="')
    assert bars == 9  # the scenarios using temperature or a narrower kind (the map's column)
    assert "fields" in part
    assert 'Road and bridge safety monitoring and maintenance: 1 field"' in part
    assert "1 fields" not in part


def test_a_broken_map_file_is_one_clear_error(release, tmp_path):
    (tmp_path / datamap.MAP_FILE).write_text('{"cells": 3}', encoding="utf-8")
    with pytest.raises(StoreError) as err:
        MapData(SimpleNamespace(root=tmp_path), site=None)
    assert err.value.file.endswith(datamap.MAP_FILE) and "map of shared data" in str(err.value)


def test_the_map_is_checked_at_opening_and_not_held(tmp_path):
    """map.json is not held for the release's life (79 MB of Python objects at 100x
    scale): ``/map.json`` is the file's bytes, and the renderings share one parse while
    they run (``use``), freed after. Known-bad beside it: a MapData that kept the parse
    holds ~10x the file's size."""
    import gc
    import tracemalloc

    cells = [
        {"scenario": f"s{i}", "kind": f"k{i % 97}", "fields": [{"iri": f"f{i}", "label": "x"}]}
        for i in range(20_000)
    ]
    body = json.dumps({"domains": [], "groups": [], "cells": cells}).encode("utf-8")
    (tmp_path / datamap.MAP_FILE).write_bytes(body)
    kept = json.loads(body)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        data = MapData(SimpleNamespace(root=tmp_path), site=None)
        held = tracemalloc.get_traced_memory()[0] - base
        with data.use() as first, data.use() as second:  # two renderings at once
            holding = tracemalloc.get_traced_memory()[0] - base
            assert first is second and first == kept  # one parse, shared
        with data.use() as first:  # (what the route does: only the map in the block)
            first_id = id(first)
            with data.use() as second:
                assert second is first
        del first, second
        gc.collect()
        after = tracemalloc.get_traced_memory()[0] - base
        tracemalloc.reset_peak()
        assert data.body() == body
        peak_of_body = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert first_id
    assert holding > 4 * len(body)  # the measure sees a held parse
    assert held < len(body) // 20, held
    assert after < len(body) // 20, after  # freed once no rendering uses it
    assert peak_of_body < 3 * len(body), peak_of_body  # the bytes, not a parse
    (tmp_path / datamap.MAP_FILE).write_bytes(b"{not json")  # changed by hand: no path
    with pytest.raises(StoreError) as err, data.use():
        pass
    assert err.value.file is None and str(tmp_path) not in err.value.message
    (tmp_path / datamap.MAP_FILE).unlink()  # gone later (by hand): a store error, no path
    for ask in (data.use().__enter__, data.body):
        with pytest.raises(StoreError) as err:
            ask()
        assert err.value.file is None and str(tmp_path) not in err.value.message


def test_a_release_without_map_json_computes_the_same_map_from_its_store(release, tmp_path):
    """Releases built before the map existed: the same map, computed once from the store."""
    store = tmp_path / "store"
    shutil.copytree(release.store_dir, store)
    site = SimpleNamespace(pages=SimpleNamespace(describer=Describer(store, [])))
    data = MapData(SimpleNamespace(root=tmp_path), site=site)
    assert data.body() == (release.root / datamap.MAP_FILE).read_bytes()
    with data.use() as first:
        pass
    with data.use() as second:
        assert second is first  # computed once


def test_the_page_table_links_every_field_behind_every_cell(http, release, release_map):
    """The table under the picture: each scenario's shared kinds and, for each, links to its
    fields."""
    html = http.get("/map", headers={"Accept": BROWSER_ACCEPT}).text
    table = html.split('id="map-table"')[1].split("</details>")[0]
    base = str(http.base_url).rstrip("/")
    linked = {href for href in re.findall(r'href="([^"]+)"', table)}
    fields = sorted({f["iri"] for c in release_map["cells"] for f in c["fields"]})
    wanted = {base + "/" + iri[len(release.base_iri) :] for iri in fields}
    assert wanted <= linked
    assert len(wanted) > 200
    for href in sorted(wanted)[::25]:  # a spread of them: each is a real page
        r = http.get(urlsplit(href).path + ".html")
        assert r.status_code == 200, href
