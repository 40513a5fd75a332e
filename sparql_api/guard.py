"""The query guard: runs on the query text BEFORE anything executes it.

* refuses ``SERVICE`` (federated query: pyoxigraph would fetch the IRI over HTTP,
  an SSRF hole) in every spelling pyoxigraph accepts, with
  :class:`~sparql_api.errors.ServiceRefused` (400);
* recognises updates (the first operation keyword after the prologue is
  INSERT, DELETE, LOAD, CLEAR, CREATE, DROP, COPY, MOVE, ADD or WITH) with
  :class:`~sparql_api.errors.UpdateForbidden` (403);
* classifies a query as ``select``, ``ask``, ``construct`` or ``describe`` so the
  response format can be negotiated before execution.

It is a tokenizer, not a regular expression over the text: SERVICE inside a
string, an IRI, a comment, a variable (``?service``), a prefixed name's local
part (``ex:SERVICE``) or a blank node label is not a keyword and is not flagged.

Why this is safe against pyoxigraph's own (PEG) parser, which tokenizes by
context: the guard only has to see a SERVICE keyword wherever pyoxigraph could.
pyoxigraph does not process ``\\u`` escapes outside strings and IRIs, its only
whitespace is space, tab, CR and LF, and its comments end at CR or LF; this
tokenizer does the same, ends short strings at a line break and skips
``<...>`` as an IRI only when it is a strict IRIREF (no space, ``{``, ``}``,
``<``, ``>``...), so it never hides more text than pyoxigraph does. pyoxigraph
also matches keywords without a word boundary (``SERVICE:x {`` is SERVICE
with the target ``:x``; ``SERVICEex:y {`` and ``?s ?p trueSERVICE <x> {}`` too),
hence: a bare word that contains SERVICE is refused (no SPARQL keyword or
function name does), and so is a prefixed name whose prefix contains SERVICE
when the next token is ``{``.
The worker processes also run in an empty network namespace where the OS
allows it (see :mod:`sparql_api.workers`): a second wall, not the first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sparql_api.errors import QueryTooDeep, ServiceRefused, UpdateForbidden

#: Deepest nesting of ``{ ( [`` accepted. pyoxigraph's parser and evaluator recurse
#: once per level: ~2,000 nested groups overflow an 8 MiB stack and the worker dies
#: with SIGSEGV. Real queries nest a few dozen levels at most.
MAX_NESTING = 256

# token kinds
WORD, PNAME, VAR, IRI, STRING, BNODE, LANG, NUMBER, PUNCT, OTHER = (
    "word", "pname", "var", "iri", "string", "bnode", "lang", "number", "punct", "other")

_WS = re.compile(r"[ \t\r\n]+")
_COMMENT = re.compile(r"#[^\r\n]*")
# strict IRIREF of the SPARQL grammar
_IRIREF = re.compile(r'<[^<>"{}|^`\\\x00-\x20]*>')
_STRING_LONG1 = re.compile(r"'''(?:[^'\\]|\\.|'(?!''))*'''", re.S)
_STRING_LONG2 = re.compile(r'"""(?:[^"\\]|\\.|"(?!""))*"""', re.S)
_STRING1 = re.compile(r"'(?:[^'\\\r\n]|\\[^\r\n])*'")
_STRING2 = re.compile(r'"(?:[^"\\\r\n]|\\[^\r\n])*"')
_VAR = re.compile(r"[?$][\w\u00b7\u0300-\u036f\u203f-\u2040]*")
# a prefixed name: optional prefix, ':', local part (kept short of the grammar's so
# the guard never hides more than pyoxigraph does)
_PN_LOCAL = r"(?:[\w\-:\u00b7]|%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?#@%]|\.(?=[\w\-:%\\]))*"
_PNAME = re.compile(rf"(?:[^\W\d_][\w\-.]*)?:{_PN_LOCAL}")
_WORDRE = re.compile(r"[^\W\d][\w]*")
_BNODE = re.compile(rf"_:{_PN_LOCAL}")
_LANG = re.compile(r"@[A-Za-z]+(?:-[A-Za-z0-9]*)*")
_NUMBER = re.compile(r"[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?")


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int


def tokenize(text: str) -> list[Token]:
    """Significant tokens of ``text`` (whitespace and comments dropped). Never fails."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        m = _WS.match(text, i)
        if m:
            i = m.end()
            continue
        if ch == "#":
            i = _COMMENT.match(text, i).end()
            continue
        if ch == "<":
            m = _IRIREF.match(text, i)
            if m:
                tokens.append(Token(IRI, m.group(), i))
                i = m.end()
                continue
            tokens.append(Token(PUNCT, ch, i))
            i += 1
            continue
        if ch in "'\"":
            for rx in ((_STRING_LONG1, _STRING1) if ch == "'" else (_STRING_LONG2, _STRING2)):
                m = rx.match(text, i)
                if m:
                    tokens.append(Token(STRING, m.group(), i))
                    i = m.end()
                    break
            else:  # unterminated: pyoxigraph refuses it; expose what follows
                tokens.append(Token(OTHER, ch, i))
                i += 1
            continue
        if ch in "?$":
            m = _VAR.match(text, i)
            if len(m.group()) > 1:
                tokens.append(Token(VAR, m.group(), i))
                i = m.end()
                continue
            tokens.append(Token(PUNCT, ch, i))
            i += 1
            continue
        if ch == "_" and text.startswith("_:", i):
            m = _BNODE.match(text, i)
            tokens.append(Token(BNODE, m.group(), i))
            i = m.end()
            continue
        if ch == "@":
            m = _LANG.match(text, i)
            if m:
                tokens.append(Token(LANG, m.group(), i))
                i = m.end()
                continue
        m = _PNAME.match(text, i)
        if m:
            tokens.append(Token(PNAME, m.group(), i))
            i = m.end()
            continue
        m = _WORDRE.match(text, i)
        if m:
            tokens.append(Token(WORD, m.group(), i))
            i = m.end()
            continue
        m = _NUMBER.match(text, i)
        if m and m.group():
            tokens.append(Token(NUMBER, m.group(), i))
            i = m.end()
            continue
        tokens.append(Token(PUNCT if ch in "{}()[].,;=!&|*/+-^" else OTHER, ch, i))
        i += 1
    return tokens


QUERY_FORMS = ("SELECT", "CONSTRUCT", "DESCRIBE", "ASK")
UPDATE_OPERATIONS = ("INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH")


@dataclass(frozen=True)
class Checked:
    """What the guard learnt: the query form (None if unrecognised: the parser decides)."""

    form: str | None  # "select" | "ask" | "construct" | "describe" | None

    @property
    def kind(self) -> str | None:
        """"table" (SELECT/ASK), "graph" (CONSTRUCT/DESCRIBE) or None."""
        if self.form in ("select", "ask"):
            return "table"
        if self.form in ("construct", "describe"):
            return "graph"
        return None


def _line_col(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return line, col


def find_service(tokens: list[Token]) -> Token | None:
    """The first token pyoxigraph could read as the SERVICE keyword, if any."""
    for index, tok in enumerate(tokens):
        upper = tok.text.upper()
        if tok.kind == WORD and "SERVICE" in upper:
            return tok
        if tok.kind == PNAME and "SERVICE" in upper.partition(":")[0]:
            nxt = tokens[index + 1] if index + 1 < len(tokens) else None
            if nxt is not None and nxt.text == "{":
                return tok
    return None


def operation(tokens: list[Token]) -> Token | None:
    """The first token after the prologue (BASE <iri> / PREFIX p: <iri>)."""
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        upper = tok.text.upper()
        if tok.kind == WORD and upper == "BASE":
            i += 2
            continue
        if (tok.kind == WORD and upper == "PREFIX") or (tok.kind == PNAME and upper.startswith("PREFIX")):
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


def check_query(text: str) -> Checked:
    """Refuse SERVICE, updates and over-deep nesting in a ``query=`` text; classify the query form."""
    tokens = tokenize(text)
    deepest, over = nesting(tokens)
    if over is not None:
        line, col = _line_col(text, over.pos)
        raise QueryTooDeep(
            f"the query nests groups, brackets or parentheses {deepest} levels deep; "
            f"at most {MAX_NESTING} are accepted", line=line, column=col,
            details={"max_nesting": MAX_NESTING, "nesting": deepest})
    first = operation(tokens)
    if first is not None and first.kind in (WORD, PNAME):
        upper = first.text.upper()
        for op in UPDATE_OPERATIONS:
            if upper.startswith(op):
                line, col = _line_col(text, first.pos)
                raise UpdateForbidden(
                    f"this endpoint is read-only: {op} is a SPARQL Update operation",
                    line=line, column=col)
    service = find_service(tokens)
    if service is not None:
        line, col = _line_col(text, service.pos)
        raise ServiceRefused(
            "SERVICE (federated query) is not allowed on this endpoint",
            line=line, column=col)
    form = None
    if first is not None and first.kind in (WORD, PNAME):
        upper = first.text.upper()
        for name in QUERY_FORMS:
            if upper.startswith(name):
                form = name.lower()
                break
    return Checked(form)
