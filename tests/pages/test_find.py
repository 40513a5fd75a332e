"""/search and /match over HTTP against the real server: pages for people, JSON twins for
programs (httpx), the search box on every page, bounds and the one error shape."""

from __future__ import annotations

import html
import re

import httpx
import pytest

from tests.pages.conftest import BROWSER_ACCEPT

H = {"Accept": BROWSER_ACCEPT}
J = {"Accept": "application/json"}


def test_search_json_twin_by_suffix_and_by_accept(http: httpx.Client, site):
    by_suffix = http.get("/search.json", params={"q": "温度"})
    by_accept = http.get("/search", params={"q": "温度"}, headers=J)
    for r in (by_suffix, by_accept):
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
        body = r.json()
        assert body["results"][0]["iri"].endswith("/concept/temperature")
        assert body["results"][0]["href"] == site.url + "/concept/temperature"
        assert {f["value"] for f in body["facets"]["kind"]} >= {"scenario", "concept", "field"}
    assert by_suffix.json() == by_accept.json()
    assert "Accept" in by_accept.headers["vary"]


def test_the_search_pages_twin_is_the_same_search(http: httpx.Client):
    """The page's JSON link and its alternate name the same search, filters and page
    included: following it gives the results the page shows."""
    params = {"q": "temperature", "kind": "field", "offset": "2", "limit": "5", "lang": "en"}
    page = http.get("/search", params=params, headers=H)
    twins = set(re.findall(r'<a href="([^"]*)" type="application/json"', page.text))
    alternate = re.findall(
        r'<link rel="alternate" type="application/json" href="([^"]*)"', page.text
    )
    assert len(twins) == 1 and alternate == list(twins)
    twin = httpx.URL(html.unescape(twins.pop()))
    assert twin.path == "/search.json"
    assert dict(twin.params) == {k: v for k, v in params.items() if k != "lang"}
    data = http.get(str(twin)).json()
    shown = re.findall(r'<li><span class="badge[^"]*">[^<]*</span>\s*<a href="([^"]*)"', page.text)
    assert data["offset"] == 2 and len(shown) == 5
    assert [r["href"] for r in data["results"]] == [h.split("?")[0] for h in shown]  # (lang=en)
    assert {r["kind"] for r in data["results"]} == {"field"}


def test_search_page_highlights_and_links(http: httpx.Client):
    r = http.get("/search", params={"q": "温度", "limit": 50}, headers=H)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "<mark>温度</mark>" in r.text
    assert re.search(
        r'href="[^"]*/concept/air-temperature"', r.text
    )  # 气温: found through its broader kind
    assert re.search(r'class="via">[^<]*经 温度 › 气温', r.text)
    # a field names its category, linked (two fields 温度 of scenario 3 told apart)
    assert re.search(r'<a href="[^"]*/scenario/guizhou-b1-s03/data/1">井下环境数据</a>', r.text)
    assert (
        'href="/search?q=%E6%B8%A9%E5%BA%A6&amp;limit=50&amp;kind=scenario"' in r.text
    )  # a facet link
    assert (
        "气温" not in http.get("/search", params={"q": "湿度"}, headers=H).text.split("<main", 1)[1]
    )


def test_a_scenario_found_by_its_domain_marks_the_domain(http: httpx.Client):
    """ "finance" finds the credit scenarios by their domain: the page marks the domain's
    name, as it marks a label's matched words, and the twin says ``matched``."""
    r = http.get("/search", params={"q": "finance", "kind": "scenario", "lang": "en"}, headers=H)
    rows = r.text.split('<ol class="results"', 1)[1].split("</ol>", 1)[0].split("<li>")[1:]
    credit = [row for row in rows if "Credit based on electricity data" in row]
    assert credit and re.search(r'class="result-meta muted">\s*<mark>Finance</mark>', credit[0])
    body = http.get("/search.json", params={"q": "finance", "kind": "scenario"}).json()
    assert body["results"] and all(d["matched"] for x in body["results"] for d in x["domains"])
    plain = http.get("/search.json", params={"q": "温度", "kind": "scenario"}).json()["results"]
    assert plain and not any(d["matched"] for x in plain for d in x["domains"])


@pytest.mark.parametrize(
    ("param", "chinese"),
    [
        ("kind", "筛选条件“资源类型”只可取以下值：应用场景（scenario）、数据种类（concept）"),
        ("domain", "筛选条件“领域”只可取以下值：文旅领域（culture-tourism）、金融领域（finance）"),
        ("pi", "筛选条件“个人信息”只可取以下值：涉及个人信息（yes）"),
    ],
)
def test_a_filter_edited_in_the_url_is_refused_in_the_pages_language(
    http: httpx.Client, param, chinese
):
    """A Chinese page said ``unknown kind 'foo' (one of: scenario, concept, …)`` after a
    Chinese lead (found in a UX review): it now names the filter and its values as the
    page shows them; the JSON twin keeps the message and lists the values for programs."""
    zh = http.get("/search", params={"q": "温", param: "foo", "lang": "zh"}, headers=H)
    assert zh.status_code == 400 and chinese in zh.text
    notice = zh.text.split('role="alert">', 1)[1].split("</p>", 1)[0]
    assert not re.search(r"unknown|one of", notice)
    en = http.get("/search", params={"q": "温", param: "foo", "lang": "en"}, headers=H)
    assert "the filter “" in en.text and "takes one of" in en.text
    body = http.get("/search.json", params={"q": "温", param: "foo"}).json()
    assert body["error"] == "bad-search" and body["details"]["parameter"] == param
    assert "foo" in body["message"] and body["details"]["allowed"]


def test_nothing_found_suggests_removing_a_filter_only_when_there_is_one(http: httpx.Client):
    """A search finding nothing said "Try another word, or remove a filter" with no filter
    set (a UX review)."""
    plain = http.get("/search", params={"q": "xyzzyq", "lang": "en"}, headers=H).text
    assert "Try another word, for example:" in plain and "remove a filter" not in plain
    filtered = http.get(
        "/search", params={"q": "温度", "domain": "finance", "lang": "en"}, headers=H
    ).text
    assert "remove a filter" in filtered and "Remove filter: Domain" in filtered


def test_the_scenarios_among_the_results_are_one_link_away_at_the_top(http: httpx.Client):
    """ "Which scenarios need temperature data?": 温度's first page held only data kinds and
    fields, its nine scenarios a filter away in the sidebar, below it on a phone (a UX
    review). A link above the results shows only them (and is gone once they are shown)."""
    r = http.get("/search", params={"q": "温度", "lang": "en"}, headers=H).text
    top = r.split('<div class="find-layout">', 1)[0]
    link = re.search(
        r'<p class="scenarios-only"><a href="([^"]*)">Show only the scenarios '
        r"involved \((\d+)\)</a>",
        top,
    )
    assert link, top[-500:]
    only = http.get(html.unescape(link.group(1)), headers=H).text
    assert only.count('class="badge badge-scenario"') == int(link.group(2)) >= 9
    assert 'class="scenarios-only"' not in only


def test_search_facets_filter(http: httpx.Client):
    body = http.get("/search.json", params={"q": "年龄", "pi": "yes"}).json()
    assert body["results"] and all(x["personal_information"] for x in body["results"])
    body = http.get("/search.json", params={"q": "温度", "kind": "scenario", "limit": 50}).json()
    assert sorted(x["number"] for x in body["results"]) == [1, 2, 3, 5, 7, 9, 17, 18, 19]


@pytest.mark.parametrize("domain", ["industry", "https://w3id.org/dipkg/domain/industry"])
def test_a_domain_by_its_name_or_its_iri_marks_the_same_facet(http: httpx.Client, domain):
    """``domain=industry`` is the facet the page links (by IRI): it is shown as chosen,
    and the page offers to remove it."""
    r = http.get("/search", params={"q": "温度", "domain": domain}, headers=H)
    assert r.status_code == 200
    chosen = re.findall(r'<strong aria-current="true">([^<]*)</strong>', r.text)
    assert chosen == ["工业领域"]
    assert re.search(r'href="/search\?q=%E6%B8%A9%E5%BA%A6"', r.text)  # the filter's undo


@pytest.mark.parametrize("q", ["", "   ", "xyzzy", "!!! %%% <script>", "的"])
def test_empty_or_silly_query_gets_a_helpful_page(http: httpx.Client, q):
    r = http.get("/search", params={"q": q}, headers=H)
    assert r.status_code == 200
    assert "<script>" not in r.text.split("<main", 1)[1].split("</main>")[0]  # escaped
    assert "可以试试" in r.text or "没有找到结果" in r.text or "结果" in r.text


@pytest.mark.parametrize(
    "path", ["/search.json?q=%ff%fe", "/match.json?fields=%E6%B8", "/search/suggest?q=%ff"]
)
def test_a_parameter_that_is_not_utf8_is_refused_as_sparql_refuses_it(http: httpx.Client, path):
    """Bytes that are not UTF-8 are a 400 naming the rule, as at /sparql: not searched
    for as U+FFFD, which would find nothing and say nothing of why."""
    r = http.get(path)
    assert r.status_code == 400
    assert r.json()["error"] == "bad-search"
    assert r.json()["message"] == "parameters must be UTF-8 (percent-encoded)"
    assert http.get("/sparql?query=%ff").json()["message"] == r.json()["message"]


@pytest.mark.parametrize(
    "body,said",
    [
        (b'{"fields": 1' + b"9" * 15000 + b"}", "the body is not JSON this server reads"),
        (b'{"fields": ', "the body is not JSON: Expecting value: line 1 column 12 (char 11)"),
        (b'{"fields": "\xff"}', "the body is not JSON: not UTF-8"),
    ],
    ids=["huge-number", "cut-short", "not-utf8"],
)
def test_a_match_body_that_is_not_json_is_said_plainly(http: httpx.Client, body, said):
    """A 15,000-digit number was refused with Python's own message ("Exceeds the limit
    (4300 digits) for integer string conversion; use sys.set_int_max_str_digits()")."""
    r = http.post("/match.json", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"] == "bad-search"
    assert r.json()["message"] == said


def test_overlong_query_is_refused_in_the_one_error_shape(http: httpx.Client):
    r = http.get("/search.json", params={"q": "温" * 201})
    assert r.status_code == 400
    assert r.json() == {
        "error": "bad-search",
        "status": 400,
        "message": "the query is 201 characters long; at most 200",
        "details": {"max": 200},
    }
    page = http.get("/search", params={"q": "温" * 201}, headers=H)
    assert page.status_code == 400 and 'role="alert"' in page.text
    assert "输入过长：最多 200 个字符。" in page.text  # a Chinese page says it in Chinese
    # the tab's title holds the start of the query, not all 201 characters of it
    title = page.text.split("<title>", 1)[1].split("</title>", 1)[0]
    assert title.startswith("温" * 59 + "…") and "温" * 60 not in title
    en = http.get("/search", params={"q": "温" * 201, "lang": "en"}, headers=H)
    assert en.status_code == 400 and "the query is 201 characters long; at most 200" in en.text
    assert (
        http.get("/search.json", params={"q": "温度", "pi": "maybe"}).json()["error"]
        == "bad-search"
    )
    assert http.get("/search.json", params={"q": "温度", "limit": "many"}).status_code == 400


def test_suggest(http: httpx.Client):
    body = http.get("/search/suggest", params={"q": "温"}).json()
    assert body["suggestions"][0] == {"text": "温度", "kind": "concept"}
    assert http.get("/search/suggest", params={"q": ""}).json()["suggestions"] == []


def test_every_page_has_the_search_box(http: httpx.Client):
    for path in (
        "/",
        "/scenario/guizhou-b1-s18.html",
        "/concept/temperature.html",
        "/dumps/",
        "/query",
    ):
        text = http.get(path, headers=H).text
        assert (
            'role="search"' in text
            and 'name="q"' in text
            and re.search(r'action="[^"]*/search"', text)
        ), path
        assert '/match"' in text, path


FARM = "土壤墒情、降雨量、施肥量"


def test_match_json_twins(http: httpx.Client):
    answers = [
        http.post("/match", json={"fields": FARM}),
        http.post("/match", json={"fields": ["土壤墒情", "降雨量", "施肥量"]}),
        http.post("/match", data={"fields": FARM}, headers=J),
        http.get("/match", params={"fields": FARM}, headers=J),
        http.get("/match.json", params={"fields": FARM}),
    ]
    for r in answers:
        assert r.status_code == 200, r.text
        body = r.json()
        top = body["scenarios"][0]
        assert top["number"] == 18 and top["matched"] == 3
        assert top["href"].endswith("/scenario/guizhou-b1-s18")
        assert [f["input"] for f in body["fields"]] == ["土壤墒情", "降雨量", "施肥量"]
        assert top["missing"] and all("href" in c for c in top["missing"])
    assert answers[0].json() == answers[4].json()


def test_match_page_shows_matches_side_by_side(http: httpx.Client):
    r = http.post("/match", data={"fields": "blood pressure\nheart rate\nxyzzy"}, headers=H)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    text = r.text
    assert "慢性病管理与预警" in text and re.search(r'href="[^"]*/concept/blood-pressure"', text)
    assert "未识别" in text  # xyzzy
    assert "该场景还需要" in text
    page = http.get("/match", headers=H)
    assert page.status_code == 200 and 'name="fields"' in page.text and 'method="post"' in page.text


def test_match_errors_are_one_shape(http: httpx.Client):
    for r in (
        http.post("/match", content=b"{not json", headers={"Content-Type": "application/json"}),
        http.post("/match", json={"fields": 3}),
        http.get("/match.json", params={"fields": ""}),
        http.get("/match.json", params={"fields": "x" * 2001}),
        http.post("/match", content=b"x", headers={"Content-Type": "text/csv"}),
        # nested past the JSON parser's stack (a RecursionError: a 500 and a traceback)
        http.post("/match", content=b"[" * 15000, headers={"Content-Type": "application/json"}),
    ):
        assert r.status_code == 400, r.text
        assert set(r.json()) >= {"error", "status", "message"} and r.json()["error"] == "bad-search"
    page = http.get("/match", params={"fields": "x" * 2001}, headers=H)
    assert page.status_code == 400 and 'role="alert"' in page.text


@pytest.mark.parametrize(
    "fields", ["name, phone, address", "price, quantity, date", "客户名称,订单金额,下单时间"]
)
def test_match_of_several_names_found_by_their_words(http: httpx.Client, fields):
    """Names that no label holds are looked up by their words, one search each on the
    match's one connection: each search starts afresh (a second one failed with 500)."""
    for r in (
        http.get("/match.json", params={"fields": fields}),
        http.post("/match", data={"fields": fields}, headers=H),
    ):
        assert r.status_code == 200, r.text[:300]
    assert len(http.get("/match.json", params={"fields": fields}).json()["fields"]) == 3


def test_match_of_a_lone_surrogate_is_a_clear_400(http: httpx.Client):
    r = http.post(
        "/match.json",
        content=b'{"fields": "\\ud800temperature"}',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["error"] == "bad-search", r.text


def test_english_pages_list_with_an_english_comma(http: httpx.Client):
    """A list in running text (a result's domains, what a scenario still needs) is joined
    as its page's language joins: 、 on a Chinese page, ", " on an English one (the
    English search showed "Culture and tourism、Industry、Other、Transport")."""
    en = {**H, "Accept-Language": "en"}
    search = http.get("/search", params={"q": "temperature", "lang": "en"}, headers=en)
    match = http.get("/match", params={"fields": "temperature", "lang": "en"}, headers=en)
    for r in (search, match):
        assert r.status_code == 200 and 'lang="en"' in r.text
        results = r.text[r.text.index('<ol class="results"') : r.text.index("</main>")]
        assert "、" not in results
    assert "Culture and tourism, Industry, Other, Transport" in search.text
    assert re.search(r"</a>, <a href", match.text)  # what a scenario still needs
    zh = http.get("/search", params={"q": "温度"}, headers=H)
    assert "文旅领域、工业领域、其他领域、交通领域" in zh.text
    # the English page's example in the empty box is English too
    assert (
        'placeholder="blood pressure, heart rate"'
        in http.get("/match", params={"lang": "en"}, headers=H).text
    )


def test_the_match_pages_twin_is_the_same_match(http: httpx.Client):
    """The match page, like the search page, links its JSON twin (and names it as an
    alternate): the same names, as a GET, giving what the page shows."""
    page = http.post("/match", data={"fields": FARM}, headers=H)
    twins = set(re.findall(r'<a href="([^"]*)" type="application/json"', page.text))
    alternate = re.findall(
        r'<link rel="alternate" type="application/json" href="([^"]*)"', page.text
    )
    assert len(twins) == 1 and alternate == list(twins)
    twin = httpx.URL(html.unescape(twins.pop()))
    assert twin.path == "/match.json" and dict(twin.params) == {"fields": FARM}
    data = http.get(str(twin)).json()
    shown = re.findall(r'<li class="match">\s*<h3><a href="([^"]*)"', page.text)
    assert [s["href"] for s in data["scenarios"]] == shown and shown
    empty = http.get("/match", headers=H)  # no names yet: nothing to twin
    assert 'type="application/json"' not in empty.text


def test_a_search_in_traditional_characters_finds_the_simplified_words(http: httpx.Client):
    """溫度 (traditional) is searched as 温度: the same results, marked in the labels, the
    box keeping what was typed (before: 3 results, through 度 alone)."""
    typed = http.get("/search", params={"q": "溫度", "limit": 50}, headers=H)
    assert typed.status_code == 200
    assert "<mark>温度</mark>" in typed.text and 'value="溫度"' in typed.text
    as_data = http.get("/search.json", params={"q": "溫度"}).json()
    assert as_data["query"] == "溫度" and as_data["terms"] == ["温度"]
    assert as_data["results"] == http.get("/search.json", params={"q": "温度"}).json()["results"]


def test_search_pages_go_back_as_well_as_forward(http: httpx.Client):
    """A later page says which results it shows, numbers them from where it starts and
    links back (it linked only forward, its list numbered from 1 again); a page past the
    end says so and links back to the last page."""
    total = http.get("/search.json", params={"q": "temperature"}).json()["total"]
    assert total > 20
    second = http.get("/search", params={"q": "temperature", "lang": "en", "offset": 20}).text
    assert (
        f"21–{min(40, total)} of {total}" in second and '<ol class="results" start="21">' in second
    )
    back = re.search(r'<a href="([^"]*)" rel="prev">Previous results</a>', second)
    assert back and html.unescape(back.group(1)) == "/search?q=temperature&lang=en"
    first = http.get(html.unescape(back.group(1)), headers=H).text
    assert 'rel="prev"' not in first and 'rel="next"' in first and f"1–20 of {total}" in first
    past = http.get("/search", params={"q": "温度", "offset": 1000}, headers=H).text
    assert "超出结果范围" in past
    last = re.search(r'<a href="([^"]*)" rel="prev">', past)
    assert last and html.unescape(last.group(1)).endswith(f"offset={(total - 1) // 20 * 20}")


def test_a_chinese_page_says_a_refusal_in_chinese(http: httpx.Client):
    """A refused search or match on a Chinese page was said in English ("the list is 2001
    characters long; at most 2000"); the cases a person meets are said in Chinese (a filter's
    value edited in the URL too, with the values it takes), the rest after a Chinese lead.
    The JSON answer keeps the one error shape, in English."""
    alert = re.compile(r'role="alert">([^<]*)<')
    cases = [
        ("/match", {"fields": "x" * 2001}, "输入过长：最多 2000 个字符。"),
        (
            "/match",
            {"fields": "、".join(f"名称{i}" for i in range(51))},
            "数据名称过多：最多 50 个。",
        ),
        ("/search", {"q": "温度", "domain": "planet"}, "无法按此条件搜索：筛选条件“领域”只可取"),
        ("/search", {"q": "温度", "limit": "many"}, "无法按此条件搜索：limit and offset"),
    ]
    for path, params, said in cases:
        r = http.get(path, params=params, headers=H)
        shown = html.unescape(alert.search(r.text).group(1))
        assert r.status_code == 400 and shown.startswith(said), shown
        en = http.get(path, params={**params, "lang": "en"}, headers=H)
        assert not re.search(r"[\u4e00-\u9fff]", alert.search(en.text).group(1))


def test_another_name_shown_is_marked_with_its_language(http: httpx.Client):
    """A result found by another name shows it ("also …"); a Chinese name on an English
    page is marked lang="zh-Hans", so it is read (and spoken) as Chinese."""
    en = http.get("/search", params={"q": "牛", "lang": "en"}, headers=H).text
    assert '(also <span lang="zh-Hans">黄牛个体数据</span>)' in en


@pytest.mark.parametrize("path", ["/search", "/match"])
def test_example_chips_carry_their_language(http: httpx.Client, path):
    """The examples offered on an English page are partly Chinese (温度): each is marked with
    its own language, so a screen reader does not speak 温度 with an English voice."""
    page = http.get(path, params={"lang": "en"}, headers=H)
    chips = re.findall(r'<a href="[^"]*" lang="([^"]+)">([^<]+)</a>', page.text)
    assert chips, page.text
    for lang, text in chips:
        assert lang == ("zh-Hans" if re.search(r"[\u4e00-\u9fff]", text) else "en"), text
    assert {lang for lang, _ in chips} == {"zh-Hans", "en"}
