"""The Content-Security-Policy and its companions on what a browser renders (HTML, SVG),
on the real server (httpx against uvicorn on 127.0.0.1), and in headless Chromium: an
injected inline script is refused, and the refusal is seen (the pages' tests count every
refusal as a page error, so a page that needs something the policy forbids fails them)."""

from __future__ import annotations

import pytest

from sparql_api.http import PAGE_POLICY, QUERY_PAGE_POLICY
from tests.pages.conftest import BROWSER_ACCEPT

RENDERED = [
    "/",
    "/scenario/guizhou-b1-s01",
    "/scenario/guizhou-b1-s01.html",
    "/domain/industry?lang=en",
    "/search?q=温度",
    "/match?fields=温度",
    "/map",
    "/map.svg",
    "/changes",
    "/dumps/",
    "/catalog.html",
    "/scenario/guizhou-b1-s99",  # the 404 page
]


@pytest.mark.parametrize("path", RENDERED)
def test_every_rendered_document_has_the_policy(http, path: str) -> None:
    r = http.get(path, headers={"Accept": BROWSER_ACCEPT}, follow_redirects=True)
    assert r.headers["content-type"].startswith(("text/html", "image/svg+xml")), path
    for name, value in PAGE_POLICY.items():
        assert r.headers.get(name) == value, (path, name)
    assert "'unsafe-inline'" not in r.headers["content-security-policy"]
    assert "'unsafe-eval'" not in r.headers["content-security-policy"]


def test_the_query_page_allows_inline_styles_only(http) -> None:
    """YASGUI sets inline styles; scripts stay this site's own files."""
    r = http.get("/query", headers={"Accept": BROWSER_ACCEPT})
    assert r.headers["content-security-policy"] == QUERY_PAGE_POLICY
    assert "style-src 'self' 'unsafe-inline'" in QUERY_PAGE_POLICY
    assert "script-src 'self';" in QUERY_PAGE_POLICY and "unsafe-eval" not in QUERY_PAGE_POLICY
    assert r.headers.get_list("content-security-policy") == [QUERY_PAGE_POLICY]


@pytest.mark.parametrize(
    "path", ["/scenario/guizhou-b1-s01.ttl", "/map.json", "/sparql?query=ASK%7B%7D", "/health"]
)
def test_data_is_not_a_page(http, path: str) -> None:
    r = http.get(path)
    assert r.status_code == 200 and "content-security-policy" not in r.headers, path


@pytest.mark.browser
def test_an_injected_inline_script_is_refused_and_reported(page, site) -> None:
    """Known-bad: markup injected into a page (as a template that forgot to escape would)
    runs no inline handler, and the refusal reaches the page errors the tests check."""
    page.goto(site.url + "/scenario/guizhou-b1-s01")
    page.evaluate(
        """() => document.body.insertAdjacentHTML('beforeend',
             '<img src="/static/favicon.svg" onload="window.pwned = 1">')"""
    )
    page.wait_for_timeout(500)
    assert page.evaluate("() => window.pwned") is None
    assert any("Content Security Policy" in e for e in page.js_errors), page.js_errors
