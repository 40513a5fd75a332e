"""Fixtures of the linked-data tests: a real uvicorn server on 127.0.0.1 over the
session's build, an HTTP client, and headless Debian chromium through Playwright.

Browser tests are marked ``browser``. Without chromium they are skipped with a
clear message locally, and FAIL when the environment variable CI is set (CI must
not silently skip them)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import rdflib

from dipkg.core.release import Release, open_release
from tests.endpoint.conftest import Server, serving

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "pages"
CHROMIUM = os.environ.get("DIPKG_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

#: the media type each format label of the query page names (apart from the code's own table)
LABELLED = {
    "SPARQL Results JSON": "application/sparql-results+json",
    "SPARQL Results XML": "application/sparql-results+xml",
    "SPARQL Results CSV": "text/csv",
    "SPARQL Results TSV": "text/tab-separated-values",
    "Excel workbook (XLSX)": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "Turtle": "text/turtle",
    "N-Triples": "application/n-triples",
    "JSON-LD": "application/ld+json",
    "RDF/XML": "application/rdf+xml",
    "N-Quads": "application/n-quads",
    "TriG": "application/trig",
}
#: one query of each form, and what /sparql offers at least for it
FORMS = {
    "SELECT": ("SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 3", list(LABELLED)[:5]),
    "ASK": ("ASK { ?s ?p ?o }", list(LABELLED)[:5]),
    "CONSTRUCT": ("CONSTRUCT {?s ?p ?o} WHERE {?s ?p ?o} LIMIT 3", list(LABELLED)[5:9]),
    "DESCRIBE": ("DESCRIBE <https://w3id.org/dipkg/scenario/guizhou-b1-s01>", list(LABELLED)[5:9]),
}


def media(r: httpx.Response) -> str:
    return r.headers.get("content-type", "").split(";")[0].strip()


def offered_by_endpoint(http: httpx.Client, query: str) -> list[str]:
    """The labels of the formats /sparql answers ``query`` in (asked by media type)."""
    return [
        label
        for label, media_type in LABELLED.items()
        if http.get("/sparql", params={"query": query, "format": media_type}).status_code == 200
    ]


@pytest.fixture(scope="session")
def release(built_data: Path) -> Release:
    return open_release(built_data)


@pytest.fixture(scope="session")
def site(built_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``python -m sparql_api.server`` (the app of ``dipkg serve``) on a free port."""
    # the tests play a reverse proxy at 127.0.0.1 (X-Forwarded-*): trusted here only
    yield from serving(
        built_data,
        tmp_path_factory,
        "pages-server",
        DIPKG_QUERY_WORKERS="1",
        DIPKG_TRUSTED_PROXIES='["127.0.0.1"]',
    )


@pytest.fixture(scope="session")
def http(site: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=site.url, timeout=30, follow_redirects=False) as client:
        yield client


@pytest.fixture(scope="session")
def dump_graph(release: Release) -> rdflib.Graph:
    g = rdflib.Graph()
    g.parse(release.dumps_dir / "dipkg.nt", format="nt")
    return g


@pytest.fixture(scope="session")
def catalog_graph(release: Release) -> rdflib.Graph:
    g = rdflib.Graph()
    g.parse(release.root / "catalog.ttl", format="turtle")
    return g


def _no_browser(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run in CI: {reason}")
    pytest.skip(f"browser tests skipped: {reason} (apt-get install chromium)")


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _no_browser(f"no chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _no_browser("the Python package playwright is missing")
    pw = sync_playwright().start()
    try:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    except Exception as exc:  # noqa: BLE001
        pw.stop()
        _no_browser(f"chromium did not start: {exc}")
    try:
        yield browser
    finally:
        browser.close()
        pw.stop()


def _csp(text: str) -> bool:
    return "Content Security Policy" in text


@pytest.fixture()
def page(chromium, request: pytest.FixtureRequest) -> Iterator[object]:
    """A fresh page; a screenshot of it is saved under test-artifacts/pages/ at the end."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    # what the Content-Security-Policy refused (an inline style, an eval, a request
    # elsewhere) is a page error too: Chromium reports it on the console
    pg.on("console", lambda msg: _csp(msg.text) and errors.append(msg.text))
    pg.js_errors = errors  # type: ignore[attr-defined]
    try:
        yield pg
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = request.node.name.replace("/", "_").replace("[", "-").replace("]", "")
        try:
            pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        except Exception:  # noqa: BLE001
            pass
        context.close()
