"""A data item's qualifier (dip:qualifier, @zh with an @en twin) in the page's language, as
its label is: in a scenario's tree, on the item's own page, in a category's "same kind
elsewhere" and in a concept's uses. Chinese only where there is no English, and then marked
as Chinese. In-process (TestClient): the pages only, no query worker."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pyoxigraph as ox
import pytest
import rdflib
from fastapi.testclient import TestClient

from dipkg.core.release import Release
from dipkg.core.settings import Settings
from sparql_api.app import create_app
from sparql_api.describe import Describer
from tests.conftest import StandInPool
from tests.pages.conftest import BROWSER_ACCEPT

DIP = rdflib.Namespace("https://w3id.org/dipkg/ontology#")
H = {"Accept": BROWSER_ACCEPT}
#: what the page says around a qualifier, and the lang attribute of its text
BRACKETS = {"zh": ("（", "）"), "en": ("(", ")")}
HTML_LANG = {"zh": "zh-Hans", "en": "en"}
LABEL = {"zh": "限定语", "en": "Qualifier"}


@pytest.fixture(scope="module")
def client(release: Release) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(), release, pool=StandInPool())) as c:
        yield c


@pytest.fixture(scope="module")
def qualified(dump_graph: rdflib.Graph, release: Release) -> dict[str, dict[str, str]]:
    """Each qualified item's path on the server, with its qualifier by language."""
    out: dict[str, dict[str, str]] = {}
    for item, q in dump_graph.subject_objects(DIP.qualifier):
        out.setdefault(path(str(item), release), {})[q.language] = str(q)
    return out


def path(iri: str, release: Release) -> str:
    assert iri.startswith(release.base_iri)
    return "/" + iri[len(release.base_iri) :]


def shown(page: str, item: str) -> list[tuple[str | None, str]]:
    """(lang attribute, text) of the qualifier after each link to ``item`` in a list or tree."""
    found = re.findall(
        r'<a href="[^"]*' + re.escape(item) + r'(?:\?[^"]*)?">[^<]*</a>'
        r' <span class="qualifier"([^>]*)>([^<]*)</span>',
        page,
    )
    out = []
    for attrs, text in found:
        lang = re.search(r'\blang="([^"]*)"', attrs)
        out.append((lang.group(1) if lang else None, text))
    return out


def expected(qualifier: dict[str, str], lang: str, shown_in: str | None = None) -> tuple:
    """A qualifier as a page in ``lang`` shows it: in the ``shown_in`` language's text."""
    shown_in = shown_in or lang
    opening, closing = BRACKETS[lang]
    return (HTML_LANG[shown_in], f"{opening}{qualifier[shown_in]}{closing}")


def test_every_qualifier_has_both_languages(qualified):
    assert len(qualified) >= 10
    assert all(set(q) == {"zh", "en"} for q in qualified.values()), qualified


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_scenario_tree_shows_qualifiers_in_the_page_language(
    client, qualified, dump_graph, release, lang
):
    scenarios: dict[str, list[str]] = {}
    for item in qualified:
        s = dump_graph.value(rdflib.URIRef(release.base_iri + item[1:]), DIP.scenario)
        scenarios.setdefault(path(str(s), release), []).append(item)
    for scenario, items in scenarios.items():
        page = client.get(f"{scenario}.html?lang={lang}", headers=H).text
        for item in items:
            assert shown(page, item) == [expected(qualified[item], lang)], (scenario, item)
        assert page.count('class="qualifier"') == len(items), scenario


def test_the_walkthrough_example(client):
    """The fresh user's page: 微博、微信、抖音等平台 has an English twin."""
    en = client.get("/scenario/guizhou-b1-s11.html?lang=en", headers=H).text
    assert "(Weibo, WeChat, Douyin and other platforms)</span>" in en
    assert "微博、微信、抖音等平台）" not in en
    zh = client.get("/scenario/guizhou-b1-s11.html?lang=zh", headers=H).text
    assert "（微博、微信、抖音等平台）</span>" in zh
    assert "(Weibo, WeChat, Douyin and other platforms)" not in zh
    en = client.get("/scenario/guizhou-b1-s11/data/1.html?lang=en", headers=H).text
    assert '<dt>Qualifier</dt><dd lang="en">Weibo, WeChat, Douyin and other platforms</dd>' in en


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_item_page_shows_its_qualifier_in_the_page_language(client, qualified, lang):
    for item, q in qualified.items():
        page = client.get(f"{item}.html?lang={lang}", headers=H).text
        assert f'<dt>{LABEL[lang]}</dt><dd lang="{HTML_LANG[lang]}">{q[lang]}</dd>' in page, item


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_lists_of_the_same_kind_show_qualifiers_in_the_page_language(
    client, qualified, dump_graph, release, lang
):
    """A concept's uses list every qualified item of that kind; the page of another item of
    the same kind lists it under "same kind elsewhere"."""
    same_kind = 0
    for item, q in qualified.items():
        node = rdflib.URIRef(release.base_iri + item[1:])
        kind = dump_graph.value(node, DIP.dataKind)
        assert kind is not None, item
        page = client.get(f"{path(str(kind), release)}.html?lang={lang}", headers=H).text
        assert shown(page, item) == [expected(q, lang)], (kind, item)
        others = [o for o in dump_graph.subjects(DIP.dataKind, kind) if o != node]
        if others:
            same_kind += 1
            other = path(str(others[0]), release)
            page = client.get(f"{other}.html?lang={lang}", headers=H).text
            assert shown(page, item) == [expected(q, lang)], (other, item)
    assert same_kind > 0  # the data has such lists


@pytest.fixture()
def without_english_qualifiers(monkeypatch, release, qualified) -> Iterator[TestClient]:
    """An app over a store whose lookups find no English qualifier (every one has a twin
    in the real data): the English pages fall back to the Chinese."""
    english = {q["en"] for q in qualified.values()}
    select = Describer.select

    def lookup(self, query, graph=None, **kw):
        rows = select(self, query, graph, **kw)
        return [
            {
                k: v
                for k, v in r.items()
                if not (isinstance(v, ox.Literal) and v.language == "en" and v.value in english)
            }
            for r in rows
        ]

    monkeypatch.setattr(Describer, "select", lookup)
    with TestClient(create_app(Settings(), release, pool=StandInPool())) as c:
        yield c


def test_without_english_the_chinese_is_shown_and_marked(
    without_english_qualifiers, qualified, dump_graph, release
):
    client = without_english_qualifiers
    item = "/scenario/guizhou-b1-s11/data/1"
    q = qualified[item]
    page = client.get("/scenario/guizhou-b1-s11.html?lang=en", headers=H).text
    assert shown(page, item) == [expected(q, "en", shown_in="zh")]
    page = client.get(f"{item}.html?lang=en", headers=H).text
    assert f'<dt>Qualifier</dt><dd lang="zh-Hans">{q["zh"]}</dd>' in page
    kind = dump_graph.value(rdflib.URIRef(release.base_iri + item[1:]), DIP.dataKind)
    page = client.get(f"{path(str(kind), release)}.html?lang=en", headers=H).text
    assert shown(page, item) == [expected(q, "en", shown_in="zh")]
    # a Chinese page is unchanged
    page = client.get("/scenario/guizhou-b1-s11.html?lang=zh", headers=H).text
    assert shown(page, item) == [expected(q, "zh")]


@pytest.mark.parametrize(
    "tags,lang,expected",
    [
        (["zh", "en"], "en", "en"),
        (["zh", "en"], "zh", "zh"),
        (["en"], "zh", "en"),  # no Chinese: English, said to be English
        (["en-gb", "fr"], "en", "en-gb"),  # the page's language by its primary subtag
        (["fr", None], "en", None),  # none of them: the first by tag (a plain literal)
    ],
)
def test_a_pages_literal_is_picked_as_a_label_is(tags, lang, expected) -> None:
    """A resource's own literal (a definition, an application) in the page's language by the
    one rule labels are picked by (i18n.pick_language), with the language it is in."""
    from sparql_api import i18n
    from sparql_api.pages.model import Facts

    p = "https://example.org/p"
    own = {p: [ox.Literal(f"text {t}", language=t) if t else ox.Literal("plain") for t in tags]}
    facts = Facts(None, own, None, None, lang)  # type: ignore[arg-type]  # literals only
    value = facts.lit_lang(p)
    assert value is not None and value.lang == expected
    assert facts.lit(p) == value.text
    assert expected == (i18n.pick_language([t or "" for t in tags], lang) or None)
    assert Facts(None, {}, None, None, lang).lit_lang(p) is None  # type: ignore[arg-type]
