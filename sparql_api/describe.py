"""The RDF description of one resource, read from the release's store.

A description (what ``/scenario/guizhou-b1-s01.ttl`` returns) holds:

* the resource's own triples, with the closure of its blank nodes;
* the labels (``rdfs:label``, ``skos:prefLabel``) of every IRI it links to;
* the triples that link *to* it (except ``rdf:type``: every field is a
  ``dip:DataField``, that says nothing about the class), e.g. a field's
  ``dip:hasField`` from its category, a domain's scenarios, a concept's items
  with ``dip:dataKind``, with the labels of those resources.

Every triple comes from one graph of the store: the default graph (the data, as
in the dumps) or, for the catalogue record's resources (dataset, catalogue,
distributions...), the catalogue's named graph (as in ``catalog.ttl``). So a
description is always a subset of the published files (tested). Oxigraph keeps some
literals in another form than they were written (``xsd:nonNegativeInteger`` and the
other integer types as ``xsd:integer``, ``"05"`` as ``"5"``): a named graph's are given
back as the record publishes them (``published``: its file).

The ontology document (``/ontology``) describes the ontology and every term
``rdfs:isDefinedBy`` it, so the hash IRIs ``dip:Term`` land on it.

The store is opened read-only once, on the first lookup; every method is a bounded point lookup,
run off the event loop by the caller (``anyio.to_thread.run_sync``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from dipkg.core.iris import DIP, ONTOLOGY_IRI, PREFIXES
from dipkg.core.release import Release

log = logging.getLogger(__name__)

#: an RDF term a query's variable can be bound to
Term = ox.NamedNode | ox.BlankNode | ox.Literal

RDF_TYPE = ox.NamedNode(PREFIXES["rdf"] + "type")
RDFS_LABEL = ox.NamedNode(PREFIXES["rdfs"] + "label")
SKOS_PREF = ox.NamedNode(PREFIXES["skos"] + "prefLabel")
IS_DEFINED_BY = ox.NamedNode(PREFIXES["rdfs"] + "isDefinedBy")
VERSION_IRI = ox.NamedNode(PREFIXES["owl"] + "versionIRI")
LABELS = (RDFS_LABEL, SKOS_PREF)

#: at most this many incoming triples in a description (the graph is small; a guard all the same)
MAX_INCOMING = 5000


@dataclass
class Description:
    """The triples describing ``iri``, in a stable order, from one graph."""

    iri: str
    triples: list[ox.Triple]
    graph: str | None  # None: the default graph; else the named graph's IRI
    types: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.triples)

    def subjects(self) -> list[ox.NamedNode | ox.BlankNode]:
        seen: dict[str, ox.NamedNode | ox.BlankNode] = {}
        for t in self.triples:
            seen.setdefault(str(t.subject), t.subject)
        return list(seen.values())


def _gname(graph: str | None) -> ox.NamedNode | ox.DefaultGraph:
    return ox.DefaultGraph() if graph is None else ox.NamedNode(graph)


class Describer:
    """Point lookups on a read-only store (thread-safe: pyoxigraph stores are)."""

    #: whether the pages make their first lookups at start-up: not for the local store, which
    #: start-up checks already (backends.check_store) and which opens on first use
    lookups_at_start = False
    #: the catalogue record as published, whose literals a description gives back as written
    published: Path | None = None
    #: :func:`changed_literals` of ``published``, found at the first catalogue description
    #: (two threads may both find it: the same dict, one assignment)
    _as_published: dict[tuple[str, str, ox.Literal], ox.Literal] | None = None

    def __init__(
        self, store_dir: Path, named_graphs: Iterable[str] = (), *, published: Path | None = None
    ) -> None:
        self.store_dir = Path(store_dir)
        self.named_graphs = [g for g in named_graphs if g]
        self.published = published
        self._store: ox.Store | None = None
        self._closed = False
        self._lock = threading.Lock()

    @property
    def store(self) -> ox.Store:
        """The store, opened on the first lookup (a page), not at start-up: an open store
        costs the web process a few MB that a server only asked SPARQL queries (answered
        by the workers) never uses. None once closed."""
        store = self._store
        if store is None and not self._closed:
            with self._lock:
                if self._store is None and not self._closed:
                    self._store = ox.Store.read_only(str(self.store_dir))
                store = self._store
        return store  # type: ignore[return-value]

    def close(self) -> None:
        """Let go of the store (its open files); a closed describer answers nothing."""
        with self._lock:
            self._closed = True
            self._store = None

    @classmethod
    def of(cls, release: Release) -> Describer:
        """The describer of ``release``'s store: its catalogue graphs, and its record as
        published (for the literals the store rewrites)."""
        return cls(release.store_dir, release.catalog_graphs, published=release.catalog_file)

    # -- where a resource lives ---------------------------------------------
    def graph_of(self, iri: str) -> str | None | bool:
        """The graph in which ``iri`` is a subject (None = default), or False."""
        node = ox.NamedNode(iri)
        for graph in (None, *self.named_graphs):
            for _ in self.store.quads_for_pattern(node, None, None, _gname(graph)):
                return graph
        return False

    def exists(self, iri: str) -> bool:
        try:
            return self.graph_of(iri) is not False
        except ValueError:  # not a valid IRI
            return False

    def is_ontology_version(self, iri: str) -> bool:
        """Whether ``iri`` is the ontology's ``owl:versionIRI`` (``{ontology}/0.1.0``): a name
        of this version of the ontology, which the ontology's documents describe."""
        if not iri.startswith(ONTOLOGY_IRI + "/"):
            return False
        rows = self.select(f"SELECT ?v WHERE {{ <{ONTOLOGY_IRI}> <{VERSION_IRI.value}> ?v }}")
        return any(isinstance(r.get("v"), ox.NamedNode) and r["v"].value == iri for r in rows)

    # -- the pieces ---------------------------------------------------------
    def _out(self, node: ox.NamedNode | ox.BlankNode, graph: str | None) -> list[ox.Triple]:
        return [q.triple for q in self.store.quads_for_pattern(node, None, None, _gname(graph))]

    def _closure(self, start: list[ox.Triple], graph: str | None) -> list[ox.Triple]:
        """``start`` plus the triples of every blank node reachable from it."""
        out = list(start)
        seen: set[str] = set()
        todo = [t.object for t in start if isinstance(t.object, ox.BlankNode)]
        while todo:
            bnode = todo.pop(0)
            if str(bnode) in seen:
                continue
            seen.add(str(bnode))
            for t in self._out(bnode, graph):
                out.append(t)
                if isinstance(t.object, ox.BlankNode):
                    todo.append(t.object)
        return out

    # the two lookups a remote describer (sparql_api.remote) answers in one query each
    def _own(self, node: ox.NamedNode, graph: str | None) -> list[ox.Triple]:
        """The resource's triples with the closure of its blank nodes."""
        return self._closure(self._out(node, graph), graph)

    def _labels_of(self, nodes: list[ox.NamedNode], graph: str | None) -> list[ox.Triple]:
        out: list[ox.Triple] = []
        for node in nodes:
            out.extend(self._labels(node, graph))
        return out

    def _labels(self, node: ox.NamedNode, graph: str | None) -> list[ox.Triple]:
        out: list[ox.Triple] = []
        for predicate in LABELS:
            out.extend(
                q.triple for q in self.store.quads_for_pattern(node, predicate, None, _gname(graph))
            )
        return out

    def _incoming(self, node: ox.NamedNode, graph: str | None) -> list[ox.Triple]:
        out: list[ox.Triple] = []
        for q in self.store.quads_for_pattern(None, None, node, _gname(graph)):
            if q.predicate == RDF_TYPE or q.predicate == IS_DEFINED_BY:
                continue
            out.append(q.triple)
            if len(out) >= MAX_INCOMING:
                break
        return out

    # -- descriptions -------------------------------------------------------
    def describe(self, iri: str) -> Description | None:
        """The description of ``iri``, or None when the store does not know it."""
        try:
            node = ox.NamedNode(iri)
        except ValueError:
            return None
        graph = self.graph_of(iri)
        if graph is False:
            return None
        assert graph is None or isinstance(graph, str)
        own = self._own(node, graph)
        if iri == ONTOLOGY_IRI:
            own += self._ontology_terms(graph)
        incoming = self._incoming(node, graph) if iri != ONTOLOGY_IRI else []
        triples = _unique(own + incoming)
        linked: dict[str, ox.NamedNode] = {}
        for t in triples:
            for term in (t.subject, t.object):
                if isinstance(term, ox.NamedNode) and term.value != iri:
                    linked.setdefault(term.value, term)
        triples.extend(self._labels_of(list(linked.values()), graph))
        triples = _unique(triples)
        if graph is not None:
            triples = _unique(self._as_written(triples))
        types = [
            t.object.value
            for t in triples
            if t.subject == node and t.predicate == RDF_TYPE and isinstance(t.object, ox.NamedNode)
        ]
        return Description(iri=iri, triples=_ordered(triples, iri), graph=graph, types=types)

    def _as_written(self, triples: list[ox.Triple]) -> list[ox.Triple]:
        """``triples`` of a named graph with each literal the store keeps in another form
        given back as the record publishes it."""
        if self._as_published is None:
            self._as_published = changed_literals(self.published)
        if not self._as_published:
            return triples
        out = []
        for t in triples:
            if isinstance(t.subject, ox.NamedNode) and isinstance(t.object, ox.Literal):
                written = self._as_published.get((t.subject.value, t.predicate.value, t.object))
                if written is not None:
                    t = ox.Triple(t.subject, t.predicate, written)
            out.append(t)
        return out

    def _ontology_terms(self, graph: str | None) -> list[ox.Triple]:
        onto = ox.NamedNode(ONTOLOGY_IRI)
        out: list[ox.Triple] = []
        terms = sorted(
            {
                q.subject.value
                for q in self.store.quads_for_pattern(None, IS_DEFINED_BY, onto, _gname(graph))
                if isinstance(q.subject, ox.NamedNode)
            }
        )
        for term in terms:
            out.extend(self._closure(self._out(ox.NamedNode(term), graph), graph))
        return out

    # -- helpers for the pages ----------------------------------------------
    def select(
        self,
        query: str,
        graph: str | None = None,
        *,
        substitutions: Mapping[str, Term] | None = None,
    ) -> list[dict[str, ox.NamedNode | ox.Literal | ox.BlankNode]]:
        """A small SELECT over the default graph (or ``graph``) as a list of dicts.
        ``substitutions``: values bound to variables (by name) before evaluation, the way a
        resource's IRI reaches a query (never formatted into its text); pyoxigraph wants each
        bound variable in the projection (and in GROUP BY, if any)."""
        kwargs = {"use_default_graph_as_union": False}
        if graph is not None:
            kwargs = {"default_graph": ox.NamedNode(graph)}  # type: ignore[dict-item]
        if substitutions:
            kwargs["substitutions"] = {ox.Variable(k): v for k, v in substitutions.items()}  # type: ignore[assignment]
        result = self.store.query(query, prefixes=dict(PREFIXES), **kwargs)
        names = [v.value for v in result.variables]  # type: ignore[union-attr]
        rows = []
        for solution in result:  # type: ignore[union-attr]
            rows.append({n: solution[n] for n in names if solution[n] is not None})
        return rows


def changed_literals(path: Path | None) -> dict[tuple[str, str, ox.Literal], ox.Literal]:
    """The literals of the Turtle file ``path`` (held by an IRI) that an Oxigraph store
    keeps in another form, keyed by (subject, predicate, the store's form): found by
    loading the file into a store of its own, so the rule is Oxigraph's, not a copy of it.
    Empty without a file, or for one that cannot be read (the store's form is then given:
    the same value)."""
    if path is None:
        return {}
    try:
        quads = list(ox.parse(path=str(path), format=ox.RdfFormat.TURTLE))
    except (OSError, SyntaxError, ValueError) as exc:
        log.warning(
            "the catalogue record %s is unreadable (%s): its literals are described "
            "as the store keeps them",
            path,
            exc,
        )
        return {}
    scratch = ox.Store()
    scratch.extend(quads)
    kept = set(scratch)  # (`q in scratch` would compare in the store's form)
    out: dict[tuple[str, str, ox.Literal], ox.Literal] = {}
    for q in quads:
        if isinstance(q.subject, ox.NamedNode) and isinstance(q.object, ox.Literal):
            if q in kept:
                continue
            one = ox.Store()  # (one a rewritten literal: 14 in today's record)
            one.add(q)
            stored = next(iter(one)).object
            out[(q.subject.value, q.predicate.value, stored)] = q.object  # type: ignore[index]
    return out


def _unique(triples: list[ox.Triple]) -> list[ox.Triple]:
    seen: set[ox.Triple] = set()
    out = []
    for t in triples:
        if t not in seen:
            seen.add(t)
            out.append(t)
    return out


def _ordered(triples: list[ox.Triple], iri: str) -> list[ox.Triple]:
    """The resource first, then IRIs by value, then blank nodes; stable within a subject."""

    def key(t: ox.Triple) -> tuple:
        s = t.subject
        if isinstance(s, ox.NamedNode):
            rank = 0 if s.value == iri else (1 if not s.value.startswith(DIP) else 2)
            return (rank, s.value)
        return (3, str(s))

    return sorted(triples, key=key)


def is_ontology_term(iri: str) -> bool:
    return iri.startswith(DIP)
