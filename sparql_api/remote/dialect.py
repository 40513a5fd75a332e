"""What the remote mode sends: where the release was published (:class:`Graphs`), the
protocol dataset that makes the backend show what the local store shows, the remote
mode's extra guard, and each server's own timeout parameter."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from dipkg.core.publish_plan import plan
from dipkg.core.release import Release
from sparql_api import guard
from sparql_api.errors import QueryError, UpdateForbidden
from sparql_api.results import Job

#: Virtuoso's built-in function namespaces (``bif:``, ``sql:``): SQL, file and network access
#: on some installations; never forwarded.
VIRTUOSO_FUNCTIONS = (
    "http://www.openlinksw.com/schemas/bif#",
    "http://www.openlinksw.com/schemas/sql#",
)


@dataclass(frozen=True)
class Graphs:
    """Where ``dipkg publish`` put the release on the backend."""

    data: str
    catalog: str | None

    @classmethod
    def of(cls, release: Release) -> Graphs:
        uploads = plan(release)
        return cls(data=uploads[0].graph, catalog=uploads[1].graph if len(uploads) > 1 else None)

    def published(self) -> set[str]:
        """The graphs a query may name."""
        return {g for g in (self.data, self.catalog) if g}


#: A graph no one publishes, sent for the part of a dataset the client or the query leaves
#: empty (of the protocol's parameters, or a query's FROM / FROM NAMED): the protocol
#: cannot say "no named graphs". Left to itself, Virtuoso 7.2 reads a query with
#: FROM and no FROM NAMED as having every graph it holds as a named graph (its system
#: graphs, publish's staging graphs, other datasets: ``GRAPH ?g`` listed them), where
#: SPARQL 1.1 (§13.2) and the local store give none.
NO_GRAPH = "urn:dipkg:no-graph"


@dataclass(frozen=True)
class QueryDataset:
    """The dataset a query names itself: its ``FROM`` and ``FROM NAMED`` IRIs, resolved."""

    default: tuple[str, ...]
    named: tuple[str, ...]


# --- dialects: the backend's own timeout parameter ---------------------------
def timeout_param(server: str, seconds: float) -> dict[str, str]:
    """The backend's own per-query time limit, by its ``Server`` header (unknown: none)."""
    s = server.lower()
    if "virtuoso" in s:  # milliseconds; Virtuoso answers partial results + X-SQL-State S1TAT
        return {"timeout": str(int(seconds * 1000))}
    if "fuseki" in s or "jena" in s or "graphdb" in s or "rdf4j" in s:
        return {"timeout": str(max(1, int(seconds)))}
    if "qlever" in s:
        return {"timeout": f"{seconds:g}s"}
    return {}  # Oxigraph: `oxigraph serve --timeout-s` is server-wide


_LOCAL_ESCAPE = re.compile(r"\\(.)")
#: the longest IRI a BASE or PREFIX declaration may name, resolved, and the most '/' a
#: BASE may hold. Each IRI of the query is resolved against the BASE (urljoin: a step per
#: segment of its path) and each prefixed name copies its namespace: a 32 KiB BASE of
#: ``a/a/…`` before 8,000 relative IRIs cost ~10 s of the server's CPU (2 s at 2 KiB).
MAX_DECLARED_IRI = 2048
MAX_BASE_SLASHES = 64


def _placed(
    kind: type[QueryError] | type[UpdateForbidden],
    message: str,
    query: str,
    tok: guard.Token,
    **extra: Any,
) -> QueryError | UpdateForbidden:
    """``kind(message)`` placed at ``tok``'s line and column in ``query``."""
    line, column = guard.line_col(query, tok.pos)
    return kind(message, line=line, column=column, **extra)


def _declared(iri: str, tok: guard.Token, query: str, *, base: bool = False) -> str:
    if len(iri) > MAX_DECLARED_IRI or (base and iri.count("/") > MAX_BASE_SLASHES):
        raise _placed(
            QueryError,
            f"in remote mode a BASE or PREFIX IRI may be at most {MAX_DECLARED_IRI} "
            f"characters long, and a BASE may hold at most {MAX_BASE_SLASHES} '/'",
            query,
            tok,
            details={"max_iri_length": MAX_DECLARED_IRI, "max_base_slashes": MAX_BASE_SLASHES},
        )
    return iri


#: most resolutions :func:`_iris` keeps for one query (each up to a BASE's 2,048 characters)
_JOINS_KEPT = 4096


def _iris(
    tokens: list[guard.Token], query: str, joined: dict[tuple[str, str], str]
) -> Iterator[tuple[int, guard.Token, str | None]]:
    """Each IRI or prefixed-name token (outside PREFIX/BASE declarations) with the absolute
    IRI it stands for, resolved the way the backend resolves it (declared prefixes, BASE);
    None for a prefixed name whose prefix the query does not declare. ``joined``: the
    resolutions made so far, by (BASE, IRIREF text), shared by the readings of one query
    (64 KiB of ``<b> `` under a deep BASE resolved 16,000 times per reading)."""
    base, prefixes, skip = "", {}, 0
    for index, tok in enumerate(tokens):
        if skip:
            skip -= 1
            continue
        declared = guard.declaration(tokens, index)
        if declared is not None:
            iri = _declared(urljoin(base, declared.iri), tok, query, base=declared.prefix is None)
            if declared.prefix is None:
                base = iri
            else:
                prefixes[declared.prefix] = iri
            skip = declared.width - 1
            continue
        if tok.kind == guard.IRI:
            key = (base, tok.text)
            iri = joined.get(key)
            if iri is None:
                iri = urljoin(base, tok.text[1:-1])
                if len(joined) < _JOINS_KEPT:
                    joined[key] = iri
            yield index, tok, iri
        elif tok.kind == guard.PNAME:
            prefix, _, local = tok.text.partition(":")
            ns = prefixes.get(prefix)
            yield index, tok, None if ns is None else ns + _LOCAL_ESCAPE.sub(r"\1", local)


def check_query(query: str, graphs: Graphs | None = None) -> QueryDataset | None:
    """The remote mode's extra guard (the endpoint's guard has run already): no update
    keyword anywhere (403), no Virtuoso pragmas (``DEFINE``: sponging, inference) nor SQL
    built-ins (``bif:``, ``sql:``, however spelt: a declared prefix, an escaped local name,
    a BASE-relative IRI); and ``FROM`` / ``FROM NAMED`` may name only the published graphs
    (``graphs``), not whatever else the backend holds (publish's staging graphs, other
    tenants, system graphs).

    Each check runs on the text as sent and, when it has codepoint escapes, on the text
    with them decoded, as §19.2 has a backend read it first: ``"\\u0022) } ; DROP …"``
    ends a string there, not in the text as sent (positions are then the decoded text's).

    Returns the query's own dataset as the backend reads it (the decoded text's), None when
    it names none (:func:`dataset_params` sends it)."""
    own = _check_reading(query, graphs)
    if "\\" in query:
        decoded = guard.decode_codepoints(query)
        if decoded != query:
            own = _check_reading(decoded, graphs)
    return own


def _dataset_clauses(tokens: list[guard.Token]) -> set[int]:
    """The indices of the tokens that stand where a dataset clause may: after the query
    form's keyword (and a CONSTRUCT's template), outside brackets, before its WHERE clause
    (the first ``WHERE`` or ``{`` there). Nowhere else may FROM stand, not even for a
    parser that reads it without a word boundary."""
    op = guard.operation(tokens)
    if op is None:
        return set()
    # the form's own token too: glued to it, ``CONSTRUCTFROM<g>`` is CONSTRUCT FROM <g>
    found = {tokens.index(op)}
    i = tokens.index(op) + 1
    if op.text.upper() == "CONSTRUCT" and i < len(tokens) and tokens[i].text == "{":
        depth = 0
        while i < len(tokens):  # past the template
            depth += {"{": 1, "}": -1}.get(tokens[i].text, 0)
            i += 1
            if depth <= 0:
                break
    depth = 0
    for at in range(i, len(tokens)):
        tok = tokens[at]
        if depth == 0:
            if tok.text == "{" or (tok.kind == guard.WORD and tok.text.upper() == "WHERE"):
                break
            found.add(at)
        depth = max(depth + {"(": 1, "[": 1, ")": -1, "]": -1}.get(tok.text, 0), 0)
    return found


def _absolute(iri: str | None) -> bool:
    """Whether ``iri`` (an IRIREF's text resolved against the BASE in force) is, its escapes
    decoded, an absolute IRI pyoxigraph accepts (escaped text is never one undecoded)."""
    return bool(iri) and guard.parses_as_iri(f"<{iri}>")


#: the keywords that may come before a dataset clause, glued to it in one token
_BEFORE_CLAUSE = re.compile(r"(?:SELECT|CONSTRUCT|DESCRIBE|ASK|DISTINCT|REDUCED)*")


def _glued_clause(upper: str) -> bool:
    """Whether a word or prefixed name (upper-cased) where a dataset clause may stand
    holds one glued to it: after any keywords that may precede a dataset clause, it goes
    on with FROM or NAMED (other than the keyword FROM or NAMED itself)."""
    rest = upper[_BEFORE_CLAUSE.match(upper).end() :]  # type: ignore[union-attr]
    return rest.startswith(("FROM", "NAMED")) and upper not in ("FROM", "NAMED")


def _check_reading(query: str, graphs: Graphs | None) -> QueryDataset | None:
    """The checks on every reading of ``query`` the endpoint's guard takes (its grammar's,
    and pyoxigraph's where they part: an IRIREF it cannot parse read with ``<`` as
    less-than, its shorter local names), so that text one reading hides (``(?o<?c#> (⏎
    AS ?b) FROM:g``: an IRI, then a bracket, to the grammar; a comparison and a comment
    to a PEG parser) is seen by another. The dataset returned is the grammar's reading's."""
    tokens = guard.tokenize(query)
    joined: dict[tuple[str, str], str] = {}
    own = _check_tokens(tokens, query, graphs, joined)
    if any(t.kind == guard.PNAME and "." in t.text for t in tokens):
        _check_tokens(guard.tokenize(query, oxigraph_locals=True), query, graphs, joined)
    for less_than in guard.less_than_readings(tokens, query):
        _check_tokens(less_than, query, graphs, joined)
    for triple in guard.triple_readings(query):
        _check_tokens(triple, query, graphs, joined)
    # what no reading can follow (an IRI read as one in a collection, one as less-than in
    # an expression: ``(EXISTS{?s ?p (x:a <x:q'>)} || ?o<x:z&&'>' AS ?b) FROM <g> #'`` is
    # FROM <g> to pyoxigraph and to none of the readings), refused here too, not only by
    # the endpoint's guard
    for reading in (*guard.less_than_readings(tokens, query), *guard.triple_readings(query)):
        guard._refuse_ambiguous(reading, query)
    return own


def _check_tokens(
    tokens: list[guard.Token],
    query: str,
    graphs: Graphs | None,
    joined: dict[tuple[str, str], str],
) -> QueryDataset | None:
    clauses = _dataset_clauses(tokens)
    for at, tok in enumerate(tokens):
        upper = tok.text.upper()
        if at in clauses and tok.kind in (guard.PNAME, guard.WORD) and _glued_clause(upper):
            # a PEG parser (Oxigraph's) reads keywords without a word boundary: ``FROM:g``
            # and ``FROMex:g`` are FROM <…g>, ``FROM NAMED:g`` is FROM NAMED <:g>,
            # ``FROMNAMED <g>`` is FROM NAMED <g>, ``ASKFROM:g`` is ASK FROM <:g>: graphs
            # the checks below would not see (or see as others). Where no dataset clause
            # may stand (``fromage:x`` in a pattern) they are names like any other
            raise _placed(
                QueryError,
                "in remote mode a word or name before the WHERE clause may not run into FROM "
                f"or NAMED ({tok.text[:40]!r}): a backend may read it as a dataset clause",
                query,
                tok,
            )
        if tok.kind != guard.WORD:
            continue
        if upper == "DEFINE":
            raise QueryError("DEFINE pragmas are not SPARQL 1.1 and are not accepted")
        if upper in guard.UPDATE_OPERATIONS:
            # never a word of a query: an update after a query (``ASK {} ; DROP ALL``) that
            # a lenient backend might run; the guard looks only at the first operation
            raise _placed(
                UpdateForbidden,
                f"this endpoint is read-only: {upper} is a SPARQL Update operation",
                query,
                tok,
            )
    allowed = graphs.published() if graphs is not None else None
    default: list[str] = []
    named: list[str] = []
    for at, tok, iri in _iris(tokens, query, joined):
        if tok.kind == guard.IRI and not _absolute(iri):
            # a parser that cannot read it as an IRI may read '<' as less-than, and the text
            # after it as something else (pyoxigraph does, per IRI, BASE applied): then
            # ``(?o<'x>' AS ?b) FROM <g> #'`` under a BASE is FROM <{base}g> to it and a
            # string to the grammar; no reading of one rule for all IRIs can follow that
            raise _placed(
                QueryError,
                f"in remote mode an IRI must be absolute once resolved against the BASE "
                f"({tok.text[:60]!r} is not): the backend may read it as something else",
                query,
                tok,
            )
        bare = tok.kind == guard.PNAME and tok.text.split(":", 1)[0].lower() in ("bif", "sql")
        if bare or (iri is not None and iri.startswith(VIRTUOSO_FUNCTIONS)):
            raise QueryError("backend-specific built-in functions (bif:, sql:) are not accepted")
        before = [t.text.upper() for t in tokens[max(at - 2, 0) : at] if t.kind == guard.WORD]
        into = (
            default
            if before[-1:] == ["FROM"]
            else named
            if before[-2:] == ["FROM", "NAMED"]
            else None
        )
        if into is None:
            continue
        if allowed is not None and iri not in allowed:
            raise _not_published("FROM and FROM NAMED", allowed)
        if iri is not None:
            into.append(iri)
    return QueryDataset(tuple(default), tuple(named)) if default or named else None


def check_dataset(job: Job, graphs: Graphs) -> None:
    """The client's protocol dataset (``default-graph-uri``, ``named-graph-uri``) may name
    only the published graphs, as FROM may: forwarded, any other IRI would show whatever
    else the backend holds."""
    allowed = graphs.published()
    for iri in (*(job.default_graph or ()), *(job.named_graphs or ())):
        if iri not in allowed:
            raise _not_published("default-graph-uri and named-graph-uri", allowed)


def _not_published(what: str, allowed: set[str]) -> QueryError:
    return QueryError(
        f"in remote mode {what} may name only the published graphs ({', '.join(sorted(allowed))})",
        details={"graphs": sorted(allowed)},
    )


def dataset_params(
    job: Job, graphs: Graphs, own: QueryDataset | None = None
) -> list[tuple[str, str]]:
    """The protocol dataset that makes the backend see what the local store shows:
    the data as the default graph, the catalogue as the one named graph; or the query's
    ``own`` dataset (:func:`check_query`'s), said in full, so no backend fills in a half
    the query left empty (:data:`NO_GRAPH`)."""
    # no catalogue published: no named graph at all, said as one no one has (sending none
    # would leave the named graphs to the backend's choice: every graph, on Virtuoso)
    catalog = [graphs.catalog] if graphs.catalog else [NO_GRAPH]
    if job.default_graph or job.named_graphs:
        # the client's dataset is all of it: a part it does not give is empty, as locally
        # (a graph no one has; no parameter would be the backend's own choice)
        union = [graphs.data, *catalog] if job.union_default_graph else [NO_GRAPH]
        default = list(job.default_graph or union)
        named = list(job.named_graphs or [NO_GRAPH])
    elif job.union_default_graph:
        default, named = [graphs.data, *catalog], catalog
    elif own is not None:
        # the protocol's parameters override FROM / FROM NAMED: they say the same dataset
        default, named = list(own.default) or [NO_GRAPH], list(own.named) or [NO_GRAPH]
    else:
        default, named = [graphs.data], catalog
    return [("default-graph-uri", g) for g in default] + [("named-graph-uri", g) for g in named]
