"""The map of shared data and the small pictures in headless Debian chromium (Playwright)
against the real server: accessible, readable, links that work, Chinese text drawn;
screenshots under test-artifacts/pages/ (the whole map at a width that shows it all)."""

from __future__ import annotations

import pytest

from tests.pages.conftest import ARTIFACTS
from tests.pages.test_browser import A11Y_JS, CONTRAST_JS

pytestmark = pytest.mark.browser


def _healthy(page) -> None:
    problems = page.evaluate(A11Y_JS)
    assert not problems, problems
    low = page.evaluate(CONTRAST_JS)
    assert not low, f"text below 4.5:1 contrast: {low[:5]}"
    assert not page.js_errors, page.js_errors


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_map_in_chromium(page, site, lang):
    page.set_viewport_size({"width": 2000, "height": 1000})  # the whole matrix in the screenshot
    response = page.goto(f"{site.url}/map?lang={lang}")
    assert response is not None and response.status == 200
    assert page.evaluate("document.documentElement.lang") == ("zh-Hans" if lang == "zh" else "en")
    _healthy(page)
    svg = page.locator("svg.datamap")
    box = svg.bounding_box()
    assert box and box["width"] > 1200 and box["height"] > 500
    # the picture is named for screen readers by its <title> and <desc>
    assert page.evaluate("document.getElementById('map-title').textContent").startswith(
        "共享数据地图" if lang == "zh" else "Map of shared data"
    )
    # Chinese labels are drawn with a CJK font: two characters take about two em, not tofu slivers
    if lang == "zh":
        width = page.evaluate("""() => {
            const t = [...document.querySelectorAll('svg.datamap a:not(.cell) text')]
            .find(e => e.lastChild.textContent === '温度');
            return t ? t.getComputedTextLength() : 0; }""")
        assert 20 <= width <= 28, width
    page.locator(
        "#map-table summary"
    ).click()  # the table under the picture, open: still accessible
    _healthy(page)
    page.locator("#map-table summary").click()
    cells = page.locator("svg.datamap a.cell")
    assert cells.count() > 100
    # the whole map fits the window (no clipped columns) and is kept as a picture
    assert page.evaluate(
        "(() => { const s = document.querySelector('.datamap-scroll');"
        " return s.scrollWidth <= s.clientWidth; })()"
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"map-{lang}.png"), full_page=True)
    # a cell is a real link: it leads to the data kind's page, which lists the scenario
    cell = page.locator("svg.datamap a.cell[data-kind$='/concept/temperature']").first
    scenario = cell.get_attribute("data-scenario")
    cell.click()
    page.wait_for_load_state()
    assert "/concept/temperature" in page.url
    assert page.locator("#kind-scenarios").count() == 1
    assert page.locator(f"#kind-scenarios a[href*='{scenario.rsplit('/', 1)[1]}']").count() == 1


def test_map_svg_alone_in_chromium(page, site):
    page.set_viewport_size({"width": 2000, "height": 1000})
    response = page.goto(f"{site.url}/map.svg?lang=zh")
    assert response is not None and response.status == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert page.evaluate("document.documentElement.tagName") == "svg"
    assert page.locator("a").count() > 200
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(
        path=str(ARTIFACTS / "map-svg.png")
    )  # a full-page shot of an SVG document hangs
    page.goto("about:blank")  # so the fixture's full-page screenshot has nothing to wait for


SMALL = [("landing-overview", "/?lang=zh"), ("concept-bars", "/concept/temperature?lang=en")]


@pytest.mark.parametrize(
    "name,path", SMALL, ids=[name for name, _ in SMALL]
)  # ids name the screenshots
def test_small_pictures_in_chromium(page, site, name, path):
    response = page.goto(site.url + path)
    assert response is not None and response.status == 200
    _healthy(page)
    bars = page.locator("svg.bars")
    assert bars.count() == 1
    assert bars.bounding_box()["width"] > 300
    if name == "landing-overview":
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.locator("#overview").screenshot(path=str(ARTIFACTS / "landing-overview.png"))
        page.locator("#map-link").click()
        page.wait_for_load_state()
        assert page.url.endswith("/map?lang=zh")
        assert page.locator("svg.datamap").count() == 1


def test_map_prints_whole(page, site):
    """Printed, the map shrinks to the paper's width instead of being cut at the scroll box."""
    response = page.goto(f"{site.url}/map?lang=zh")
    assert response is not None and response.status == 200
    page.emulate_media(media="print")
    svg = page.locator("svg.datamap").bounding_box()
    width = page.evaluate("document.querySelector('main .wrap').clientWidth")
    assert svg and 0 < svg["width"] <= width + 1
    scroll = page.evaluate(
        "(() => { const s = document.querySelector('.datamap-scroll');"
        " return s.scrollWidth <= s.clientWidth; })()"
    )
    assert scroll
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map-print.png"), full_page=True)
    page.pdf(
        path=str(ARTIFACTS / "map-print.pdf"), format="A4", landscape=True, print_background=True
    )
    assert (ARTIFACTS / "map-print.pdf").stat().st_size > 10_000
