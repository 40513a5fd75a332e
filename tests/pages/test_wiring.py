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
