"""The direct lane: point lookups answered in the app's process, without a worker.

A query runs in a worker process so that it can be killed at the time limit
(:mod:`sparql_api.workers`). Handing a query to a worker and back costs far more
than evaluating a point lookup (``SELECT ?p ?o WHERE { <s> ?p ?o }``), which is
the commonest query a linked-data endpoint sees. Such a query cannot run away:
its one triple pattern has a constant subject, so Oxigraph answers it with one
scan of the subject's part of an index, one step per result row, and the lane
stops after :data:`MAX_ROWS` rows. So the lane answers, in the app's process and
with the same code as a worker (:func:`sparql_api.results.evaluate`, so the same
bytes), exactly the queries whose cost is bounded by construction, and hands
everything else to the pool.

What "bounded by construction" means here is a token pattern, read with the
guard's own tokenizer (:func:`sparql_api.guard.tokenize`, the grammar's
terminals), and anything it cannot match goes to a worker::

    PREFIX pname: <iri> ...          (no BASE)
    SELECT (* | ?v ...) | ASK        (no DISTINCT, REDUCED or expressions)
    WHERE? { S P O .? }              one triple pattern, nothing else
    LIMIT n ?                        (SELECT; no OFFSET, ORDER BY, GROUP BY...)

    S = <iri> | prefix:name          a constant: no variable, no blank node
    P = ?v | <iri> | prefix:name | a no property path (+ * / ^ ! |)
    O = ?w | <iri> | prefix:name | "string" (@lang | ^^type)? | number
                                     (?w not ?v: each scan step is a row)

Prefixed names with a dot and any backslash (escapes that parsers read apart,
see :mod:`sparql_api.guard`) are refused, so the lane's reading of the text
is the engine's. A query naming a dataset (``default-graph-uri``...), a result
over :data:`MAX_ROWS` rows or :data:`MAX_BYTES` bytes, and any error go to a
worker as well, which answers them as it always has. tests/endpoint/test_lane.py
checks accepted queries against rdflib's parse of them (one BGP of one triple
with a constant subject) and the lane's replies against a worker's, byte for byte.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pyoxigraph as ox

from sparql_api.guard import IRI, LANG, NUMBER, PNAME, PUNCT, STRING, VAR, WORD, Token, tokenize
from sparql_api.results import Job, evaluate
from sparql_api.workers import Reply

#: The most rows the lane produces before it gives the query to a worker.
MAX_ROWS = 256
#: The largest serialised answer the lane keeps (bigger ones go to a worker).
MAX_BYTES = 256 * 1024
#: Longer query texts are not looked at.
MAX_TEXT = 4096


class _Reader:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, kind: str, text: str | None = None) -> Token | None:
        """The next token if it is of ``kind`` (and, case-insensitively, ``text``)."""
        tok = self.peek()
        if tok is None or tok.kind != kind:
            return None
        if text is not None and tok.text.upper() != text:
            return None
        self.i += 1
        return tok

    def name(self) -> Token | None:
        """An IRI or a prefixed name the engine reads as the grammar does."""
        tok = self.take(IRI) or self.take(PNAME)
        if tok is not None and tok.kind == PNAME and "." in tok.text:
            return None
        return tok


def bounded(query: str) -> str | None:
    """``"select"`` or ``"ask"`` when ``query`` has the lane's shape, else None."""
    if len(query) > MAX_TEXT or "\\" in query:
        return None
    r = _Reader(tokenize(query))
    while r.take(WORD, "PREFIX"):
        ns = r.take(PNAME)
        if ns is None or not ns.text.endswith(":") or "." in ns.text or not r.take(IRI):
            return None
    if r.take(WORD, "SELECT"):
        form = "select"
        if not r.take(PUNCT, "*"):
            if not r.take(VAR):
                return None
            while r.take(VAR):
                pass
    elif r.take(WORD, "ASK"):
        form = "ask"
    else:
        return None
    r.take(WORD, "WHERE")
    if not r.take(PUNCT, "{") or r.name() is None:  # the subject: a constant
        return None
    predicate = r.take(VAR) or r.name() or r.take(WORD, "A")  # no property path
    if predicate is None:
        return None
    obj = r.take(VAR)
    if obj is not None and predicate.kind == VAR and obj.text[1:] == predicate.text[1:]:
        return None  # ``<s> ?x ?x`` scans every edge of <s> to keep a few
    if obj is None and not (r.name() or r.take(NUMBER) or _literal(r)):
        return None
    r.take(PUNCT, ".")
    if not r.take(PUNCT, "}"):
        return None
    if form == "select" and r.take(WORD, "LIMIT"):
        limit = r.take(NUMBER)
        if limit is None or not limit.text.isdigit():
            return None
    return form if r.peek() is None else None


def _literal(r: _Reader) -> bool:
    if not r.take(STRING):
        return False
    if r.take(LANG):
        return True
    if r.take(PUNCT, "^"):
        return bool(r.take(PUNCT, "^") and r.name())
    return True


def answer(
    store: ox.Store | None, job: Job, prefixes: dict[str, str] | None = None
) -> Reply | None:
    """The reply a worker would send for ``job``, or None: not for the lane."""
    if store is None or job.default_graph or job.named_graphs or bounded(job.query) is None:
        return None  # (a closed describer's store is None)
    small = dataclasses.replace(
        job, max_rows=min(job.max_rows, MAX_ROWS), max_bytes=min(job.max_bytes, MAX_BYTES)
    )
    try:
        outcome = evaluate(store, small, prefixes)
    except Exception:  # noqa: BLE001  (errors, too-large answers: a worker says it its way)
        return None
    if outcome.truncated and job.max_rows > small.max_rows:
        return None  # more rows than the lane gives: the worker's answer is the whole one
    header = {
        "ok": True,
        "kind": outcome.kind,
        "rows": outcome.rows,
        "truncated": outcome.truncated,
    }
    return Reply(header, outcome.body)


class DirectLane:
    """A :class:`~sparql_api.backends.QueryPool` that answers bounded point lookups
    itself (on the store ``store()`` gives) and hands every other job to ``pool``.

    ``stats["direct"]`` counts the lane's answers (``/health``: ``queries.direct``).
    """

    def __init__(
        self,
        pool: Any,
        store: Callable[[], ox.Store | None],
        prefixes: dict[str, str] | None = None,
    ) -> None:
        self.pool = pool
        self.store = store
        self.prefixes = prefixes
        self.stats: dict[str, int] = pool.stats
        self.stats.setdefault("direct", 0)

    def __getattr__(self, name: str) -> Any:  # size, info, network_sandbox, pids...
        return getattr(self.pool, name)

    @property
    def alive(self) -> int:
        return int(self.pool.alive)

    async def start(self) -> None:
        await self.pool.start()

    async def stop(self) -> None:
        await self.pool.stop()

    async def run(self, job: Job, client: str | None = None) -> Reply:
        reply = answer(self.store(), job, self.prefixes)
        if reply is not None:
            self.stats["direct"] += 1
            return reply
        return await self.pool.run(job, client)
