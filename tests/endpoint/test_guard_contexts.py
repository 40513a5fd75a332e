"""The guard against pyoxigraph on queries built from the SPARQL 1.1 grammar.

The soups of tests/endpoint/test_guard.py glue sampled pieces together; the bypasses
found in review (``FILTER(?a<ex:z&&'>') SERVICE <u> {} #'``, ``ex:a.b.SERVICE:x {``...)
lived in *contexts* the soups rarely build: an IRI right after an operand inside
parentheses, a string after a comparison, a local name with dots before a group. This
module generates those contexts from the grammar itself (recursive hypothesis
strategies): a Prologue (none, ``PREFIX ex:``, ``PREFIX :``, ``BASE`` with relative
IRIs under it), the four query forms with projected expressions, group graph patterns
(triples with ``,`` ``;`` lists, blank-node property lists and collections, property
paths, OPTIONAL, MINUS, UNION, GRAPH, FILTER, BIND, VALUES, sub-SELECT), solution
modifiers (GROUP BY, HAVING, ORDER BY with expressions, LIMIT, OFFSET) and
expressions (every operator, IN / NOT IN, function calls, aggregates, EXISTS). Its
terminals are the awkward ones: IRIs holding ``'`` ``"``-free ``&&`` ``#`` ``)``,
codepoint escapes, local names with dots, ``\\'`` and ``%xx``, strings of the four
quote styles holding ``') SERVICE <u> {} #``, ``> SERVICE``, ``'''``. Whitespace
between tokens is "", a space, a newline, a tab or a comment, and sometimes nothing
where a lexer might glue two tokens; one rendering in four is tight (nothing wherever
two tokens stay two). SPARQL 1.2 as pyoxigraph 0.5 reads it is generated too: reified
triples ``<< s p o ~ r >>`` as subjects and objects, triple terms ``<<( s p o )>>`` (also
in expressions and VALUES), annotations ``{| p o |}`` and reifiers ``~ r``, ``VERSION``,
``@en--ltr``, and TRIPLE, SUBJECT, PREDICATE, OBJECT, isTRIPLE, LANGDIR, hasLANG,
hasLANGDIR, STRLANGDIR. (pyoxigraph refuses a quoted triple in an expression or as a
predicate, ``<< (`` and ``) >>`` spaced, ``{ |`` spaced, and ``@en--LTR``.)

A *smuggler* then mutates such a query: it inserts SERVICE text (``u`` the loopback
listener's URL) at token boundaries, at any character (inside strings, IRIs,
comments, splitting a token), or closes a string early, or inserts a desynchronising
fragment (:func:`desync`: ``<<``, ``<<(`` or ``<`` glued to a name, a variable and a
quoted ``>``, then SERVICE and a comment holding the quote) or a mixed one
(:func:`mixed`: an IRI where pyoxigraph reads one, in a collection, a VALUES row or a group
inside an expression, beside a ``<`` it reads as less-than, in an expression), so that
some reading, the grammar's, SPARQL 1.2's or pyoxigraph's PEG, may see a live SERVICE.
The oracle is pyoxigraph on a real store: whatever :func:`check_query` lets through must
never make it connect to the listener; the mixed fragments are also tried alone, in
small shells where they parse far more often. Two checks beside it keep the generator
honest: most un-smuggled queries are real SPARQL (pyoxigraph parses them and the guard
accepts them), and a plain ``SERVICE <u> {}`` inside the WHERE group of one is refused.

``GUARD_CONTEXTS_EXAMPLES`` raises the number of examples for a long local run.
"""

from __future__ import annotations

import os
import re

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sparql_api.errors import QuerySyntaxError, QueryTooDeep, ServiceRefused, UpdateForbidden
from sparql_api.guard import check_query
from tests.listener import Listener

EXAMPLES = int(os.environ.get("GUARD_CONTEXTS_EXAMPLES", "0")) or None
REFUSALS = (ServiceRefused, UpdateForbidden, QuerySyntaxError, QueryTooDeep)
XSD = "http://www.w3.org/2001/XMLSchema#"

# ``{root}`` is the listener's root IRI and ``{u}`` its SPARQL URL: filled in at run time
SERVICE_TEXTS = [
    "SERVICE <{u}> {}",
    "SERVICE <{u}> { }",
    "service <{u}>{}",
    "SERVICE SILENT <{u}> {}",
    "SERVICE<{u}>{}",
    "SeRvIcE <{u}> {?s ?p ?o}",
]


# --- terminals --------------------------------------------------------------------


class Ctx:
    """What the prologue declared: the prefixes usable and whether a BASE is in force."""

    def __init__(self, prefixes: tuple[str, ...], base: bool) -> None:
        self.prefixes = prefixes
        self.base = base


VARS = ["?s", "?p", "?o", "?a", "?b", "$x", "?service", "?z"]

STRING_PAYLOADS = [
    "x",
    "",
    "') SERVICE <{u}> {} #",
    '") SERVICE <{u}> {} #',
    "> SERVICE <{u}> {}",
    "} SERVICE <{u}> {} {",
    "'''",
    '"""',
    "'",
    '"',
    "#",
    "<",
    ">",
    "&&",
    "\\u0027) SERVICE <{u}> {} #",
    "\\u0022",
    "\\t",
    "SERVICE",
    "a\nb",
    "é",
]

ABSOLUTE_IRIS = [
    "{root}a",
    "{root}p",
    "{root}b",
    "{root}g",
    "{root}x'y",
    "{root}a&&b",
    "{root}a#f",
    "{root}a)b",
    "{root}'",
    "{root}\\u0041",
    "{root}SERVICE",
    "x:z&&'",
    "x:'y",
    "urn:a)",
    "x:a#'",
    "http://e/p",
]
RELATIVE_IRIS = ["a", "p", "'x", "#f", "a&&b", "SERVICE", "x'y"]
LOCALS = [
    "a",
    "p",
    "b",
    "a.b",
    "a.b.c",
    "a\\'b",
    "a\\#b",
    "%41b",
    "",
    "a-b",
    "1",
    "a:b",
    "a\\)",
    "DataService",
    "a..b",
]


def quoted(payload: str, quote: str) -> str:
    """``payload`` as a string literal in the ``quote`` style (its own quote escaped)."""
    q = quote[0]
    body = payload.replace(q, "\\" + q)
    if len(quote) == 1:
        body = body.replace("\n", "\\n")
    return quote + body + quote


@st.composite
def string_literal(draw) -> str:
    quote = draw(st.sampled_from(["'", '"', "'''", '"""']))
    text = quoted(draw(st.sampled_from(STRING_PAYLOADS)), quote)
    suffix = draw(
        st.sampled_from(
            ["", "", "", "@en", "@en-GB", "@en--ltr", "@ar--rtl"]
            + [f"^^<{XSD}string>", "^^<{root}t>", "^^ex:t"]
        )
    )
    return text + suffix


@st.composite
def iri(draw, ctx: Ctx) -> str:
    if ctx.base and draw(st.booleans()):
        return "<" + draw(st.sampled_from(RELATIVE_IRIS)) + ">"
    return "<" + draw(st.sampled_from(ABSOLUTE_IRIS)) + ">"


@st.composite
def pname(draw, ctx: Ctx) -> str:
    if not ctx.prefixes:
        return draw(iri(ctx))
    return draw(st.sampled_from(ctx.prefixes)) + ":" + draw(st.sampled_from(LOCALS))


def iri_or_pname(ctx: Ctx) -> st.SearchStrategy[str]:
    return st.one_of(iri(ctx), pname(ctx))


numbers = st.sampled_from(["1", "0", "42", "1.5", ".5", "1e3", "1.0E-2", "007"])
booleans = st.sampled_from(["true", "false", "TRUE"])
variables = st.sampled_from(VARS)
bnodes = st.sampled_from(["_:b", "_:b1", "_:x.y", "[]"])


def literal(ctx: Ctx) -> st.SearchStrategy[str]:
    return st.one_of(string_literal(), numbers, booleans)


def term(ctx: Ctx) -> st.SearchStrategy[str]:
    return st.one_of(variables, iri_or_pname(ctx), literal(ctx))


# --- expressions -----------------------------------------------------------------

BINARY = ["||", "&&", "=", "!=", "<", ">", "<=", ">=", "+", "-", "*", "/"]
UNARY_CALLS = [
    "STR",
    "LANG",
    "DATATYPE",
    "IRI",
    "ABS",
    "CEIL",
    "STRLEN",
    "UCASE",
    "isIRI",
    "isLiteral",
    "ENCODE_FOR_URI",
    "LCASE",
    # SPARQL 1.2, all read by pyoxigraph 0.5
    "SUBJECT",
    "PREDICATE",
    "OBJECT",
    "isTRIPLE",
    "LANGDIR",
    "hasLANG",
    "hasLANGDIR",
]
BINARY_CALLS = ["CONTAINS", "STRSTARTS", "STRENDS", "sameTerm", "LANGMATCHES", "STRBEFORE"]
AGGREGATES = ["COUNT", "SUM", "MIN", "MAX", "AVG", "SAMPLE"]


@st.composite
def expression(draw, ctx: Ctx, depth: int, agg: tuple[str, ...] | None = None) -> list[str]:
    """An Expression's tokens. ``agg``: aggregates allowed, and the grouped variables that
    alone may appear outside them (None: a plain expression)."""
    leaf_vars = st.sampled_from(agg) if agg else variables
    leaves = st.one_of(
        leaf_vars, iri_or_pname(ctx), literal(ctx), booleans, numbers, string_literal()
    ).map(lambda t: [t])
    if depth <= 0:
        return draw(leaves)
    sub = expression(ctx, depth - 1, agg)
    plain = expression(ctx, depth - 1, None)
    choice = draw(st.integers(0, 13 if agg else 12))
    if choice <= 2:
        return draw(leaves)
    if choice == 3:
        return [*draw(sub), draw(st.sampled_from(BINARY)), *draw(sub)]
    if choice == 4:
        return [*draw(sub), draw(st.sampled_from(["<", "=", ">", "&&"])), *draw(sub)]
    if choice == 5:
        items = draw(st.lists(sub, max_size=3))
        inner = [t for i, it in enumerate(items) for t in ([","] if i else []) + it]
        return [*draw(sub), draw(st.sampled_from(["IN", "NOT IN"])), "(", *inner, ")"]
    if choice == 6:
        return [draw(st.sampled_from(["!", "-", "+"])), *draw(sub)]
    if choice == 7:
        return ["(", *draw(sub), ")"]
    if choice == 8:
        return [draw(st.sampled_from(UNARY_CALLS)), "(", *draw(sub), ")"]
    if choice == 9:
        return [draw(st.sampled_from(BINARY_CALLS)), "(", *draw(sub), ",", *draw(sub), ")"]
    if choice == 10:
        name = draw(
            st.sampled_from(["IF", "COALESCE", "REGEX", "CONCAT", "SUBSTR", "BOUND", "STRLANGDIR"])
        )
        if name == "BOUND":
            return ["BOUND", "(", draw(leaf_vars), ")"]
        n = {
            "IF": 3,
            "STRLANGDIR": 3,
            "REGEX": draw(st.integers(2, 3)),
            "SUBSTR": draw(st.integers(2, 3)),
        }.get(name, draw(st.integers(1, 3)))
        args = [draw(sub) for _ in range(n)]
        return [name, "(", *[t for i, a in enumerate(args) for t in ([","] if i else []) + a], ")"]
    if choice == 11:
        return [draw(st.sampled_from(["EXISTS", "NOT EXISTS"])), *draw(group(ctx, depth - 1))]
    if choice == 12 and draw(st.integers(0, 2)) == 0:
        # SPARQL 1.2: a triple term, TRIPLE(…), isTRIPLE(…)
        parts = [draw(leaf_vars), draw(iri_or_pname(ctx)), draw(leaves)[0]]
        return draw(
            st.sampled_from(
                [
                    ["<<(", *parts, ")>>"],
                    ["TRIPLE", "(", parts[0], ",", parts[1], ",", parts[2], ")"],
                    ["isTRIPLE", "(", *draw(sub), ")"],
                ]
            )
        )
    if choice == 12:
        # an extension function call: an IRI, then an argument list
        return [draw(iri_or_pname(ctx)), "(", *draw(sub), ")"]
    # an aggregate (agg mode only), its argument a plain expression
    name = draw(st.sampled_from(AGGREGATES + ["GROUP_CONCAT", "COUNT*"]))
    distinct = ["DISTINCT"] if draw(st.booleans()) else []
    if name == "COUNT*":
        return ["COUNT", "(", *distinct, "*", ")"]
    if name == "GROUP_CONCAT":
        sep = [";", "SEPARATOR", "=", draw(string_literal())] if draw(st.booleans()) else []
        return ["GROUP_CONCAT", "(", *distinct, *draw(plain), *sep, ")"]
    return [name, "(", *distinct, *draw(plain), ")"]


# --- triples and paths -----------------------------------------------------------


@st.composite
def path(draw, ctx: Ctx, depth: int) -> list[str]:
    primary = st.one_of(iri_or_pname(ctx), st.just("a")).map(lambda t: [t])
    if depth <= 0:
        return draw(primary)
    sub = path(ctx, depth - 1)
    choice = draw(st.integers(0, 7))
    if choice <= 1:
        return draw(primary)
    if choice == 2:
        return [*draw(sub), draw(st.sampled_from(["/", "|"])), *draw(sub)]
    if choice == 3:
        return ["^", *draw(sub)]
    if choice == 4:
        return [*draw(primary), draw(st.sampled_from(["*", "+", "?"]))]
    if choice == 5:
        return ["(", *draw(sub), ")", draw(st.sampled_from(["", "*", "+", "?"]))]
    if choice == 6:
        return ["!", *draw(primary)]
    return ["!", "(", *draw(primary), "|", "^", *draw(primary), ")"]


def reifier(ctx: Ctx) -> st.SearchStrategy[list[str]]:
    """What follows ``~`` (SPARQL 1.2): a variable, an IRI, a blank node label, or nothing."""
    return st.one_of(
        variables.map(lambda v: [v]),
        iri_or_pname(ctx).map(lambda t: [t]),
        st.just(["_:r"]),
        st.just([]),
    )


@st.composite
def node(draw, ctx: Ctx, depth: int, paths: bool) -> list[str]:
    """A subject or object: a term, a blank node, ``[ p o ]`` or a collection ``( … )``."""
    choice = draw(st.integers(0, 11 if depth > 0 else 7))
    if choice >= 10:
        # SPARQL 1.2, which pyoxigraph reads: a reified triple ``<< s p o >>`` (subject or
        # object, ``~ reifier`` sometimes) or a triple term ``<<( s p o )>>``
        s_ = draw(st.one_of(variables, iri_or_pname(ctx), bnodes.filter(lambda b: b != "[]")))
        p_ = draw(st.one_of(variables, iri_or_pname(ctx), st.just("a")))
        o_ = draw(node(ctx, depth - 1, paths=False))
        if choice == 10:
            tilde = ["~", *draw(reifier(ctx))] if draw(st.integers(0, 3)) == 0 else []
            return ["<<", s_, p_, *o_, *tilde, ">>"]
        return ["<<(", s_, p_, *o_, ")>>"]
    if choice <= 4:
        return [draw(variables if choice < 2 else iri_or_pname(ctx))]
    if choice == 5:
        return [draw(literal(ctx))]
    if choice in (6, 7):
        return [draw(bnodes)]
    if choice == 8:
        return ["[", *draw(property_list(ctx, depth - 1, paths)), "]"]
    items = draw(st.lists(node(ctx, depth - 1, paths), min_size=1, max_size=3))
    return ["(", *[t for it in items for t in it], ")"]


@st.composite
def property_list(draw, ctx: Ctx, depth: int, paths: bool) -> list[str]:
    """A PropertyListNotEmpty: verbs with ``,`` object lists, joined by ``;``."""
    out: list[str] = []
    for i in range(draw(st.integers(1, 3))):
        if i:
            out.append(";")
        if paths and draw(st.integers(0, 2)) == 0:
            out += draw(path(ctx, 2))
        else:
            out.append(draw(st.one_of(variables, iri_or_pname(ctx), st.just("a"))))
        for j in range(draw(st.integers(1, 2))):
            if j:
                out.append(",")
            out += draw(node(ctx, depth, paths))
            if depth > 0 and draw(st.integers(0, 7)) == 0:
                # SPARQL 1.2 annotations: ``~ reifier`` and ``{| p o |}``
                out += draw(
                    st.sampled_from(
                        [["~", *draw(reifier(ctx))], ["{|", "?r", "?v", "|}"]]
                        + [["~", *draw(reifier(ctx)), "{|", *draw(node(ctx, 0, False)), "?v", "|}"]]
                    )
                )
    if draw(st.integers(0, 4)) == 0:
        out.append(";")
    return out


@st.composite
def triples(draw, ctx: Ctx, depth: int, paths: bool = True) -> list[str]:
    """TriplesSameSubject ``.``-separated (a trailing ``.`` sometimes)."""
    out: list[str] = []
    for i in range(draw(st.integers(1, 2))):
        if i:
            out.append(".")
        out += draw(node(ctx, depth, paths)) + draw(property_list(ctx, depth, paths))
    if draw(st.booleans()):
        out.append(".")
    return out


# --- group graph patterns --------------------------------------------------------


@st.composite
def values_block(draw, ctx: Ctx) -> list[str]:
    value = st.one_of(iri_or_pname(ctx), literal(ctx), st.just("UNDEF"))
    if draw(st.integers(0, 5)) == 0:
        # SPARQL 1.2: a triple term of constants
        value = st.tuples(iri_or_pname(ctx), iri_or_pname(ctx), literal(ctx)).map(
            lambda t: " ".join(["<<(", *t, ")>>"])
        )
    if draw(st.booleans()):
        rows = draw(st.lists(value, max_size=3))
        return ["VALUES", draw(variables), "{", *rows, "}"]
    names = draw(st.lists(variables, min_size=0, max_size=2, unique=True))
    rows = draw(st.lists(st.lists(value, min_size=len(names), max_size=len(names)), max_size=2))
    return ["VALUES", "(", *names, ")", "{", *[t for r in rows for t in ["(", *r, ")"]], "}"]


@st.composite
def group(draw, ctx: Ctx, depth: int) -> list[str]:
    """A GroupGraphPattern ``{ … }``: a sub-SELECT or a sequence of elements."""
    if depth > 0 and draw(st.integers(0, 9)) == 0:
        return ["{", *draw(select_query(ctx, depth - 1, sub=True)), "}"]
    out = ["{"]
    for _ in range(draw(st.integers(0, 3))):
        choice = draw(st.integers(0, 10 if depth > 0 else 4))
        if choice <= 1:
            out += draw(triples(ctx, min(depth, 1)))
        elif choice == 2:
            out += ["FILTER", "(", *draw(expression(ctx, 3)), ")"]
        elif choice == 3:
            # FILTER with a bare call: FILTER regex(…), FILTER EXISTS { … }, FILTER(…)
            call = draw(expression(ctx, 2).filter(lambda e: len(e) > 1 and e[1] == "("))
            out += ["FILTER", *call]
        elif choice == 4:
            out += draw(values_block(ctx))
        elif choice == 5:
            var = f"?v{draw(st.integers(0, 999))}"
            out += ["BIND", "(", *draw(expression(ctx, 3)), "AS", var, ")"]
        elif choice in (6, 7):
            out += [draw(st.sampled_from(["OPTIONAL", "MINUS"])), *draw(group(ctx, depth - 1))]
        elif choice == 8:
            out += [*draw(group(ctx, depth - 1)), "UNION", *draw(group(ctx, depth - 1))]
        elif choice == 9:
            target = draw(st.one_of(variables, iri_or_pname(ctx)))
            out += ["GRAPH", target, *draw(group(ctx, depth - 1))]
        else:
            out += draw(group(ctx, depth - 1))
        if draw(st.integers(0, 3)) == 0:
            out.append(".")
    return [*out, "}"]


@st.composite
def modifiers(
    draw, ctx: Ctx, grouped: tuple[str, ...] | None, group_key: bool = False
) -> list[str]:
    """GROUP BY (the ``grouped`` variables; with ``group_key`` maybe ``(expr AS ?g)``),
    HAVING, ORDER BY, LIMIT, OFFSET."""
    out: list[str] = []
    if grouped:
        out += ["GROUP", "BY", *grouped]
        if draw(st.booleans()):
            out += ["HAVING", "(", *draw(expression(ctx, 2, grouped)), ")"]
    elif group_key and draw(st.integers(0, 5)) == 0:
        out += ["GROUP", "BY", "(", *draw(expression(ctx, 2)), "AS", "?g", ")"]
        grouped = ("?g",)
    if draw(st.integers(0, 2)) == 0:
        out += ["ORDER", "BY"]
        for _ in range(draw(st.integers(1, 2))):
            e = draw(expression(ctx, 2, grouped))
            out += draw(
                st.sampled_from(
                    [["ASC", "(", *e, ")"], ["DESC", "(", *e, ")"], ["(", *e, ")"]]
                    + ([[draw(st.sampled_from(grouped or VARS))]])
                )
            )
    if draw(st.booleans()):
        out += ["LIMIT", draw(st.sampled_from(["0", "1", "10"]))]
    if draw(st.integers(0, 3)) == 0:
        out += ["OFFSET", draw(st.sampled_from(["0", "1"]))]
    return out


@st.composite
def select_query(draw, ctx: Ctx, depth: int, sub: bool = False) -> list[str]:
    out = ["SELECT"]
    if draw(st.integers(0, 3)) == 0:
        out.append(draw(st.sampled_from(["DISTINCT", "REDUCED"])))
    grouped: tuple[str, ...] | None = None
    if draw(st.integers(0, 3)) == 0:
        grouped = tuple(draw(st.lists(variables, min_size=1, max_size=2, unique=True)))
        out += list(grouped)
        for i in range(draw(st.integers(1, 2))):
            out += ["(", *draw(expression(ctx, 2, grouped)), "AS", f"?p{depth}{i}", ")"]
    elif draw(st.booleans()):
        out.append("*")
    else:
        out += draw(st.lists(variables, max_size=2, unique=True))
        for i in range(draw(st.integers(0 if len(out) > 1 else 1, 2))):
            out += ["(", *draw(expression(ctx, 3)), "AS", f"?p{depth}{i}", ")"]
    star = out[-1] == "*"
    if draw(st.integers(0, 3)) or sub:
        out.append("WHERE")
    out += draw(group(ctx, depth))
    mods = draw(modifiers(ctx, grouped, group_key=star))
    if grouped is None and mods[:1] == ["GROUP"]:
        out[out.index("*")] = "?g"  # SELECT * with GROUP BY: project the group key instead
    return out + mods


@st.composite
def query_tokens(draw, ctx: Ctx) -> list[str]:
    form = draw(st.sampled_from(["SELECT", "SELECT", "SELECT", "ASK", "CONSTRUCT", "DESCRIBE"]))
    if form == "SELECT":
        return draw(select_query(ctx, 2))
    if form == "ASK":
        return ["ASK", *draw(group(ctx, 2)), *draw(modifiers(ctx, None))]
    if form == "CONSTRUCT":
        if draw(st.booleans()):
            return ["CONSTRUCT", "WHERE", "{", *draw(triples(ctx, 1, paths=False)), "}"]
        template = draw(triples(ctx, 1, paths=False))
        return ["CONSTRUCT", "{", *template, "}", "WHERE", *draw(group(ctx, 2))]
    targets = draw(st.lists(st.one_of(variables, iri_or_pname(ctx)), min_size=1, max_size=2))
    where = ["WHERE", *draw(group(ctx, 1))] if draw(st.booleans()) else []
    return ["DESCRIBE", *targets, *where]


@st.composite
def prologue(draw) -> tuple[list[str], Ctx]:
    decls = draw(
        st.lists(
            st.sampled_from(["PREFIX ex:", "PREFIX :", "BASE", "VERSION"]), max_size=3, unique=True
        )
    )
    tokens: list[str] = []
    for d in decls:
        tokens += [*d.split(), '"1.2"' if d == "VERSION" else "<{root}>"]
    prefixes = tuple(d.split()[1][:-1] for d in decls if d.startswith("PREFIX"))
    return tokens, Ctx(prefixes, "BASE" in decls)


# --- rendering and smuggling -----------------------------------------------------

#: characters after or before which a lexer never glues (or, for ``< > = ! & | ^ * / + -``,
#: where gluing is what the ambiguities of ``<`` are made of: ``?a<ex:z``, ``<<ex:s``)
GLUE_SAFE = set("{}()[],;<>=!&|^*/+-")
#: a comment at a token boundary, some holding SERVICE text (which must stay a comment)
COMMENTS = ["#c\n", "# SERVICE <{u}> {} '\n", "#'\"<\n", "#\r\n"]


#: characters a name, a number or a keyword may end or begin with: two tokens are glued
#: in a tight rendering unless one ends and the next begins with such a character
NAMEISH = re.compile(r"[\w:.%\\-]")


def gluable(prev: str, tok: str) -> bool:
    """Whether ``prev`` and ``tok`` stay two tokens (to pyoxigraph) with nothing between."""
    return not (NAMEISH.fullmatch(prev[-1:] or " ") and NAMEISH.fullmatch(tok[:1] or " "))


@st.composite
def rendered(draw, tokens: list[str]) -> str:
    """``tokens`` joined by whitespace or comments; "" where no lexer could glue them, and
    now and then anywhere (where one might). One rendering in four is tight: nothing
    between two tokens that stay two (``<<ex:?p'>'>>``, which SPARQL 1.1's lexer reads as
    ``<``, the IRI ``<ex:?p'>`` and a string's opening quote)."""
    # (0, hypothesis's simplest, is a space: a shrunk query reads as one)
    gaps = draw(st.lists(st.integers(0, 39), min_size=len(tokens), max_size=len(tokens)))
    tight = draw(st.integers(0, 3)) == 3
    out: list[str] = []
    for tok, gap in zip(tokens, gaps, strict=True):
        if out:
            prev = out[-1]
            safe = prev[-1:] in GLUE_SAFE or tok[:1] in GLUE_SAFE
            if gap == 39 or (gap >= 28 and safe) or (tight and gluable(prev, tok)):
                sep = ""
            elif gap <= 18:
                sep = " "
            elif gap <= 22:
                sep = "\n"
            elif gap == 23:
                sep = "\t"
            else:
                sep = draw(st.sampled_from(COMMENTS))
            out.append(sep)
        out.append(tok)
    return "".join(out)


@st.composite
def valid_queries(draw) -> tuple[list[str], str]:
    """A generated query: its tokens (prologue then query) and its rendered text."""
    head, ctx = draw(prologue())
    body = draw(query_tokens(ctx))
    tokens = head + body
    return tokens, draw(rendered(tokens))


#: what the smuggler inserts
PAYLOADS = [
    *SERVICE_TEXTS,
    ") SERVICE <{u}> {} #",
    "} SERVICE <{u}> {} {",
    ". SERVICE <{u}> {} ",
    "SERVICE ex:sparql {}",
    "SERVICE :sparql {}",
    "SERVICE <sparql> {}",
    "SERVICE:sparql {",
    "SERVICE",
    " <{u}> {} ",
    "'",
    '"',
    "'''",
    "#",
    "\n",
    ">",
    "<",
    "&&",
    "(",
    ")",
    "{",
    "}",
    ".",
    "\\u0053ERVICE <{u}> {}",
    "\\",
    # SPARQL 1.2's delimiters, which SPARQL 1.1's lexer reads otherwise (``<<`` is ``<`` and
    # an IRIREF's start to it)
    "<<",
    ">>",
    "<<(",
    ")>>",
    "{|",
    "|}",
    "~",
    "'>'",
    "<x:'>",
]

#: the pieces of a desynchronising fragment (:func:`desync`). Before it: nothing (a group's
#: element) or an expression's start with an operand, after which ``<`` is less-than to
#: pyoxigraph (a triple term is one)
DESYNC_BEFORE = ["", "", "FILTER(?a", "FILTER(<<(ex:a ex:b ex:c)>>"]
#: an opening and its closing: SPARQL 1.2's, which SPARQL 1.1 reads as ``<`` then an
#: IRIREF's start, and SPARQL 1.1's ``<``
DESYNC_BRACKETS = [("<<", ">>"), ("<<(", ")>>"), ("<", ">")]
#: what follows the opening: a subject and a verb, glued or not (a prefixed name glued to a
#: variable is the start of an IRIREF to SPARQL 1.1: ``<ex:?p'>``), or an operator
DESYNC_HEADS = ["ex:?p", "ex:s?p", "ex:s ?p", "?s?p", "<{root}s>?p", "_:b?p", "ex:&&"]
#: the object, in one kind of quote ``{q}`` throughout a fragment, holding ``>`` or ``#``
DESYNC_OBJECTS = ["{q}>{q}", "{q}#{q}", "{q}x{q}", "{q}>"]
#: after the SERVICE clause: a comment holding the quote (to the line's end), or the quote
DESYNC_TAILS = ["#{q}\n", "#{q}", "}#{q}", "{q}"]


@st.composite
def desync(draw) -> str:
    """A fragment where SPARQL 1.1's lexer and pyoxigraph's (SPARQL 1.2) may disagree on
    where a string, an IRI or a comment starts, then (mostly) a SERVICE clause, then text
    that closes what one of them opened: ``<<ex:?p'>'>>SERVICE<u>{}#'`` and a newline is
    a quoted triple and a live SERVICE to pyoxigraph, ``<``, an IRI and a string to
    SPARQL 1.1."""
    # (mostly ': an IRIREF may hold ' but not ", so only ' starts a string inside one)
    q = draw(st.sampled_from(["'", "'", '"']))
    before = draw(st.sampled_from(DESYNC_BEFORE))
    opening, closing = draw(st.sampled_from(DESYNC_BRACKETS))
    parts = [
        before,
        opening,
        draw(st.sampled_from(DESYNC_HEADS)),
        draw(st.sampled_from(DESYNC_OBJECTS)),
        draw(st.sampled_from([closing, ""])),
        ")" if before else "",
    ]
    if draw(st.integers(0, 3)):
        clause = draw(st.sampled_from(SERVICE_TEXTS))
        parts.append(clause.replace(" ", "") if draw(st.booleans()) else clause)
    parts.append(draw(st.sampled_from(DESYNC_TAILS)))
    return "".join(parts).replace("{q}", q)


#: where pyoxigraph reads ``<`` as an IRIREF's start, whatever comes before it: a
#: collection, a blank-node property list, an object list, a verb, a VALUES block, a group
#: inside an expression (``{i}``: the IRI)
MIX_HOLDERS = [
    "?s ?p (ex:a {i}) .",
    "?s ?p (?o {i}) .",
    "?s ?p (1 {i}) .",
    "?s ?p ((ex:a) {i}) .",
    "?s ?p (<<(ex:a ex:b ex:c)>> {i}) .",
    "?s ?p ([ex:q {i}]) .",
    "(ex:a {i}) ?p ?o .",
    "?s ?p ({i}) .",
    "?s ?p [ ?q {i} ] .",
    "?s ?p ex:a, {i} .",
    "?s {i} ?o .",
    "?s ?p <<(ex:a ex:b {i})>> .",
    "?s ?p ?o {| ex:q {i} |}",
    "VALUES (?v ?w) {(ex:a {i})}",
    "VALUES ?v {{i}}",
    "VALUES (?v) {(UNDEF) ({i})}",
    "{SELECT * {?s ?p (ex:a {i})}}",
    "FILTER(EXISTS{?s ?p (ex:a {i})})",
    "FILTER(NOT EXISTS{?s ?p ex:a, {i}})",
    "FILTER(?a && EXISTS{?s {i} ?o})",
    "OPTIONAL{?s ?p (?o {i})}",
    "BIND(EXISTS{?s ?p {i}} AS ?e)",
]
#: an IRIREF holding what changes the text after it when it is read as less-than instead
MIX_IRIS = [
    "<ex:q{q}>",
    "<ex:q#>",
    "<ex:q)>",
    "<ex:q(>",
    "<ex:{q}#>",
    "<{root}q{q}>",
    "<{root}q#{q}>",
    "<ex:q>",
]
#: where pyoxigraph reads ``<`` after an operand as less-than (``{e}``: the comparison)
MIX_EXPRESSIONS = [
    "FILTER({e})",
    "FILTER(({e}))",
    "FILTER(!{e})",
    "FILTER(?o = ({e}))",
    "BIND({e} AS ?b)",
    "FILTER(STR({e}))",
    "FILTER(?o IN ({e}))",
    "FILTER(REGEX(?a, {e}))",
    "FILTER(IF({e}, 1, 2))",
    "FILTER(EXISTS{?s ?p ?o} && {e})",
    "FILTER(EXISTS{?s ?p {i}} || {e})",
    "FILTER({e} || EXISTS{?s ?p (ex:a {i})})",
    "FILTER(ex:f(?x, {e}))",
]
MIX_OPERANDS = ["?a", "1", "'x'", "ex:a", "true", "STR(?a)", "<<(ex:a ex:b ex:c)>>", "<{root}a>"]
MIX_RIGHT = ["ex:z&&", "ex:z", "ex:?p", "", "ex:z ", "ex:z||", "ex:z=", "ex:z+", "?b&&"]


@st.composite
def mixed(draw) -> str:
    """A fragment with one IRIREF where pyoxigraph reads an IRI (:data:`MIX_HOLDERS`) and one
    ``<`` after an operand in an expression, where it reads less-than (either first), then
    (mostly) a SERVICE clause and text that closes what one reading opened. Each kind alone
    is what :func:`desync` makes; a reading that takes every ``<`` one way is misled by one
    of the two (found in review: ``?s ?p (x:a <x:q'>) FILTER(?a<x:z&&'>') SERVICE<u>{}
    }#'``, which the generator then lacked). The lists were widened with a helper's
    generator of the same idea (triple terms, annotations, sub-SELECTs, VALUES with UNDEF),
    which found the remote FROM check leaning on the guard for such text."""
    q = draw(st.sampled_from(["'", "'", '"']))
    iri = draw(st.sampled_from(MIX_IRIS))
    holder = draw(st.sampled_from(MIX_HOLDERS)).replace("{i}", iri)
    comparison = (
        draw(st.sampled_from(MIX_OPERANDS))
        + "<"
        + draw(st.sampled_from(MIX_RIGHT))
        + draw(st.sampled_from(DESYNC_OBJECTS))
    )
    place = draw(st.sampled_from(MIX_EXPRESSIONS))
    expr = place.replace("{e}", comparison).replace("{i}", iri)
    gap = draw(st.sampled_from([" ", "", "\n"]))
    if "{i}" in place and draw(st.booleans()):
        parts = [expr]  # (the group inside the expression holds both)
    else:
        parts = [holder, expr] if draw(st.booleans()) else [expr, holder]
    text = gap.join(parts)
    if draw(st.integers(0, 3)):
        clause = draw(st.sampled_from(SERVICE_TEXTS))
        text += gap + (clause.replace(" ", "") if draw(st.booleans()) else clause)
    return (text + draw(st.sampled_from(DESYNC_TAILS))).replace("{q}", q)


@st.composite
def smuggled(draw) -> str:
    tokens, text = draw(valid_queries())
    if "PREFIX ex:" not in text:
        # (the desynchronising fragments' prefixed names need it)
        tokens = ["PREFIX", "ex:", "<{root}>", *tokens]
        text = "PREFIX ex:<{root}>" + text
    for _ in range(draw(st.integers(1, 3))):
        payload = draw(st.sampled_from(PAYLOADS))
        how = draw(st.integers(0, 8))
        if how >= 4:
            # SPARQL 1.2 against SPARQL 1.1 (a desynchronising fragment), or an IRI read as
            # one beside a '<' read as less-than (a mixed one: always there when the query
            # has such a place), mostly where a group's element may start (after ``{`` or
            # ``.``; the last mutation then, that no other breaks the query around it), else
            # at a token boundary or at any character
            payload = draw(desync() if how <= 6 else mixed())
            starts = [i + 1 for i, t in enumerate(tokens) if t in ("{", ".")]
            if starts and (how > 6 or draw(st.booleans())):
                at = draw(st.sampled_from(starts))
                tokens = [*tokens[:at], payload, *tokens[at:]]
                text = draw(rendered(tokens))
                break
            how = draw(st.sampled_from([0, 1]))
        if how == 0:
            # at a token boundary: the text re-rendered with the payload as a token
            at = draw(st.integers(0, len(tokens)))
            tokens = [*tokens[:at], payload, *tokens[at:]]
            text = draw(rendered(tokens))
        elif how == 1:
            # at any character: inside a string, an IRI or a comment, or splitting a token
            at = draw(st.integers(0, len(text)))
            text = text[:at] + payload + text[at:]
        elif how == 2:
            # a SERVICE clause after a quote, bracket or '<' the query already has, closed
            # by a comment: which reading makes the quote close a string?
            spots = [i for i, c in enumerate(text) if c in "'\"<>(#"]
            if spots:
                at = draw(st.sampled_from(spots)) + 1
                closer = draw(st.sampled_from(["", "'", '"', ">", ")", "') ", '") ']))
                clause = draw(st.sampled_from(SERVICE_TEXTS))
                end = draw(st.sampled_from([" #", " #'", ' #"', "", " {", "#'\n", "}#'"]))
                text = text[:at] + closer + " " + clause + end + text[at:]
        else:
            # a token split in two by the payload
            at = draw(st.integers(0, len(tokens) - 1)) if tokens else 0
            tok = tokens[at] if tokens else ""
            cut = draw(st.integers(0, len(tok)))
            tokens = [*tokens[:at], tok[:cut] + payload + tok[cut:], *tokens[at + 1 :]]
            text = draw(rendered(tokens))
    return text


# --- the checks ------------------------------------------------------------------


#: what the smuggling test saw: queries tried, passed by the guard, parsed by pyoxigraph
#: (printed after a long run, ``GUARD_CONTEXTS_EXAMPLES``; ``pytest -s`` shows it)
SMUGGLED = {"tried": 0, "passed": 0, "parsed": 0}


@pytest.fixture(scope="module")
def listener():
    lst = Listener()
    yield lst
    lst.close()
    if EXAMPLES:
        print(f"\nsmuggled queries: {SMUGGLED}")


def fill(template: str, root: str) -> str:
    return template.replace("{u}", root + "sparql").replace("{root}", root)


def store(root: str) -> ox.Store:
    """A store whose triples the generated patterns match (so SERVICE is reached)."""
    s = ox.Store()
    a, p, b, g = (ox.NamedNode(root + n) for n in "apbg")
    for graph in (ox.DefaultGraph(), g):
        s.add(ox.Quad(a, p, ox.Literal("x"), graph))
        s.add(ox.Quad(a, p, b, graph))
        s.add(ox.Quad(b, p, a, graph))
        s.add(ox.Quad(a, p, ox.Literal("1", datatype=ox.NamedNode(XSD + "integer")), graph))
    return s


def evaluate(s: ox.Store, query: str) -> bool:
    """Run ``query`` on ``s``; whether pyoxigraph parsed it."""
    try:
        result = s.query(query)
        if not isinstance(result, ox.QueryBoolean):
            for _ in zip(range(2000), result, strict=False):
                pass
    except SyntaxError:
        return False
    except (OSError, RuntimeError, ValueError):
        pass
    return True


def root_of(listener) -> str:
    return f"http://127.0.0.1:{listener.port}/"


HEALTH = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much]


def test_the_generator_makes_real_sparql_the_guard_accepts(listener) -> None:
    """Most generated queries parse in pyoxigraph (the generator makes SPARQL, not noise),
    and the guard accepts every one that does: none holds SERVICE or an update. (One
    query per example, tallied here: a list of many per example overruns hypothesis.)"""
    root = root_of(listener)
    s = store(root)
    tally = {"drawn": 0, "parsed": 0, "ambiguous": 0}

    @settings(
        max_examples=300,
        deadline=None,
        suppress_health_check=HEALTH,
        database=None,
        derandomize=True,
    )
    @given(valid_queries())
    def one(generated: tuple[list[str], str]) -> None:
        query = fill(generated[1], root)
        tally["drawn"] += 1
        if not evaluate(s, query):
            return
        tally["parsed"] += 1
        try:
            check_query(query)
        except ServiceRefused:
            # known false refusals, left to the guard's owner: a relative IRI holding SERVICE
            # under BASE (``BASE <…> ASK { ?s ?p <Service> }``), read as ``< SERVICE >``; a
            # string whose codepoint escape, decoded first as §19.2 says (reading 3), ends it
            # before SERVICE text (``'\u0027) SERVICE <…> {} #'``)
            if not re.search(r"<[^<>\s]*service|\\u0027|\\u0022", query, re.I):
                raise AssertionError(f"refused: {query!r}") from None
        except QuerySyntaxError as e:
            # known false refusal, by design: an IRI holding a quote, '#' or a parenthesis
            # after another term in a collection (``( ?s <x:a'b> )``), which the tokens cannot
            # tell from less-than in an expression (found in review: one of each hid SERVICE)
            if "is ambiguous" not in str(e):
                pytest.fail(f"the guard refused a valid query without SERVICE ({e}): {query!r}")
            tally["ambiguous"] += 1
        except REFUSALS as e:  # a false refusal: the message says which
            pytest.fail(f"the guard refused a valid query without SERVICE ({e}): {query!r}")

    one()
    # bounded: 16 of 184 here, as the generator's IRIs hold quotes and '#' far more often
    # than real ones (a real collection of full IRIs with '#' after another term is rare)
    assert tally["ambiguous"] <= tally["parsed"] // 8, tally
    # (about 58% parse: subjects that are literals, ``ex:a.b.c``, glued tokens... fail)
    assert tally["parsed"] >= tally["drawn"] * 4 // 10, tally


@settings(max_examples=EXAMPLES or 150, deadline=None, suppress_health_check=HEALTH)
@given(valid_queries(), st.sampled_from(SERVICE_TEXTS))
def test_a_plain_service_in_the_where_group_is_refused(listener, generated, clause) -> None:
    """The known-bad beside the differential: ``SERVICE <u> {}`` as the first element of
    the WHERE group of a generated query (after its first ``{`` past the query form)."""
    tokens, _ = generated
    forms = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
    start = next(i for i, t in enumerate(tokens) if t in forms)
    if tokens[start] == "CONSTRUCT" and tokens[start + 1] == "{":
        start = tokens.index("WHERE", start)
    if "{" not in tokens[start:]:
        return  # DESCRIBE <x> with no WHERE
    at = tokens.index("{", start) + 1
    query = fill(" ".join([*tokens[:at], clause, *tokens[at:]]), root_of(listener))
    with pytest.raises(ServiceRefused):
        check_query(query)


@settings(max_examples=EXAMPLES or 600, deadline=None, suppress_health_check=HEALTH)
@given(smuggled())
@example("PREFIX ex: <{root}> SELECT * WHERE { FILTER(?a<ex:z&&'>') SERVICE <{u}> {} #'\n}")
@example("SELECT * WHERE { FILTER(?a<'x>') SERVICE <{u}> {} #'\n}")
# (found by hand while writing this generator) SPARQL 1.2's ``<<`` opens a reified
# triple in pyoxigraph: ``<<`` ``e:`` ``?p`` ``'>'`` ``>>``, then a live SERVICE and a
# comment ``#'``; the guard, lexing by SPARQL 1.1, reads ``<`` then the IRI ``<e:?p'>``
# (absolute: it parses, and no operand precedes it) then the string ``'>>SERVICE…}#'``
@example("PREFIX e:<{root}>ASK{<<e:?p'>'>>SERVICE<{u}>{}}#'")
# the same as an object, and in a CONSTRUCT template with SERVICE in the WHERE (each
# connects without reading 5, checked against pyoxigraph 0.5.13)
@example("PREFIX e:<{root}>SELECT*{?s ?p <<e:s?p'>'>>SERVICE<{u}>{}}#'")
@example("PREFIX e:<{root}>CONSTRUCT{<<e:s?p'>'>>}WHERE{SERVICE<{u}>{}}#'")
# (found by hand while teaching the generator SPARQL 1.2, as the next one) '<<' after an
# operand in an expression is less-than then an IRI to pyoxigraph, and a quoted triple to
# reading 5, which then took ``'>)<<e:?p'`` for a string and the rest as the others did
@example("PREFIX e:<{root}>ASK{FILTER(?a<<e:'>)<<e:?p'>'>>SERVICE<{u}>{}}#'")
# and a triple term is an operand: '<' after its ``)>>`` is less-than to pyoxigraph
@example("PREFIX x:<{root}>ASK{FILTER(<<(x:a x:b x:c)>><x:z&&'>')SERVICE<{u}>{}}#'")
# (what the generator found after 10,593 examples with reading 5 disabled, shrunk by hand:
# the '<<' bypass, with SILENT glued to SERVICE, which pyoxigraph reads as both)
@example("PREFIX ex:<{root}>SELECT*WHERE{ <<ex:?p'>'>>SERVICESILENT<{u}>{}#'\n}")
# found in review: an IRI read as one in a collection, a VALUES row or a group, then one as
# less-than in an expression
@example("PREFIX x:<{root}> ASK{ ?s ?p (x:a <x:q'>) FILTER(?a<x:z&&'>') SERVICE<{u}>{} }#'")
@example(
    "PREFIX x:<{root}>\nASK{ VALUES (?v ?w) {(x:a <x:q#>)} FILTER(?a<x:z&&'>') SERVICE<{u}>{} }#'\n"
)
@example("PREFIX x:<{root}>\nASK{ FILTER(EXISTS{?s ?p <x:q)>} || ?a<x:z&&'>') SERVICE<{u}>{} }#'\n")
def test_no_smuggled_service_the_guard_passes_reaches_the_network(listener, template) -> None:
    root = root_of(listener)
    query = fill(template, root)
    SMUGGLED["tried"] += 1
    try:
        check_query(query)
    except REFUSALS:
        return
    SMUGGLED["passed"] += 1
    before = listener.accepted
    SMUGGLED["parsed"] += evaluate(store(root), query)
    assert listener.accepted == before, f"the guard let through a query that connected: {query!r}"


#: the shells a mixed fragment stands in for :func:`test_no_mixed_fragment_reaches_the_network`
MIX_SHELLS = ["ASK{ %s }", "SELECT * WHERE { ?s ?p ?o . %s\n}", "ASK{ ?s ?p ?o %s }"]


@settings(max_examples=EXAMPLES or 3000, deadline=None, suppress_health_check=HEALTH)
@given(mixed(), st.sampled_from(MIX_SHELLS))
def test_no_mixed_fragment_reaches_the_network(listener, fragment, shell) -> None:
    """:func:`mixed` alone, in small shells where a sixth of its fragments parse: about one
    in a thousand connected past the guard without the review's mend (an IRI holding a
    quote, ``#`` or a parenthesis after another term in a collection, marked ambiguous; 16
    of 15,000 examples, each a collection in the WHERE group, an OPTIONAL or an EXISTS
    beside a comparison), so 3,000 here find such a hole again 19 times in 20. In the
    generated queries of the smuggling test the same fragments parse ten times less often."""
    root = root_of(listener)
    query = fill("PREFIX ex:<{root}>" + shell % fragment, root)
    try:
        check_query(query)
    except REFUSALS:
        return
    before = listener.accepted
    evaluate(store(root), query)
    assert listener.accepted == before, f"the guard let through a query that connected: {query!r}"
