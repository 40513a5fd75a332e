"""The linked-data routers inside create_app: the resource catch-all never shadows a route,
whether that route was added before or after it."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from fastapi.testclient import TestClient

from dipkg.core.settings import Settings
from sparql_api.app import create_app
from tests.conftest import StandInPool


def test_catch_all_is_only_a_fallback(release):
    before = APIRouter()

    @before.get("/before")
    async def _before() -> PlainTextResponse:
        return PlainTextResponse("before")

    app = create_app(Settings(), release, pool=StandInPool(), routers=[before])

    @app.get("/domain/industry")  # added after the catch-all: still wins
    async def _after() -> PlainTextResponse:
        return PlainTextResponse("after")

    with TestClient(app) as client:
        assert client.get("/before").text == "before"
        assert client.get("/domain/industry").text == "after"
        r = client.get("/domain/finance", headers={"Accept": "text/turtle"}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].endswith("/domain/finance.ttl")
        assert client.post("/domain/finance").status_code == 405
        assert client.get("/dumps/dipkg.nt").status_code == 200
        health = client.get("/health")  # the stand-in is a whole pool: /health reads it
        assert health.status_code == 200 and health.json()["workers"] == {"alive": 1, "total": 1}


def test_query_page_without_the_vendor_files_offers_the_plain_form(release, monkeypatch, tmp_path):
    import sparql_api.ui as ui

    monkeypatch.setattr(ui, "VENDOR", tmp_path / "missing")
    app = create_app(Settings(), release, pool=StandInPool())
    with TestClient(app) as client:
        text = client.get("/query", headers={"Accept": "text/html"}).text
    assert "make install" in text and "yasgui.min.js" not in text
    assert '<form id="plain-form" method="get"' in text and '<label for="query-text">' in text


def test_the_pages_store_and_search_index_open_on_first_use(release, monkeypatch):
    """Neither the pages' store nor the search index is read at start-up (memory of the web
    process, bench/PROFILE.md); the first page or search reads it, once."""
    import sparql_api.find as find

    loads: list[object] = []
    real_load = find.SearchIndex.load
    monkeypatch.setattr(
        find.SearchIndex,
        "load",
        classmethod(lambda cls, root: loads.append(root) or real_load(root)),
    )
    app = create_app(Settings(), release, pool=StandInPool(), routers=[])
    with TestClient(app) as client:
        describer = app.state.dipkg.describer
        assert describer._store is None and loads == []
        assert client.get("/", headers={"Accept": "text/html"}).status_code == 200
        page = client.get("/scenario/guizhou-b1-s01.html")
        assert page.status_code == 200 and "guizhou-b1-s01" in page.text
        assert describer._store is not None
        for q in ("temperature", "温度"):
            assert client.get("/search", params={"q": q}).status_code == 200
        assert len(loads) == 1
    describer.close()  # a closed describer answers nothing, and does not reopen
    assert describer.store is None
