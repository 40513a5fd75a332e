"""The search index of a release (``search.sqlite``): its format, and how to read it.

The build writes the index (kg/search.py: :func:`kg.search.build_index`, with jieba); the
web app's ``/find`` and ``/match`` and ``dipkg match`` read it through :class:`SearchIndex`.
Both import this module, which imports neither: the file's tables (:data:`SCHEMA`), its
format number, how a term and a typed label are normalised, and the query side.

The file: an SQLite file (Python's stdlib) with one row per scenario, data category, data
field and data-kind concept, their text already cut into terms (an inverted table,
indexed), the labels people type, and the data-kind vocabulary (labels, altLabels, broader
links, personal information). Queries read it through a read-only connection, so memory
stays flat whatever the graph's size, and each query has a time limit.

Terms: Chinese is segmented with jieba at build time; English words are lower-cased and
Snowball-stemmed (temperatures -> temperatur), on both sides (:func:`stem`). At query time
(:class:`SearchIndex`, loaded once per process; it reads only this file, never the
build's inputs) a short query is segmented by longest match over the index's own terms —
the words jieba produced at build — so the query side needs no 3-second dictionary load
and segments exactly as the index does. What people type is read in simplified characters
(:func:`fold`: 溫度 is searched as 温度, 電力消耗 matched as 电力消耗), the source's script.

* :meth:`SearchIndex.search` — ranked results with facets and highlighted matches.
* :meth:`SearchIndex.suggest` — labels for autocompletion.
* :meth:`SearchIndex.match` — "which scenarios fit my data?": fields a person holds,
  resolved to data kinds (labels, altLabels, item labels, broader/narrower), scenarios
  ranked by how many of them each involves, with what each still needs.

Why one module of this size: search, suggest and match are one reader over one SQLite
schema; they share the connection, the time limit and the analysis of terms, and the
writer (kg/search.py) must agree with all of it.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import time
import unicodedata
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from dipkg.core.errors import DipkgError

_T = TypeVar("_T")

INDEX_FILE = "search.sqlite"
INDEX_FORMAT = 4  # 4: a scenario's domain labels are a field of its own
#: the formats this reader reads: a release built before format 4 has no domain field (its
#: domains' names find nothing), and is served as it is until it is rebuilt
READABLE_FORMATS = (3, 4)
TIME_LIMIT = 2.0  # seconds one search or match may take

MAX_QUERY = 200  # characters of a search query
MAX_MATCH_INPUT = 2000  # characters of a match input
MAX_MATCH_FIELDS = 50
MAX_RESULTS = 100
KINDS = ("scenario", "concept", "category", "field")  # also the order of equal results
WEIGHTS = {"label": 3.0, "alt": 2.0, "text": 1.0, "kind": 1.0, "domain": 1.0}

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
RUN = re.compile(rf"[{_CJK}]+|[A-Za-z0-9]+(?:['’][A-Za-z]+)?")
IS_CJK = re.compile(rf"[{_CJK}]")
_EDGES = re.compile(r"^[\W_]+|[\W_]+$")  # punctuation and spaces at a query's ends
_SPLIT_FIELDS = re.compile(r"[\n\r、，,;；|/]+")
STOPWORDS = frozenset(
    "a an and are as at be by for from in is it of on or the to with data".split()
)
LONGEST = 12  # longest Chinese term looked up at query time
LONE_WORDS = 12  # most index words a lone Chinese character of a query stands for
MAX_TERMS = 32  # most terms of a query's own that are searched
MAX_LONE = 8  # most lone characters of a query that stand for the words holding them


class SearchError(DipkgError):
    """A query the search refuses (too long, unreadable): one clear message, status 400."""

    code = "bad-search"
    status = 400


class IndexMissing(DipkgError):
    code = "no-search-index"
    status = 503


class SearchTimeout(DipkgError):
    code = "timeout"
    status = 503


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import snowballstemmer  # lazy: ~20 ms of import; only a search or an index stems

    return snowballstemmer.stemmer("english")


@lru_cache(maxsize=8192)
def stem(word: str) -> str:
    return str(_stemmer().stemWord(word.lower()))


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


TRADITIONAL = Path(__file__).with_name("traditional.txt")


@lru_cache(maxsize=1)
def _folding() -> dict[int, str]:
    """``str.translate``'s table of :data:`TRADITIONAL` (its lines ``溫 温``), read once."""
    table: dict[int, str] = {}
    for line in TRADITIONAL.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            traditional, simplified = line.split()
            table[ord(traditional)] = simplified
    return table


def fold(text: str) -> str:
    """``text`` with its traditional characters in their simplified forms (溫度 -> 温度).

    The guides, and so the index, are in simplified characters; a person in Taiwan or Hong
    Kong types traditional ones, which found nothing or the wrong thing (溫度: 溫 unknown,
    only 度 searched). Only characters outside GB 2312 fold (traditional.txt), so simplified
    text is left as it is: the source's own text folds to itself (tests/test_search.py)."""
    return text.translate(_folding()) if IS_CJK.search(text) else text


def english_terms(text: str) -> list[str]:
    return [
        stem(w) for w in re.findall(r"[A-Za-z0-9]+", normalize(text).lower()) if w not in STOPWORDS
    ]


SCHEMA = """
PRAGMA page_size = 4096;
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE docs (id INTEGER PRIMARY KEY, iri TEXT NOT NULL, kind TEXT NOT NULL, zh TEXT, en TEXT,
                   alt TEXT, scenario INTEGER, n INTEGER, k TEXT, pi INTEGER, \
domains TEXT, kinds TEXT);
CREATE TABLE postings (term TEXT NOT NULL, doc INTEGER NOT NULL, field INTEGER NOT NULL);
CREATE TABLE vocab (term TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE doc_domain (doc INTEGER NOT NULL, domain TEXT NOT NULL);
CREATE TABLE labels (key TEXT NOT NULL, rank INTEGER NOT NULL, concept TEXT NOT NULL, \
how TEXT NOT NULL);
CREATE TABLE suggest (key TEXT NOT NULL, text TEXT NOT NULL, kind TEXT NOT NULL);
BEGIN;
"""
INDEXES = """
CREATE INDEX postings_term ON postings (term, doc, field);
CREATE INDEX docs_k ON docs (k, kind);
CREATE INDEX docs_scenario ON docs (scenario);
CREATE INDEX docs_zh ON docs (zh);
CREATE INDEX doc_domain_doc ON doc_domain (doc, domain);
CREATE INDEX labels_key ON labels (key, rank, concept);
CREATE INDEX suggest_key ON suggest (key);
"""
#: the fields of a posting, by number: a document's labels, altLabels, text (a scenario's
#: application and example setting, an item's qualifier), its data kinds' labels, and (a
#: scenario's) its domain's labels, so that "finance" finds every scenario of 金融领域
FIELDS = ("label", "alt", "text", "kind", "domain")


def ancestors(concepts: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """Every concept's broader concepts, transitively, nearest first (cycles cut)."""
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
_KIND_ORDER = (
    "CASE d.kind WHEN 'scenario' THEN 0 WHEN 'concept' THEN 1 WHEN 'category' THEN 2 ELSE 3 END"
)


class SearchIndex:
    """The search index of one release: the vocabulary in memory, everything else read from
    the SQLite file per query (a read-only connection each, with a time limit)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.uri = "file:" + str(self.path.resolve()) + "?mode=ro&immutable=1"
        with self._connect() as db:
            meta = {k: json.loads(v) for k, v in db.execute("SELECT key, value FROM meta")}
            if meta.get("format") not in READABLE_FORMATS:
                raise IndexMissing("the release's search index has an unknown format: rebuild it")
            self.df: dict[str, int] = dict(db.execute("SELECT term, df FROM vocab"))
            self.total_docs = db.execute("SELECT COUNT(*) FROM docs").fetchone()[0] or 1
        self.base: str = meta["base"]
        self.domains: dict[str, dict[str, str]] = meta["domains"]
        self.concepts: dict[str, dict[str, Any]] = meta["concepts"]
        self.concept_terms = {iri: set(terms) for iri, terms in meta["concept_terms"].items()}
        self.ancestors = ancestors(self.concepts)
        self.descendants: dict[str, set[str]] = {c: set() for c in self.concepts}
        for c, ups in self.ancestors.items():
            for a in ups:
                self.descendants.setdefault(a, set()).add(c)
        self.cjk_terms = {t for t in self.df if IS_CJK.match(t)}
        self._holding: dict[str, list[str]] | None = None  # a character -> words holding it
        # the keys of the labels a name may hold (each kind's but the top ones'), made once:
        # resolve() looks for them in every field name of a match
        self.label_keys: list[tuple[str, str]] = []
        for iri in sorted(self.concepts):
            c = self.concepts[iri]
            if c["broader"]:
                for label in (c["zh"], c["en"], *c["alt"]):
                    lk = label_key(label)
                    if lk and len(lk) >= 2:
                        self.label_keys.append((lk, iri))

    @classmethod
    def load(cls, release_root: Path) -> SearchIndex:
        path = Path(release_root) / INDEX_FILE
        if not path.is_file():
            raise IndexMissing(
                f"this release has no search index ({INDEX_FILE}): rebuild it with `dipkg build`"
            )
        try:
            return cls(path)
        except sqlite3.Error as exc:
            raise IndexMissing(f"the search index is unreadable: {exc}") from None

    def _connect(self, limit: float | None = None) -> sqlite3.Connection:
        db = sqlite3.connect(self.uri, uri=True, check_same_thread=False)
        if limit is not None:
            deadline = time.monotonic() + limit
            db.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 2000)
        return db

    def _run(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        db = self._connect(TIME_LIMIT)
        try:
            return work(db)
        except sqlite3.OperationalError as exc:
            if "interrupt" in str(exc):
                raise SearchTimeout(
                    f"the search took longer than {TIME_LIMIT:g} s: try more specific words"
                ) from None
            raise
        finally:
            db.close()

    # -- analysis ---------------------------------------------------------------------
    def query_terms(self, text: str) -> tuple[list[str], list[str]]:
        """(the index terms a query holds, the surface strings to highlight)."""
        groups, surfaces = self.analyse(text)
        return list(groups), surfaces

    def analyse(self, text: str) -> tuple[dict[str, list[str]], list[str]]:
        """The index terms a query holds, each with the query terms it counts as (in a
        result's coverage: :meth:`search` ranks by how many of them a result holds), and the
        surface strings to highlight.

        The query's own terms come first, each counting as itself, at most :data:`MAX_TERMS`;
        then the words a lone character stands for (:meth:`holding`), all counting as that
        one character (温度 as both 温 and 度 when both stand alone), for at most
        :data:`MAX_LONE` characters. Put among the query's own
        terms, a character's dozen words pushed them past the cut (牛 羊 猪 温度 lost 温度)
        and each counted as a term of its own, so a result holding two words of 温 outranked
        one holding 温 and 度 as typed."""
        own: list[str] = []
        lone: list[str] = []
        surfaces: list[str] = []
        for run in RUN.findall(fold(normalize(text))):
            if IS_CJK.match(run):
                for seg in self._segment(run):
                    if seg in self.cjk_terms and seg not in own:
                        own.append(seg)
                        surfaces.append(seg)
                    for sub in _subterms(seg):
                        if sub in self.cjk_terms and sub not in own:
                            own.append(sub)
                    if len(seg) == 1 and seg not in lone and len(lone) < MAX_LONE:
                        lone.append(seg)  # a lone character (牛, 铝); highlighted as searched
                        if seg not in surfaces:
                            surfaces.append(seg)
            elif run.lower() not in STOPWORDS:
                s = stem(run)
                if s not in own:
                    own.append(s)
                    surfaces.append(run)
        groups = {t: [t] for t in own[:MAX_TERMS]}
        for char in lone:
            for word in self.holding(char):
                if word not in groups:
                    groups[word] = [char]
                elif groups[word] != [word]:  # (a term of the query's own counts as itself)
                    groups[word].append(char)
        return groups, surfaces

    def holding(self, char: str) -> list[str]:
        """The index's Chinese words that hold ``char`` (温 -> 温度, 气温, 水温, …), the
        shortest and then the most used first, at most :data:`LONE_WORDS`: a character alone
        is rarely a word of the index (jieba cuts words), so alone it found nothing (牛, 温)
        or next to nothing (铝: 1 result, not 氧化铝浓度 or 电解铝产能)."""
        if self._holding is None:
            # every character's words in one pass over the index's words, on the first lone
            # character asked (then a lookup): a scan of them per character asked cost a
            # query of 200 characters each a scan, and a bounded cache let a stream of new
            # characters scan again and again
            found: dict[str, list[str]] = {}
            for t in self.cjk_terms:
                for c in set(t):
                    if c != t:
                        found.setdefault(c, []).append(t)
            self._holding = {
                c: sorted(ws, key=lambda t: (len(t), -self.df[t], t))[:LONE_WORDS]
                for c, ws in found.items()
            }
        return self._holding.get(char, [])

    def _segment(self, run: str) -> list[str]:
        """Longest match, left to right, over the index's Chinese terms (an unknown character
        alone)."""
        out, i = [], 0
        while i < len(run):
            for j in range(min(len(run), i + LONGEST), i, -1):
                if run[i:j] in self.cjk_terms or j == i + 1:
                    out.append(run[i:j])
                    i = j
                    break
        return out

    def domain_iri(self, domain: str | None) -> str | None:
        """The domain ``domain`` names: its IRI (what the facets link), or its last segment
        (``industry``); a :class:`SearchError` naming the domains for any other value (it
        would match nothing, and say nothing of why)."""
        if domain is None or domain in self.domains:
            return domain
        by_name = {iri.rstrip("/").rsplit("/", 1)[-1]: iri for iri in self.domains}
        if domain in by_name:
            return by_name[domain]
        raise SearchError(
            f"unknown domain {domain[:80]!r} (one of: {', '.join(sorted(by_name))}, or its IRI)",
            details={
                "parameter": "domain",
                "allowed": sorted(by_name),
                "labels": {name: self.domains[iri] for name, iri in by_name.items()},
            },
        )

    # -- search -----------------------------------------------------------------------
    def search(
        self,
        query: str,
        *,
        kind: str | None = None,
        domain: str | None = None,
        pi: bool | None = None,
        limit: int = 20,
        offset: int = 0,
        db: sqlite3.Connection | None = None,
    ) -> dict[str, Any]:
        """Rank the index's entries for ``query``; with ``db``, on that connection and under
        its time limit (a match's names share one limit), else on a fresh one."""
        query = normalize(query or "")
        if len(query) > MAX_QUERY:
            raise SearchError(
                f"the query is {len(query)} characters long; at most {MAX_QUERY}",
                details={"max": MAX_QUERY},
            )
        if kind is not None and kind not in KINDS:
            raise SearchError(
                f"unknown kind {kind[:80]!r} (one of: {', '.join(KINDS)})",
                details={"parameter": "kind", "allowed": list(KINDS)},
            )
        domain = self.domain_iri(domain)
        limit = max(1, min(int(limit), MAX_RESULTS))
        offset = max(0, int(offset))
        groups, surfaces = self.analyse(query)
        terms = list(groups)
        empty = {
            "query": query,
            "terms": terms,
            "total": 0,
            "offset": offset,
            "limit": limit,
            "results": [],
            "facets": {"kind": [], "domain": [], "pi": []},
        }
        if not terms:
            return empty
        # a word in more than one document of twenty (数据, data) ranks nothing when others are
        # there
        common = {t for t in terms if self.df.get(t, 0) > self.total_docs / 20}
        if len(common) < len(terms):
            terms = [t for t in terms if t not in common]
        # a term counting as two query terms (温度 for 温 and 度) adds its weight once
        weights = [
            (t, g, math.log(1 + self.total_docs / (1 + self.df.get(t, 0))) / len(groups[t]))
            for t in terms
            for g in groups[t]
        ]
        # the label typed, without the punctuation around it (温度。 "温度" 《温度》 name 温度);
        # a lone character typed alone also names its most used shortest word (温: 温度), as
        # a person typing 温 most likely means
        bare = _EDGES.sub("", query)
        named = [bare]
        if len(bare) == 1 and self.holding(fold(bare)):
            named.append(self.holding(fold(bare))[0])
        exact = [label_key(n) for n in named] * (3 - len(named))  # two of each list
        zh = [fold(n) for n in named] * (3 - len(named))

        def work(db: sqlite3.Connection) -> dict[str, Any]:
            # a match's names share one connection (resolve): its earlier searches' tables go
            for table in ("q", "w", "hits"):
                db.execute(f"DROP TABLE IF EXISTS temp.{table}")
            db.execute(
                "CREATE TEMP TABLE q (term TEXT, grp TEXT, idf REAL, PRIMARY KEY (term, grp))"
            )
            db.executemany("INSERT INTO q VALUES (?, ?, ?)", weights)
            db.execute("CREATE TEMP TABLE w (field INTEGER PRIMARY KEY, weight REAL)")
            db.executemany(
                "INSERT INTO w VALUES (?, ?)", [(i, WEIGHTS[f]) for i, f in enumerate(FIELDS)]
            )
            # ranked by the query terms a result covers (a lone character's words count as
            # that character), the label typed, then how many index words it holds (only a
            # lone character's words can make that more than the terms it covers: 现代化养殖
            # holds six words of 牛), then the score
            db.execute("""CREATE TEMP TABLE hits AS
                SELECT p.doc AS doc, COUNT(DISTINCT q.grp) AS cov,
                       COUNT(DISTINCT p.term) AS breadth, 0 AS exact,
                       SUM(w.weight * q.idf) AS score,
                       group_concat(DISTINCT p.term) AS matched,
                       group_concat(DISTINCT p.field) AS fields
                FROM q CROSS JOIN postings p ON p.term = q.term JOIN w ON w.field = p.field
                GROUP BY p.doc""")
            db.execute(
                """UPDATE hits SET score = score + 100, exact = 1 WHERE doc IN
                          (SELECT d.id FROM labels l JOIN docs d
                           ON d.k = l.concept AND d.kind = 'concept'
                           WHERE l.key IN (?, ?) AND l.how != 'item')
                          OR doc IN (SELECT id FROM docs WHERE zh IN (?, ?))""",
                (*exact, *zh),
            )
            facets = {
                "kind": dict(
                    db.execute(
                        "SELECT d.kind, COUNT(*) FROM hits h JOIN docs d ON d.id = h.doc "
                        "GROUP BY d.kind"
                    )
                ),
                "domain": dict(
                    db.execute("""SELECT dd.domain, COUNT(*) FROM hits h
                                             JOIN doc_domain dd ON dd.doc = h.doc
                                             GROUP BY dd.domain""")
                ),
                "pi": dict(
                    db.execute(
                        "SELECT d.pi, COUNT(*) FROM hits h JOIN docs d ON d.id = h.doc "
                        "GROUP BY d.pi"
                    )
                ),
            }
            where: list[str] = []
            args: list[str | int] = []
            if kind is not None:
                where.append("d.kind = ?")
                args.append(kind)
            if domain is not None:
                where.append(
                    "EXISTS (SELECT 1 FROM doc_domain dd WHERE dd.doc = d.id AND dd.domain = ?)"
                )
                args.append(domain)
            if pi is not None:
                where.append("d.pi = ?")
                args.append(int(pi))
            clause = ("WHERE " + " AND ".join(where)) if where else ""
            total = db.execute(
                f"SELECT COUNT(*) FROM hits h JOIN docs d ON d.id = h.doc {clause}", args
            ).fetchone()[0]
            rows = db.execute(
                f"""SELECT d.id, d.iri, d.kind, d.zh, d.en, d.alt, d.scenario, d.n, d.k, d.pi,
                                         d.domains, d.kinds, h.score, h.matched, h.fields,
                                         s.iri, s.n, s.zh, s.en, c.iri, c.zh, c.en
                                  FROM hits h JOIN docs d ON d.id = h.doc
                                  LEFT JOIN docs s ON s.id = d.scenario
                                  LEFT JOIN docs c ON d.kind = 'field'
                                       AND c.scenario = d.scenario
                                       AND c.iri = rtrim(rtrim(d.iri, '0123456789'), '.')
                                  {clause}
                                  ORDER BY h.cov DESC, h.exact DESC, h.breadth DESC,
                                           round(h.score, 6) DESC, {_KIND_ORDER}, d.iri
                                  LIMIT ? OFFSET ?""",
                [*args, limit, offset],
            ).fetchall()
            return {"facets": facets, "total": total, "rows": rows}

        found = work(db) if db is not None else self._run(work)
        facets = found["facets"]
        results = [self._result(row, set(terms), surfaces) for row in found["rows"]]
        return {
            **empty,
            "total": found["total"],
            "results": results,
            "facets": {
                "kind": [
                    {"value": k, "count": facets["kind"][k]} for k in KINDS if k in facets["kind"]
                ],
                "domain": [
                    {"value": k, "label": self.domains.get(k, {}), "count": n}
                    for k, n in sorted(facets["domain"].items(), key=lambda kv: (-kv[1], kv[0]))
                ],
                "pi": [
                    {"value": v, "count": facets["pi"][n]}
                    for n, v in ((1, "yes"), (0, "no"))
                    if n in facets["pi"]
                ],
            },
        }

    def _result(self, row: tuple[Any, ...], terms: set[str], surfaces: list[str]) -> dict[str, Any]:
        (
            _,
            iri,
            kind,
            zh,
            en,
            alt,
            _scenario,
            n,
            k,
            pi,
            domains,
            kinds,
            score,
            matched,
            fields,
            s_iri,
            s_n,
            s_zh,
            s_en,
            c_iri,
            c_zh,
            c_en,
        ) = row
        fields_hit = {FIELDS[int(f)] for f in (fields or "").split(",") if f}
        out: dict[str, Any] = {
            "iri": iri,
            "kind": kind,
            "label": {"zh": zh or "", "en": en or ""},
            "score": round(score, 4),
            "matched_terms": sorted((matched or "").split(",")),
            "highlight": {"zh": highlight(zh or "", surfaces), "en": highlight(en or "", surfaces)},
            # ``matched``: the words typed name the domain (a scenario found by it)
            "domains": [
                {"iri": x, "label": self.domains.get(x, {}), "matched": "domain" in fields_hit}
                for x in json.loads(domains)
            ],
            "personal_information": bool(pi),
        }
        if kind == "scenario":
            out["number"] = n
        if s_iri:
            out["scenario"] = {
                "iri": s_iri,
                "number": s_n,
                "label": {"zh": s_zh or "", "en": s_en or ""},
            }
        if c_iri:
            # a field's category (its IRI's path less its last position: …/data/1.4 is in
            # …/data/1): two fields named 温度 in one scenario are told apart by it
            out["category"] = {"iri": c_iri, "label": {"zh": c_zh or "", "en": c_en or ""}}
        alts = json.loads(alt or "[]")
        if alts:
            out["alt"] = [
                a for a in alts if any(x in a or x.lower() in a.lower() for x in surfaces)
            ]
        if "kind" in fields_hit and not ({"label", "alt"} & fields_hit):
            out["via"] = self._via(json.loads(kinds) if kind == "scenario" else [k], terms)
        return out

    def _via(self, kinds: list[str], terms: set[str]) -> list[list[dict[str, Any]]]:
        """Paths of kinds that explain a match through a data kind: [matched kind, …, own kind]."""
        paths = []
        for k in kinds:
            for a in (k, *self.ancestors.get(k, [])):
                if (
                    self.concepts.get(a, {}).get("broader")
                    and self.concept_terms.get(a, set()) & terms
                ):
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
            nxt = next(
                (
                    b
                    for b in self.concepts[up[-1]]["broader"]
                    if b == high or high in self.ancestors.get(b, [])
                ),
                None,
            )
            if nxt is None or len(up) > 10:
                break
            up.append(nxt)
        return [
            {"iri": c, "label": {"zh": self.concepts[c]["zh"], "en": self.concepts[c]["en"]}}
            for c in reversed(up)
        ]

    def suggest(self, prefix: str, limit: int = 10) -> list[dict[str, str]]:
        prefix = fold(normalize(prefix or ""))[:MAX_QUERY].lower()
        if not prefix:
            return []

        def work(db: sqlite3.Connection) -> list[tuple[str, str]]:
            rows = db.execute(
                "SELECT text, kind FROM suggest WHERE key >= ? AND key < ? ORDER BY key LIMIT ?",
                (prefix, prefix + "\U0010ffff", limit),
            ).fetchall()
            if len(rows) < limit and IS_CJK.search(
                prefix
            ):  # a Chinese word inside a label: 温度 -> 牛舍温度
                rows += db.execute(
                    """SELECT text, kind FROM suggest WHERE kind = 'concept' AND instr(key, ?) > 1
                                      ORDER BY key LIMIT ?""",
                    (prefix, limit - len(rows)),
                ).fetchall()
            return rows

        return [{"text": text, "kind": kind} for text, kind in self._run(work)]

    # -- match ----------------------------------------------------------------------
    def resolve(self, text: str, db: sqlite3.Connection | None = None) -> dict[str, Any]:
        """The data kind a person's field name stands for, and how it was found."""
        key = label_key(text)
        stripped = label_key(re.sub(r"(数据|信息|data)$", "", fold(text.strip()), flags=re.I))
        own = db is None
        db = db or self._connect(TIME_LIMIT)
        try:
            for candidate in (key, stripped):
                if candidate:
                    row = db.execute(
                        "SELECT concept, how FROM labels WHERE key = ? "
                        "ORDER BY rank, concept LIMIT 1",
                        (candidate,),
                    ).fetchone()
                    if row:
                        return {"input": text, "concept": row[0], "how": row[1]}
        finally:
            if own:
                db.close()
        # a known kind named inside the words (每日降雨量 -> 降雨量), longest first
        best: tuple[int, str] | None = None
        for lk, iri in self.label_keys:
            if lk in key and (best is None or len(lk) > best[0]):
                best = (len(lk), iri)
        if best:
            return {"input": text, "concept": best[1], "how": "contains"}
        terms, _ = self.query_terms(text)
        # (a name longer than a search may be, as search() measures it (NFKC: ㎒ is MHz),
        # is not searched: the rest of the match goes on)
        if terms and len(normalize(text)) <= MAX_QUERY:  # the kind whose labels hold the words
            # on the match's connection when there is one: one time limit for all its names
            shared = None if own else db
            for hit in self.search(text, kind="concept", limit=1, db=shared)["results"]:
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
            raise SearchError(
                f"the list is {len(text)} characters long; at most {MAX_MATCH_INPUT}",
                details={"max": MAX_MATCH_INPUT},
            )
        names: list[str] = []
        for part in _SPLIT_FIELDS.split(text):
            part = part.strip(" \t。.；;:：\"'“”")
            if part and part not in names:
                names.append(part)
        if len(names) > MAX_MATCH_FIELDS:
            raise SearchError(
                f"{len(names)} field names; at most {MAX_MATCH_FIELDS}",
                details={"max": MAX_MATCH_FIELDS},
            )
        limit = max(1, min(limit, MAX_RESULTS))

        def work(db: sqlite3.Connection) -> dict[str, Any]:
            fields = [self.resolve(n, db) for n in names]
            known = [f for f in fields if f["concept"]]
            # every item whose kind one of the person's kinds meets (same, narrower, broader)
            related: dict[str, list[tuple[int, str, float]]] = {}
            for number, f in enumerate(known):
                for kind in self._related(f["concept"]):
                    rel = self._meets(f, kind)
                    if rel:
                        related.setdefault(kind, []).append((number, rel[0], rel[1]))
            best: dict[
                int, dict[int, tuple[Any, ...]]
            ] = {}  # scenario -> field number -> (weight, item row, relation)
            for kind in sorted(related):
                for item in db.execute(
                    """SELECT scenario, id, iri, kind, zh, en, k FROM docs
                                          WHERE k = ? AND kind IN ('category', 'field')
                                          ORDER BY id""",
                    (kind,),
                ):
                    for number, relation, weight in related[kind]:
                        mine = best.setdefault(item[0], {})
                        if number not in mine or weight > mine[number][0]:
                            mine[number] = (weight, item, relation)
            ranked = sorted(
                best.items(),
                key=lambda kv: (-len(kv[1]), -sum(v[0] for v in kv[1].values()), kv[0]),
            )
            scenarios = []
            for scenario_id, mine in ranked[:limit]:
                s = db.execute(
                    "SELECT iri, n, zh, en, domains FROM docs WHERE id = ?", (scenario_id,)
                ).fetchone()
                items = db.execute(
                    """SELECT id, kind, k FROM docs WHERE scenario = ? AND k IS NOT NULL
                                      ORDER BY id""",
                    (scenario_id,),
                ).fetchall()
                covered = {i[0] for i in items if any(self._meets(f, i[2]) for f in known)}
                missing: list[str] = []
                for item_id, kind, k in items:
                    if item_id not in covered and kind == "field" and k not in missing:
                        missing.append(k)
                kinds_total = len({i[2] for i in items})
                kinds_covered = len({i[2] for i in items if i[0] in covered})
                matches = []
                for number in sorted(mine):
                    weight, item, relation = mine[number]
                    f = known[number]
                    low, high = (
                        (item[6], f["concept"])
                        if relation == "narrower"
                        else (f["concept"], item[6])
                    )
                    matches.append(
                        {
                            "input": f["input"],
                            "concept": self._concept(f["concept"]),
                            "item": {
                                "iri": item[2],
                                "kind": item[3],
                                "label": {"zh": item[4], "en": item[5]},
                                "data_kind": self._concept(item[6]),
                            },
                            "relation": relation,
                            "weight": weight,
                            "path": [] if relation == "same" else self._path(low, high),
                        }
                    )
                scenarios.append(
                    {
                        "iri": s[0],
                        "number": s[1],
                        "label": {"zh": s[2], "en": s[3]},
                        "domains": [
                            {"iri": x, "label": self.domains.get(x, {})} for x in json.loads(s[4])
                        ],
                        "matched": len(matches),
                        "score": round(sum(m["weight"] for m in matches), 3),
                        "coverage": round(kinds_covered / kinds_total, 3) if kinds_total else 0.0,
                        "matches": matches,
                        "missing": [self._concept(k) for k in missing[:40]],
                        "missing_total": len(missing),
                    }
                )
            scenarios.sort(
                key=lambda x: (-x["matched"], -x["score"], -x["coverage"], x["number"], x["iri"])
            )
            return {
                "fields": [
                    {**f, "concept": self._concept(f["concept"]) if f["concept"] else None}
                    for f in fields
                ],
                "unmatched": [f["input"] for f in fields if not f["concept"]],
                "total": len(best),
                "scenarios": scenarios,
            }

        return self._run(work)

    def _related(self, have: str) -> set[str]:
        out = {have}
        if self.concepts.get(have, {}).get("broader"):
            out |= self.descendants.get(have, set())
        out |= {a for a in self.ancestors.get(have, []) if self.concepts.get(a, {}).get("broader")}
        return out

    def _meets(self, field: dict[str, Any], need: str) -> tuple[str, float] | None:
        """How a person's resolved field meets a scenario's kind ``need``: as its kind does
        (:meth:`_relation`), except that a name found by some of its words only (``partial``:
        施肥量 -> 施肥系统数据) meets that kind alone. Holding 施肥量 is not holding every kind
        under 施肥系统数据: its narrower kinds (肥料种类, 施肥时间) stay among what a scenario
        still needs."""
        rel = self._relation(field["concept"], need)
        if rel is not None and field["how"] == "partial" and rel[0] != "same":
            return None
        return rel

    def _relation(self, have: str, need: str) -> tuple[str, float] | None:
        """How a person's kind ``have`` meets a scenario's kind ``need`` (never through a top
        concept)."""
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
    return (
        [seg[i : i + n] for n in range(len(seg) - 1, 1, -1) for i in range(len(seg) - n + 1)]
        if len(seg) > 2
        else []
    )


def label_key(text: str) -> str:
    text = fold(normalize(text)).lower()
    if IS_CJK.search(text):
        return re.sub(r"\s+", "", text)
    return " ".join(english_terms(text))


def highlight(text: str, surfaces: list[str]) -> list[list[Any]]:
    """``text`` cut into [part, marked] pieces: Chinese surfaces as substrings, English by stem."""
    if not text:
        return []
    marks = [False] * len(text)
    for s in surfaces:
        if IS_CJK.match(s):
            start = text.find(s)
            while start >= 0:
                for i in range(start, start + len(s)):
                    marks[i] = True
                start = text.find(s, start + len(s))
    stems = {stem(s) for s in surfaces if not IS_CJK.match(s)}
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
