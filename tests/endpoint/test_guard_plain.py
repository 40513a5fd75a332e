"""The guard's one-pass verdict on plain queries (``guard._plain``) against the whole
check (``guard.check_fully``): the same answer for any text, and never an acceptance
where any reading refuses.

check_query() takes the one-pass verdict when it has one and asks check_fully() only
otherwise; the verdict may decline (None) but must never accept a text, or give it
another form, where check_fully() raises or says otherwise."""

from __future__ import annotations

import inspect

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
    "} ] ) SELECT * " + "{" * (MAX_NESTING + 1) + "}" * (MAX_NESTING + 1),  # closers first
    "SELECT * { ?s ?p ?o # \\u000A SERVICE <http://x/> { } \n }",  # an escape in a comment
    "SELECT * { ?s ?p '\\u0027 } SERVICE <http://x/> { } #' }",  # an escape in a string
    "PREFIX e: <http://e/> ASK{<<e:?p'>'>>SERVICE<http://x/>{}}#'",  # 5. a quoted triple
    # 5. '<<' after an operand inside parentheses (less-than or a quoted triple's opening)
    "PREFIX e: <http://e/> ASK{FILTER(?a<<e:'>)<<e:?p'>'>>SERVICE<http://x/>{}}#'",
    # 4. '<' after a triple term, an operand
    "PREFIX e: <http://e/> ASK{FILTER(<<(e:a e:b e:c)>><e:z&&'>')SERVICE<http://x/>{}}#'",
    # an IRI read as one by pyoxigraph in a collection, then one read as less-than
    "PREFIX x: <http://e/> ASK{ ?s ?p (x:a <x:q'>) FILTER(?a<x:z&&'>') SERVICE<http://x/>{} }#'",
    "PREFIX x: <http://e/> ASK{ FILTER(EXISTS{?s ?p <x:q#>}) FILTER(?a<x:z&&'>') "
    "SERVICE<http://x/>{} }#'\n",
]

PIECES = st.sampled_from(
    [
        "SELECT", "ASK", "CONSTRUCT", "DESCRIBE", "WHERE", "SERVICE", "service", "INSERT",
        "DELETE", "LOAD", "WITH", "PREFIX", "BASE", "ex:", ":x", "ex:a.b", "SERVICE:x",
        "ex:a.b.SERVICE:x", "trueSERVICE", "?s", "$o", "<x>", "'s'", "\\u0053ERVICE", "\\",
        "_:b", "@en", "1.5", "#c\n", " ", "\n", "{", "}", "(", ")", "[", "]", ".", ";",
        "\u3000", "\u00e9", "a", "# \\u000A", "'\\u0027", "'", "<<", ">>", "<e:?p'>",
        "<<(", ")>>", "?a<<", "<e:z&&'>", "FILTER(",
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


@settings(max_examples=1500, deadline=None)
@given(text=TEXTS)
@example(text="SELECT ?p ?o WHERE { <https://e/x> ?p ?o }\n#1")
@example(text="PREFIX ex: <http://e/> ASK { ex:a ex:b ex:c }")
@example(text="")
def test_the_same_answer_as_the_whole_check(text: str) -> None:
    assert outcome(lambda: check_query(text)) == outcome(lambda: check_fully(tokenize(text), text))


@pytest.mark.parametrize("text", REFUSED)
def test_what_any_reading_refuses_is_never_plain(text: str) -> None:
    assert guard._plain(tokenize(text), text) is None
    assert outcome(lambda: check_query(text))[0] == "refused"


def _without(condition: str):
    """``guard._plain`` with one of its conditions taken out: a known-bad verdict, made
    from the real one's source so that it stays the real one but for that."""
    old, new = {
        "backslash": ('    if "\\\\" in text:\n        return None\n', ""),
        "triple": (
            '    if "<<" in text:  # (reading 5 has something to do)\n        return None\n',
            "",
        ),
        "clamp": ("depth = max(depth - 1, 0)", "depth -= 1"),
        "dots": ('if "." in tok.text or "SERVICE"', 'if "SERVICE"'),
        "unclassified": ("        elif kind == OTHER:\n            return None\n", ""),
        "update": ("        return None\n    return _CHECKED", "        pass\n    return _CHECKED"),
    }[condition]
    source = inspect.getsource(guard._plain)
    assert source.count(old) == 1, f"guard._plain no longer reads {old!r}: update this test"
    namespace = dict(vars(guard))
    exec(compile(source.replace(old, new), "<known-bad>", "exec"), namespace)  # noqa: S102
    return namespace["_plain"]


@pytest.mark.parametrize(
    "condition", ["backslash", "triple", "clamp", "dots", "unclassified", "update"]
)
def test_the_examples_catch_a_verdict_without_any_of_its_conditions(condition: str) -> None:
    """Known-bad: without any one of its conditions, the one-pass verdict accepts a text
    of :data:`REFUSED` that the real one declines."""
    wrong = _without(condition)
    accepted = [text for text in REFUSED if wrong(tokenize(text), text) is not None]
    assert accepted, condition
    for text in accepted:
        assert guard._plain(tokenize(text), text) is None
