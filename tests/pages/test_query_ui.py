"""The query page for people who don't write SPARQL, in headless chromium against the real
server: errors as readable messages in the page's language (YASGUI and the plain form),
IRIs of the dataset linking to their pages, YASGUI's own labels in Chinese on Chinese
pages. Screenshots under test-artifacts/pages/."""

from __future__ import annotations

import html
import os
import re
from urllib.parse import urlencode

import pytest

from sparql_api.i18n import YASGUI_ZH, describe_error
from sparql_api.ui import vendor_ready
from tests.pages.conftest import (
    ARTIFACTS,
    BROWSER_ACCEPT,
    FORMS,
    LABELLED,
    media,
    offered_by_endpoint,
)

pytestmark = pytest.mark.browser

UNDECLARED = "SELECT ?s WHERE { ?s a dip:Scenario } LIMIT 3"
BROKEN = "SELECT ?s WHERE { ?s ?p }"
SCENARIOS = (
    "SELECT ?s ?label WHERE { ?s a <https://w3id.org/dipkg/ontology#Scenario> ; "
    "<http://www.w3.org/2000/01/rdf-schema#label> ?label } ORDER BY ?s LIMIT 60"
)


def needs_yasgui() -> None:
    if not vendor_ready():
        if os.environ.get("CI"):
            pytest.fail(
                "YASGUI is not installed"
                " (make install copies it into sparql_api/static/vendor/yasgui)"
            )
        pytest.skip("YASGUI is not installed: run make install")


def run_in_yasgui(page, site, query: str, path: str = "/query") -> None:
    page.goto(site.url + path)
    page.wait_for_selector(".yasqe .CodeMirror")
    page.evaluate("q => document.querySelector('.CodeMirror').CodeMirror.setValue(q)", query)
    page.click(".yasqe_queryButton")


# -- the error text itself (no browser) ------------------------------------------------
def test_describe_error_in_both_languages() -> None:
    prefix = {
        "error": "query-syntax",
        "status": 400,
        "message": "the prefix dip: is not declared; add …",
        "line": 1,
        "column": 23,
        "details": {"prefix": "dip", "namespace": "https://w3id.org/dipkg/ontology#"},
    }
    zh, en = describe_error(prefix, "zh"), describe_error(prefix, "en")
    assert zh["where"] == "第 1 行，第 23 列" and en["where"] == "Line 1, column 23"
    assert "PREFIX dip: <https://w3id.org/dipkg/ontology#>" in zh["text"] and "未声明" in zh["text"]
    expected = {
        "error": "query-syntax",
        "message": "syntax error at 2:3: expected WHERE, {",
        "line": 2,
        "column": 3,
        "details": {"expected": ["WHERE", "{"]},
    }
    assert describe_error(expected, "zh")["text"] == "此处应为以下之一：WHERE, {"
    # a check of the grammar: its sentence, after a lead-in in the page's language
    reason = {
        "error": "query-syntax",
        "message": "syntax error at 1:41: the SELECT contains a variable that is unbound",
        "line": 1,
        "column": 41,
        "details": {"reasons": ["The SELECT contains a variable that is unbound"]},
    }
    zh = describe_error(reason, "zh")["text"]
    assert zh.startswith("查询不符合 SPARQL 的规则") and "variable that is unbound" in zh
    assert "1:41" not in zh  # the place is said once, as "where"
    assert describe_error({"error": "timeout", "message": "query timed out"}, "zh")[
        "text"
    ].startswith("查询超时")
    # a format not offered: the ones that are, in the page's language (names as /sparql reads)
    refused = {
        "error": "not-acceptable",
        "status": 406,
        "message": "the format 'ttl' is not offered for this query; offered: JSON (json), …",
        "details": {
            "offered": ["application/sparql-results+json", "text/csv"],
            "formats": {
                "application/sparql-results+json": ["json", "srj"],
                "text/csv": ["csv"],
            },
        },
    }
    zh = describe_error(refused, "zh")
    assert zh["title"] == "不提供所选的格式" and zh["text"] == "此查询提供的格式：json, csv"
    assert describe_error(refused, "en")["text"] == "Formats offered for this query: json, csv"
    # unknown errors keep the server's own words rather than inventing some
    assert (
        describe_error({"error": "query-evaluation", "message": "type error"}, "en")["text"]
        == "type error"
    )


# -- YASGUI -----------------------------------------------------------------------------
def test_yasgui_shows_a_readable_error_in_chinese(page, site) -> None:
    needs_yasgui()
    run_in_yasgui(page, site, UNDECLARED)
    page.wait_for_selector(".yasr .query-error", timeout=20000)
    text = page.inner_text(".yasr .query-error")
    assert "查询语法错误" in text and "第 1 行，第 24 列" in text
    assert "PREFIX dip: <https://w3id.org/dipkg/ontology#>" in text
    assert '{"error"' not in page.inner_text(".yasr")  # not the raw JSON
    assert not page.js_errors, page.js_errors
    page.screenshot(path=str(ARTIFACTS / "query-error-zh.png"))


def test_yasgui_error_in_english_lists_what_may_come(page, site) -> None:
    needs_yasgui()
    run_in_yasgui(page, site, BROKEN, "/query?lang=en")
    page.wait_for_selector(".yasr .query-error", timeout=20000)
    text = page.inner_text(".yasr .query-error")
    assert (
        "Syntax error in the query" in text
        and "Line 1, column" in text
        and "Expected here one of:" in text
    )
    assert '{"error"' not in page.inner_text(".yasr")
    page.screenshot(path=str(ARTIFACTS / "query-error-en.png"))


def test_yasgui_links_dataset_iris_to_their_pages(page, site) -> None:
    needs_yasgui()
    run_in_yasgui(page, site, SCENARIOS)
    page.wait_for_selector(".yasr table tbody tr", timeout=20000)
    hrefs = page.eval_on_selector_all(
        ".yasr table a.iri", "els => els.map(a => a.getAttribute('href'))"
    )
    assert hrefs and all(h.startswith(site.url + "/scenario/guizhou-b1-s") for h in hrefs)
    # the hook is the table's own link renderer, so the next page of results links too
    page.select_option(".yasr .pageSizeWrapper select", "10")
    page.click(".yasr .dataTables_paginate .next, .yasr [aria-label=下一页]")
    later = page.eval_on_selector_all(
        ".yasr table a.iri", "els => els.map(a => a.getAttribute('href'))"
    )
    assert (
        later
        and later != hrefs[: len(later)]
        and all(h.startswith(site.url + "/scenario/") for h in later)
    )
    page.click(".yasr table a.iri >> nth=0")
    page.wait_for_load_state()
    assert (
        "/scenario/guizhou-b1-s" in page.url
        and page.evaluate("document.documentElement.lang") == "zh-Hans"
    )
    assert not page.js_errors, page.js_errors


def test_yasgui_labels_in_chinese_on_chinese_pages(page, site) -> None:
    needs_yasgui()
    run_in_yasgui(page, site, SCENARIOS)
    page.wait_for_selector(".yasr table tbody tr", timeout=20000)
    page.wait_for_timeout(300)
    shown = page.inner_text("#yasgui")
    for english, chinese in (
        ("Table", "表格"),
        ("Simple view", "简洁视图"),
        ("Page size:", "每页行数："),
    ):
        assert chinese in shown and english not in shown
    assert "条结果，用时" in shown and "results in" not in shown
    assert (
        page.get_attribute(".yasr input[type=search], .yasr .tableFilter", "placeholder")
        == YASGUI_ZH["Filter query results"]
    )
    page.click(".addTab")  # a new tab was "Query 1" on the Chinese page
    page.wait_for_function("document.querySelectorAll('.tabsList [role=tab]').length === 2")
    tabs = page.eval_on_selector_all(".tabsList [role=tab]", "els => els.map(e => e.innerText)")
    assert [name.split("\n")[0].strip() for name in tabs] == ["查询", "查询 1"], tabs
    page.screenshot(path=str(ARTIFACTS / "query-yasgui-zh.png"), full_page=True)
    # the known-bad twin: the English page keeps YASGUI's English labels
    run_in_yasgui(page, site, SCENARIOS, "/query?lang=en")
    page.wait_for_selector(".yasr table tbody tr", timeout=20000)
    assert "Simple view" in page.inner_text("#yasgui") and "简洁视图" not in page.inner_text(
        "#yasgui"
    )
    page.click(".addTab")
    page.wait_for_function("document.querySelectorAll('.tabsList [role=tab]').length === 2")
    tabs = page.eval_on_selector_all(".tabsList [role=tab]", "els => els.map(e => e.innerText)")
    assert [name.split("\n")[0].strip() for name in tabs] == ["Query", "Query 1"], tabs


def test_yasgui_downloads_follow_the_query_in_the_editor(page, site, http) -> None:
    """With JavaScript, the download links are those of the query last run in the editor:
    what /sparql offers for its form, each answering in the media type its label names."""
    needs_yasgui()
    for form in ("CONSTRUCT", "ASK", "DESCRIBE", "SELECT"):
        query = FORMS[form][0]
        offered = offered_by_endpoint(http, query)
        run_in_yasgui(page, site, query)
        page.wait_for_function(
            "([first, q]) => { const a = document.querySelector('#download-links a');"
            " return !!a && a.textContent === first && a.href.includes(encodeURIComponent(q)); }",
            arg=[offered[0], query],
            timeout=10000,
        )
        links = page.eval_on_selector_all(
            "#download-links a", "els => els.map(a => [a.textContent, a.href])"
        )
        assert [label for label, _ in links] == offered, form
        for label, href in links:
            followed = http.get(href, headers={"Accept": BROWSER_ACCEPT})
            assert followed.status_code == 200, (form, label, followed.text[:300])
            assert media(followed) == LABELLED[label], (form, label)
        assert page.is_hidden("#no-downloads")
    assert not page.js_errors, page.js_errors


# -- the plain form (no JavaScript) ------------------------------------------------------
@pytest.fixture()
def no_js(chromium):
    context = chromium.new_context(
        java_script_enabled=False, locale="zh-CN", viewport={"width": 1280, "height": 900}
    )
    yield context.new_page()
    context.close()


def test_plain_form_shows_results_with_links(no_js, site) -> None:
    pg = no_js
    pg.goto(site.url + "/query")
    pg.fill("#query-text", SCENARIOS)
    # the form's submit navigates: wait for the new page, then for its table (a loaded CI run
    # once looked at the page before the answer's had loaded: no table, the form page)
    with pg.expect_navigation(wait_until="load"):
        pg.click("#plain-run")
    assert "run=1" in pg.url
    pg.wait_for_selector("#plain-results table.results", state="visible", timeout=15_000)
    hrefs = pg.eval_on_selector_all(
        "#plain-results a.iri", "els => els.map(a => a.getAttribute('href'))"
    )
    assert len(hrefs) == 46 and all(
        h.startswith(site.url + "/scenario/guizhou-b1-s") for h in hrefs
    )  # 23 × zh, en
    assert "共 46 行" in pg.inner_text("#plain-results")
    assert pg.input_value("#query-text") == SCENARIOS  # the query stays in the form to edit
    pg.screenshot(path=str(ARTIFACTS / "query-plain-results.png"), full_page=True)
    pg.click("#plain-results a.iri >> nth=0")
    assert "/scenario/guizhou-b1-s" in pg.url


@pytest.mark.parametrize(
    "lang,title,where",
    [
        ("zh", "查询语法错误", "第 1 行，第 24 列"),
        ("en", "Syntax error in the query", "Line 1, column 24"),
    ],
)
def test_plain_form_shows_a_readable_error(no_js, site, lang, title, where) -> None:
    response = no_js.goto(
        site.url + "/query?" + urlencode({"lang": lang, "q": UNDECLARED, "run": "1"})
    )
    assert response is not None and response.status == 400
    text = no_js.inner_text("#plain-results .query-error")
    assert (
        title in text and where in text and "PREFIX dip: <https://w3id.org/dipkg/ontology#>" in text
    )
    assert '{"error"' not in no_js.inner_text("main")
    no_js.screenshot(path=str(ARTIFACTS / f"query-plain-error-{lang}.png"), full_page=True)


def test_plain_form_boolean_and_download(no_js, site) -> None:
    no_js.goto(
        site.url
        + "/query?"
        + urlencode({"q": "ASK { ?s a <https://w3id.org/dipkg/ontology#Scenario> }", "run": "1"})
    )
    assert "是（true）" in no_js.inner_text("#plain-results")
    no_js.fill(
        "#query-text",
        "SELECT (COUNT(*) AS ?n) WHERE { ?s a <https://w3id.org/dipkg/ontology#Scenario> }",
    )
    no_js.select_option("#query-format", "csv")
    with no_js.expect_download() as download:
        no_js.click("#plain-download")
    assert open(download.value.path(), encoding="utf-8").read().splitlines() == ["n", "23"]


@pytest.mark.parametrize(
    "iri",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    ],
)
def test_plain_form_links_only_http_iris(http, iri) -> None:
    """The plain form runs the query in its URL: an IRI of another scheme in the answer is
    shown as text, never a link (one click on a crafted link would run script here)."""
    query = (
        f"SELECT ?x WHERE {{ VALUES ?x {{ <{iri}> <http://example.org/a> "
        "<https://w3id.org/dipkg/scenario/guizhou-b1-s01> } }"
    )
    r = http.get("/query", params={"q": query, "run": "1"}, headers={"Accept": "text/html"})
    assert r.status_code == 200
    hrefs = re.findall(r'<a class="iri" href="([^"]*)"', r.text)
    assert len(hrefs) == 2 and hrefs[0] == "http://example.org/a"
    assert hrefs[1].endswith("/scenario/guizhou-b1-s01")  # (its page on this site)
    assert html.escape(iri, quote=False) in r.text  # shown, as text


def test_plain_form_counts_one_row_as_one_row(http) -> None:
    """A one-row answer (a COUNT) reads "1 row" in English, not "1 rows"."""
    q = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    h = {"Accept": BROWSER_ACCEPT}
    en = http.get("/query", params={"q": q, "run": "1", "lang": "en"}, headers=h)
    assert en.status_code == 200 and '<p class="muted">1 row</p>' in en.text
    zh = http.get("/query", params={"q": q, "run": "1", "lang": "zh"}, headers=h)
    assert '<p class="muted">共 1 行</p>' in zh.text
