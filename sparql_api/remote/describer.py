"""The pages' lookups over the backend: :class:`RemoteDescriber` answers what the local
:class:`~sparql_api.describe.Describer` answers, each lookup one small bounded SPARQL
query (blank-node closures in one CONSTRUCT: their labels do not survive between requests)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from dipkg.core.iris import ONTOLOGY_IRI, PREFIXES
from sparql_api.describe import IS_DEFINED_BY, LABELS, MAX_INCOMING, RDF_TYPE, Describer, Term
from sparql_api.remote.answers import (
    ACCEPT_GRAPH,
    ACCEPT_TABLE,
    GRAPH_PARSERS,
    RESULT_PARSERS,
    UNREADABLE,
    _detach,
    _parse_graph,
    _parse_results,
    _short,
)
from sparql_api.remote.client import BackendClient
from sparql_api.remote.dialect import Graphs
from sparql_api.remote.errors import BackendError

#: at most this many labels per lookup query (VALUES block)
LABEL_BATCH = 200
#: blank-node chains followed from a resource (rdf:Lists of up to this length - 1)
BNODE_DEPTH = 8


def _iri(term: ox.NamedNode | str) -> str:
    return f"<{term.value if isinstance(term, ox.NamedNode) else term}>"


def _bnode_paths(start: str, depth: int) -> str:
    """UNION branches binding ?s to ``start`` and to every blank node reachable from it."""
    branches = [f"{{ {start} ?p ?o BIND({start} AS ?s) }}"]
    for d in range(1, depth + 1):
        hops = []
        prev = start
        for i in range(d):
            node = "?s" if i == d - 1 else f"?b{i}"
            hops.append(f"{prev} ?h{i} {node} FILTER(isBlank({node}))")
            prev = node
        branches.append("{ " + " ".join(hops) + " ?s ?p ?o }")
    return "\nUNION ".join(branches)


def bind_values(query: str, substitutions: Mapping[str, Term]) -> str:
    """``query`` with ``substitutions`` as a VALUES block opening its outer WHERE group: what
    pyoxigraph's ``substitutions=`` does locally (SEP-0007), for an endpoint that takes only
    the query text. Each term is written by pyoxigraph (an IRI cannot hold ``>``)."""
    names = " ".join(f"?{ox.Variable(name).value}" for name in substitutions)
    terms = " ".join(str(term) for term in substitutions.values())
    bound, n = re.subn(
        r"\bWHERE\s*\{",
        lambda m: f"{m.group(0)} VALUES ({names}) {{ ({terms}) }}",
        query,
        count=1,
        flags=re.IGNORECASE,
    )
    if not n:
        raise ValueError("a query with substitutions needs a WHERE { ... } group")
    return bound


class RemoteDescriber(Describer):
    """The :class:`~sparql_api.describe.Describer` over a SPARQL endpoint (same triples).

    Its lookups run in the pages' worker threads; each is one bounded exchange of the
    shared :class:`BackendClient` (deadline, byte cap, slots), so a slow backend holds a
    thread for at most the time limit and the pages recover with the backend."""

    store = None  # type: ignore[assignment]  # no local store: every lookup is a query
    #: a backend that cannot answer the pages' lookups is refused before serving
    lookups_at_start = True

    def __init__(
        self,
        client: BackendClient,
        graphs: Graphs,
        *,
        named_graphs: Iterable[str] = (),
        published: Path | None = None,
    ) -> None:
        self.client = client
        self.url = client.url
        self.shown = client.shown
        self.graphs = graphs
        self.timeout = client.timeout
        self.named_graphs = [g for g in named_graphs if g]
        self.published = published
        self._prologue = "".join(f"PREFIX {p}: <{iri}>\n" for p, iri in PREFIXES.items())

    def _remote(self, graph: str | None) -> str:
        """Where the local graph ``graph`` (None: the default graph) lives on the backend."""
        return self.graphs.data if graph is None else graph

    def _post(
        self, query: str, accept: str, dataset: list[tuple[str, str]] = ()
    ) -> tuple[str, bytes]:
        answer = self.client.exchange_sync([("query", query), *dataset], accept)
        if not answer.complete:
            raise BackendError(
                f"the SPARQL backend's answer to a page lookup is larger than "
                f"{self.client.max_bytes} bytes",
                details={"backend": self.shown},
            )
        return answer.media, answer.body

    @_detach
    def _rows(self, query: str, dataset: list[tuple[str, str]] = ()) -> list[dict[str, Any]]:
        media, body = self._post(query, ACCEPT_TABLE, dataset)
        if media not in RESULT_PARSERS:
            raise BackendError(
                f"the SPARQL backend answered {media[:80] or '(none)'} to a SELECT",
                details={"backend": self.shown},
            )
        try:
            result = _parse_results(body, media)
            names = [v.value for v in result.variables]  # type: ignore[union-attr]
            return [{n: s[n] for n in names if s[n] is not None} for s in result]  # type: ignore[union-attr]
        except UNREADABLE as exc:
            raise BackendError(
                f"the SPARQL backend's answer is malformed: {_short(exc)}",
                details={"backend": self.shown},
            ) from None

    @_detach
    def _construct(self, query: str) -> list[ox.Triple]:
        media, body = self._post(query, ACCEPT_GRAPH)
        if media not in GRAPH_PARSERS:
            raise BackendError(
                f"the SPARQL backend answered {media[:80] or '(none)'} to a CONSTRUCT",
                details={"backend": self.shown},
            )
        try:
            return list(_parse_graph(body, media))
        except UNREADABLE as exc:
            raise BackendError(
                f"the SPARQL backend's answer is malformed: {_short(exc)}",
                details={"backend": self.shown},
            ) from None

    # -- the primitives of Describer.describe ---------------------------------
    def graph_of(self, iri: str) -> str | None | bool:
        node = ox.NamedNode(iri)
        local = [None, *self.named_graphs]
        values = " ".join(_iri(self._remote(g)) for g in local)
        rows = self._rows(
            "SELECT DISTINCT ?g WHERE "
            f"{{ VALUES ?g {{ {values} }} GRAPH ?g {{ {_iri(node)} ?p ?o }} }}"
        )
        found = {r["g"].value for r in rows if isinstance(r.get("g"), ox.NamedNode)}
        for graph in local:
            if self._remote(graph) in found:
                return graph
        return False

    def _own(self, node: ox.NamedNode, graph: str | None) -> list[ox.Triple]:
        return self._construct(
            f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH {_iri(self._remote(graph))} {{\n"
            f"{_bnode_paths(_iri(node), BNODE_DEPTH)} }} }}"
        )

    def _ontology_terms(self, graph: str | None) -> list[ox.Triple]:
        start = "?t"
        where = (
            f"?t {_iri(IS_DEFINED_BY)} {_iri(ONTOLOGY_IRI)} FILTER(isIRI(?t)) "
            f"{{ {_bnode_paths(start, BNODE_DEPTH)} }}"
        )
        return self._construct(
            f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH {_iri(self._remote(graph))} {{ {where} }} }}"
        )

    def _incoming(self, node: ox.NamedNode, graph: str | None) -> list[ox.Triple]:
        rows = self._rows(
            f"SELECT ?s ?p WHERE {{ GRAPH {_iri(self._remote(graph))} {{ ?s ?p {_iri(node)} "
            f"FILTER(?p != {_iri(RDF_TYPE)} && ?p != {_iri(IS_DEFINED_BY)}) }} }} "
            f"LIMIT {MAX_INCOMING}"
        )
        return [ox.Triple(r["s"], r["p"], node) for r in rows if "s" in r and "p" in r]

    def _labels_of(self, nodes: list[ox.NamedNode], graph: str | None) -> list[ox.Triple]:
        out: list[ox.Triple] = []
        preds = " ".join(_iri(p) for p in LABELS)
        for i in range(0, len(nodes), LABEL_BATCH):
            values = " ".join(_iri(n) for n in nodes[i : i + LABEL_BATCH])
            rows = self._rows(
                f"SELECT ?s ?p ?o WHERE {{ GRAPH {_iri(self._remote(graph))} {{ "
                f"VALUES ?s {{ {values} }} VALUES ?p {{ {preds} }} ?s ?p ?o }} }}"
            )
            out.extend(ox.Triple(r["s"], r["p"], r["o"]) for r in rows if len(r) == 3)
        return out

    def select(
        self,
        query: str,
        graph: str | None = None,
        *,
        substitutions: Mapping[str, Term] | None = None,
    ) -> list[dict[str, Any]]:
        query = bind_values(query, substitutions) if substitutions else query
        return self._rows(self._prologue + query, [("default-graph-uri", self._remote(graph))])

    def close(self) -> None:
        pass  # the client belongs to the backend (closed with the pool)
