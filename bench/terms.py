"""The build's writers against pyoxigraph's, on the build's term model (pyoxigraph's).

Issue 12 asks for pyoxigraph's term model through the build where it does not cost
speed, the hand-written writers staying only where they are measurably faster.
The build's terms are pyoxigraph's (dipkg/core/terms.py). This measures, on the synthetic
graph at a given scale (bench/synth.py), one full pass of the build's graph
(``Graph.blocks()``) and each way of writing it:

- ``emit``: the pass itself, making the build's terms;
- ``nt_own`` / ``nt_ox``: N-Triples by kg.serialize.write_ntriples (each term's
  own N-Triples form, ``str(term)``), and by ``pyoxigraph.serialize`` of one
  ``Triple`` per triple (making the triples included);
- ``ttl_own`` / ``ttl_ox``: Turtle likewise (pyoxigraph with the same prefixes);
- ``jsonld_own`` / ``jsonld_ox``: JSON-LD by dipkg.core.jsonld.write_jsonld (compacted
  with ontology/context.jsonld) and by pyoxigraph (expanded: no compaction).

Each output is also checked to be the same graph (N-Triples compared as sets of
lines, Turtle and JSON-LD parsed back by pyoxigraph and counted), so a fast wrong
writer cannot win. Each writer's time includes the pass that feeds it (``emit``).
Times are CPU seconds of this process (``time.process_time``: the machine is
shared, and wall time swung by half between identical runs), the best of
``--repeat`` rounds, each round running every column once. The script also runs
on the build before the change (kg.terms' frozen dataclasses, later dipkg.core.terms'):
it then converts to pyoxigraph terms for the ``_ox`` columns and says which model it measured.

    python -m bench.terms --scale 1 10 100

Measured on 2 shared cores under load (best of 5 at 1x and 10x, of 3 at 100x),
before (kg.terms' dataclasses) -> after (pyoxigraph's terms):

    scale  triples  emit           nt_own         ttl_own        jsonld_own
    1      10798    0.017 -> 0.010 0.029 -> 0.020 0.048 -> 0.034 0.056 -> 0.053
    10     55366    0.069 -> 0.059 0.132 -> 0.123 0.238 -> 0.192 0.270 -> 0.296
    100    501046   0.608 -> 0.540 1.376 -> 1.192 2.419 -> 1.866 2.778 -> 2.843

and pyoxigraph's own writers on the new model:

    scale  nt_ox  ttl_ox  jsonld_ox
    1      0.025  0.026   0.029
    10     0.134  0.138   0.159
    100    1.323  1.253   1.506

A pass over the graph is 10-40% cheaper with pyoxigraph's terms (making a
NamedNode or Literal costs less than a frozen dataclass), N-Triples 7-30%;
JSON-LD is even within noise (an earlier run gave 3.139 -> 2.865 at 100x): its
compactor reads .value/.language/.datatype, getters that make a new object per
call, which eats the saving. Turtle also gained from writing each predicate's
name once per dump (kg/serialize.py). The whole build costs the same CPU before
and after (dipkg build, best of 3 at 10x and of 2 at 100x: 11.0 -> 11.1 s at
10x, 83.6 -> 83.4 s at 100x; wall 44 -> 36 s and 248 -> 163 s, mostly load):
the dumps are a small part of it next to the store, SHACL and the search index.

Which writer serves which dump, and why:

- N-Triples: each term's own N-Triples form (``str(term)``, pyoxigraph's), no
  hand-written escaping. ``pyoxigraph.serialize`` gives the same bytes but is
  slower (1.323 against 1.192 s at 100x) as it needs one ``Triple`` per triple.
- Turtle and JSON-LD: the hand-written writers stay although pyoxigraph's are
  faster (Turtle 1.253 against 1.866 s, JSON-LD 1.506 against 2.843 s at
  100x): pyoxigraph's Turtle has another layout (grouping, prefixes, literal
  forms) and its JSON-LD is expanded, not compacted with ontology/context.jsonld,
  so either would change the dumps' bytes, checksums and build id.
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from bench.synth import generate
from dipkg.core.errors import DipkgError
from dipkg.core.iris import PREFIXES
from kg.build import Graph
from kg.serialize import write_ntriples, write_turtle

try:
    from dipkg.core.settings import load_settings
except ImportError:  # the build before settings were loaded through one function
    from dipkg.core.settings import Settings as load_settings  # type: ignore[assignment]
try:
    from dipkg.core.jsonld import write_jsonld
except ImportError:  # the build before the JSON-LD writer moved to dipkg.core
    from kg.serialize import write_jsonld  # type: ignore[attr-defined,no-redef]

_OX_TERMS = (ox.NamedNode, ox.BlankNode, ox.Literal)


def _ox_term(term: Any) -> Any:
    """The term as pyoxigraph's: itself on the new model, converted on the old one."""
    if isinstance(term, _OX_TERMS):
        return term
    if hasattr(term, "id"):  # the old kg.terms.BNode
        return ox.BlankNode(term.id)
    if hasattr(term, "language"):  # the old kg.terms.Literal
        if term.language:
            return ox.Literal(term.value, language=term.language)
        return ox.Literal(term.value, datatype=ox.NamedNode(term.datatype))
    return ox.NamedNode(term.value)


def ox_triples(blocks: Iterable[tuple[Any, list[tuple[Any, Any]]]]) -> Iterator[ox.Triple]:
    for subject, pairs in blocks:
        s = _ox_term(subject)
        for predicate, obj in pairs:
            yield ox.Triple(s, _ox_term(predicate), _ox_term(obj))


def _own(writer: Callable[..., object], graph: Graph, *args: Any) -> Callable[[], str]:
    def run() -> str:
        out = io.StringIO()
        writer(graph.blocks(), out, *args)
        return out.getvalue()

    return run


def _ox(graph: Graph, fmt: ox.RdfFormat, **options: Any) -> Callable[[], bytes]:
    return lambda: ox.serialize(ox_triples(graph.blocks()), format=fmt, **options)


def _count(data: bytes, fmt: ox.RdfFormat) -> int:
    return len(set(ox.parse(data, format=fmt)))


def measure(scale: int, repeat: int, settings: Any) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        inputs = generate(Path(tmp) / "inputs", scale)
        graph = Graph(settings.model_copy(update={"inputs_dir": inputs}), lambda message: None)
        blocks = list(graph.blocks())  # warm: the first pass also checks translations
        subject = blocks[0][0]
        row: dict[str, Any] = {
            "scale": scale,
            "model": "pyoxigraph" if isinstance(subject, _OX_TERMS) else "kg.terms",
            "triples": sum(len(pairs) for _, pairs in blocks),
        }
        runs: dict[str, Callable[[], object]] = {
            "emit": lambda: sum(1 for _ in graph.blocks()),
            "nt_own": _own(write_ntriples, graph),
            "nt_ox": _ox(graph, ox.RdfFormat.N_TRIPLES),
            "ttl_own": _own(write_turtle, graph),
            "ttl_ox": _ox(graph, ox.RdfFormat.TURTLE, prefixes=PREFIXES),
            "jsonld_own": _own(write_jsonld, graph, graph.context),
            "jsonld_ox": _ox(graph, ox.RdfFormat.JSON_LD),
        }
        out: dict[str, Any] = {}
        for _ in range(repeat):  # round robin: the machine's load falls on every column alike
            for name, run in runs.items():
                started = time.process_time()
                result = run()
                elapsed = time.process_time() - started
                row[name] = min(row.get(name, elapsed), elapsed)
                out[name] = result.encode("utf-8") if isinstance(result, str) else result
        row["nt_same_bytes"] = out["nt_own"] == out["nt_ox"]
        lines = [set(out[k].decode("utf-8").splitlines()) for k in ("nt_own", "nt_ox")]
        assert lines[0] == lines[1], "the two N-Triples writers disagree on the graph"
        for name, fmt in (
            ("ttl_own", ox.RdfFormat.TURTLE),
            ("ttl_ox", ox.RdfFormat.TURTLE),
            ("jsonld_own", ox.RdfFormat.JSON_LD),
            ("jsonld_ox", ox.RdfFormat.JSON_LD),
        ):
            assert _count(out[name], fmt) == len(lines[0]), f"{name} is not the same graph"
        json.loads(out["jsonld_own"])
        return row


KEYS = [
    "scale",
    "triples",
    "emit",
    "nt_own",
    "nt_ox",
    "ttl_own",
    "ttl_ox",
    "jsonld_own",
    "jsonld_ox",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    try:
        settings = load_settings()
    except (DipkgError, ValueError) as err:  # a DIPKG_ setting that cannot work: its one
        # line (older builds raise pydantic's ValueErrors: their report, no traceback)
        raise SystemExit(str(err)) from None
    print(" | ".join(KEYS) + " | nt bytes equal | model")
    for scale in args.scale:
        row = measure(scale, args.repeat, settings)
        cells = [f"{row[k]:.0f}" if k in ("scale", "triples") else f"{row[k]:.3f}" for k in KEYS]
        print(" | ".join(cells) + f" | {'yes' if row['nt_same_bytes'] else 'no'} | {row['model']}")


if __name__ == "__main__":
    main()
