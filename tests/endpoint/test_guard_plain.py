"""The guard's one-pass verdict on plain queries (``guard._plain``) against the whole
check (``guard.check_fully``): the same answer for any text, and never an acceptance
where any reading refuses.

check_query() takes the one-pass verdict when it has one and asks check_fully() only
otherwise; the verdict may decline (None) but must never accept a text, or give it
another form, where check_fully() raises or says otherwise."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sparql_api import guard
from sparql_api.errors import DipkgError
from sparql_api.guard import MAX_NESTING, check_fully, check_query, tokenize

#: texts some reading refuses, one per refusal (and per reading of SERVICE)
REFUSED = [
    "SELECT * { SERVICE <http://x/> { ?s ?p ?o } }",  # 1. the grammar's reading
    "SELECT * { sErViCe <http://x/> { ?s ?p ?o } }",
    "SELECT * { SERVICE:x { ?s ?p ?o } }",  # a prefixed name pyoxigraph reads as SERVICE
    "SELECT * { ?s ?p trueSERVICE <x> {} }",  # a word with SERVICE in it
    "SELECT * { ?s ?p ?o . ex:a.b.SERVICE:x { } }",  # 2. pyoxigraph's local names
    "SELECT * { \\u0053ERVICE <http://x/> { } }",  # 3. codepoint escapes
    "INSERT DATA { <a> <b> <c> }",  # an update
    "PREFIX ex: <http://e/> DELETE WHERE { ?s ?p ?o }",
    "SELECT * { ?s ?p ?o \u3000 }",  # no SPARQL token
    "SELECT * " + "{" * (MAX_NESTING + 1) + "}" * (MAX_NESTING + 1),  # too deep
]

PIECES = st.sampled_from(
    [
        "SELECT", "ASK", "CONSTRUCT", "DESCRIBE", "WHERE", "SERVICE", "service", "INSERT",
        "DELETE", "LOAD", "WITH", "PREFIX", "BASE", "ex:", ":x", "ex:a.b", "SERVICE:x",
        "ex:a.b.SERVICE:x", "trueSERVICE", "?s", "$o", "<x>", "'s'", "\\u0053ERVICE", "\\",
        "_:b", "@en", "1.5", "#c\n", " ", "\n", "{", "}", "(", ")", "[", "]", ".", ";",
        "\u3000", "\u00e9", "a",
    ]
)  # fmt: skip
TEXTS = st.one_of(
    st.text(max_size=120),
    st.lists(PIECES, max_size=40).map(" ".join),
    st.lists(PIECES, max_size=40).map("".join),
)


def outcome(call):
    """What a check gives: its form, or its error's shape (class, message, place)."""
    try:
        return ("ok", call().form)
    except DipkgError as exc:
        return ("refused", type(exc).__name__, exc.to_dict())


@settings(max_examples=3000, deadline=None)
@given(text=TEXTS)
@example(text="SELECT ?p ?o WHERE { <https://e/x> ?p ?o }\n#1")
@example(text="PREFIX ex: <http://e/> ASK { ex:a ex:b ex:c }")
@example(text="")
def test_the_same_answer_as_the_whole_check(text: str) -> None:
    assert outcome(lambda: check_query(text)) == outcome(lambda: check_fully(tokenize(text), text))
    plain = guard._plain(tokenize(text), text)
    if plain is not None:  # an acceptance: the whole check accepts it, with that form
        assert outcome(lambda: check_fully(tokenize(text), text)) == ("ok", plain.form)


@pytest.mark.parametrize("text", REFUSED)
def test_what_any_reading_refuses_is_never_plain(text: str) -> None:
    assert guard._plain(tokenize(text), text) is None
    assert outcome(lambda: check_query(text))[0] == "refused"


def test_the_comparison_catches_a_verdict_that_skips_a_reading(monkeypatch) -> None:
    """Known-bad: a one-pass verdict that forgot pyoxigraph's dotted local names would
    let ``ex:a.b.SERVICE:x {`` through: told apart from the whole check."""
    text = "SELECT * { ?s ?p ?o . ex:a.b.SERVICE:x { } }"

    def forgetful(tokens, text):
        if any(t.kind == guard.PNAME and "SERVICE" in t.text.split(":")[0] for t in tokens):
            return None
        return guard._CHECKED["select"]

    monkeypatch.setattr(guard, "_plain", forgetful)
    assert outcome(lambda: check_query(text)) == ("ok", "select")
    assert outcome(lambda: check_fully(tokenize(text), text))[0] == "refused"
