"""The pages for people, over HTTP: language choice, content of each page kind, data twins."""

from __future__ import annotations

import html
import json
import re
from urllib.parse import urlencode

import httpx
import pytest

from tests.catalog.schema_org_check import check_schema_org_dataset
from tests.pages.conftest import BROWSER_ACCEPT, FORMS, LABELLED, media, offered_by_endpoint

H = {"Accept": BROWSER_ACCEPT}


def html_lang(text: str) -> str:
    return re.search(r'<html lang="([^"]+)"', text).group(1)


@pytest.mark.parametrize(
    "accept_language,expected",
    [
        (None, "zh-Hans"),
        ("zh-CN,zh;q=0.9", "zh-Hans"),
        ("en-GB,en;q=0.9", "en"),
        ("fr", "zh-Hans"),
        ("fr, en;q=0.5", "en"),
        ("en;q=0.4, zh;q=0.8", "zh-Hans"),
        ("zh;q=0, en;q=0.1", "en"),
        ("*", "zh-Hans"),
    ],
)
def test_accept_language(http: httpx.Client, accept_language, expected):
    headers = dict(H)
    if accept_language:
        headers["Accept-Language"] = accept_language
    r = http.get("/scenario/guizhou-b1-s01.html", headers=headers)
    assert html_lang(r.text) == expected
    assert "accept-language" in r.headers["vary"].lower()
    assert r.headers["content-language"] == expected


def test_lang_parameter_overrides_and_is_carried_in_links(http: httpx.Client):
    r = http.get("/scenario/guizhou-b1-s01.html?lang=en", headers={**H, "Accept-Language": "zh"})
    assert html_lang(r.text) == "en"
    assert "Production process optimisation" in r.text
    assert 'href="http://' in r.text and "?lang=en" in r.text  # links keep the choice
    r = http.get("/scenario/guizhou-b1-s01.html?lang=xx", headers={**H, "Accept-Language": "en"})
    assert html_lang(r.text) == "en"  # an unknown value is ignored
    redirect = http.get("/scenario/guizhou-b1-s01?lang=en", headers=H)
    assert redirect.headers["location"].endswith("/scenario/guizhou-b1-s01.html?lang=en")


def test_same_request_same_page(http: httpx.Client):
    bodies = {
        http.get("/domain/transport.html", headers={**H, "Accept-Language": "en"}).text
        for _ in range(3)
    }
    assert len(bodies) == 1


def test_every_page_links_its_data_twins(http: httpx.Client, site):
    for path in (
        "domain/industry",
        "scenario/guizhou-b1-s01",
        "scenario/guizhou-b1-s01/data/1",
        "scenario/guizhou-b1-s01/data/1.2",
        "guide/guizhou-b1",
        "ontology",
        "concept/voltage",
        "scheme/data-kinds",
        "dataset",
    ):
        text = http.get(f"/{path}.html", headers=H).text
        for mtype, ext in (
            ("text/turtle", "ttl"),
            ("application/ld+json", "jsonld"),
            ("application/n-triples", "nt"),
            ("application/rdf+xml", "rdf"),
        ):
            assert f'<link rel="alternate" type="{mtype}" href="{site.url}/{path}.{ext}"' in text, (
                path,
                ext,
            )
            assert f'href="{site.url}/{path}.{ext}" type="{mtype}"' in text  # the visible link


def test_scenario_page(http: httpx.Client):
    text = http.get("/scenario/guizhou-b1-s01.html", headers=H).text
    assert text.count("<h1") == 1
    assert "生产工艺优化" in text and "电解铝生产" in text  # label, example context
    assert "面向生产工艺优化业务活动" in text  # application text
    assert "以电解铝生产为例，涉及工艺参数数据（电流强度" in text  # the verbatim 涉及数据 cell
    # categories and fields in document order
    order = [
        text.index(s)
        for s in ("工艺参数数据", "电流强度", "电压", "原料成分数据", "产品质量检测数据")
    ]
    assert order == sorted(order)
    assert "/domain/industry" in text and "/guide/guizhou-b1" in text


def test_scenario_page_long_texts_follow_the_page_language(http: httpx.Client):
    """English pages show the curated English 场景应用 and 涉及数据 (build/long-translations.tsv);
    Chinese pages the Chinese."""
    en = http.get("/scenario/guizhou-b1-s07.html?lang=en", headers=H).text
    zh = http.get("/scenario/guizhou-b1-s07.html?lang=zh", headers=H).text
    english_app = "Can monitor the structural condition of roads and bridges in real time"
    english_data = (
        "Taking bridges as an example, for instance bridge structure data (dimensions, material"
    )
    chinese_app = "可实时监测道路、桥梁结构状态"
    chinese_data = "以桥梁为例，如桥梁结构数据（梁体、桥墩"
    assert f'<p class="prose" lang="en">{english_app}' in en
    assert f'<blockquote class="source-cell" lang="en">{english_data}' in en
    assert "translated into English" in en
    # the Chinese stays only in the table of all statements
    assert (
        '<p class="prose" lang="zh">' not in en
        and '<blockquote class="source-cell" lang="zh">' not in en
    )
    assert f'<p class="prose" lang="zh">{chinese_app}' in zh
    assert f'<blockquote class="source-cell" lang="zh">{chinese_data}' in zh
    assert (
        '<p class="prose" lang="en">' not in zh
        and '<blockquote class="source-cell" lang="en">' not in zh
    )


def test_qualifiers_and_subcategories_are_shown(http: httpx.Client, dump_graph):
    import rdflib

    DIP = rdflib.Namespace("https://w3id.org/dipkg/ontology#")
    item, qualifier = next(
        (s, o) for s, o in dump_graph.subject_objects(DIP.qualifier) if o.language == "zh"
    )
    scenario = dump_graph.value(item, DIP.scenario)
    text = http.get(str(scenario).replace("https://w3id.org/dipkg", "") + ".html", headers=H).text
    assert str(qualifier) in text
    parent, sub = next(iter(dump_graph.subject_objects(DIP.hasSubCategory)))
    scenario = dump_graph.value(sub, DIP.scenario)
    text = http.get(str(scenario).replace("https://w3id.org/dipkg", "") + ".html", headers=H).text
    assert 'badge-category">子类别' in text


def test_field_and_category_pages(http: httpx.Client):
    text = http.get("/scenario/guizhou-b1-s01/data/1.2.html", headers=H).text
    assert (
        "电压" in text and "工艺参数数据" in text and "生产工艺优化" in text
    )  # field, category, scenario
    assert "/concept/voltage" in text  # its data kind
    text = http.get("/scenario/guizhou-b1-s01/data/1.html", headers=H).text
    assert "电流强度" in text and "氧化铝浓度" in text


def test_concept_and_scheme_pages(http: httpx.Client):
    text = http.get("/concept/voltage.html", headers=H).text
    assert (
        "/concept/physical-chemical-quantities" in text and "/concept/cell-voltage" in text
    )  # broader, narrower
    assert "/scenario/guizhou-b1-s01/data/1.2" in text  # an item with that data kind
    text = http.get("/scheme/data-kinds.html?lang=en", headers=H).text
    assert "Physical and chemical quantities" in text and "Voltage" in text


def test_a_kind_with_two_broader_kinds_is_drawn_under_each(http: httpx.Client, dump_graph):
    """SKOS lets a concept have two broader concepts (配送时间: 物流数据 and 时间); the
    data-kinds tree shows it under each, so once per path from a top concept, not under
    whichever came in the last row."""
    from functools import cache

    from rdflib import URIRef

    broader = URIRef("http://www.w3.org/2004/02/skos/core#broader")

    @cache
    def paths(c: URIRef) -> int:
        above = list(dump_graph.objects(c, broader))
        return sum(paths(b) for b in above) if above else 1

    twice = [c for c in set(dump_graph.subjects(broader, None)) if paths(c) > 1]
    assert len(twice) > 10
    page = http.get("/scheme/data-kinds.html", headers=H).text
    tree = page[page.index('<section aria-labelledby="c-h">') :]
    tree = tree[: tree.index("</section>")]
    for c in twice:
        slug = str(c).rsplit("/", 1)[1]
        assert tree.count(f'/concept/{slug}"') == paths(c), (slug, paths(c))


def test_concept_page_lists_uses_through_narrower_kinds(http: httpx.Client, dump_graph, release):
    """温度 lists the items of 气温, 牛舍温度 … with the path, as many as the data-kinds page
    counts."""
    from rdflib import URIRef

    page = http.get("/concept/temperature.html", headers=H).text
    listed = re.search(r'<h2 id="it-h">[^<]*\((\d+)\)</h2>', page)
    assert listed, "the concept page has no list of uses"
    # the same rule computed from the dump: items whose kind is temperature or below it
    skos = "http://www.w3.org/2004/02/skos/core#"
    temp = URIRef(release.base_iri + "concept/temperature")
    below = set(dump_graph.transitive_subjects(URIRef(skos + "broader"), temp))
    kind = URIRef("https://w3id.org/dipkg/ontology#dataKind")
    items = {i for k in below for i in dump_graph.subjects(kind, k)}
    assert int(listed.group(1)) == len(items) > 5
    assert (
        "/concept/air-temperature" in page and "/concept/cattle-shed-temperature" in page
    )  # the paths
    tree = http.get("/scheme/data-kinds.html", headers=H).text
    assert re.search(
        r'/concept/temperature">温度</a> <span class="muted">\(' + str(len(items)) + r"\)", tree
    )
    # a leaf's own page is unchanged: its direct uses only, no path
    leaf = http.get("/concept/air-temperature.html", headers=H).text
    assert 'class="via"' not in leaf


def test_a_sensitive_category_lists_the_data_of_its_kinds(http: httpx.Client, dump_graph, release):
    """A category of the PIPL scheme (行踪轨迹) has no items of its own kind: its page, badged
    "data kind", listed nothing (a UX review). It lists every item whose kind is in the
    category, as example query 06 reads it (computed here from the dump), with the kind."""
    from rdflib import URIRef

    dip = "https://w3id.org/dipkg/ontology#"
    categories = set(dump_graph.objects(None, URIRef(dip + "sensitiveCategory")))
    assert len(categories) >= 3
    for category in categories:
        slug = str(category).rsplit("/", 1)[1]
        page = http.get(f"/concept/{slug}.html", params={"lang": "en"}, headers=H).text
        kinds = set(dump_graph.subjects(URIRef(dip + "sensitiveCategory"), category))
        items = {i for k in kinds for i in dump_graph.subjects(URIRef(dip + "dataKind"), k)}
        listed = re.search(r'<h2 id="it-h">Data items of this sensitive category \((\d+)\)', page)
        assert listed and int(listed.group(1)) == len(items) > 0, slug
        for item in items:
            assert str(item).replace(release.base_iri, "/") + "?lang=en" in page, (slug, item)
        assert '<p class="eyebrow">Sensitive category</p>' in page, slug
    # a category no kind is in yet: badged as what it is, no list
    minor = http.get("/concept/pipl-minor.html", params={"lang": "en"}, headers=H).text
    assert '<p class="eyebrow">Sensitive category</p>' in minor and 'id="it-h"' not in minor
    kind = http.get("/concept/temperature.html", params={"lang": "en"}, headers=H).text
    assert '<p class="eyebrow">Data kind</p>' in kind


def test_data_kinds_page_is_in_the_navigation(http: httpx.Client):
    for path in ("/", "/scenario/guizhou-b1-s01.html"):
        assert '/scheme/data-kinds"' in http.get(path, headers=H).text


def test_domain_and_guide_pages(http: httpx.Client):
    text = http.get("/domain/industry.html", headers=H).text
    assert text.count('href="http') and "生产工艺优化" in text
    assert len(re.findall(r'href="[^"]*/scenario/guizhou-b1-s\d\d"', text)) >= 6
    text = http.get("/guide/guizhou-b1.html", headers=H).text
    assert len(set(re.findall(r"/scenario/guizhou-b1-s(\d\d)\"", text))) == 23


def test_ontology_page_has_anchors_for_every_term(http: httpx.Client):
    text = http.get("/ontology.html?lang=en", headers=H).text
    for term in (
        "Scenario",
        "Domain",
        "DataCategory",
        "DataField",
        "Guide",
        "DataKind",
        "hasField",
        "hasCategory",
        "dataText",
        "qualifier",
        "number",
    ):
        assert f'id="{term}"' in text, term
    assert "One row of a guide" in text and "应用场景" in text


def test_landing_page(http: httpx.Client, release):
    r = http.get("/", headers=H)
    text = r.text
    assert r.status_code == 200 and text.count("<h1") == 1
    counts = release.manifest.counts
    for key in ("scenarios", "categories", "fields", "triples"):
        assert f">{getattr(counts, key)}<" in text
    for link in ("/dumps/", "/sparql", "/query", "/catalog", "/ontology"):
        assert f'{link}"' in text
    assert (
        "第一批贵州省数据知识产权应用场景指引" in text
        and "creativecommons.org/licenses/by/4.0" in text
    )
    assert len(re.findall(r'href="[^"]*/scenario/guizhou-b1-s\d\d"', text)) == 23
    block = re.search(r'<script type="application/ld\+json">(.*?)</script>', text, re.S).group(1)
    doc = json.loads(block)
    assert "Dataset" in str(doc.get("@type"))
    assert check_schema_org_dataset(doc) == []


def test_query_page_without_javascript_has_a_labelled_form(http: httpx.Client, site):
    for path in ("/query", "/sparql"):
        text = http.get(path, headers=H).text
        # the plain form runs on the page itself
        # (results and errors for people, tests/pages/test_query_ui.py)
        assert f'action="{site.url}/query"' in text
        assert '<label for="query-text">' in text and '<label for="query-format">' in text
        assert (
            'name="q"' in text
            and 'name="as"' in text
            and 'name="run"' in text
            and 'name="download"' in text
        )
    text = http.get("/query", headers=H).text
    assert "各领域有多少个应用场景" in text  # an example query from build/queries
    r = http.post(
        "/sparql", data={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", "format": "csv"}
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")


def _pairs(text: str, start: str, end: str, pattern: str) -> list[tuple[str, str]]:
    """(label, value) of each ``pattern`` match (value, label) from ``start`` to ``end``."""
    block = text[text.index(start) :]
    block = block[: block.index(end)]
    return [
        (html.unescape(label), html.unescape(value)) for value, label in re.findall(pattern, block)
    ]


def download_links(text: str) -> list[tuple[str, str]]:
    """(label, href) of each link under "Downloads" on the query page."""
    link = r'<a href="([^"]*)" data-format="[^"]*">([^<]*)</a>'
    return _pairs(text, 'id="download-links"', "</ul>", link)


def format_options(text: str) -> list[tuple[str, str]]:
    """(label, value) of each option of the query page's format list."""
    option = r'<option value="([^"]*)"[^>]*>([^<]*)</option>'
    return _pairs(text, '<select id="query-format"', "</select>", option)


@pytest.mark.parametrize("form", list(FORMS))
def test_query_page_downloads_are_what_the_endpoint_offers(http: httpx.Client, form):
    """Without JavaScript, after a query of each form: the download links are exactly the
    formats /sparql offers for that form, and each, followed (as a browser does), answers
    in the media type its label names; the format list offers the same, and works."""
    query, at_least = FORMS[form]
    offered = offered_by_endpoint(http, query)
    assert set(at_least) <= set(offered)
    r = http.get("/query", params={"q": query, "run": "1", "lang": "en"}, headers=H)
    assert r.status_code == 200
    links = download_links(r.text)
    assert [label for label, _ in links] == offered
    for label, href in links:
        followed = http.get(href, headers=H)
        assert followed.status_code == 200, (label, followed.text[:300])
        assert media(followed) == LABELLED[label], label
        assert followed.content
    options = format_options(r.text)
    assert [label for label, _ in options] == offered
    for label, value in options:
        asked = {"q": query, "download": "1", "as": value}
        sent = http.get("/query?" + urlencode(asked), headers=H)
        assert sent.status_code == 303, (label, sent.text[:300])
        followed = http.get(sent.headers["location"], headers=H)
        assert followed.status_code == 200 and media(followed) == LABELLED[label], label


@pytest.mark.parametrize(
    "query,fmt",
    [
        (FORMS["SELECT"][0], "bogus"),
        (FORMS["CONSTRUCT"][0], "bogus"),
        (FORMS["CONSTRUCT"][0], "csv"),  # a SELECT's format, for a graph
        (FORMS["ASK"][0], "turtle"),  # a graph's format, for a boolean
    ],
    ids=["select-bogus", "construct-bogus", "construct-csv", "ask-turtle"],
)
def test_query_page_refuses_a_format_not_offered(http: httpx.Client, query, fmt):
    """A download in a format /sparql does not offer for the query is refused on the page
    itself (no redirect to a 406 elsewhere), as a readable error naming the format and
    the formats there are; the query stays in the form."""
    asked = {"q": query, "download": "1", "as": fmt, "lang": "en"}
    r = http.get("/query?" + urlencode(asked), headers=H)
    assert r.status_code == 406 and media(r) == "text/html"
    assert "location" not in r.headers
    error = re.search(r'<div class="query-error" role="alert">(.*?)</div>', r.text, re.S)
    assert error is not None
    shown = html.unescape(error.group(1))
    assert f"'{fmt}'" in shown
    offered = offered_by_endpoint(http, query)
    assert offered and all(label in shown for label in offered)
    assert html.escape(query, quote=False) in r.text
    zh = http.get("/query?" + urlencode({**asked, "lang": "zh"}), headers=H)
    assert zh.status_code == 406 and "此查询提供的格式：" in zh.text  # the page's language


def test_query_page_offers_no_download_of_a_refused_query(http: httpx.Client):
    """A query the endpoint refuses whatever the format (an update) has no download links
    nor format list; asked for a download anyway, the page shows why, as "Run" does."""
    query = "INSERT DATA { <http://example.org/a> <http://example.org/b> 1 }"
    r = http.get("/query", params={"q": query, "lang": "en"}, headers=H)
    assert r.status_code == 200
    assert download_links(r.text) == [] and 'id="query-format"' not in r.text
    assert '<p class="muted" id="no-downloads">' in r.text  # (not hidden)
    asked = {"q": query, "download": "1", "as": "csv", "lang": "en"}
    r = http.get("/query?" + urlencode(asked), headers=H)
    assert r.status_code == 403 and "location" not in r.headers
    assert "read-only" in r.text and 'class="query-error"' in r.text


def test_query_page_offers_no_download_of_a_query_that_fails_to_parse(http: httpx.Client):
    """Run, a SELECT with a syntax error shows the error, and neither links nor a format
    list that would only answer 400; the same query fixed gets them back."""
    broken = "SELECT ?s WHERE { ?s ?p }"
    r = http.get("/query", params={"q": broken, "run": "1", "lang": "en"}, headers=H)
    assert r.status_code == 400 and 'class="query-error"' in r.text
    assert download_links(r.text) == [] and 'id="query-format"' not in r.text
    assert '<p class="muted" id="no-downloads">' in r.text
    fixed = "SELECT ?s WHERE { ?s ?p ?o } LIMIT 1"
    r = http.get("/query", params={"q": fixed, "run": "1", "lang": "en"}, headers=H)
    assert r.status_code == 200 and download_links(r.text) and format_options(r.text)


@pytest.mark.parametrize("path", ["/query", "/sparql"])
def test_the_query_pages_link_gives_curl_the_page(http: httpx.Client, path):
    """``q=`` is the query page's parameter: its links (``?q=…&run=1``) give a client
    sending ``*/*`` (curl, httpx) the page they name, not the service description; a
    client naming an RDF format still gets the description, and without ``q=`` so does
    ``*/*``."""
    params = {"q": "ASK { ?s ?p ?o }", "run": "1", "lang": "en"}
    r = http.get(path, params=params, headers={"Accept": "*/*"})
    assert r.status_code == 200 and media(r) == "text/html"
    assert '<p class="query-boolean">' in r.text
    r = http.get(path, params=params, headers={"Accept": "text/turtle"})
    assert r.status_code == 200 and media(r) == "text/turtle"
    assert media(http.get(path, headers={"Accept": "*/*"})) == "text/turtle"


@pytest.mark.parametrize(
    "path",
    [
        "/health",
        "/catalog.ttl",
        "/.well-known/void",
        "/search.json?q=x",
        "/match.json?fields=x",
        "/static/site.css",
        "/nothing/here",  # the JSON 404
        "/openapi.json",
        "/sparql?query=ASK%7B%7D",
        "/sparql?query=nonsense",  # the query lane's own error answer
        "/",
    ],
)
def test_every_answer_names_the_release_it_came_from(http: httpx.Client, path):
    """``X-Dipkg-Build`` on every answer (README, "Every response comes wholly from one
    release"): a client polling across an update can tie each answer to its release.
    Known-bad: the catalogue record, search and /health answered without it."""
    build = http.get("/health").json()["build_id"]
    r = http.get(path, headers=H if path == "/" else {})
    assert r.status_code in (200, 400, 404), (path, r.status_code)
    assert r.headers.get("x-dipkg-build") == build, path
    assert r.headers.get_list("x-dipkg-build") == [build], path  # once


def test_a_large_graph_is_shown_in_part_with_a_note(http: httpx.Client):
    """A CONSTRUCT of the whole graph (several hundred KB of Turtle) was put in the page
    whole; the page now shows its first 256 KB, whole lines, and says the rest is a
    download away (the links are there)."""
    query = "CONSTRUCT WHERE { ?s ?p ?o }"
    r = http.get("/query", params={"q": query, "run": "1", "lang": "en"}, headers=H)
    assert r.status_code == 200
    note = '<p class="muted">Only the first 256 KB of the graph are shown'
    assert note in r.text
    shown = html.unescape(re.search(r'<pre class="query-graph">(.*?)</pre>', r.text, re.S)[1])
    assert 200 * 1024 < len(shown.encode()) <= 256 * 1024 and shown.endswith("\n")
    assert download_links(r.text)
    small = http.get(
        "/query",
        params={"q": "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 3", "run": "1", "lang": "en"},
        headers=H,
    )
    assert "query-graph" in small.text and note not in small.text


def test_static_files(http: httpx.Client):
    r = http.get("/static/site.css")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/css")
    assert http.get("/static/nope.css").status_code == 404
    assert http.get("/static/%2E%2E/pages.py").status_code == 404


def test_ontology_page_lists_each_value_once(http: httpx.Client):
    text = http.get("/ontology.html?lang=en", headers=H).text
    term = text[text.index('id="domain"') :]
    term = term[: term.index("</article>")]
    assert term.count(">Application scenario<") == 1


def test_every_page_names_the_version_and_has_an_icon(http: httpx.Client):
    import dipkg

    r = http.get("/", headers=H)
    assert f"dipkg {dipkg.__version__}" in r.text and "dipkg · dipkg" not in r.text
    assert f"Generated by dipkg {dipkg.__version__}" in http.get("/?lang=en", headers=H).text
    assert re.search(r'<link rel="icon" href="[^"]*/static/favicon\.svg"', r.text)
    icon = http.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert http.get("/static/favicon.svg").content == icon.content


def test_chinese_inside_english_text_is_marked_chinese(http: httpx.Client):
    """A screen reader speaks unmarked 涉及数据 in an English sentence with the English
    voice (letter names or nothing): on English pages the Chinese runs of the interface's
    strings and the ontology's definitions are marked ``lang="zh-Hans"``; Chinese pages,
    and English text without Chinese, are as they were."""
    from sparql_api.i18n import mark_zh

    zh_run = '<span lang="zh-Hans">{}</span>'
    en = http.get("/scenario/guizhou-b1-s07.html?lang=en", headers=H).text
    assert f"Source cell ({zh_run.format('涉及数据')}), translated into English</h3>" in en
    ontology = http.get("/ontology.html?lang=en", headers=H).text
    assert f"guide&#39;s {zh_run.format('场景应用')} (application) column" in ontology
    assert f"The row number ({zh_run.format('序号')})" in ontology
    zh = http.get("/ontology.html?lang=zh", headers=H).text
    assert '<p class="prose"><span lang="zh-Hans">' not in zh  # Chinese prose as it was
    assert '<p class="prose">指引中“场景应用”一栏的文字' in zh
    assert str(mark_zh("<b>温度、湿度</b> & x")) == (
        f"&lt;b&gt;{zh_run.format('温度、湿度')}&lt;/b&gt; &amp; x"
    )
    assert str(mark_zh("plain English (x)")) == "plain English (x)"


def test_a_trailing_slash_is_the_page_without_it(http: httpx.Client):
    """/scenario/x/ (hand-typed, or a crawler's guess) was a 404: for a resource it is a 301
    to the same address without the slash, query kept, on this site only; anything else
    is the 404 it was (no hop to learn it)."""
    r = http.get("/scenario/guizhou-b1-s07/?lang=en", headers=H)
    assert r.status_code == 301
    assert r.headers["location"].endswith("/scenario/guizhou-b1-s07?lang=en")
    assert r.headers["location"].startswith(str(http.base_url).rstrip("/") + "/scenario/")
    assert "host" in r.headers["vary"].lower()  # its target is built from the Host header
    followed = http.get(r.headers["location"], headers=H, follow_redirects=True)
    assert followed.status_code == 200 and "guizhou-b1-s07" in str(followed.url)
    root = str(http.base_url).rstrip("/")
    for odd in ("//example.org/", "/scenario//", "/domain/", "/scenario/guizhou-b1-s99/"):
        assert http.get(root + odd, headers=H).status_code == 404, odd
    assert http.get("/dumps/", headers=H).status_code == 200  # a page of its own


def test_robots_keep_crawlers_off_the_query_services(http: httpx.Client):
    """Every page links example queries and searches: a crawler following them spends the
    workers on answers nobody reads. Read with Python's own robots.txt parser."""
    import urllib.robotparser

    r = http.get("/robots.txt")
    assert r.status_code == 200 and r.headers["content-type"] == "text/plain; charset=utf-8"
    robots = urllib.robotparser.RobotFileParser()
    robots.parse(r.text.splitlines())
    root = str(http.base_url).rstrip("/")
    for path in ("/sparql?query=ASK%7B%7D", "/query", "/search?q=温度", "/match?fields=x"):
        assert not robots.can_fetch("AnyBot", root + path), path
    for path in ("/", "/scenario/guizhou-b1-s07.html", "/dumps/", "/catalog", "/map", "/ontology"):
        assert robots.can_fetch("AnyBot", root + path), path
    assert f"{root}/.well-known/void" in r.text
    assert robots.site_maps() == [f"{root}/sitemap.xml"]  # tests/pages/test_sitemap.py
    assert robots.can_fetch("AnyBot", root + "/sitemap.xml")
    proxied = http.get(
        "/robots.txt", headers={"X-Forwarded-Host": "kg.example.org", "X-Forwarded-Proto": "https"}
    )
    assert "https://kg.example.org/.well-known/void" in proxied.text
    assert "x-forwarded-host" in proxied.headers["vary"].lower()
