"""One term model for the build? The build's own terms and writers against pyoxigraph's.

Issue 12 asks for pyoxigraph's term model through the build where it does not cost
speed, the hand-written writers staying only where they are measurably faster.
This measures, on the synthetic graph at a given scale (bench/synth.py), one full
pass of the build's graph (``Graph.blocks()``) and each way of writing it:

- ``emit``: the pass itself, building the build's own terms (kg.terms);
- ``to_ox``: the same pass, also making one pyoxigraph ``Triple`` per triple
  (the price of carrying pyoxigraph terms instead);
- ``nt_own`` / ``nt_ox``: N-Triples by kg.serialize.write_ntriples, and by
  ``pyoxigraph.serialize`` of the pyoxigraph triples (conversion included);
- ``ttl_own`` / ``ttl_ox``: Turtle likewise (pyoxigraph with the same prefixes).

Each writer's output is also checked to be the same graph (N-Triples compared
as sets of lines, Turtle parsed back by pyoxigraph), so a fast wrong writer
cannot win. Times are the best of ``--repeat`` runs, in seconds.

    python -m bench.terms --scale 100
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pyoxigraph as ox

from bench.synth import generate
from dipkg.core.iris import PREFIXES
from dipkg.core.settings import Settings
from kg.build import Graph
from kg.serialize import write_ntriples, write_turtle
from kg.terms import IRI, Block, BNode, Term


def _ox_term(term: Term) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if isinstance(term, IRI):
        return ox.NamedNode(term.value)
    if isinstance(term, BNode):
        return ox.BlankNode(term.id)
    if term.language:
        return ox.Literal(term.value, language=term.language)
    return ox.Literal(term.value, datatype=ox.NamedNode(term.datatype))


def ox_triples(blocks: Iterable[Block]) -> Iterator[ox.Triple]:
    for subject, pairs in blocks:
        s = _ox_term(subject)
        for predicate, obj in pairs:
            yield ox.Triple(s, ox.NamedNode(predicate.value), _ox_term(obj))  # type: ignore[arg-type]


def _best(run: Callable[[], object], repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - started)
    return best, result


def measure(scale: int, repeat: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        inputs = generate(Path(tmp) / "inputs", scale)
        graph = Graph(Settings(inputs_dir=inputs), lambda message: None)
        blocks = list(graph.blocks())  # warm: the first pass also checks translations
        row: dict[str, float] = {"scale": scale}
        row["triples"] = sum(len(pairs) for _, pairs in blocks)
        row["emit"], _ = _best(lambda: sum(1 for _ in graph.blocks()), repeat)
        row["to_ox"], _ = _best(lambda: sum(1 for _ in ox_triples(graph.blocks())), repeat)

        def nt_own() -> str:
            out = io.StringIO()
            write_ntriples(graph.blocks(), out)
            return out.getvalue()

        def nt_ox() -> bytes:
            return ox.serialize(ox_triples(graph.blocks()), format=ox.RdfFormat.N_TRIPLES)

        def ttl_own() -> str:
            out = io.StringIO()
            write_turtle(graph.blocks(), out)
            return out.getvalue()

        def ttl_ox() -> bytes:
            return ox.serialize(
                ox_triples(graph.blocks()), format=ox.RdfFormat.TURTLE, prefixes=PREFIXES
            )

        row["nt_own"], own = _best(nt_own, repeat)
        row["nt_ox"], theirs = _best(nt_ox, repeat)
        assert isinstance(own, str) and isinstance(theirs, bytes)
        row["nt_same_bytes"] = float(own.encode("utf-8") == theirs)
        same = set(own.splitlines()) == set(theirs.decode("utf-8").splitlines())
        assert same, "the two N-Triples writers disagree on the graph"
        row["ttl_own"], own = _best(ttl_own, repeat)
        row["ttl_ox"], theirs = _best(ttl_ox, repeat)
        assert isinstance(own, str) and isinstance(theirs, bytes)
        parsed = [
            set(ox.parse(text, format=ox.RdfFormat.TURTLE))
            for text in (own.encode("utf-8"), theirs)
        ]
        assert len(parsed[0]) == len(parsed[1]) == row["triples"]
        return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    keys = ["scale", "triples", "emit", "to_ox", "nt_own", "nt_ox", "ttl_own", "ttl_ox"]
    print(" | ".join(keys) + " | nt bytes equal")
    for scale in args.scale:
        row = measure(scale, args.repeat)
        cells = [f"{row[k]:.0f}" if k in ("scale", "triples") else f"{row[k]:.3f}" for k in keys]
        print(" | ".join(cells) + f" | {'yes' if row['nt_same_bytes'] else 'no'}")


if __name__ == "__main__":
    main()
