"""Nothing is loaded from another host at run time: no CDN, no remote fonts or scripts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dipkg.core.release import open_release
from dipkg.core.settings import Settings
from sparql_api.app import create_app

ROOT = Path(__file__).resolve().parent.parent
# what a page LOADS (not what it links to): scripts, stylesheets, icons, images, frames, fonts
LOADED = re.compile(
    r"""<(?:script|img|iframe|source|video|audio)\b[^>]*\bsrc\s*=\s*["']([^"']+)"""
    r"""|<link\b[^>]*\brel\s*=\s*["'][^"']*(?:stylesheet|icon|preload|modulepreload|manifest)[^"']*["'][^>]*\bhref\s*=\s*["']([^"']+)"""
    r"""|<link\b[^>]*\bhref\s*=\s*["']([^"']+)["'][^>]*\brel\s*=\s*["'][^"']*(?:stylesheet|icon|preload|modulepreload|manifest)""",
    re.I,
)
CSS_REMOTE = re.compile(r"""(?:@import|url\()\s*["']?(?:https?:)?//""", re.I)


def remote(urls: list[str], own_host: str = "testserver") -> list[str]:
    out = []
    for url in urls:
        if re.match(r"^(?:https?:)?//", url, re.I) and not re.match(
            rf"^(?:https?:)?//{own_host}(?:[:/]|$)", url, re.I
        ):
            out.append(url)
    return out


def loaded(body: str) -> list[str]:
    return [next(g for g in m.groups() if g) for m in LOADED.finditer(body)]


@pytest.fixture(scope="module")
def client(built_data: Path):
    with TestClient(create_app(Settings(query_workers=1), open_release(built_data))) as c:
        yield c


def test_fastapi_docs_pages_are_off(client):
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404
    assert client.get("/openapi.json").status_code == 200


@pytest.mark.parametrize(
    "path", ["/", "/query", "/dumps/", "/ontology.html", "/scenario/guizhou-b1-s01.html", "/nope"]
)
def test_pages_load_nothing_from_other_hosts(client, path):
    body = client.get(path, headers={"Accept": "text/html"}).text
    urls = loaded(body)
    assert urls, "the page should at least load its stylesheet"
    assert remote(urls) == []


def test_templates_and_static_files_reference_no_other_host():
    for folder in (ROOT / "sparql_api" / "templates", ROOT / "sparql_api" / "static"):
        for path in folder.rglob("*"):
            if (
                path.is_file()
                and "vendor" not in path.parts
                and path.suffix in {".html", ".css", ".js"}
            ):
                text = path.read_text(encoding="utf-8")
                assert remote(loaded(text), own_host="{{") == [] and not CSS_REMOTE.findall(text), (
                    path
                )


def test_the_check_catches_a_cdn():
    page = (
        '<link rel="stylesheet" href="https://cdn.example.net/x.css">'
        '<script src="//cdn.example.net/y.js"></script>'
    )
    assert remote(loaded(page)) == ["https://cdn.example.net/x.css", "//cdn.example.net/y.js"]
    assert CSS_REMOTE.findall("@import url('https://fonts.example.com/f.css');")
