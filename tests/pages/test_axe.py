"""axe-core (from npm, package.json's devDependencies; `make install` runs `npm ci`) on every
kind of page, in Chinese and in English, in headless Debian chromium against the real
server: no serious or critical accessibility violation. Beside it, the same check on a page
broken on purpose, so it cannot pass by checking nothing."""

from __future__ import annotations

import os

import pytest

from tests.pages.conftest import ROOT

pytestmark = pytest.mark.browser

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"

#: one page of each kind; each is checked as served to a Chinese browser and with ?lang=en
PAGES = [
    ("home", "/"),
    ("domain", "/domain/industry"),
    ("scenario", "/scenario/guizhou-b1-s01"),
    ("category", "/scenario/guizhou-b1-s01/data/1"),
    ("field", "/scenario/guizhou-b1-s01/data/1.2"),
    ("ontology", "/ontology"),
    ("ontology-term", "/ontology#hasField"),
    ("data-kind", "/concept/voltage"),
    ("scheme", "/scheme/data-kinds"),
    ("guide", "/guide/guizhou-b1"),
    ("dataset", "/dataset"),
    ("dumps", "/dumps/"),
    ("changes", "/changes"),
    ("catalogue", "/catalog.html"),
    ("search", "/search?q=温度"),
    ("search-nothing", "/search?q=zzqqxx"),
    ("match", "/match"),
    ("match-results", "/match?fields=土壤墒情、降雨量、施肥量"),
    ("map", "/map"),
    ("query", "/query"),
    ("query-plain", "/query?q=SELECT+*+WHERE+%7B%3Fs+%3Fp+%3Fo%7D+LIMIT+3&run=1"),
    ("not-found", "/scenario/guizhou-b1-s99"),
]

#: violations left on purpose, with why (page kind -> axe rule ids)
KNOWN = {
    # CodeMirror's scrolling box is not focusable itself; the editor is, by its own textarea
    # (named by query.js), and typing there scrolls the box
    "query": {"scrollable-region-focusable"},
    # the map's column heads are cut to fit ("Temperature and humi…"); the link's name is
    # the whole label, which the cut text does not match word for word
    "map": {"label-content-name-mismatch"},
}

RUN = """
async () => {
  const result = await axe.run(document, { resultTypes: ['violations'] });
  return result.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => ({ id: v.id, impact: v.impact,
                 nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ')) }));
}
"""


def axe_source() -> str:
    if not AXE.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"axe-core is not installed at {AXE} (make install runs npm ci)")
        pytest.skip("axe-core is not installed: run make install (needs npm)")
    return AXE.read_text(encoding="utf-8")


def serious(page, source: str) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now."""
    # evaluated through the DevTools protocol: the page's Content-Security-Policy, which
    # refuses inline scripts, stays on
    page.evaluate(source + "\n;0")
    return page.evaluate(RUN)


def url_of(base: str, path: str, lang: str) -> str:
    if lang == "zh":
        return base + path
    path, _, fragment = path.partition("#")
    return (
        base
        + path
        + ("&" if "?" in path else "?")
        + "lang=en"
        + ("#" + fragment if fragment else "")
    )


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("name,path", PAGES, ids=[p[0] for p in PAGES])
def test_axe_finds_no_serious_violation(page, site, name, path, lang):
    source = axe_source()
    if name == "query-plain":  # the query page without YASGUI: its plain form and results
        page.route("**/static/vendor/**", lambda route: route.abort())
    response = page.goto(url_of(site.url, path, lang))
    assert response is not None and response.status == (404 if name == "not-found" else 200)
    assert page.evaluate("document.documentElement.lang") == ("en" if lang == "en" else "zh-Hans")
    if name == "query":
        page.wait_for_selector(".yasqe .CodeMirror", timeout=20000)
        page.click("#example-01-scenarios-per-domain .example-button")
        page.wait_for_selector(".yasr table tbody tr", timeout=20000)
    elif name == "query-plain":
        assert page.is_visible("#plain-form")
    found = [v for v in serious(page, source) if v["id"] not in KNOWN.get(name, set())]
    assert not found, found
    # ... and the check sees: the same page with its search box's label taken away
    if name == "home":
        page.evaluate(
            "() => { document.querySelector('label[for=site-q]').remove();"
            " document.getElementById('site-q').removeAttribute('placeholder'); }"
        )
        assert "label" in {v["id"] for v in serious(page, source)}


def test_axe_flags_a_known_bad_page(page):
    source = axe_source()
    page.set_content(
        '<!doctype html><html lang="en"><head><title>bad</title></head><body><main>'
        '<h1>Bad</h1><input id="q"><p style="color:#bbb;background:#fff">faint text</p>'
        '<div role="tablist"><button>+</button></div></main></body></html>'
    )
    ids = {v["id"] for v in serious(page, source)}
    assert {"label", "color-contrast", "aria-required-children"} <= ids, ids
