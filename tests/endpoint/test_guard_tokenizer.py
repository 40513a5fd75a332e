"""The guard's tokenizer against the plain loop it replaced (one pattern tried per
character class, no shortcut): the same tokens for any text, in both readings.

tokenize() takes three shortcuts (one space, a delimiter, a keyword ended by a character
no prefixed name goes on with) for speed; each must give exactly the token the patterns
would have. The reference below is the tokenizer as it was before them (commit a392c7e),
kept verbatim but for its name."""

from __future__ import annotations

import contextlib
import re
import time

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dipkg.core.errors import DipkgError
from sparql_api import guard
from sparql_api.guard import (
    _BNODE,
    _COMMENT,
    _IRIREF,
    _LANG,
    _NUMBER,
    _PN_LOCAL_OXIGRAPH,
    _PNAME,
    _PUNCT,
    _STRING1,
    _STRING2,
    _STRING_LONG1,
    _STRING_LONG2,
    _VAR,
    _WORD,
    _WS,
    BNODE,
    IRI,
    LANG,
    NUMBER,
    OTHER,
    PNAME,
    PUNCT,
    STRING,
    VAR,
    WORD,
    WS,
    Token,
    check_query,
    tokenize,
)

#: (the reference's way to pyoxigraph's local names: the grammar's, then cut short)
_LOCAL_OXIGRAPH = re.compile(_PN_LOCAL_OXIGRAPH)


def reference(text: str, *, oxigraph_locals: bool = False) -> list[Token]:
    tokens: list[Token] = []
    append = tokens.append
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in WS:
            i = _WS.match(text, i).end()  # type: ignore[union-attr]
            continue
        if ch == "#":
            i = _COMMENT.match(text, i).end()  # type: ignore[union-attr]
            continue
        m = None
        kind = OTHER
        if ch == "<":
            m, kind = _IRIREF.match(text, i), IRI
        elif ch == "'" or ch == '"':
            long_rx, short_rx = (
                (_STRING_LONG1, _STRING1) if ch == "'" else (_STRING_LONG2, _STRING2)
            )
            m, kind = long_rx.match(text, i) or short_rx.match(text, i), STRING
        elif ch == "?" or ch == "$":
            m, kind = _VAR.match(text, i), VAR
        elif ch == "_":
            m, kind = _BNODE.match(text, i), BNODE
        elif ch == "@":
            m, kind = _LANG.match(text, i), LANG
        elif "0" <= ch <= "9" or (ch == "." and i + 1 < n and "0" <= text[i + 1] <= "9"):
            m, kind = _NUMBER.match(text, i), NUMBER
        else:
            m, kind = _PNAME.match(text, i), PNAME
            if m is not None and oxigraph_locals:
                colon = text.index(":", i)
                local = _LOCAL_OXIGRAPH.match(text, colon + 1, m.end())
                if local is not None and local.end() < m.end():
                    append(Token(PNAME, text[i : local.end()], i))
                    i = local.end()
                    continue
            if m is None:
                m, kind = _WORD.match(text, i), WORD
        if m is not None:
            append(Token(kind, m.group(), i))
            i = m.end()
            continue
        append(Token(PUNCT if ch in _PUNCT else OTHER, ch, i))
        i += 1
    return tokens


#: every character a shortcut looks at, with those that make a keyword a prefixed name
#: (':', '.', '-', digits, '_', '·', a combining mark, '‿'), and others of the grammar
ALPHABET = (
    " \t\r\n#{}()[].,;=!&|*/+-^<>?~$'\"@_:\\%0123456789"
    "SELECTWHEREserviceABxyz\u00b7\u0301\u203f\u00e9\u4e2d\u3000\u200d"
)
PIECES = st.sampled_from(
    [
        "SELECT", "WHERE", "SERVICE", "ex:", ":x", "ex:a.b", "a.b:c", "SELECT:x", "SERVICE-x:",
        "SELECT_x", "SELECT1", "A\u0301", "x\u00b7y:z", "?s", "$o", "<x>", "<a b>", "'s'",
        '"""l"""', "_:b", "@en", "1.5e3", ".5", "#c\n", "  ", " ", "\t\n", "{", "}", "(", ")",
        "^^", "!=", "&&", "||", "<=", ">=", "a", ",", ";", "~", "|", "\\u0053",
        '\\"', "\\'", '"""', "'''", '"', "'", "\\", "\n",
    ]
)  # fmt: skip
TEXTS = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=ALPHABET, max_size=120),
    st.lists(st.one_of(PIECES, st.text(alphabet=ALPHABET, max_size=3)), max_size=40).map("".join),
)


@settings(max_examples=3000, deadline=None)
@given(text=TEXTS, oxigraph_locals=st.booleans())
@example(text="SELECT ?p ?o WHERE { <https://e/x> ?p ?o }\n#1", oxigraph_locals=False)
@example(text="SELECT:x{", oxigraph_locals=False)
@example(text="SERVICE-x:y {", oxigraph_locals=True)
@example(text="SELECT\u0301:x", oxigraph_locals=False)
@example(text="a.b:c", oxigraph_locals=True)
@example(text="x ", oxigraph_locals=False)
@example(text=" ", oxigraph_locals=False)
@example(text="a.a.a:x a-a.:y é.é:z", oxigraph_locals=True)
@example(text="ex:a.b.c.d:e a..:f .:g a:", oxigraph_locals=True)
@example(text="a.·:x ·a:y a·.b:", oxigraph_locals=False)
@example(text='"a\\"b\\" "c" \'\\\'"\' """x\\"""y"""', oxigraph_locals=False)
@example(text="\"\"\"\"\\\"\"\"\n\"\\\n\" '''\\'''' '''", oxigraph_locals=False)
@example(text='\\"\\"x"\\"\n"\\"', oxigraph_locals=False)
def test_the_same_tokens_as_the_plain_loop(text: str, oxigraph_locals: bool) -> None:
    assert tokenize(text, oxigraph_locals=oxigraph_locals) == reference(
        text, oxigraph_locals=oxigraph_locals
    )


def test_every_character_after_a_keyword_and_as_a_delimiter() -> None:
    """Each code point of the Basic Multilingual Plane right after a keyword, before
    ':x', alone between spaces, and inside a dotted local name read pyoxigraph's way: the
    shortcuts' sets are checked against the patterns for every one of them, not for a
    sample."""
    for cp in range(0x10000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        for text in (f"SELECT{c}:x {{", f"{c}", f" {c} ", f"WHERE{c}"):
            assert tokenize(text) == reference(text), (hex(cp), text)
        text = f"ex:a.b{c}:x {{"  # pyoxigraph's reading of a local name, too
        assert tokenize(text, oxigraph_locals=True) == reference(text, oxigraph_locals=True)


def test_the_comparison_catches_a_difference() -> None:
    """Known-bad: a keyword shortcut that also stopped at '-' (a name character) would
    read ``SERVICE-x:y`` as a word and a prefixed name: told apart."""
    text = "SERVICE-x:y {"
    wrong = [Token(WORD, "SERVICE", 0), *guard.tokenize(text[7:])]
    assert wrong != reference(text)
    assert tokenize(text) == reference(text)


#: runs of name characters and dots with no ':' after them: the prefixed-name pattern
#: tried at each word of such a run scanned the rest of it each time (64 KiB: ~40 s)
LONG_RUNS = {
    "hyphens": "a-" * 32768,
    "dots": "a." * 32768,
    "non-ASCII": "\u00e9." * 32768,
    "a local name": "ex:" + "a." * 32768,  # (read again pyoxigraph's way: cut short)
    "dots before ':'": "a.." * 21845 + ".:",
    # pyoxigraph's reading: the grammar's local name ran to the end, cut at each ':'
    "locals with colons": "ex:" + "a.b.c:" * 10922,
    # unterminated strings: each quote scanned the rest of the text (64 KiB: ~50 s)
    "escaped quotes": '\\"' * 32768,
    "escaped apostrophes": "'_S\\" * 16384,
    "a long string's quotes": '"""' + '\\"' * 32000,
}


@pytest.mark.parametrize("text", LONG_RUNS.values(), ids=LONG_RUNS.keys())
def test_long_runs_are_tokenized_in_linear_time(text: str) -> None:
    """Each reading of 64 KiB takes well under a second (~50 ms here); the quadratic
    tokenizer took 40-50 s. A bound, not a benchmark: it fails only by an order of
    magnitude (of this process's CPU time: a loaded machine stretches the clock's, not the
    work). The tokens are still the plain loop's (checked on a slice: it is slow)."""
    for oxigraph_locals in (False, True):
        started = time.process_time()
        tokenize(text, oxigraph_locals=oxigraph_locals)
        assert time.process_time() - started < 3.0
    started = time.process_time()
    with contextlib.suppress(DipkgError):
        check_query(text)
    assert time.process_time() - started < 6.0
    head = text[:2000] if ":" not in text[-1:] else text[-2000:]
    for oxigraph_locals in (False, True):
        assert tokenize(head, oxigraph_locals=oxigraph_locals) == reference(
            head, oxigraph_locals=oxigraph_locals
        )
