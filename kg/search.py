"""Finding things without SPARQL: the search index of a release, search and data matching.

The build writes ``search.json`` into the release (:func:`build_index`, from the store it
has just validated): one document per scenario, data category, data field and data-kind
concept, with its text already cut into terms, and the data-kind vocabulary (labels,
altLabels, broader links, personal information). Same store, same bytes.

Terms: Chinese is segmented with jieba at build time, with the vocabulary's own labels
added to its dictionary (``cut_for_search``: 降雨量 gives 降雨, 雨量, 降雨量); English
words are lower-cased and Snowball-stemmed (temperatures -> temperatur). A document's
``kind`` terms are the labels of its data kind and of the kinds above it, so 温度 finds
气温 and 牛舍温度; a scenario's are those of all its items.

At query time (:class:`SearchIndex`, loaded once per process; the web app and ``dipkg
match`` read only this file, never the build's inputs) a short query is segmented by
longest match over the index's own terms — the words jieba produced at build — so the
query side needs no 3-second dictionary load and segments exactly as the index does.

* :meth:`SearchIndex.search` — ranked results with facets and highlighted matches.
* :meth:`SearchIndex.suggest` — labels for autocompletion.
* :meth:`SearchIndex.match` — "which scenarios fit my data?": fields a person holds,
  resolved to data kinds (labels, altLabels, item labels, broader/narrower), scenarios
  ranked by how many of them each involves, with what each still needs.
"""

from __future__ import annotations

import bisect
import json
import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from kg.errors import DipkgError
from kg.iris import PREFIXES

INDEX_FILE = "search.json"
INDEX_FORMAT = 1

MAX_QUERY = 200  # characters of a search query
MAX_MATCH_INPUT = 2000  # characters of a match input
MAX_MATCH_FIELDS = 50
MAX_RESULTS = 100
KINDS = ("scenario", "concept", "category", "field")  # also the order of equal results
WEIGHTS = {"label": 3.0, "alt": 2.0, "text": 1.0, "kind": 1.0}

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUN = re.compile(rf"[{_CJK}]+|[A-Za-z0-9]+(?:['’][A-Za-z]+)?")
_IS_CJK = re.compile(rf"[{_CJK}]")
_SPLIT_FIELDS = re.compile(r"[\n\r、，,;；|/]+")
STOPWORDS = frozenset("a an and are as at be by for from in is it of on or the to with data".split())
_LONGEST = 12  # longest Chinese term looked up at query time


class SearchError(DipkgError):
    """A query the search refuses (too long, unreadable): one clear message, status 400."""

    code = "bad-search"
    status = 400


class IndexMissing(DipkgError):
    code = "no-search-index"
    status = 503


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import snowballstemmer

    return snowballstemmer.stemmer("english")


@lru_cache(maxsize=8192)
def stem(word: str) -> str:
    return _stemmer().stemWord(word.lower())


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def english_terms(text: str) -> list[str]:
    return [stem(w) for w in re.findall(r"[A-Za-z0-9]+", normalize(text).lower()) if w not in STOPWORDS]


# --- build side -------------------------------------------------------------------------
class Segmenter:
    """jieba with the vocabulary's labels in its dictionary (the build's side only)."""

    def __init__(self, words: Iterable[str]) -> None:
        import logging

        import jieba

        jieba.setLogLevel(logging.WARNING)
        self.tokenizer = jieba.Tokenizer()
        self.tokenizer.initialize()
        for word in sorted(set(words)):
            if _IS_CJK.search(word) and len(word) <= _LONGEST:
                self.tokenizer.add_word(word, freq=100000)

    def terms(self, text: str) -> list[str]:
        out: list[str] = []
        for run in _RUN.findall(normalize(text)):
            if _IS_CJK.match(run):
                out.extend(t for t in self.tokenizer.cut_for_search(run) if t.strip())
            elif run.lower() not in STOPWORDS:
                out.append(stem(run))
        return out


_Q = "\n".join(f"PREFIX {p}: <{ns}>" for p, ns in PREFIXES.items())


def _select(store: Any, query: str) -> list[dict[str, str]]:
    import pyoxigraph as ox

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


def build_index(store: Any, base_iri: str) -> bytes:
    """The search index of the graph in ``store`` (a pyoxigraph Store), as bytes."""
    scheme = base_iri + "scheme/data-kinds"
    concepts: dict[str, dict[str, Any]] = {}
    for r in _select(store, f"""SELECT ?c ?zh ?en WHERE {{ ?c skos:inScheme <{scheme}> ;
        skos:prefLabel ?zh , ?en FILTER(lang(?zh) = "zh" && lang(?en) = "en") }}"""):
        concepts[r["c"]] = {"zh": r["zh"], "en": r["en"], "alt": [], "broader": [], "pi": False}
    for r in _select(store, f"""SELECT ?c ?p ?o WHERE {{ ?c skos:inScheme <{scheme}> ; ?p ?o
        FILTER(?p IN (skos:altLabel, skos:broader, dip:personalInformation)) }}"""):
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
    domains = {r["d"]: {"zh": r.get("zh", ""), "en": r.get("en", "")} for r in _select(store, """
        SELECT ?d ?zh ?en WHERE { ?d a dip:Domain . OPTIONAL { ?d rdfs:label ?zh FILTER(lang(?zh)="zh") }
        OPTIONAL { ?d rdfs:label ?en FILTER(lang(?en)="en") } }""")}
    scenarios = _select(store, """SELECT ?s ?n ?d ?zh ?en ?app ?ex ?text WHERE { ?s a dip:Scenario ;
        dip:number ?n ; dip:domain ?d . OPTIONAL { ?s rdfs:label ?zh FILTER(lang(?zh)="zh") }
        OPTIONAL { ?s rdfs:label ?en FILTER(lang(?en)="en") }
        OPTIONAL { ?s dip:application ?app FILTER(lang(?app)="zh") }
        OPTIONAL { ?s dip:exampleContext ?ex FILTER(lang(?ex)="zh") }
        OPTIONAL { ?s dip:dataText ?text } }""")
    items = _select(store, """SELECT ?i ?t ?s ?zh ?en ?k ?q WHERE { ?i dip:scenario ?s ; a ?t
        FILTER(?t IN (dip:DataCategory, dip:DataField))
        OPTIONAL { ?i rdfs:label ?zh FILTER(lang(?zh)="zh") } OPTIONAL { ?i rdfs:label ?en FILTER(lang(?en)="en") }
        OPTIONAL { ?i dip:dataKind ?k } OPTIONAL { ?i dip:qualifier ?q FILTER(lang(?q)="zh") } }""")

    words = [w for c in concepts.values() for w in (c["zh"], *c["alt"])]
    seg = Segmenter(words)
    ancestors = _ancestors(concepts)

    def kind_terms(kinds: Iterable[str]) -> list[str]:
        out: set[str] = set()
        for k in kinds:
            for a in (k, *ancestors.get(k, ())):
                if a in concepts and concepts[a]["broader"]:  # a top concept names a whole area: not a match
                    c = concepts[a]
                    out.update(seg.terms(" ".join((c["zh"], c["en"], *c["alt"]))))
        return sorted(out)

    docs: list[dict[str, Any]] = []
    scenario_of: dict[str, dict[str, Any]] = {}
    for r in sorted(scenarios, key=lambda r: (int(r["n"]), r["s"])):
        if r["s"] in scenario_of:
            continue
        doc = {"id": r["s"], "kind": "scenario", "zh": r.get("zh", ""), "en": r.get("en", ""),
               "n": int(r["n"]), "domains": [r["d"]], "kinds": [], "pi": False,
               "text": " ".join(x for x in (r.get("app"), r.get("ex")) if x)}
        scenario_of[r["s"]] = doc
        docs.append(doc)
    seen: set[str] = set()
    item_docs = []
    for r in sorted(items, key=lambda r: r["i"]):
        if r["i"] in seen or r["s"] not in scenario_of:
            continue
        seen.add(r["i"])
        s = scenario_of[r["s"]]
        k = r.get("k")
        doc = {"id": r["i"], "kind": "category" if r["t"].endswith("DataCategory") else "field",
               "zh": r.get("zh", ""), "en": r.get("en", ""), "scenario": r["s"], "domains": s["domains"],
               "k": k, "pi": bool(k and concepts.get(k, {}).get("pi")), "text": r.get("q") or ""}
        item_docs.append(doc)
        if k:
            s["kinds"].append(k)
        s["pi"] = s["pi"] or doc["pi"]
    docs.extend(item_docs)
    used_in: dict[str, set[str]] = {}
    for d in item_docs:
        if d["k"]:
            for a in (d["k"], *ancestors.get(d["k"], ())):
                used_in.setdefault(a, set()).update(d["domains"])
    for iri in sorted(concepts):
        c = concepts[iri]
        docs.append({"id": iri, "kind": "concept", "zh": c["zh"], "en": c["en"], "alt": c["alt"],
                     "k": iri, "domains": sorted(used_in.get(iri, ())), "pi": c["pi"], "text": ""})
    for d in docs:
        if d["kind"] == "scenario":
            d["kinds"] = sorted(set(d["kinds"]))
        kinds = d["kinds"] if d["kind"] == "scenario" else ([d["k"]] if d.get("k") else [])
        terms = {
            "label": sorted(set(seg.terms(f"{d['zh']} {d['en']}"))),
            "alt": sorted(set(seg.terms(" ".join(d.get("alt", []))))),
            "text": sorted(set(seg.terms(d["text"]))),
            "kind": kind_terms(kinds),
        }
        d["t"] = {name: ts for name, ts in terms.items() if ts}
    index = {"format": INDEX_FORMAT, "base": base_iri, "domains": domains, "concepts": concepts, "docs": docs}
    return (json.dumps(index, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")


def _ancestors(concepts: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}

    def up(c: str, trail: frozenset[str]) -> list[str]:
        if c in out:
            return out[c]
        found: list[str] = []
        for b in concepts.get(c, {}).get("broader", []):
            if b in trail:
                continue
            if b not in found:
                found.append(b)
            found.extend(x for x in up(b, trail | {b}) if x not in found)
        out[c] = found
        return found

    for c in sorted(concepts):
        up(c, frozenset({c}))
    return out


# --- query side ---------------------------------------------------------------------------
@dataclass
class Hit:
    doc: dict[str, Any]
    score: float
    matched: set[str] = field(default_factory=set)
    fields: set[str] = field(default_factory=set)


class SearchIndex:
    """The search index of one release, loaded once; queries never touch the store."""

    def __init__(self, data: dict[str, Any]) -> None:
        if data.get("format") != INDEX_FORMAT:
            raise IndexMissing("the release's search index has an unknown format")
        self.base: str = data["base"]
        self.domains: dict[str, dict[str, str]] = data["domains"]
        self.concepts: dict[str, dict[str, Any]] = data["concepts"]
        self.docs: list[dict[str, Any]] = data["docs"]
        self.ancestors = _ancestors(self.concepts)
        self.postings: dict[str, list[tuple[int, str]]] = {}
        for number, doc in enumerate(self.docs):
            for name, terms in doc.get("t", {}).items():
                for term in terms:
                    self.postings.setdefault(term, []).append((number, name))
        self.cjk_terms = {t for t in self.postings if _IS_CJK.match(t)}
        self.by_id = {d["id"]: d for d in self.docs}
        self.items_of: dict[str, list[dict[str, Any]]] = {}
        for doc in self.docs:
            if doc["kind"] in ("category", "field"):
                self.items_of.setdefault(doc["scenario"], []).append(doc)
        self.concept_terms = {iri: set(self.by_id[iri].get("t", {}).get("label", []))
                              | set(self.by_id[iri].get("t", {}).get("alt", []))
                              for iri in self.concepts if iri in self.by_id}
        labels: dict[str, tuple[str, str]] = {}
        for doc in self.docs:
            if doc["kind"] in ("scenario", "concept"):
                for text in (doc["zh"], doc["en"], *doc.get("alt", [])):
                    if text:
                        labels.setdefault(text.lower(), (text, doc["kind"]))
        self.suggestions = sorted(labels.items())
        self.suggest_keys = [k for k, _ in self.suggestions]
        self._label_index: dict[str, list[tuple[str, str]]] | None = None

    @classmethod
    def load(cls, release_root: Path) -> SearchIndex:
        path = Path(release_root) / INDEX_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise IndexMissing("this release has no search index: rebuild it with `dipkg build`",
                               file=str(path)) from None
        except (OSError, ValueError) as exc:
            raise IndexMissing(f"the search index is unreadable: {exc}", file=str(path)) from None
        return cls(data)

    # -- analysis ---------------------------------------------------------------------
    def query_terms(self, text: str) -> tuple[list[str], list[str]]:
        """(the index terms a query holds, the surface strings to highlight)."""
        terms: list[str] = []
        surfaces: list[str] = []
        for run in _RUN.findall(normalize(text)):
            if _IS_CJK.match(run):
                for seg in self._segment(run):
                    if seg in self.cjk_terms and seg not in terms:
                        terms.append(seg)
                        surfaces.append(seg)
                    for sub in _subterms(seg):
                        if sub in self.cjk_terms and sub not in terms:
                            terms.append(sub)
            elif run.lower() not in STOPWORDS:
                s = stem(run)
                if s not in terms:
                    terms.append(s)
                    surfaces.append(run)
        return terms[:32], surfaces

    def _segment(self, run: str) -> list[str]:
        """Longest match, left to right, over the index's Chinese terms (an unknown character alone)."""
        out, i = [], 0
        while i < len(run):
            for j in range(min(len(run), i + _LONGEST), i, -1):
                if run[i:j] in self.cjk_terms or j == i + 1:
                    out.append(run[i:j])
                    i = j
                    break
        return out

    # -- search -----------------------------------------------------------------------
    def search(self, query: str, *, kind: str | None = None, domain: str | None = None,
               pi: bool | None = None, limit: int = 20, offset: int = 0) -> dict[str, Any]:
        query = normalize(query or "")
        if len(query) > MAX_QUERY:
            raise SearchError(f"the query is {len(query)} characters long; at most {MAX_QUERY}",
                              details={"max": MAX_QUERY})
        if kind is not None and kind not in KINDS:
            raise SearchError(f"unknown kind {kind!r} (one of: {', '.join(KINDS)})")
        limit = max(1, min(int(limit), MAX_RESULTS))
        terms, surfaces = self.query_terms(query)
        hits: dict[int, Hit] = {}
        total_docs = len(self.docs) or 1
        for term in terms:
            posting = self.postings.get(term, [])
            idf = math.log(1 + total_docs / (1 + len({n for n, _ in posting})))
            for number, name in posting:
                hit = hits.get(number)
                if hit is None:
                    hit = hits[number] = Hit(self.docs[number], 0.0)
                hit.score += WEIGHTS[name] * idf
                hit.matched.add(term)
                hit.fields.add(name)
        exact = _key(query)
        for hit in hits.values():  # the whole query is the label: first among equals
            if exact and any(_key(x) == exact for x in (hit.doc["zh"], hit.doc["en"], *hit.doc.get("alt", []))):
                hit.score += 100.0
        kind_order = {k: i for i, k in enumerate(KINDS)}
        ranked = sorted(hits.values(), key=lambda h: (-len(h.matched), -round(h.score, 6),
                                                      kind_order[h.doc["kind"]], h.doc["id"]))
        facets = {"kind": {}, "domain": {}, "pi": {}}
        for h in ranked:
            d = h.doc
            facets["kind"][d["kind"]] = facets["kind"].get(d["kind"], 0) + 1
            for dom in d["domains"]:
                facets["domain"][dom] = facets["domain"].get(dom, 0) + 1
            key = "yes" if d["pi"] else "no"
            facets["pi"][key] = facets["pi"].get(key, 0) + 1
        chosen = [h for h in ranked
                  if (kind is None or h.doc["kind"] == kind) and (domain is None or domain in h.doc["domains"])
                  and (pi is None or h.doc["pi"] == pi)]
        results = [self._result(h, terms, surfaces) for h in chosen[offset:offset + limit]]
        return {"query": query, "terms": terms, "total": len(chosen), "offset": offset, "limit": limit,
                "results": results,
                "facets": {"kind": [{"value": k, "count": facets["kind"][k]} for k in KINDS if k in facets["kind"]],
                           "domain": [{"value": k, "label": self.domains.get(k, {}), "count": n}
                                      for k, n in sorted(facets["domain"].items(), key=lambda kv: (-kv[1], kv[0]))],
                           "pi": [{"value": k, "count": facets["pi"][k]} for k in ("yes", "no") if k in facets["pi"]]}}

    def _result(self, hit: Hit, terms: list[str], surfaces: list[str]) -> dict[str, Any]:
        d = hit.doc
        out: dict[str, Any] = {"iri": d["id"], "kind": d["kind"], "label": {"zh": d["zh"], "en": d["en"]},
                               "score": round(hit.score, 4), "matched_terms": sorted(hit.matched),
                               "highlight": {"zh": highlight(d["zh"], surfaces), "en": highlight(d["en"], surfaces)},
                               "domains": [{"iri": x, "label": self.domains.get(x, {})} for x in d["domains"]],
                               "personal_information": d["pi"]}
        if d["kind"] == "scenario":
            out["number"] = d["n"]
        if d.get("scenario"):
            s = self.by_id[d["scenario"]]
            out["scenario"] = {"iri": s["id"], "number": s["n"], "label": {"zh": s["zh"], "en": s["en"]}}
        if d.get("alt"):
            out["alt"] = [a for a in d["alt"] if any(x in a or x.lower() in a.lower() for x in surfaces)]
        if "kind" in hit.fields and not ({"label", "alt"} & hit.fields):
            out["via"] = self._via(d, set(terms))
        return out

    def _via(self, doc: dict[str, Any], terms: set[str]) -> list[list[dict[str, Any]]]:
        """Paths of kinds that explain a match through a data kind: [matched kind, …, own kind]."""
        kinds = doc["kinds"] if doc["kind"] == "scenario" else [doc["k"]]
        paths = []
        for k in kinds:
            chain = [k, *self.ancestors.get(k, [])]
            for a in chain:
                if self.concepts.get(a, {}).get("broader") and self.concept_terms.get(a, set()) & terms:
                    path = self._path(k, a)
                    if path not in paths:
                        paths.append(path)
                    break
            if len(paths) >= 5:
                break
        return paths

    def _path(self, low: str, high: str) -> list[dict[str, Any]]:
        """The kinds from ``high`` down to ``low`` (following broader links)."""
        up = [low]
        while up[-1] != high:
            nxt = next((b for b in self.concepts[up[-1]]["broader"]
                        if b == high or high in self.ancestors.get(b, [])), None)
            if nxt is None or len(up) > 10:
                break
            up.append(nxt)
        return [{"iri": c, "label": {"zh": self.concepts[c]["zh"], "en": self.concepts[c]["en"]}}
                for c in reversed(up)]

    def suggest(self, prefix: str, limit: int = 10) -> list[dict[str, str]]:
        prefix = normalize(prefix or "")[:MAX_QUERY].lower()
        if not prefix:
            return []
        out: list[dict[str, str]] = []
        i = bisect.bisect_left(self.suggest_keys, prefix)
        while i < len(self.suggestions) and self.suggest_keys[i].startswith(prefix) and len(out) < limit:
            text, kind = self.suggestions[i][1]
            out.append({"text": text, "kind": kind})
            i += 1
        if len(out) < limit and _IS_CJK.search(prefix):  # a Chinese word inside a label: 温度 -> 牛舍温度
            for key, (text, kind) in self.suggestions:
                if prefix in key and not key.startswith(prefix):
                    out.append({"text": text, "kind": kind})
                    if len(out) >= limit:
                        break
        return out

    # -- match ----------------------------------------------------------------------
    def _labels(self) -> dict[str, list[tuple[str, str]]]:
        """Normalised label -> [(concept, how)]: prefLabels, altLabels, then item labels."""
        if self._label_index is None:
            table: dict[str, list[tuple[str, str]]] = {}

            def add(text: str, iri: str, how: str) -> None:
                key = _key(text)
                if key and (iri, how) not in table.setdefault(key, []) and all(c != iri for c, _ in table[key]):
                    table[key].append((iri, how))

            for iri in sorted(self.concepts):
                c = self.concepts[iri]
                add(c["zh"], iri, "label")
                add(c["en"], iri, "label")
            for iri in sorted(self.concepts):
                for alt in self.concepts[iri]["alt"]:
                    add(alt, iri, "altLabel")
            for doc in self.docs:
                if doc["kind"] in ("category", "field") and doc.get("k"):
                    add(doc["zh"], doc["k"], "item")
                    add(doc["en"], doc["k"], "item")
            self._label_index = table
        return self._label_index

    def resolve(self, text: str) -> dict[str, Any]:
        """The data kind a person's field name stands for, and how it was found."""
        table = self._labels()
        key = _key(text)
        for candidate, how_extra in ((key, ""), (_key(re.sub(r"(数据|信息|data)$", "", text.strip(), flags=re.I)), "")):
            if candidate and candidate in table:
                iri, how = table[candidate][0]
                return {"input": text, "concept": iri, "how": how + how_extra}
        # a known kind named inside the words (每日降雨量 -> 降雨量), longest first
        terms, _ = self.query_terms(text)
        best: tuple[int, str] | None = None
        for iri in self.concept_terms:
            if not self.concepts[iri]["broader"]:
                continue
            for label in (self.concepts[iri]["zh"], self.concepts[iri]["en"], *self.concepts[iri]["alt"]):
                lk = _key(label)
                if lk and len(lk) >= 2 and (lk in key) and (best is None or len(lk) > best[0]):
                    best = (len(lk), iri)
        if best:
            return {"input": text, "concept": best[1], "how": "contains"}
        # else: the concept whose label holds all the words (heart rate monitor -> ?) — best search hit
        if terms:
            for hit in self.search(text, kind="concept", limit=1)["results"]:
                if not self.concepts[hit["iri"]]["broader"]:
                    continue
                if set(hit["matched_terms"]) == set(terms):
                    return {"input": text, "concept": hit["iri"], "how": "words"}
                # all but the whole input word (施肥量: 施肥 matched, 施肥量 names no kind)
                if set(terms) - set(hit["matched_terms"]) <= {key} and len(terms) > 1:
                    return {"input": text, "concept": hit["iri"], "how": "partial"}
        return {"input": text, "concept": None, "how": None}

    def match(self, text: str, limit: int = 23) -> dict[str, Any]:
        text = text or ""
        if len(text) > MAX_MATCH_INPUT:
            raise SearchError(f"the list is {len(text)} characters long; at most {MAX_MATCH_INPUT}",
                              details={"max": MAX_MATCH_INPUT})
        names: list[str] = []
        for part in _SPLIT_FIELDS.split(text):
            part = part.strip(" \t。.；;:：\"'“”")
            if part and part not in names:
                names.append(part)
        if len(names) > MAX_MATCH_FIELDS:
            raise SearchError(f"{len(names)} field names; at most {MAX_MATCH_FIELDS}",
                              details={"max": MAX_MATCH_FIELDS})
        fields = [self.resolve(n) for n in names]
        known = [f for f in fields if f["concept"]]
        scenarios = []
        for s in (d for d in self.docs if d["kind"] == "scenario"):
            items = [i for i in self.items_of.get(s["id"], []) if i.get("k")]
            matches = []
            covered: set[str] = set()
            for f in known:
                best = None
                for item in items:
                    rel = self._relation(f["concept"], item["k"])
                    if rel and (best is None or rel[1] > best[1]):
                        best = (item, rel[1], rel[0])
                if best:
                    item, weight, relation = best
                    low, high = (item["k"], f["concept"]) if relation == "narrower" else (f["concept"], item["k"])
                    matches.append({"input": f["input"], "concept": self._concept(f["concept"]),
                                    "item": {"iri": item["id"], "kind": item["kind"],
                                             "label": {"zh": item["zh"], "en": item["en"]},
                                             "data_kind": self._concept(item["k"])},
                                    "relation": relation, "weight": weight,
                                    "path": [] if relation == "same" else self._path(low, high)})
            if not matches:
                continue
            for item in items:
                if any(self._relation(f["concept"], item["k"]) for f in known):
                    covered.add(item["id"])
            missing_kinds: list[str] = []
            for item in items:
                if item["id"] not in covered and item["kind"] == "field" and item["k"] not in missing_kinds:
                    missing_kinds.append(item["k"])
            kinds_total = len({i["k"] for i in items})
            kinds_covered = len({i["k"] for i in items if i["id"] in covered})
            scenarios.append({
                "iri": s["id"], "number": s["n"], "label": {"zh": s["zh"], "en": s["en"]},
                "domains": [{"iri": x, "label": self.domains.get(x, {})} for x in s["domains"]],
                "matched": len(matches), "score": round(sum(m["weight"] for m in matches), 3),
                "coverage": round(kinds_covered / kinds_total, 3) if kinds_total else 0.0,
                "matches": matches, "missing": [self._concept(k) for k in missing_kinds[:40]],
                "missing_total": len(missing_kinds)})
        scenarios.sort(key=lambda x: (-x["matched"], -x["score"], -x["coverage"], x["number"], x["iri"]))
        return {"fields": [{**f, "concept": self._concept(f["concept"]) if f["concept"] else None} for f in fields],
                "unmatched": [f["input"] for f in fields if not f["concept"]],
                "total": len(scenarios), "scenarios": scenarios[:max(1, min(limit, MAX_RESULTS))]}

    def _relation(self, have: str, need: str) -> tuple[str, float] | None:
        """How a person's kind ``have`` meets a scenario's kind ``need`` (never through a top concept)."""
        if have == need:
            return "same", 1.0
        if self.concepts.get(have, {}).get("broader") and have in self.ancestors.get(need, []):
            return "narrower", 0.8  # the scenario needs a narrower kind of what they hold
        if self.concepts.get(need, {}).get("broader") and need in self.ancestors.get(have, []):
            return "broader", 0.6  # the scenario needs a broader kind that includes what they hold
        return None

    def _concept(self, iri: str) -> dict[str, Any]:
        c = self.concepts.get(iri, {})
        return {"iri": iri, "label": {"zh": c.get("zh", ""), "en": c.get("en", "")}}


def _subterms(seg: str) -> list[str]:
    return [seg[i:i + n] for n in range(len(seg) - 1, 1, -1) for i in range(len(seg) - n + 1)] if len(seg) > 2 else []


def _key(text: str) -> str:
    text = normalize(text).lower()
    if _IS_CJK.search(text):
        return re.sub(r"\s+", "", text)
    return " ".join(english_terms(text))


def highlight(text: str, surfaces: list[str]) -> list[list[Any]]:
    """``text`` cut into [part, marked] pieces: Chinese surfaces as substrings, English by stem."""
    if not text:
        return []
    marks = [False] * len(text)
    for s in surfaces:
        if _IS_CJK.match(s):
            start = text.find(s)
            while start >= 0:
                for i in range(start, start + len(s)):
                    marks[i] = True
                start = text.find(s, start + len(s))
    stems = {stem(s) for s in surfaces if not _IS_CJK.match(s)}
    if stems:
        for m in re.finditer(r"[A-Za-z0-9]+", text):
            if stem(m.group()) in stems:
                for i in range(m.start(), m.end()):
                    marks[i] = True
    out: list[list[Any]] = []
    for ch, mark in zip(text, marks, strict=True):
        if out and out[-1][1] == mark:
            out[-1][0] += ch
        else:
            out.append([ch, mark])
    return out
