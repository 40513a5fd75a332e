"""The query guard: runs on the query text BEFORE anything executes it.

* refuses ``SERVICE`` (federated query: pyoxigraph would fetch the IRI over HTTP,
  an SSRF hole) in every spelling pyoxigraph or a spec-conformant backend accepts,
  with :class:`~sparql_api.errors.ServiceRefused` (400);
* recognises updates (the first operation keyword after the prologue is
  INSERT, DELETE, LOAD, CLEAR, CREATE, DROP, COPY, MOVE, ADD or WITH, or SPARUL's
  MODIFY) with :class:`~sparql_api.errors.UpdateForbidden` (403);
* refuses, with :class:`~sparql_api.errors.QuerySyntaxError` (400), any text it
  cannot classify: a character outside strings, IRIs and comments that starts no
  SPARQL token (a stray combining mark, U+3000, a backslash...). The guard only
  vouches for what it understands;
* classifies a query as ``select``, ``ask``, ``construct`` or ``describe`` so the
  response format can be negotiated before execution.

It is a tokenizer built from the SPARQL 1.1 grammar's own terminals (§19.8,
productions [139]–[173]): the character classes below are transcribed range by
range from the Recommendation, and tests/endpoint/test_guard.py checks them
against a verbatim copy of those productions (tests/data/sparql11-terminals.ebnf)
and draws names from every range against pyoxigraph. SERVICE inside a string, an
IRI, a comment, a variable (``?service``), a prefixed name's local part
(``dcat:DataService``) or a blank node label is not a keyword and is not flagged.

Readings. The guard refuses SERVICE if *any* reading of the text has it:

1. the grammar's, on the text as sent;
2. pyoxigraph's where it departs from the grammar. Its parser is a PEG that
   matches keywords without a word boundary (``SERVICE:x {`` is SERVICE with the
   target ``:x``; so are ``SERVICEex:y {`` and ``?s ?p trueSERVICE <x> {}``),
   hence a bare word that contains SERVICE is refused (no SPARQL keyword or
   function name does), and so is a prefixed name whose prefix contains SERVICE
   when the next token is ``{``. Its PN_LOCAL also stops after the second run
   of dots (``ex:a.b.SERVICE:x {`` is ``ex:a.b`` ``.`` SERVICE ``:x``): where a
   local name is longer by the grammar than by pyoxigraph, the text is read
   again with pyoxigraph's rule;
3. the grammar's after codepoint escapes (``\\u0053ERVICE``), which §19.2 says
   are processed before parsing (pyoxigraph does not, a remote backend may), and
   Java's ``\\uu0053`` (a JavaCC parser, as Jena's, may read more than one ``u``);
4. pyoxigraph's where it reads ``<`` as less-than: an IRIREF of the grammar that is no
   IRI it can parse (``<'x>``: relative with no BASE; ``<x:%zz>``; an escape decoding
   to a space), so ``FILTER(?a<'x>') SERVICE <…> {} # '`` compares ``?a`` with a
   string and then calls SERVICE; and, however well the IRI parses, one right after an
   operand inside parentheses, where its PEG tries less-than first
   (``FILTER(?a<x:z&&'>') SERVICE <…> {} #'`` is ``?a < x:z && '>'``; a triple term's
   ``)>>`` ends an operand too). Such text is read again each IRI as pyoxigraph judges
   it (BASE applied), and once more with every relative IRI as less-than (a backend may
   resolve otherwise). Inside a group's braces (``EXISTS{…}``), a triple term or a VALUES
   row there is no expression; in a collection there is none either, but its parentheses
   look like an expression's, so an IRI there right after another term that holds a
   quote, ``#`` or a parenthesis (read as less-than, the text after it changes) is refused
   as ambiguous unless a reading sees SERVICE: one of each, ``(x:a <x:q'>)`` then
   ``FILTER(?a<x:z&&'>')``, hid SERVICE from every reading (found in review);
5. SPARQL 1.2's and pyoxigraph's where text holds ``<<``: a quoted triple's opening, one
   token, where SPARQL 1.1's longest match starts an IRIREF at the second ``<``
   (``ASK{<<e:?p'>'>>SERVICE<…>{}}#'``: an IRI and a string to the one, a quoted
   triple and a live SERVICE to the other). ``<<`` right after an operand inside
   parentheses is refused as ambiguous: pyoxigraph reads it as less-than in an
   expression and as a quoted triple in a collection, and the two readings together
   hid SERVICE (``FILTER(?a<<e:'>)<<e:?p'>'>>SERVICE<…>{}}#'``).

Whitespace is space, tab, CR and LF only (§19.8 WS); comments end at CR or LF;
``<...>`` is skipped as an IRI only when it is a strict IRIREF (no space, ``{``,
``}``, ``<``, ``>``...; a backslash only as a codepoint escape, which pyoxigraph reads
inside the IRI and reading 3 decodes), so the guard never hides more text than a
parser does.
The worker processes also run in an empty network namespace where the OS allows
it (see :mod:`sparql_api.workers`): a second wall, not the first.

A plain query (no backslash, nothing that any refusal or second reading looks at) is
judged in one pass over its tokens; anything else takes every reading and refusal in
turn (tests/endpoint/test_guard_plain.py holds the two to the same answer).

Why one module of ~500 lines: it is one tokenizer, and its tables are the grammar's
character classes, transcribed range by range (tests/endpoint/test_guard_grammar.py).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urljoin

import pyoxigraph as ox

from sparql_api.errors import QuerySyntaxError, QueryTooDeep, ServiceRefused, UpdateForbidden

#: Deepest nesting of ``{ ( [`` accepted. pyoxigraph's parser and evaluator recurse
#: once per level: ~2,000 nested groups overflow an 8 MiB stack and the worker dies
#: with SIGSEGV. Real queries nest a few dozen levels at most.
MAX_NESTING = 256

# --- the grammar's character classes: SPARQL 1.1 Query Language, §19.8 ----------
# Each is a tuple of inclusive code-point ranges, in the Recommendation's order.

#: [164] PN_CHARS_BASE
PN_CHARS_BASE: tuple[tuple[int, int], ...] = (
    (0x41, 0x5A),
    (0x61, 0x7A),
    (0x00C0, 0x00D6),
    (0x00D8, 0x00F6),
    (0x00F8, 0x02FF),
    (0x0370, 0x037D),
    (0x037F, 0x1FFF),
    (0x200C, 0x200D),
    (0x2070, 0x218F),
    (0x2C00, 0x2FEF),
    (0x3001, 0xD7FF),
    (0xF900, 0xFDCF),
    (0xFDF0, 0xFFFD),
    (0x10000, 0xEFFFF),
)
#: [165] PN_CHARS_U ::= PN_CHARS_BASE | '_'
PN_CHARS_U = PN_CHARS_BASE + ((0x5F, 0x5F),)
#: [166] VARNAME's later characters: PN_CHARS_U | [0-9] | #x00B7 | [#x0300-#x036F] | [#x203F-#x2040]
VARNAME_REST = PN_CHARS_U + ((0x30, 0x39), (0x00B7, 0x00B7), (0x0300, 0x036F), (0x203F, 0x2040))
#: [167] PN_CHARS ::= PN_CHARS_U | '-' | [0-9] | #x00B7 | [#x0300-#x036F] | [#x203F-#x2040]
PN_CHARS = PN_CHARS_U + (
    (0x2D, 0x2D),
    (0x30, 0x39),
    (0x00B7, 0x00B7),
    (0x0300, 0x036F),
    (0x203F, 0x2040),
)
#: [173] PN_LOCAL_ESC: the characters a backslash may escape in a local name
PN_LOCAL_ESC = "_~.-!$&'()*+,;=/?#@%"
#: [162] WS
WS = " \t\r\n"


def char_class(ranges: tuple[tuple[int, int], ...], extra: str = "") -> str:
    """A regular-expression character class of ``ranges`` (and the literal ``extra``)."""

    def esc(cp: int) -> str:
        return f"\\U{cp:08x}"

    parts = [esc(lo) if lo == hi else f"{esc(lo)}-{esc(hi)}" for lo, hi in ranges]
    return "[" + "".join(parts) + re.escape(extra) + "]"


_BASE = char_class(PN_CHARS_BASE)
_U = char_class(PN_CHARS_U)
_CHARS = char_class(PN_CHARS)
_PLX = r"(?:%[0-9A-Fa-f]{2}|\\[" + re.escape(PN_LOCAL_ESC) + "])"
#: [168] PN_PREFIX ::= PN_CHARS_BASE ((PN_CHARS|'.')* PN_CHARS)?
_PN_PREFIX = rf"{_BASE}(?:(?:{_CHARS}|\.)*{_CHARS})?"
#: [169] PN_LOCAL ::= (PN_CHARS_U | ':' | [0-9] | PLX) ((PN_CHARS | '.' | ':' | PLX)* (PN_CHARS | ':' | PLX))?  # noqa: E501  # grammar rule, verbatim
_PN_LOCAL = rf"(?:{_U}|[:0-9]|{_PLX})(?:(?:{_CHARS}|[.:]|{_PLX})*(?:{_CHARS}|:|{_PLX}))?"
#: pyoxigraph's PN_LOCAL (spargebra): at most one run of dots inside a local name
_PN_LOCAL_OXIGRAPH = rf"(?:{_U}|[:0-9]|{_PLX})(?:{_CHARS}|:|{_PLX})*(?:\.+(?:{_CHARS}|:|{_PLX})+)?"

#: a token pyoxigraph may read either way, which the guard refuses (:func:`_refuse_ambiguous`)
#: unless a reading finds SERVICE first: reading 4's '<' of an IRIREF after an operand, read
#: as less-than (a PUNCT '<' to every other check), and reading 5's '<<' after one
AMBIGUOUS = "ambiguous"

# token kinds
WORD, PNAME, VAR, IRI, STRING, BNODE, LANG, NUMBER, PUNCT, OTHER = (
    "word",
    "pname",
    "var",
    "iri",
    "string",
    "bnode",
    "lang",
    "number",
    "punct",
    "other",
)
#: the kinds of token an expression's operand can end with (with ``)``, ``true``, ``false``)
_OPERANDS = frozenset({VAR, STRING, NUMBER, IRI, PNAME, LANG, BNODE})

_WS = re.compile(r"[ \t\r\n]+")
_COMMENT = re.compile(r"#[^\r\n]*")
#: [139] IRIREF ::= '<' ([^<>"{}|^`\]-[#x00-#x20])* '>', with §19.2's codepoint escapes
#: (``<http://x/\u4E2D>``, which pyoxigraph reads as ``<http://x/中>``: reading 3 sees them
#: decoded)
_IRIREF = re.compile(r'<(?:[^<>"{}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*>')
#: [156]-[160] strings with ECHAR (and UCHAR, which pyoxigraph accepts inside strings)
_STRING_LONG1 = re.compile(r"'''(?:[^'\\]|\\.|'(?!''))*'''", re.S)
_STRING_LONG2 = re.compile(r'"""(?:[^"\\]|\\.|"(?!""))*"""', re.S)
_STRING1 = re.compile(r"'(?:[^'\\\r\n]|\\[^\r\n])*'")
_STRING2 = re.compile(r'"(?:[^"\\\r\n]|\\[^\r\n])*"')
#: the bodies of [156]/[157], where a short string's scan stops when no quote ends it
_BODY1 = re.compile(r"(?:[^'\\\r\n]|\\[^\r\n])*")
_BODY2 = re.compile(r'(?:[^"\\\r\n]|\\[^\r\n])*')
#: [143]/[144] VAR1/VAR2 ::= '?'|'$' VARNAME;  [166] VARNAME
_VAR = re.compile(rf"[?$](?:{_U}|[0-9]){char_class(VARNAME_REST)}*")
#: [140]/[141] PNAME_NS / PNAME_LN
_PNAME = re.compile(rf"(?:{_PN_PREFIX})?:(?:{_PN_LOCAL})?")
#: a run of the characters a prefix is made of: a prefix is followed by ':' only where
#: such a run ends (see :func:`tokenize`)
_PREFIX_RUN = re.compile(char_class(PN_CHARS, ".") + "*")
#: the same with pyoxigraph's local names: matched whole, never the grammar's local cut
#: short (the grammar's runs to the end of a run like ``a.b.c:a.b.c:…``, and each cut
#: left the rest to scan again: quadratic)
_PNAME_OXIGRAPH = re.compile(rf"(?:{_PN_PREFIX})?:(?:{_PN_LOCAL_OXIGRAPH})?")
#: [142] BLANK_NODE_LABEL ::= '_:' (PN_CHARS_U | [0-9]) ((PN_CHARS|'.')* PN_CHARS)?
_BNODE = re.compile(rf"_:(?:{_U}|[0-9])(?:(?:{_CHARS}|\.)*{_CHARS})?")
#: [145] LANGTAG, with SPARQL 1.2's base direction (``@en--ltr``), which pyoxigraph reads
_LANG = re.compile(r"@[a-zA-Z]+(?:-[a-zA-Z0-9]+)*(?:--[a-zA-Z]+)?")
#: [146]-[148] INTEGER, DECIMAL, DOUBLE (unsigned; a sign is its own token)
_NUMBER = re.compile(
    r"[0-9]+\.[0-9]*[eE][+-]?[0-9]+|\.?[0-9]+[eE][+-]?[0-9]+|[0-9]*\.[0-9]+|[0-9]+"
)
#: keywords and function names (ASCII letters, digits, '_': GROUP_CONCAT, SHA256, isIRI)
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
#: operators and delimiters of SPARQL 1.1 and 1.2 (``<<``, ``>>``, ``{|``, ``|}``, ``~``)
_PUNCT = frozenset("{}()[].,;=!&|*/+-^<>?~")
#: delimiters that start no other token: none starts a prefixed name (PN_CHARS_BASE or
#: ':'), a word, a number, a variable or an IRI, so each is a token of its own at once
_DELIMITERS = frozenset("{}()[],;=!&|*/+-^>~")
#: what in an IRIREF's body changes what the text after it is when the IRI is read as
#: less-than instead (a string, a comment, a parenthesis)
_DESYNC = re.compile(r"['\"#()]")
#: characters that end a keyword for good: none is PN_CHARS, '.' or ':', so a word they
#: follow cannot be a prefixed name's prefix (the text goes on with no ':')
_WORD_ENDS = frozenset(" \t\r\n{}()[],;=!&|*/+^<>?$\"'#@~")
#: §19.2's codepoint escapes, and ``\\uu0022``, Java's form of them (more than one ``u``):
#: a parser generated with Java's escapes (JavaCC's, as Jena's ARQ is) may read those
#: too, so the decoded reading does (no escape of the grammar: pyoxigraph refuses it,
#: so reading it can only refuse more)
_CODEPOINT = re.compile(r"\\u+([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


class Token(NamedTuple):
    """One token: its kind, its text and where it starts (a tuple: made for every token
    of every query, it is cheaper than a frozen dataclass)."""

    kind: str
    text: str
    pos: int


def parses_as_iri(token: str) -> bool:
    """Whether pyoxigraph's parser keeps an IRIREF token (``<...>``) as an IRI: its text,
    escapes decoded, is an absolute IRI. Where it is not (``<'x>``, ``<x:%zz>``,
    ``<x:\u0020>``; a relative one, unless a BASE makes it absolute), the parser gives
    the IRI up and reads ``<`` as less-than: ``FILTER(?a<'x>') SERVICE <…> {} # '`` is a
    comparison with a string, then a live SERVICE."""
    try:
        ox.NamedNode(_iri_text(token))
    except ValueError:
        return False
    return True


def less_than_iris(tokens: list[Token]) -> bool:
    """Whether pyoxigraph may read an IRIREF of ``tokens`` as ``<`` (less-than): one that
    is no IRI it can parse (:func:`parses_as_iri`), or one inside parentheses right after
    an operand (:func:`_operator_place`). Reading 4 reads the text again then."""
    parens = 0
    for at, tok in enumerate(tokens):
        kind = tok.kind
        if kind == PUNCT:
            if tok.text == "(":
                parens += 1
            elif tok.text == ")":
                parens = max(parens - 1, 0)
        elif kind == IRI and (
            (parens and _operator_place(tokens[max(at - 2, 0) : at])) or not parses_as_iri(tok.text)
        ):
            return True
    return False


def less_than_readings(tokens: list[Token], text: str) -> Iterator[list[Token]]:
    """Reading 4 of ``text``, whose grammar's reading is ``tokens``: nothing when
    :func:`less_than_iris` finds no IRIREF pyoxigraph may read as less-than; else the
    text read with each IRI judged as pyoxigraph judges it (BASE applied) and with each
    relative one as less-than too (a backend may resolve otherwise), each with the
    grammar's and with pyoxigraph's local names."""
    if less_than_iris(tokens):
        for resolve in (True, False):
            for locals_ in (False, True):
                yield tokenize(
                    text, oxigraph_locals=locals_, oxigraph_iris=True, resolve_base=resolve
                )


def triple_readings(text: str) -> Iterator[list[Token]]:
    """Reading 5 of ``text``: nothing without ``<<``; else the text read with ``<<`` as one
    token, as SPARQL 1.2 and pyoxigraph read a quoted triple's opening, each with the
    grammar's and pyoxigraph's local names and IRIs. The grammar of SPARQL 1.1 has no
    ``<<``: its longest match makes the second ``<`` an IRIREF's start, so
    ``ASK{<<e:?p'>'>>SERVICE<…>{}}#'`` was the IRI ``<e:?p'>`` and a string to it, and a
    quoted triple then a live SERVICE to pyoxigraph (found while writing the grammar-driven
    generator, tests/endpoint/test_guard_contexts.py)."""
    if "<<" in text:
        for iris in (False, True):
            for locals_ in (False, True):
                yield tokenize(
                    text,
                    oxigraph_locals=locals_,
                    oxigraph_iris=iris,
                    resolve_base=iris,
                    triple_terms=True,
                )


def _values_block(tokens: list[Token]) -> bool:
    """Whether the ``{`` that ends ``tokens`` opens a VALUES block's data: ``VALUES ?v {`` or
    ``VALUES (?a ?b) {`` (its rows hold terms, not expressions)."""
    at = len(tokens) - 2
    if at >= 0 and tokens[at].kind == VAR:
        at -= 1
    elif at >= 0 and tokens[at].text == ")":
        at -= 1
        while at >= 0 and tokens[at].kind == VAR:
            at -= 1
        if at < 0 or tokens[at].text != "(":
            return False
        at -= 1
    else:
        return False
    return at >= 0 and tokens[at].kind == WORD and tokens[at].text.upper() == "VALUES"


def _operator_place(tokens: list[Token]) -> bool:
    """Whether a ``<`` after ``tokens`` (inside parentheses) follows an operand, where
    pyoxigraph's parser (a PEG) tries less-than before anything else: in ``(?a<x:z&&'>')``
    it reads ``?a < x:z && '>'``, not the IRI ``<x:z&&'>`` the grammar's longest match
    makes of it, however well that IRI parses (found in review: the SERVICE after it was
    live while the guard saw a string)."""
    if not tokens:
        return False
    last = tokens[-1]
    kind, text = last.kind, last.text
    return (
        kind in _OPERANDS
        or (kind == PUNCT and text == ")")
        or (kind == WORD and text.upper() in ("TRUE", "FALSE"))
        or (kind == PUNCT and text == ">" and _closes_triple(tokens))
    )


def _closes_triple(tokens: list[Token]) -> bool:
    """Whether the ``>`` that ends ``tokens`` is the second of ``>>``: the close of a triple
    term ``<<( … )>>``, an operand in pyoxigraph's expressions (or of a quoted triple), so a
    ``<`` after it is less-than (``FILTER(<<(x:a x:b x:c)>><x:z&&'>')``: ``… < x:z && '>'``
    to pyoxigraph, the IRI ``<x:z&&'>`` and a string to SPARQL 1.1)."""
    if len(tokens) < 2:
        return False
    before = tokens[-2]
    return before.kind == PUNCT and before.text == ">" and before.pos == tokens[-1].pos - 1


def _iri_text(token: str) -> str:
    """An IRIREF token's IRI, its codepoint escapes decoded (as pyoxigraph reads it)."""
    iri = token[1:-1]
    return decode_codepoints(iri) if "\\" in iri else iri


def _parses_under(token: str, base: str) -> bool:
    """:func:`parses_as_iri` of an IRIREF token resolved against ``base`` (a BASE in force),
    as pyoxigraph resolves it before it decides."""
    return (
        parses_as_iri("<" + urljoin(base, _iri_text(token)) + ">") if base else parses_as_iri(token)
    )


def tokenize(
    text: str,
    *,
    oxigraph_locals: bool = False,
    oxigraph_iris: bool = False,
    resolve_base: bool = False,
    triple_terms: bool = False,
) -> list[Token]:
    """Significant tokens of ``text`` (whitespace and comments dropped). Never fails:
    what starts no token is an ``OTHER`` token of one character.

    With ``oxigraph_locals`` a prefixed name's local part ends where pyoxigraph's
    parser ends it (see the module docstring), not where the grammar does. With
    ``oxigraph_iris`` an IRIREF that :func:`parses_as_iri` says pyoxigraph gives up, or
    one where pyoxigraph tries less-than first (:func:`_operator_place`), is ``<``
    (less-than) and the text after it is read on; with ``resolve_base`` too, an IRIREF is
    judged resolved against the BASE in force, as pyoxigraph judges it (without, a
    relative IRI is less-than wherever it is: the guard reads such text both ways).
    With ``triple_terms`` ``<<`` is one token (a quoted triple's opening, SPARQL 1.2 and
    pyoxigraph): its second ``<`` starts no IRIREF.
    """
    tokens: list[Token] = []
    append = tokens.append
    new = tuple.__new__  # Token(...) without its Python-level __new__: a token costs less
    i, n = 0, len(text)
    run_end = 0  # where the run of prefix characters holding text[i] ends (once i < it)
    no_long: dict[str, int] = {}  # quote -> where a long string of it failed (none after)
    no_short: dict[str, int] = {}  # quote -> where a failed short string's scan stopped
    # (with oxigraph_iris or triple_terms) the open parentheses and braces, innermost last:
    # "(" may hold an expression; a triple term's "<<(", a group's "{", a VALUES block's
    # "data" and its "row"s hold none (pyoxigraph reads no less-than there)
    opened: list[str] = []
    parens = False  # whether the innermost open parenthesis may hold an expression
    base = ""  # (with resolve_base) the BASE in force
    judged: dict[tuple[str, str], bool] = {}  # (IRIREF, BASE) -> whether pyoxigraph keeps it
    while i < n:
        ch = text[i]
        if ch in WS:
            # (one space between tokens, the commonest, without the pattern)
            i = i + 1 if i + 1 == n or text[i + 1] not in WS else _WS.match(text, i).end()
            continue
        if ch == "#":
            i = _COMMENT.match(text, i).end()
            continue
        if ch in _DELIMITERS:  # what the patterns below would leave it: a PUNCT of its own
            append(new(Token, (PUNCT, ch, i)))
            i += 1
            if (oxigraph_iris or triple_terms) and ch in "(){}":
                if ch == "(":
                    prev = tokens[-2] if len(tokens) > 1 else None
                    if prev is not None and prev.text == "<<" and prev.pos == i - 3:
                        opened.append("<<(")  # a triple term: no expression
                    else:  # a VALUES row holds none either
                        opened.append("row" if opened and opened[-1] == "data" else "(")
                elif ch == "{":  # a group (EXISTS{…} in a FILTER), or a VALUES block's data
                    opened.append("data" if _values_block(tokens) else "{")
                elif opened:
                    opened.pop()
                parens = bool(opened) and opened[-1] == "("
            continue
        m = None
        kind = OTHER
        if "A" <= ch <= "Z" or "a" <= ch <= "z":
            # a keyword (SELECT, WHERE...) ended by a character no prefixed name goes on
            # with: the word, as the prefixed-name pattern would fail here and leave it
            m = _WORD.match(text, i)
            end = m.end()  # type: ignore[union-attr]  (a letter starts a word)
            if end == n or text[end] in _WORD_ENDS:
                append(new(Token, (WORD, m.group(), i)))  # type: ignore[union-attr]
                i = end
                continue
            m = None
        if ch == "<":
            if triple_terms and text.startswith("<<", i):
                # after an operand inside parentheses pyoxigraph reads '<' as less-than in
                # an expression and '<<' as a quoted triple in a collection: which is which
                # the guard cannot tell by tokens, so the reading marks it (and is refused)
                ambiguous = parens and _operator_place(tokens)
                append(new(Token, (AMBIGUOUS if ambiguous else PUNCT, "<<", i)))
                i += 2
                continue
            m, kind = _IRIREF.match(text, i), IRI
            if oxigraph_iris and m is not None:
                iri = m.group()
                parses = judged.get((iri, base))
                if parses is None:
                    parses = judged[iri, base] = (
                        _parses_under(iri, base) if resolve_base else parses_as_iri(iri)
                    )
                if parens and _operator_place(tokens) and parses and _DESYNC.search(iri):
                    # less-than in an expression, an IRI in a collection or a VALUES row,
                    # which the tokens cannot tell apart: read as less-than, and marked
                    append(new(Token, (AMBIGUOUS, "<", i)))
                    i += 1
                    continue
                if (parens and _operator_place(tokens)) or not parses:
                    m = None  # '<' as less-than, as pyoxigraph reads it
                elif resolve_base and tokens and tokens[-1].text.upper() == "BASE":
                    base = urljoin(base, _iri_text(iri))
        elif ch == "'" or ch == '"':
            # An unterminated string is scanned once: a quote of the same kind before
            # where that scan stopped is escaped inside it, and its own scan would stop
            # at the same place (a long string fails only at the end of the text). Else
            # each quote of ``\"\"\"…`` scanned the rest of the text: quadratic.
            kind = STRING
            if i >= no_long.get(ch, n + 1):
                m = None
            else:
                m = (_STRING_LONG1 if ch == "'" else _STRING_LONG2).match(text, i)
                if m is None and text.startswith(ch * 3, i):
                    no_long[ch] = i
            if m is None and i >= no_short.get(ch, -1):
                m = (_STRING1 if ch == "'" else _STRING2).match(text, i)
                if m is None:
                    no_short[ch] = (_BODY1 if ch == "'" else _BODY2).match(text, i + 1).end()  # type: ignore[union-attr]
        elif ch == "?" or ch == "$":
            m, kind = _VAR.match(text, i), VAR
        elif ch == "_":
            m, kind = _BNODE.match(text, i), BNODE
        elif ch == "@":
            m, kind = _LANG.match(text, i), LANG
        elif "0" <= ch <= "9" or (ch == "." and i + 1 < n and "0" <= text[i + 1] <= "9"):
            m, kind = _NUMBER.match(text, i), NUMBER
        else:
            # A prefix is made of name characters and dots, so its ':' can only be where
            # the run of those that holds text[i] ends, after a name character. Each run
            # is measured once: trying the pattern at each word of a long run with no
            # ':' after it (``a-a-a-…``, ``é.é.…``) would scan the rest of the run each
            # time, quadratic in the run's length.
            if i >= run_end:
                run_end = _PREFIX_RUN.match(text, i).end()  # type: ignore[union-attr]
            if ch == ":" or (
                run_end < n
                and text[run_end] == ":"
                and (run_end == i + 1 or text[run_end - 1] != ".")
            ):
                m, kind = (_PNAME_OXIGRAPH if oxigraph_locals else _PNAME).match(text, i), PNAME
            if m is None:
                m, kind = _WORD.match(text, i), WORD
        if m is not None:
            append(new(Token, (kind, m.group(), i)))
            i = m.end()
            continue
        append(new(Token, (PUNCT if ch in _PUNCT else OTHER, ch, i)))
        i += 1
    return tokens


QUERY_FORMS = ("SELECT", "CONSTRUCT", "DESCRIBE", "ASK")
UPDATE_OPERATIONS = (
    "INSERT",
    "DELETE",
    "LOAD",
    "CLEAR",
    "CREATE",
    "DROP",
    "COPY",
    "MOVE",
    "ADD",
    "WITH",
    "MODIFY",  # SPARUL's, before SPARQL 1.1 (Virtuoso, old ARQ): a backend may still run it
)


@dataclass(frozen=True)
class Checked:
    """What the guard learnt: the query form (None if unrecognised: the parser decides)."""

    form: str | None  # "select" | "ask" | "construct" | "describe" | None

    @property
    def kind(self) -> str | None:
        """ "table" (SELECT/ASK), "graph" (CONSTRUCT/DESCRIBE) or None."""
        if self.form in ("select", "ask"):
            return "table"
        if self.form in ("construct", "describe"):
            return "graph"
        return None


class Declaration(NamedTuple):
    """A BASE or PREFIX declaration in a token list (:func:`declaration`)."""

    prefix: str | None  # the prefix it declares; None: a BASE
    iri: str  # its IRI, as written (without the angle brackets)
    width: int  # the tokens it takes


def declaration(tokens: list[Token], index: int) -> Declaration | None:
    """The declaration that begins at ``tokens[index]``: ``BASE <…>``, ``PREFIX ex: <…>``,
    or glued ``PREFIX:<…>`` / ``PREFIXex:<…>`` (one prefixed-name token); else None."""
    tok = tokens[index]
    after = tokens[index + 1] if index + 1 < len(tokens) else None
    if after is None:
        return None
    upper = tok.text.upper()
    if tok.kind == WORD and upper == "BASE" and after.kind == IRI:
        return Declaration(None, after.text[1:-1], 2)
    if tok.kind == WORD and upper == "PREFIX" and after.kind == PNAME:
        iri = tokens[index + 2] if index + 2 < len(tokens) else None
        if after.text.endswith(":") and iri is not None and iri.kind == IRI:
            return Declaration(after.text[:-1], iri.text[1:-1], 3)
    if tok.kind == PNAME and upper.startswith("PREFIX") and upper.endswith(":"):
        if after.kind == IRI:
            return Declaration(tok.text[6:-1], after.text[1:-1], 2)
    return None


def line_col(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return line, col


def find_service(tokens: list[Token]) -> Token | None:
    """The first token a parser could read as the SERVICE keyword, if any."""
    for index, tok in enumerate(tokens):
        kind = tok.kind
        if kind != WORD and kind != PNAME:
            continue
        upper = tok.text.upper()
        if kind == WORD and "SERVICE" in upper:
            return tok
        if kind == PNAME and "SERVICE" in upper.partition(":")[0]:
            nxt = tokens[index + 1] if index + 1 < len(tokens) else None
            if nxt is not None and nxt.text == "{":
                return tok
    return None


def find_unclassified(tokens: list[Token]) -> Token | None:
    """The first token that is no SPARQL token at all, if any."""
    return next((tok for tok in tokens if tok.kind == OTHER), None)


def operation(tokens: list[Token]) -> Token | None:
    """The first token after the prologue (BASE <iri> / PREFIX p: <iri> / VERSION "1.2")."""
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        upper = tok.text.upper()
        if tok.kind == WORD and upper in ("BASE", "VERSION"):
            i += 2
            continue
        if (tok.kind == WORD and upper == "PREFIX") or (
            tok.kind == PNAME and upper.startswith("PREFIX")
        ):
            # PREFIX p: <iri>   (or, glued, PREFIX:<iri> / PREFIXp:<iri>)
            j = i + 1
            while j < len(tokens) and tokens[j].kind != IRI and j < i + 3:
                j += 1
            i = j + 1
            continue
        return tok
    return None


def nesting(tokens: list[Token]) -> tuple[int, Token | None]:
    """The deepest nesting of ``{ ( [`` and the token where it first exceeds MAX_NESTING."""
    depth = deepest = 0
    first_over = None
    for tok in tokens:
        if tok.kind != PUNCT:
            continue
        if tok.text in "{([":
            depth += 1
            if depth > deepest:
                deepest = depth
                if depth > MAX_NESTING and first_over is None:
                    first_over = tok
        elif tok.text in "})]":
            depth = max(depth - 1, 0)
    return deepest, first_over


def decode_codepoints(text: str) -> str:
    """``text`` with its ``\\uXXXX`` / ``\\UXXXXXXXX`` escapes replaced (§19.2)."""

    def one(m: re.Match[str]) -> str:
        cp = int(m.group(1) or m.group(2), 16)
        return chr(cp) if cp <= 0x10FFFF and not 0xD800 <= cp <= 0xDFFF else m.group()

    return _CODEPOINT.sub(one, text)


def _describe(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}" + (f" ({name})" if name else "")


def _refuse_unclassified(tokens: list[Token], text: str) -> None:
    other = find_unclassified(tokens)
    if other is None:
        return
    line, col = line_col(text, other.pos)
    hint = {
        "'": "an unterminated string",
        '"': "an unterminated string",
        "\\": "a backslash outside a string or IRI",
    }.get(other.text, f"the character {_describe(other.text)}")
    raise QuerySyntaxError(
        f"{hint} starts no SPARQL token (outside strings, IRIs and comments only the grammar's "
        "characters may appear; whitespace is space, tab, CR or LF)",
        line=line,
        column=col,
        details={"character": f"U+{ord(other.text):04X}"},
    )


#: why each kind of :data:`AMBIGUOUS` token is refused, and what to write instead
_AMBIGUOUS_WHY = {
    # reading 4: ``?s ?p (x:a <x:q'>) FILTER(?a<x:z&&'>') SERVICE <…> {} }#'`` (found in review)
    "<": "an IRI holding a quote, '#' or a parenthesis right after another term inside "
    "parentheses is ambiguous (less-than in an expression, an IRI in a collection or a "
    "VALUES row); write it as a prefixed name (PREFIX)",
    # reading 5: ``FILTER(?a<<x:'>)<<e:?p'>'>>SERVICE<…>{}}#'``
    "<<": "'<<' right after an operand inside parentheses is ambiguous (less-than then an IRI "
    "or triple term in an expression, a quoted triple in a collection); for a comparison "
    "write '< <'",
}


def _refuse_ambiguous(tokens: list[Token], text: str) -> None:
    """Raise if a reading marked a token pyoxigraph reads one way in an expression and the
    other in a collection (:data:`AMBIGUOUS`): reading 4's IRI holding a quote, ``#`` or a
    parenthesis after an operand inside parentheses (less-than there, an IRI in a collection
    or a VALUES row), reading 5's ``<<`` after one (less-than then an IRI, or a quoted
    triple). A text with one of each is misread by every reading that reads them all one
    way, so the guard does not guess."""
    for tok in tokens:
        if tok.kind == AMBIGUOUS:
            line, col = line_col(text, tok.pos)
            raise QuerySyntaxError(_AMBIGUOUS_WHY[tok.text], line=line, column=col)


def _is_update(first: Token | None) -> bool:
    """Whether the first token after the prologue starts an update operation."""
    return (
        first is not None
        and first.kind in (WORD, PNAME)
        and first.text.upper().startswith(UPDATE_OPERATIONS)
    )


def _refuse_operations(tokens: list[Token], text: str) -> None:
    """Raise if a reading's ``tokens`` hold an update or SERVICE."""
    first = operation(tokens)
    if first is not None and _is_update(first):
        upper = first.text.upper()  # (which operation: only for the message)
        op = next(op for op in UPDATE_OPERATIONS if upper.startswith(op))
        line, col = line_col(text, first.pos)
        raise UpdateForbidden(
            f"this endpoint is read-only: {op} is a SPARQL Update operation",
            line=line,
            column=col,
        )
    service = find_service(tokens)
    if service is not None:
        line, col = line_col(text, service.pos)
        raise ServiceRefused(
            "SERVICE (federated query) is not allowed on this endpoint", line=line, column=col
        )


#: one :class:`Checked` per form (frozen: shared by every query of that form)
_CHECKED = {form: Checked(form) for form in (None, "select", "ask", "construct", "describe")}


def _form(first: Token | None) -> str | None:
    """The query form the first token after the prologue starts, if any."""
    if first is not None and first.kind in (WORD, PNAME):
        upper = first.text.upper()
        for name in QUERY_FORMS:
            if upper.startswith(name):
                return name.lower()
    return None


def _plain(tokens: list[Token], text: str) -> Checked | None:
    """The verdict on a query none of whose tokens any refusal looks at twice, in one pass
    over its tokens; None when :func:`check_fully` must decide (it may still accept).

    Plain: no backslash in the text (no codepoint escape: reading 3 has nothing to do),
    no ``<<`` (reading 5 has nothing to do),
    no token that is no SPARQL token, nesting within :data:`MAX_NESTING`, no word with
    SERVICE in it, no prefixed name with a dot (reading 2 has nothing to do) or with
    SERVICE in its prefix, and no update first after the prologue. Under each,
    :func:`check_fully` raises, reads again, or might (a prefix with SERVICE not followed
    by ``{``, a backslash that escapes no code point): declining is always safe; where
    none holds, it returns the same form this does."""
    if "\\" in text:
        return None
    if "<<" in text:  # (reading 5 has something to do)
        return None
    depth = parens = 0
    for at, tok in enumerate(tokens):
        kind = tok.kind
        if kind == PUNCT:
            t = tok.text
            if t in "{([":
                depth += 1
                if depth > MAX_NESTING:
                    return None
                if t == "(":
                    parens += 1
            elif t in "})]":
                depth = max(depth - 1, 0)
                if t == ")":
                    parens = max(parens - 1, 0)
        elif kind == WORD:
            if "SERVICE" in tok.text.upper():
                return None
        elif kind == PNAME:
            if "." in tok.text or "SERVICE" in tok.text.partition(":")[0].upper():
                return None
        elif kind == OTHER:
            return None
        elif kind == IRI:
            if (parens and _operator_place(tokens[max(at - 2, 0) : at])) or not parses_as_iri(
                tok.text
            ):
                return None  # reading 4 has something to do
    first = operation(tokens)
    if _is_update(first):
        return None
    return _CHECKED[_form(first)]


def check_query(text: str) -> Checked:
    """Refuse SERVICE, updates, over-deep nesting and unclassifiable text in a ``query=``;
    classify the query form."""
    tokens = tokenize(text)
    plain = _plain(tokens, text)
    return plain if plain is not None else check_fully(tokens, text)


def check_fully(tokens: list[Token], text: str) -> Checked:
    """:func:`check_query` on ``text``'s ``tokens``, every reading and refusal in turn."""
    deepest, over = nesting(tokens)
    if over is not None:
        line, col = line_col(text, over.pos)
        raise QueryTooDeep(
            f"the query nests groups, brackets or parentheses {deepest} levels deep; "
            f"at most {MAX_NESTING} are accepted",
            line=line,
            column=col,
            details={"max_nesting": MAX_NESTING, "nesting": deepest},
        )
    # 1. the grammar's reading: everything classified, no update, no SERVICE
    _refuse_unclassified(tokens, text)
    _refuse_operations(tokens, text)
    # 2. pyoxigraph's shorter local names (what it cannot read further is its syntax error)
    if any(tok.kind == PNAME and "." in tok.text for tok in tokens):
        _refuse_operations(tokenize(text, oxigraph_locals=True), text)
    # 3. codepoint escapes processed before parsing, as §19.2 says
    readings = [(tokens, text)]
    if "\\" in text and _CODEPOINT.search(text):
        decoded = decode_codepoints(text)
        decoded_tokens = tokenize(decoded)
        _refuse_operations(decoded_tokens, decoded)
        _refuse_operations(tokenize(decoded, oxigraph_locals=True), decoded)
        readings.append((decoded_tokens, decoded))
    # 4. pyoxigraph's where it reads '<' as less-than: an IRIREF that is no IRI it can
    # parse, or one right after an operand inside parentheses (and a backend that decodes
    # first may do the same)
    less_thans = []
    for read, source in readings:
        for less_than in less_than_readings(read, source):
            _refuse_operations(less_than, source)
            less_thans.append((less_than, source))
    # 5. SPARQL 1.2's (and pyoxigraph's) ``<<``: a quoted triple, where the grammar of
    # SPARQL 1.1 starts an IRIREF at the second '<'
    for _, source in readings:
        for triple in triple_readings(source):
            _refuse_ambiguous(triple, source)
            _refuse_operations(triple, source)
    # what reading 4 could not tell apart, where no reading found SERVICE
    for less_than, source in less_thans:
        _refuse_ambiguous(less_than, source)
    return _CHECKED[_form(operation(tokens))]
