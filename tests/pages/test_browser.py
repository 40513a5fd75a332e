"""Each page kind and the query UI in headless Debian chromium (Playwright), against the
real server; accessibility checks; screenshots under test-artifacts/pages/."""

from __future__ import annotations

import pytest

from sparql_api.ui import vendor_ready
from tests.pages.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

PAGES = [
    ("landing", "/", "zh-Hans"),
    ("landing-en", "/?lang=en", "en"),
    ("domain", "/domain/industry", "zh-Hans"),
    ("scenario", "/scenario/guizhou-b1-s01", "zh-Hans"),
    ("scenario-en", "/scenario/guizhou-b1-s05?lang=en", "en"),
    ("category", "/scenario/guizhou-b1-s01/data/1", "zh-Hans"),
    ("field", "/scenario/guizhou-b1-s01/data/1.2", "zh-Hans"),
    ("concept", "/concept/voltage", "zh-Hans"),
    ("scheme", "/scheme/domains", "zh-Hans"),
    ("guide", "/guide/guizhou-b1", "zh-Hans"),
    ("ontology", "/ontology?lang=en", "en"),
    ("dataset", "/dataset", "zh-Hans"),
    ("dumps", "/dumps/", "zh-Hans"),
    ("changes", "/changes?lang=en", "en"),
    ("catalog", "/catalog.html", "zh-Hans"),
    ("catalog-en", "/catalog.html?lang=en", "en"),
    ("query", "/query", "zh-Hans"),
    ("search", "/search?q=温度", "zh-Hans"),
    ("search-en", "/search?q=temperature&lang=en", "en"),
    ("search-empty", "/search", "zh-Hans"),
    ("match", "/match?fields=土壤墒情、降雨量、施肥量", "zh-Hans"),
    ("match-en", "/match?fields=blood+pressure,+heart+rate&lang=en", "en"),
    ("concept-temperature", "/concept/temperature", "zh-Hans"),
    ("not-found", "/scenario/guizhou-b1-s99", "zh-Hans"),
]

# contrast of the body text and of links against their background (WCAG 2 relative luminance)
CONTRAST_JS = """
() => {
  function rgb(s) { const m = s.match(/\\d+(\\.\\d+)?/g).map(Number);
                    return m.length >= 4 && m[3] === 0 ? null : m.slice(0, 3); }
  function lum(c) { const v = c.map(x => { x /= 255;
                      return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
                    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; }
  function bg(el) { while (el) { const c = rgb(getComputedStyle(el).backgroundColor);
                                 if (c) return c; el = el.parentElement; }
                    return [255, 255, 255]; }
  function ratio(el) { const a = lum(rgb(getComputedStyle(el).color)), b = lum(bg(el));
                       return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05); }
  const els = [...document.querySelectorAll(
       'main p, main li, main a, main td, main dd, main h1, main h2, footer p, header a')]
     .filter(e => e.offsetParent !== null && e.textContent.trim()).slice(0, 300);
  return els.map(e => [e.tagName + '.' + e.className, ratio(e)]).filter(x => x[1] < 4.5);
}
"""

A11Y_JS = """
() => {
  const problems = [];
  for (const tag of ['header', 'nav', 'main', 'footer'])
    if (!document.querySelector(tag)) problems.push('no <' + tag + '>');
  const h1 = document.querySelectorAll('h1').length; if (h1 !== 1) problems.push(h1 + ' h1');
  let last = 0;
  for (const h of document.querySelectorAll('main h1, main h2, main h3, main h4')) {
    const level = Number(h.tagName[1]);
    if (level > last + 1)
      problems.push('heading jumps to ' + h.tagName + ': ' + h.textContent.trim().slice(0, 40));
    last = level;
  }
  for (const img of document.querySelectorAll('img'))
    if (!img.hasAttribute('alt')) problems.push('img without alt');
  for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
    if (el.closest('#yasgui')) continue;  // YASGUI's own widgets
    const id = el.id;
    const labelled = (id && document.querySelector('label[for="' + id + '"]')) ||
      el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || el.closest('label');
    if (!labelled) problems.push('unlabelled ' + el.tagName + (id ? '#' + id : ''));
  }
  return problems;
}
"""


@pytest.mark.parametrize("name,path,lang", PAGES, ids=[p[0] for p in PAGES])
def test_page_in_chromium(page, site, name, path, lang):
    response = page.goto(site.url + path)
    assert response is not None
    assert response.status == (404 if name == "not-found" else 200)
    assert page.evaluate("document.documentElement.lang") == lang
    assert page.title()
    problems = page.evaluate(A11Y_JS)
    assert not problems, problems
    low = page.evaluate(CONTRAST_JS)
    assert not low, f"text below 4.5:1 contrast: {low[:5]}"
    # the stylesheet is loaded (no CDN: every resource comes from this server)
    assert page.evaluate("getComputedStyle(document.body).fontFamily").startswith("system-ui")
    assert not page.js_errors, page.js_errors


def test_visible_focus(page, site):
    page.goto(site.url + "/")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"


def test_language_switch_link(page, site):
    page.goto(site.url + "/scenario/guizhou-b1-s01")
    assert page.evaluate("document.documentElement.lang") == "zh-Hans"
    page.click("text=English")
    assert page.evaluate("document.documentElement.lang") == "en"
    assert "Production process optimisation" in page.inner_text("h1")
    page.click("main a[href*='/domain/industry']")  # links keep the choice
    assert page.evaluate("document.documentElement.lang") == "en"


def test_hash_iri_lands_on_the_term(page, site):
    page.goto(site.url + "/ontology#hasField")
    assert page.url.endswith("/ontology.html#hasField")
    assert page.evaluate("document.querySelector(':target')?.id") == "hasField"


def test_query_ui_runs_an_example_and_shows_rows(page, site):
    import os

    if not vendor_ready():
        if os.environ.get("CI"):
            pytest.fail(
                "YASGUI is not installed"
                " (make install copies it into sparql_api/static/vendor/yasgui)"
            )
        pytest.skip("YASGUI is not installed: run make install")
    page.goto(site.url + "/query")
    page.wait_for_selector(".yasqe .CodeMirror")
    assert page.is_hidden("#plain-form")
    page.click("#example-01-scenarios-per-domain .example-button")
    page.wait_for_selector(".yasr table tbody tr", timeout=20000)
    rows = page.locator(".yasr table tbody tr")
    assert rows.count() == 5
    assert "工业领域" in page.inner_text(".yasr table")
    href = page.get_attribute("#download-links a[data-format=csv]", "href")
    assert "/sparql?query=" in href and "format=csv" in href
    # the editor highlights the syntax
    assert page.locator(".yasqe .cm-keyword").count() > 0
    assert not page.js_errors, page.js_errors
    page.screenshot(path=str(ARTIFACTS / "query-results.png"), full_page=False)


def test_query_ui_without_javascript(chromium, site):
    context = chromium.new_context(java_script_enabled=False)
    pg = context.new_page()
    try:
        pg.goto(site.url + "/query")
        assert pg.is_visible("#query-text") and pg.is_visible("#query-format")
        # an example loads into the form (no JavaScript: a plain GET)
        pg.click("#example-02-scenarios-needing-temperature .example-button")
        assert "example=02-scenarios-needing-temperature" in pg.url
        from kg.queries import load_queries

        expected = next(
            q.text for q in load_queries() if q.id == "02-scenarios-needing-temperature"
        )
        assert pg.input_value("#query-text").strip() == expected.strip()
        pg.fill(
            "#query-text",
            "SELECT (COUNT(*) AS ?n) WHERE { ?s a <https://w3id.org/dipkg/ontology#Scenario> }",
        )
        pg.select_option("#query-format", "csv")
        with pg.expect_download() as download:
            pg.click("#plain-download")
        path = download.value.path()
        assert open(path, encoding="utf-8").read().splitlines() == ["n", "23"]
    finally:
        context.close()


def test_search_box_suggests_and_finds(page, site):
    page.goto(site.url + "/scenario/guizhou-b1-s18")
    box = page.locator("header #site-q")
    box.fill("温")
    # the suggestions arrive from /search/suggest into the box's datalist
    # (not wait_for_function: Playwright evaluates its text with eval, which the pages'
    # Content-Security-Policy refuses, as it should)
    page.wait_for_selector("#site-suggest option", state="attached", timeout=10000)
    options = page.eval_on_selector_all("#site-suggest option", "els => els.map(e => e.value)")
    assert options[0] == "温度"
    box.fill("温度")
    box.press("Enter")
    page.wait_for_url("**/search?q=*")
    assert page.inner_text("h1") == "搜索"
    assert page.locator("main mark").first.inner_text() == "温度"
    page.click("aside.facets a:has-text('应用场景')")  # the scenario facet
    numbers = page.eval_on_selector_all(
        "ol.results > li > a", "els => els.map(e => e.textContent.split('.')[0])"
    )
    assert numbers == ["1", "2", "3", "5", "7", "9", "17", "18", "19"]
    assert not page.js_errors, page.js_errors


def test_match_form_in_chromium(page, site):
    page.goto(site.url + "/match")
    page.fill("#match-fields", "土壤墒情\n降雨量\n施肥量")
    page.click("main form button[type=submit]")
    page.wait_for_selector("li.match")
    first = page.locator("li.match h3").first.inner_text()
    assert first.startswith("18. 智慧灌溉与施肥系统")
    assert page.locator("li.match").first.locator("table.side tbody tr").count() == 3
    assert "该场景还需要" in page.locator("li.match").first.inner_text()
    assert not page.js_errors, page.js_errors


def test_search_and_match_without_javascript(chromium, site):
    context = chromium.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    pg = context.new_page()
    try:
        pg.goto(site.url + "/")
        pg.fill("header #site-q", "blood pressure")
        pg.press("header #site-q", "Enter")
        pg.wait_for_url("**/search?q=*")
        assert pg.locator("ol.results > li").count() > 0
        assert pg.locator("main mark").count() > 0
        pg.goto(site.url + "/match")
        pg.fill("#match-fields", "blood pressure, heart rate")
        pg.click("main form button[type=submit]")
        assert pg.locator("li.match h3").first.inner_text().startswith("22.")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / "match-without-javascript.png"), full_page=True)
    finally:
        context.close()


def test_no_page_is_wider_than_a_phone(chromium, site):
    """At a phone's width (360 px) no page scrolls sideways as a whole: a table wider
    than the screen scrolls in its own box (the downloads page was 1,074 px wide, its
    XLSX media type unbroken; the catalogue's 827 px, a resource's statements 807 px, a
    match's 1,363 px, its long JSON link unbroken)."""
    context = chromium.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    pg = context.new_page()
    paths = [path for _, path, _ in PAGES] + [
        "/search?q=temperature&lang=en",
        "/match?fields=temperature%2C%20rainfall&lang=en",
        "/match?fields=%E5%9C%9F%E5%A3%A4%E5%A2%92%E6%83%85",
        "/map?lang=en",
    ]
    wide = {}
    try:
        for path in paths:
            pg.goto(site.url + path)
            pg.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true })")
            width = pg.evaluate("document.documentElement.scrollWidth")
            if width > 360:
                wide[path] = width
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        pg.goto(site.url + "/dumps/?lang=en")
        pg.screenshot(path=str(ARTIFACTS / "dumps-phone.png"), full_page=True)
    finally:
        context.close()
    assert not wide, wide
