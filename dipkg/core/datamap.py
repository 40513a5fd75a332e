"""The map of shared data: which scenarios use which data kinds, as a plain table.

A scenario *uses* a data kind when one of its data fields points to that kind,
or to a narrower one (``dip:dataKind/skos:broader*``). The map keeps the kinds
used by at least :data:`MIN_SCENARIOS` scenarios (the data scenarios share),
groups them under their top-level kind, and groups the scenarios by domain.
Each cell is the fields of one scenario of one kind.

:func:`compute` asks any store (a ``pyoxigraph.Store`` or anything with a
``select(query)`` returning rows of pyoxigraph terms) four bounded SELECTs;
the build writes the answer into the release as ``map.json`` (:func:`to_json`:
deterministic bytes), the web app serves it and draws it (sparql_api/datamap.py),
or computes it for a release built before map.json existed. Both import this module
(the release's contract, in dipkg.core); neither imports the other.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

from dipkg.core.iris import DIP, PREFIXES, document_order

MAP_FILE = "map.json"
MAP_FORMAT = 1
MIN_SCENARIOS = 2
#: a ceiling on every query's rows (the graph has a few thousand items): never unbounded
ROW_LIMIT = 100_000

_PREFIXES = "".join(f"PREFIX {p}: <{PREFIXES[p]}>\n" for p in ("rdf", "rdfs", "skos"))
_PREFIXES += f"PREFIX dip: <{DIP}>\n"

SCENARIOS = (
    _PREFIXES
    + """SELECT ?s ?n ?zh ?en ?d ?dzh ?den WHERE {
  ?s a dip:Scenario ; dip:number ?n ; dip:domain ?d .
  OPTIONAL { ?s rdfs:label ?zh FILTER(lang(?zh) = "zh") }
  OPTIONAL { ?s rdfs:label ?en FILTER(lang(?en) = "en") }
  OPTIONAL { ?d rdfs:label ?dzh FILTER(lang(?dzh) = "zh") }
  OPTIONAL { ?d rdfs:label ?den FILTER(lang(?den) = "en") }
} LIMIT """
    + str(ROW_LIMIT)
)

KINDS = (
    _PREFIXES
    + """SELECT ?k ?zh ?en ?b WHERE {
  ?k a dip:DataKind .
  OPTIONAL { ?k skos:prefLabel ?zh FILTER(lang(?zh) = "zh") }
  OPTIONAL { ?k skos:prefLabel ?en FILTER(lang(?en) = "en") }
  OPTIONAL { ?k skos:broader ?b }
} LIMIT """
    + str(ROW_LIMIT)
)

USES = (
    _PREFIXES
    + """SELECT DISTINCT ?s ?k ?f WHERE {
  ?f a dip:DataField ; dip:scenario ?s ; dip:dataKind/skos:broader* ?k .
} LIMIT """
    + str(ROW_LIMIT)
)

FIELDS = (
    _PREFIXES
    + """SELECT ?f ?zh ?en WHERE {
  ?f a dip:DataField .
  OPTIONAL { ?f rdfs:label ?zh FILTER(lang(?zh) = "zh") }
  OPTIONAL { ?f rdfs:label ?en FILTER(lang(?en) = "en") }
} LIMIT """
    + str(ROW_LIMIT)
)

Select = Callable[[str], list[dict[str, Any]]]


def store_select(store: Any) -> Select:
    """``select`` over a ``pyoxigraph.Store`` (the build's): rows of terms by variable name."""

    def select(query: str) -> list[dict[str, Any]]:
        result = store.query(query)
        names = [v.value for v in result.variables]
        return [{n: s[n] for n in names if s[n] is not None} for s in result]

    return select


def _labels(row: dict[str, Any], zh: str = "zh", en: str = "en") -> dict[str, str]:
    return {
        lang: row[var].value for lang, var in (("zh", zh), ("en", en)) if row.get(var) is not None
    }


def compute(source: Any) -> dict[str, Any]:
    """The map as a JSON-able dict (see the README's "The map of shared data")."""
    select: Select = source.select if hasattr(source, "select") else store_select(source)
    scenarios: dict[str, dict[str, Any]] = {}
    domains: dict[str, dict[str, Any]] = {}
    for r in select(SCENARIOS):
        s, d = r["s"].value, r["d"].value
        scenarios[s] = {"iri": s, "number": int(r["n"].value), "label": _labels(r), "domain": d}
        domains.setdefault(d, {"iri": d, "label": _labels(r, "dzh", "den"), "scenarios": []})
    kinds: dict[str, dict[str, Any]] = {}
    broader: dict[str, set[str]] = {}
    for r in select(KINDS):
        k = r["k"].value
        kinds.setdefault(k, {"iri": k, "label": _labels(r)})
        broader.setdefault(k, set())
        if r.get("b") is not None:
            broader[k].add(r["b"].value)

    def top(k: str) -> str:
        """The top-level kind above ``k`` (first broader by IRI at each step; cycles stop)."""
        seen = {k}
        while broader.get(k):
            up = min(broader[k])
            if up in seen:
                break
            seen.add(up)
            k = up
        return k

    cells: dict[tuple[str, str], set[str]] = {}
    for r in select(USES):
        s, k = r["s"].value, r["k"].value
        if s in scenarios and k in kinds:
            cells.setdefault((s, k), set()).add(r["f"].value)
    users: dict[str, set[str]] = {}
    for s, k in cells:
        users.setdefault(k, set()).add(s)
    shared = {k for k, ss in users.items() if len(ss) >= MIN_SCENARIOS}

    def label_key(item: dict[str, Any]) -> tuple[str, str]:
        return (item["label"].get("zh", ""), item["iri"])

    groups: dict[str, dict[str, Any]] = {}
    for k in shared:
        g = top(k)
        groups.setdefault(g, {**kinds[g], "kinds": []})["kinds"].append(
            {**kinds[k], "scenarios": len(users[k]), "top": k == g}
        )
    for group in groups.values():
        # the top-level kind heads its group: a column only when nothing narrower is shared
        if len(group["kinds"]) > 1:
            group["kinds"] = [x for x in group["kinds"] if not x["top"]]
        group["kinds"].sort(key=lambda x: (-x["scenarios"], *label_key(x)))  # most shared first
        for x in group["kinds"]:
            del x["top"]
    columns = {x["iri"] for g in groups.values() for x in g["kinds"]}
    used_fields = {f for (s, k), fs in cells.items() if k in columns for f in fs}
    field_labels = {r["f"].value: _labels(r) for r in select(FIELDS) if r["f"].value in used_fields}
    ordered_groups = sorted(groups.values(), key=lambda g: (-len(g["kinds"]), *label_key(g)))

    for s in sorted(scenarios.values(), key=lambda s: (s["number"], document_order(s["iri"]))):
        domains[s["domain"]]["scenarios"].append({k: v for k, v in s.items() if k != "domain"})
    ordered_domains = sorted(
        (d for d in domains.values() if d["scenarios"]),
        key=lambda d: (d["scenarios"][0]["number"], document_order(d["iri"])),
    )
    return {
        "format": MAP_FORMAT,
        "min_scenarios": MIN_SCENARIOS,
        "domains": ordered_domains,
        "groups": ordered_groups,
        "cells": [
            {
                "scenario": s,
                "kind": k,
                "fields": [
                    {"iri": f, "label": field_labels.get(f, {})}
                    for f in sorted(fs, key=document_order)
                ],
            }
            for (s, k), fs in sorted(
                cells.items(), key=lambda c: (document_order(c[0][0]), c[0][1])
            )
            if k in columns
        ],
    }


def to_json(data: dict[str, Any]) -> str:
    """Deterministic text: same map, same bytes."""
    return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


CSV_COLUMNS = [
    "domain_zh",
    "domain_en",
    "scenario_number",
    "scenario_zh",
    "scenario_en",
    "scenario",
    "group_zh",
    "group_en",
    "kind_zh",
    "kind_en",
    "kind",
    "fields",
    "field_iris",
]


def to_csv(data: dict[str, Any]) -> str:
    """One row per non-empty cell (scenario × kind), in the map's order; both languages."""
    where = {s["iri"]: (d, s) for d in data["domains"] for s in d["scenarios"]}
    kind_of = {k["iri"]: (g, k) for g in data["groups"] for k in g["kinds"]}
    column = {iri: i for i, iri in enumerate(kind_of)}
    row_of = {iri: i for i, iri in enumerate(where)}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for cell in sorted(data["cells"], key=lambda c: (row_of[c["scenario"]], column[c["kind"]])):
        d, s = where[cell["scenario"]]
        g, k = kind_of[cell["kind"]]
        writer.writerow(
            [
                d["label"].get("zh", ""),
                d["label"].get("en", ""),
                s["number"],
                s["label"].get("zh", ""),
                s["label"].get("en", ""),
                s["iri"],
                g["label"].get("zh", ""),
                g["label"].get("en", ""),
                k["label"].get("zh", ""),
                k["label"].get("en", ""),
                k["iri"],
                len(cell["fields"]),
                " ".join(f["iri"] for f in cell["fields"]),
            ]
        )
    return out.getvalue()
