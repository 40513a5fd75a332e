"""Properties of the Accept parser and of negotiation (offers in, choice out)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparql_api import negotiation
from sparql_api.errors import NotAcceptable
from sparql_api.negotiation import (
    GRAPH_OFFERS,
    RESULT_OFFERS,
    SPARQL_JSON,
    SPARQL_XML,
    TURTLE,
    by_name,
    graph_offers,
    negotiate,
    parse_accept,
)

OFFER_SETS = [RESULT_OFFERS, GRAPH_OFFERS, graph_offers(True)]
KNOWN = sorted(
    {o.media_type for s in OFFER_SETS for o in s}
    | {a for s in OFFER_SETS for o in s for a in o.aliases}
    | {"text/html", "application/xhtml+xml", "image/png", "text/plain"}
)
ranges = st.one_of(
    st.sampled_from(KNOWN),
    st.sampled_from(["*/*", "text/*", "application/*", "image/*"]),
)
qvalues = st.one_of(
    st.none(), st.sampled_from(["0", "0.0", "0.001", "0.1", "0.5", "0.9", "1", "1.0", "1.000"])
)
params = st.sampled_from(
    ["", ";charset=utf-8", ";charset=latin-1", ';profile="http://www.w3.org/ns/json-ld#compacted"']
)


@st.composite
def accept_headers(draw) -> str:
    items = []
    for _ in range(draw(st.integers(0, 6))):
        item = draw(ranges) + draw(params)
        q = draw(qvalues)
        if q is not None:
            item += f";q={q}"
        items.append(item)
    return draw(st.sampled_from([", ", ",", " , "])).join(items)


def quality(accept: str, media_type: str, charset: str = "utf-8", alias: bool = False) -> float:
    """Brute-force reference: q of the most specific matching range (first listed on ties)."""
    best_spec, best_q = -1, 0.0
    for r in parse_accept(accept):
        if alias and r.specificity < 2:
            continue
        if r.matches(media_type, charset) and r.specificity > best_spec:
            best_spec, best_q = r.specificity, r.q
    return best_q


@settings(max_examples=400, deadline=None)
@given(accept=accept_headers(), offers=st.sampled_from(OFFER_SETS))
def test_negotiation_properties(accept: str, offers) -> None:
    try:
        choice = negotiate(accept, offers)
    except NotAcceptable as exc:
        assert exc.status == 406
        assert exc.details["offered"] == [o.media_type for o in offers]
        # nothing offered had a positive quality
        for o in offers:
            assert quality(accept, o.media_type, o.charset) == 0
            for a in o.aliases:
                assert quality(accept, a, o.charset, alias=True) == 0
        return
    # never picks something not offered, nor a label the offer does not have
    assert choice.offer in offers
    assert choice.media_type in (choice.offer.media_type, *choice.offer.aliases)
    assert choice.content_type.startswith(choice.media_type)
    if parse_accept(accept):
        q = quality(
            accept,
            choice.media_type,
            choice.offer.charset,
            alias=choice.media_type != choice.offer.media_type,
        )
        assert q > 0  # q=0 excludes
        # no other offer is strictly preferred by the client
        for o in offers:
            others = [quality(accept, o.media_type, o.charset)] + [
                quality(accept, a, o.charset, alias=True) for a in o.aliases
            ]
            assert max(others) <= q + 1e-9
    else:
        assert choice.offer is offers[0]


@given(st.text(max_size=200))
def test_parse_accept_never_fails(text: str) -> None:
    for r in parse_accept(text):
        assert 0 <= r.q <= 1


@given(offers=st.sampled_from(OFFER_SETS), data=st.data())
def test_an_exact_type_gets_itself(offers, data) -> None:
    offer = data.draw(st.sampled_from(list(offers)))
    assert negotiate(offer.media_type, offers).offer is offer
    assert negotiate(f"{offer.media_type};q=0.5, */*;q=0.1", offers).offer is offer


@pytest.mark.parametrize(
    "accept,offers,expected,label",
    [
        (None, RESULT_OFFERS, SPARQL_JSON, "application/sparql-results+json"),
        ("", GRAPH_OFFERS, TURTLE, "text/turtle"),
        ("*/*", RESULT_OFFERS, SPARQL_JSON, "application/sparql-results+json"),
        ("application/json", RESULT_OFFERS, SPARQL_JSON, "application/json"),
        ("application/xml", RESULT_OFFERS, SPARQL_XML, "application/xml"),
        (
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            RESULT_OFFERS,
            SPARQL_XML,
            "application/xml",
        ),
        (
            "application/sparql-results+json;q=0, */*",
            RESULT_OFFERS,
            SPARQL_XML,
            "application/sparql-results+xml",
        ),
        (
            "application/sparql-results+xml, */*",
            RESULT_OFFERS,
            SPARQL_XML,
            "application/sparql-results+xml",
        ),
        ("text/turtle;charset=UTF-8", GRAPH_OFFERS, TURTLE, "text/turtle"),
        ("application/turtle,text/turtle", GRAPH_OFFERS, TURTLE, "text/turtle"),
    ],
)
def test_examples(accept, offers, expected, label) -> None:
    choice = negotiate(accept, offers)
    assert choice.offer is expected and choice.media_type == label


@pytest.mark.parametrize(
    "accept", ["text/turtle;charset=latin-1", "text/html", "image/*", "text/turtle;q=0"]
)
def test_not_acceptable(accept: str) -> None:
    with pytest.raises(NotAcceptable) as info:
        negotiate(accept, GRAPH_OFFERS)
    assert info.value.details["offered"] == [o.media_type for o in GRAPH_OFFERS]


def test_charset_on_text_types() -> None:
    """Every text format says UTF-8; the one binary result (the workbook) says no charset."""
    for offer in RESULT_OFFERS + graph_offers(True):
        if offer.key == "xlsx":
            assert offer.content_type() == offer.media_type
        else:
            assert offer.content_type().endswith("; charset=utf-8")


def test_by_name() -> None:
    assert by_name([], RESULT_OFFERS) is None
    assert by_name(["json"], RESULT_OFFERS).offer is SPARQL_JSON
    assert by_name(["JSON"], GRAPH_OFFERS).media_type == "application/ld+json"
    assert by_name(["tsv", "text/tab-separated-values"], RESULT_OFFERS).key == "tsv"
    assert by_name(["application/json"], RESULT_OFFERS).media_type == "application/json"
    with pytest.raises(NotAcceptable):
        by_name(["csv"], GRAPH_OFFERS)


@settings(max_examples=400, deadline=None)
@given(
    accept=accept_headers(),
    offers=st.sampled_from([*OFFER_SETS, tuple(RESULT_OFFERS[::-1]), (TURTLE,)]),
)
def test_the_memo_chooses_as_negotiation_does(accept: str, offers) -> None:
    """negotiate remembers its choice per Accept and offers tuple: asked again (a hit), it
    answers as the unremembered rules do, a refusal included (raised anew each time)."""

    def fresh() -> object:
        try:
            return negotiation._negotiate(accept, offers)
        except NotAcceptable as exc:
            return ("406", str(exc), exc.details)

    def memo() -> object:
        try:
            return negotiate(accept, offers)
        except NotAcceptable as exc:
            return ("406", str(exc), exc.details)

    assert memo() == fresh() and memo() == fresh()


def test_the_memo_is_per_offers_and_bounded() -> None:
    # known-bad: a memo on the Accept alone would answer graphs with a results format
    assert negotiate("*/*", RESULT_OFFERS).offer is SPARQL_JSON
    assert negotiate("*/*", GRAPH_OFFERS).offer is TURTLE
    assert negotiate("*/*", list(GRAPH_OFFERS)).offer is TURTLE  # a list: never remembered
    for i in range(negotiation.MEMO_SIZE * 2):
        negotiate(f"application/x-{i}, */*;q=0.1", RESULT_OFFERS)
    assert len(negotiation._CHOSEN) == negotiation.MEMO_SIZE
    long = "text/plain, " * 100 + "application/sparql-results+xml"
    before = len(negotiation._CHOSEN)
    negotiation._CHOSEN.clear()
    assert negotiate(long, RESULT_OFFERS).offer is SPARQL_XML and not negotiation._CHOSEN
    assert before == negotiation.MEMO_SIZE
    with pytest.raises(NotAcceptable):
        negotiate("image/png", RESULT_OFFERS)
    with pytest.raises(NotAcceptable):  # a refusal is not remembered: raised again
        negotiate("image/png", RESULT_OFFERS)


def test_the_memo_holds_its_bound_across_threads() -> None:
    """Sync routes negotiate in FastAPI's worker threads: the memo stays bounded and right."""
    import threading

    errors: list[BaseException] = []

    def churn(n: int) -> None:
        try:
            for i in range(2000):
                accept = f"application/x-{n}-{i}, application/sparql-results+xml;q=0.5"
                assert negotiate(accept, RESULT_OFFERS).offer is SPARQL_XML
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=churn, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(negotiation._CHOSEN) <= negotiation.MEMO_SIZE
