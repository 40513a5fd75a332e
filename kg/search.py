"""Writing the search index of a release (``search.sqlite``) from the validated store.

The build calls :func:`build_index` with the store it has just validated. Rows go in
sorted, in one transaction, into a fresh file: same store, same bytes. Chinese is
segmented with jieba (:class:`Segmenter`, the build's side only), with the vocabulary's
own labels added to its dictionary (``cut_for_search``: 降雨量 gives 降雨, 雨量, 降雨量);
English words are Snowball-stemmed. A document's ``kind`` terms are the labels of its data
kind and of the kinds above it, so 温度 finds 气温 and 牛舍温度; a scenario's are those of
all its items, and its domain's labels are a field of their own (金融, finance: the three
scenarios of 金融领域; a domain's items are not: "industry" would list hundreds).

The file's format and its reader (:class:`~dipkg.core.search_index.SearchIndex`, used by
the web app and ``dipkg match``) live in :mod:`dipkg.core.search_index`.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pyoxigraph as ox

from dipkg.core.iris import PREFIXES
from dipkg.core.search_index import INDEX_FILE as INDEX_FILE  # what the build's manifest names
from dipkg.core.search_index import (
    INDEX_FORMAT,
    INDEXES,
    IS_CJK,
    LONGEST,
    RUN,
    SCHEMA,
    STOPWORDS,
    ancestors,
    label_key,
    normalize,
    stem,
)


@lru_cache(maxsize=1)
def _dictionary() -> tuple[MappingProxyType[str, int], int, int]:
    """jieba's default dictionary, read once per process from its own ``dict.txt``
    (:func:`read_dictionary`): ~0.3 s, most of it making the dict, where jieba's
    ``initialize()`` takes ~1 s (its cache file holds every word's prefixes too, ~500,000
    entries)."""
    import jieba  # lazy: ~130 ms of import; only the build's indexing needs it

    with jieba.Tokenizer().get_dict_file() as f:  # the file jieba itself would read
        return read_dictionary(f.read().decode("utf-8"))


def read_dictionary(text: str) -> tuple[MappingProxyType[str, int], int, int]:
    """A jieba dictionary's lines (``word freq [tag]``): each word's frequency (the last
    line of a word wins, as in jieba), their total, and the longest word's length.

    The fast path is for the file jieba ships, "word freq tag" on every line (0.15 s less
    than line by line): three tokens a line on average, every frequency a number and no tag
    one. Lines of other lengths that even out would shift the tokens, and a shift puts a
    tag or word where a frequency goes, or a frequency where a tag goes: read line by line
    then. (A file that evened out and held numbers as tags and words could still be
    misread; jieba's own file has neither.)"""
    tokens = text.split()
    try:
        if len(tokens) != 3 * (text.count("\n") + (not text.endswith("\n"))):
            raise ValueError
        words, freqs = tokens[0::3], list(map(int, tokens[1::3]))
        if any(tag.isdigit() for tag in tokens[2::3]):
            raise ValueError
    except ValueError:  # any other shape: line by line, as jieba's own reader does
        pairs = [line.strip().split(" ")[:2] for line in text.split("\n") if line.strip()]
        words, freqs = [w for w, _ in pairs], [int(n) for _, n in pairs]
    return MappingProxyType(dict(zip(words, freqs, strict=True))), sum(freqs), max(map(len, words))


class Segmenter:
    """jieba with the vocabulary's labels in its dictionary (the build's side only).

    jieba looks up only pieces of the text it cuts (its graph of the words a sentence
    holds, their frequencies, the 2- and 3-grams of ``cut_for_search``), so the tokenizer
    holds only the dictionary's words found in the texts cut so far, each with its
    prefixes (which let jieba's walk along a sentence reach it): each text's runs are
    added before they are cut. It cuts as jieba with its whole dictionary does (tests/
    test_search.py holds the two to each other), without building that dictionary.
    """

    def __init__(self, words: Iterable[str]) -> None:
        import jieba

        self._words, total, self._longest = _dictionary()
        self._covered: set[str] = set()
        self._own: set[str] = set()
        self.tokenizer = jieba.Tokenizer()
        # what initialize() sets, the dictionary's words added as the texts need them
        self.tokenizer.FREQ, self.tokenizer.total = {}, total
        self.tokenizer.initialized = True
        for word in sorted(set(words)):
            if IS_CJK.search(word) and len(word) <= LONGEST:
                self.tokenizer.add_word(word, freq=100000)
                self._own.add(word)

    def _cover(self, run: str) -> None:
        """Add the dictionary's words found in ``run``, with their prefixes, to the tokenizer."""
        if run in self._covered:
            return
        self._covered.add(run)
        freq, words, own = self.tokenizer.FREQ, self._words, self._own
        n = len(run)
        for k in range(n):
            for end in range(k + 1, min(n, k + self._longest) + 1):
                word = run[k:end]
                if word in words and word not in own:  # a vocabulary label keeps its own
                    freq[word] = words[word]
                    for i in range(1, len(word)):
                        freq.setdefault(word[:i], 0)

    def terms(self, text: str) -> list[str]:
        out: list[str] = []
        for run in RUN.findall(normalize(text)):
            if IS_CJK.match(run):
                self._cover(run)
                out.extend(t for t in self.tokenizer.cut_for_search(run) if t.strip())
            elif run.lower() not in STOPWORDS:
                out.append(stem(run))
        return out


_Q = "\n".join(f"PREFIX {p}: <{ns}>" for p, ns in PREFIXES.items())


def _select(store: Any, query: str) -> list[dict[str, str]]:
    result = store.query(_Q + "\n" + query)
    names = [v.value for v in result.variables]
    rows = []
    for solution in result:
        row = {}
        for name in names:
            term = solution[name]
            if term is not None:
                row[name] = term.value if not isinstance(term, ox.BlankNode) else ""
        rows.append(row)
    return rows


def build_index(store: Any, base_iri: str, path: Path) -> None:
    """Write the search index of the graph in ``store`` (a pyoxigraph Store) to ``path``."""
    scheme = base_iri + "scheme/data-kinds"
    concepts: dict[str, dict[str, Any]] = {}
    for r in _select(
        store,
        f"""SELECT ?c ?zh ?en WHERE {{ ?c skos:inScheme <{scheme}> ;
        skos:prefLabel ?zh , ?en FILTER(lang(?zh) = "zh" && lang(?en) = "en") }}""",
    ):
        concepts[r["c"]] = {"zh": r["zh"], "en": r["en"], "alt": [], "broader": [], "pi": False}
    for r in _select(
        store,
        f"""SELECT ?c ?p ?o WHERE {{ ?c skos:inScheme <{scheme}> ; ?p ?o
        FILTER(?p IN (skos:altLabel, skos:broader, dip:personalInformation)) }}""",
    ):
        c = concepts.get(r["c"])
        if c is None:
            continue
        p, o = r["p"], r["o"]
        if p.endswith("altLabel"):
            c["alt"].append(o)
        elif p.endswith("broader"):
            c["broader"].append(o)
        else:
            c["pi"] = o == "true"
    for c in concepts.values():
        c["alt"].sort()
        c["broader"].sort()
    domains = {
        r["d"]: {"zh": r.get("zh", ""), "en": r.get("en", "")}
        for r in _select(
            store,
            """
        SELECT ?d ?zh ?en WHERE { ?d a dip:Domain .
        OPTIONAL { ?d rdfs:label ?zh FILTER(lang(?zh)="zh") }
        OPTIONAL { ?d rdfs:label ?en FILTER(lang(?en)="en") } }""",
        )
    }
    scenarios = _select(
        store,
        """SELECT ?s ?n ?d ?zh ?en ?app ?ex WHERE { ?s a dip:Scenario ;
        dip:number ?n ; dip:domain ?d . OPTIONAL { ?s rdfs:label ?zh FILTER(lang(?zh)="zh") }
        OPTIONAL { ?s rdfs:label ?en FILTER(lang(?en)="en") }
        OPTIONAL { ?s dip:application ?app FILTER(lang(?app)="zh") }
        OPTIONAL { ?s dip:exampleContext ?ex FILTER(lang(?ex)="zh") } }""",
    )
    items = sorted(
        _select(
            store,
            """SELECT ?i ?t ?s ?zh ?en ?k ?q WHERE { ?i dip:scenario ?s ; a ?t
        FILTER(?t IN (dip:DataCategory, dip:DataField))
        OPTIONAL { ?i rdfs:label ?zh FILTER(lang(?zh)="zh") }
        OPTIONAL { ?i rdfs:label ?en FILTER(lang(?en)="en") }
        OPTIONAL { ?i dip:dataKind ?k } OPTIONAL { ?i dip:qualifier ?q FILTER(lang(?q)="zh") } }""",
        ),
        key=lambda r: r["i"],
    )

    seg = Segmenter(w for c in concepts.values() for w in (c["zh"], *c["alt"]))
    terms_of = lru_cache(maxsize=200_000)(lambda text: tuple(sorted(set(seg.terms(text)))))
    ancestors_of = ancestors(concepts)

    @lru_cache(maxsize=100_000)
    def kind_terms(kinds: tuple[str, ...]) -> tuple[str, ...]:
        out: set[str] = set()
        for k in kinds:
            for a in (k, *ancestors_of.get(k, ())):
                if (
                    a in concepts and concepts[a]["broader"]
                ):  # a top concept names a whole area: not a match
                    c = concepts[a]
                    out.update(terms_of(" ".join((c["zh"], c["en"], *c["alt"]))))
        return tuple(sorted(out))

    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    db = sqlite3.connect(str(tmp))
    try:
        db.executescript(SCHEMA)
        concept_terms = {
            iri: sorted(set(terms_of(f"{c['zh']} {c['en']}")) | set(terms_of(" ".join(c["alt"]))))
            for iri, c in concepts.items()
        }
        meta = {
            "format": INDEX_FORMAT,
            "base": base_iri,
            "domains": domains,
            "concepts": concepts,
            "concept_terms": concept_terms,
        }
        db.executemany(
            "INSERT INTO meta VALUES (?, ?)",
            [
                (k, json.dumps(v, ensure_ascii=False, sort_keys=True))
                for k, v in sorted(meta.items())
            ],
        )
        # documents: scenarios (by number), then items (by IRI), then concepts (by IRI)
        scenario_rows = {}
        for r in sorted(scenarios, key=lambda r: (int(r["n"]), r["s"])):
            scenario_rows.setdefault(r["s"], r)
        ids = {s: number for number, s in enumerate(scenario_rows, start=1)}
        kinds_of: dict[str, set[str]] = {s: set() for s in ids}
        pi_of: dict[str, bool] = dict.fromkeys(ids, False)
        used_in: dict[str, set[str]] = {}
        next_id = len(ids) + 1
        seen: set[str] = set()
        rows, postings = [], []
        for r in items:
            if r["i"] in seen or r["s"] not in ids:
                continue
            seen.add(r["i"])
            k = r.get("k")
            pi = bool(k and concepts.get(k, {}).get("pi"))
            domain = scenario_rows[r["s"]]["d"]
            if k:
                kinds_of[r["s"]].add(k)
                for a in (k, *ancestors_of.get(k, ())):
                    used_in.setdefault(a, set()).add(domain)
            pi_of[r["s"]] = pi_of[r["s"]] or pi
            kind = "category" if r["t"].endswith("DataCategory") else "field"
            rows.append(
                (
                    next_id,
                    r["i"],
                    kind,
                    r.get("zh", ""),
                    r.get("en", ""),
                    "[]",
                    ids[r["s"]],
                    None,
                    k,
                    int(pi),
                    json.dumps([domain]),
                    "[]",
                )
            )
            postings.extend(
                _postings(
                    next_id,
                    terms_of(f"{r.get('zh', '')} {r.get('en', '')}"),
                    (),
                    terms_of(r.get("q") or ""),
                    kind_terms((k,) if k else ()),
                )
            )
            next_id += 1
            if len(rows) >= 20000:
                _flush(db, rows, postings)
        for s, number in ids.items():
            r = scenario_rows[s]
            kinds = tuple(sorted(kinds_of[s]))
            text = " ".join(x for x in (r.get("app"), r.get("ex")) if x)
            rows.append(
                (
                    number,
                    s,
                    "scenario",
                    r.get("zh", ""),
                    r.get("en", ""),
                    "[]",
                    None,
                    int(r["n"]),
                    None,
                    int(pi_of[s]),
                    json.dumps([r["d"]]),
                    json.dumps(kinds),
                )
            )
            in_domain = domains.get(r["d"], {})
            postings.extend(
                _postings(
                    number,
                    terms_of(f"{r.get('zh', '')} {r.get('en', '')}"),
                    (),
                    terms_of(text),
                    kind_terms(kinds),
                    terms_of(f"{in_domain.get('zh', '')} {in_domain.get('en', '')}"),
                )
            )
        for iri in sorted(concepts):
            c = concepts[iri]
            rows.append(
                (
                    next_id,
                    iri,
                    "concept",
                    c["zh"],
                    c["en"],
                    json.dumps(c["alt"], ensure_ascii=False),
                    None,
                    None,
                    iri,
                    int(c["pi"]),
                    json.dumps(sorted(used_in.get(iri, ()))),
                    "[]",
                )
            )
            postings.extend(
                _postings(
                    next_id,
                    terms_of(f"{c['zh']} {c['en']}"),
                    terms_of(" ".join(c["alt"])),
                    (),
                    kind_terms((iri,)),
                )
            )
            next_id += 1
        _flush(db, rows, postings)
        db.execute(
            """INSERT INTO vocab SELECT term, COUNT(DISTINCT doc) FROM postings
            GROUP BY term ORDER BY term"""
        )
        db.execute("""INSERT INTO doc_domain SELECT docs.id, value
                      FROM docs, json_each(docs.domains)
                      ORDER BY docs.id, value""")
        # the labels a person types: concept labels and altLabels, item labels -> their kind
        labels: dict[tuple[str, str], str] = {}
        order = {"label": 0, "altLabel": 1, "item": 2}
        for iri in sorted(concepts):
            c = concepts[iri]
            for text, how in (
                (c["zh"], "label"),
                (c["en"], "label"),
                *((a, "altLabel") for a in c["alt"]),
            ):
                key = label_key(text)
                if key and (key, iri) not in labels:
                    labels[(key, iri)] = how
        for r in items:
            if r.get("k"):
                for text in (r.get("zh", ""), r.get("en", "")):
                    key = label_key(text)
                    if key and (key, r["k"]) not in labels:
                        labels[(key, r["k"])] = "item"
        db.executemany(
            "INSERT INTO labels VALUES (?, ?, ?, ?)",
            sorted((key, order[how], iri, how) for (key, iri), how in labels.items()),
        )
        suggestions = set()
        for kind, zh, en, alt in db.execute(
            "SELECT kind, zh, en, alt FROM docs WHERE kind IN ('scenario', 'concept')"
        ).fetchall():
            for text in (zh, en, *json.loads(alt)):
                if text:
                    suggestions.add((text.lower(), text, kind))
        db.executemany("INSERT INTO suggest VALUES (?, ?, ?)", sorted(suggestions))
        db.executescript(INDEXES)
        db.commit()
    finally:
        db.close()
    os.replace(tmp, path)


def _postings(doc: int, *fields: Iterable[str]) -> list[tuple[str, int, int]]:
    return [(term, doc, number) for number, terms in enumerate(fields) for term in terms]


def _flush(db: sqlite3.Connection, rows: list, postings: list) -> None:
    db.executemany("INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    db.executemany("INSERT INTO postings VALUES (?, ?, ?)", postings)
    rows.clear()
    postings.clear()
