"""The remote mode's :class:`RemotePool`: the ``WorkerPool`` interface over HTTP. A job
goes to the backend with the dataset and time limit; its answer is parsed and written by
the local workers' code (:mod:`sparql_api.results`), so formats and truncation match."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Any

import anyio
import pyoxigraph as ox

from sparql_api.errors import Busy, NotAcceptable, QueryError, QueryTimeout
from sparql_api.remote.answers import (
    ACCEPT_ANY,
    ACCEPT_GRAPH,
    ACCEPT_TABLE,
    GRAPH_PARSERS,
    RESULT_PARSERS,
    UNREADABLE,
    _Capped,
    _detach,
    _parse_graph,
    _parse_results,
    _short,
)
from sparql_api.remote.client import BackendClient
from sparql_api.remote.dialect import (
    Graphs,
    check_dataset,
    check_query,
    dataset_params,
    timeout_param,
)
from sparql_api.remote.errors import BackendBusy, BackendError, BackendTimeout
from sparql_api.results import RESULT_FORMATS, Job, Outcome, _solutions, _triples
from sparql_api.workers import Reply

log = logging.getLogger("sparql_api.remote")
#: a backend's own row cap (``X-SPARQL-MaxRows``, Virtuoso) as this reads it
_CAP = re.compile(r"[0-9]{1,9}")


async def probe(client: BackendClient, graphs: Graphs) -> dict[str, Any]:
    """The backend's state for ``/health``: a probe now and what recent exchanges said."""
    result = await client.probe()
    return {
        **result,
        "ok": client.healthy(),
        "graphs": {"data": graphs.data, "catalog": graphs.catalog},
    }


class RemotePool:
    """A :class:`~sparql_api.workers.WorkerPool` look-alike that sends jobs to the backend."""

    def __init__(
        self, client: BackendClient, graphs: Graphs, *, prefixes: dict[str, str] | None = None
    ) -> None:
        self.client = client
        self.url = client.url
        self.shown = client.shown
        self.graphs = graphs
        self.size = client.slots
        self.timeout = client.timeout
        self.prefixes = prefixes or {}
        self.info: dict[str, Any] = {
            "named_graphs": [graphs.catalog] if graphs.catalog else [],
            "backend": client.shown,  # redacted: no credentials, no query string (a token)
        }
        self.stats = {"timeouts": 0, "backend_errors": 0, "disconnects": 0}

    # lifecycle ---------------------------------------------------------
    async def start(self) -> None:
        await self.client.start()
        await probe(self.client, self.graphs)

    async def stop(self) -> None:
        await self.client.stop()

    @property
    def alive(self) -> int:
        return self.size if self.client.healthy() else 0

    # queries -----------------------------------------------------------
    async def run(self, job: Job, client: str | None = None) -> Reply:
        if len(job.query) > 4096:  # (~0.2 s for 64 KiB: off the event loop, as the guard)
            own = await anyio.to_thread.run_sync(check_query, job.query, self.graphs)
        else:
            own = check_query(job.query, self.graphs)
        check_dataset(job, self.graphs)
        started = time.monotonic()
        accept = (
            ACCEPT_TABLE
            if job.graph_format is None
            else ACCEPT_GRAPH
            if job.table_format is None
            else ACCEPT_ANY
        )
        form = [
            ("query", job.query),
            *dataset_params(job, self.graphs, own),
            *timeout_param(self.client.server, self.timeout).items(),
        ]
        try:
            answer = await self.client.exchange(form, accept, line_cap=job.max_rows + 1)
        except BackendTimeout:  # the limit is the client's: the same answer as local mode
            self.stats["timeouts"] += 1
            log.warning("remote query stopped at the %g s limit: %.200r", self.timeout, job.query)
            raise QueryTimeout(
                f"the query ran longer than the limit of {self.timeout:g} s and was stopped",
                details={
                    "limit_seconds": self.timeout,
                    "elapsed_seconds": round(time.monotonic() - started, 3),
                },
            ) from None
        except BackendBusy:
            self.stats["timeouts"] += 1
            raise Busy(
                f"all {self.size} connections to the SPARQL backend stayed busy for "
                f"{self.timeout:g} s; try again later",
                details={"backend": self.shown},
            ) from None
        except asyncio.CancelledError:
            self.stats["disconnects"] += 1
            raise
        except QueryError:
            self.stats["backend_errors"] += 1
            raise
        cap = answer.headers.get("x-sparql-maxrows", "")
        # (ASCII digits only, and few: str.isdigit() takes '²', int() refuses 4,300 digits)
        backend_cap = int(cap) if _CAP.fullmatch(cap) and int(cap) > 0 else None
        if backend_cap is not None and backend_cap <= job.max_rows:
            # the backend cut the result itself (Virtuoso's ResultSetMaxRows): a full answer
            # may be a cut one, so the last row goes and the result says it is truncated
            job = Job(**{**job.to_dict(), "max_rows": max(backend_cap - 1, 1)})
        outcome = await anyio.to_thread.run_sync(
            self._reserialise, job, answer.media, answer.body, answer.complete
        )
        return Reply(outcome.header(), outcome.body)

    @_detach
    def _reserialise(self, job: Job, media: str, body: bytes, complete: bool) -> Outcome:
        """Parse the backend's answer and write it as the local workers do (row cap included)."""
        try:
            if media in RESULT_PARSERS:
                result = _parse_results(body, media)
                if isinstance(result, ox.QueryBoolean):
                    if job.table_format is None:
                        raise NotAcceptable("no acceptable media type for this ASK result")
                    return Outcome(
                        "table",
                        job.table_format,
                        result.serialize(format=RESULT_FORMATS[job.table_format]),
                        1,
                    )
                if job.table_format is None:
                    raise NotAcceptable("no acceptable media type for this SELECT result")
                outcome = _solutions(_Capped(result, job.max_rows, complete), job)
                return outcome
            if media in GRAPH_PARSERS:
                if job.graph_format is None:
                    raise NotAcceptable(
                        "no acceptable media type for this CONSTRUCT/DESCRIBE result"
                    )
                outcome = _triples(_parse_graph(body, media), job, self.prefixes)
                outcome.truncated = outcome.truncated or not complete
                return outcome
        except SyntaxError as exc:
            tail = body[-300:].lower()
            if b"cancelled" in tail or b"timeout" in tail or b"timed out" in tail:
                # Oxigraph's own limit (`--timeout-s`) ends a started 200 answer with this text
                raise QueryTimeout(
                    "the backend stopped the query at its own time limit",
                    details={"backend": self.shown},
                ) from None
            raise BackendError(
                f"the SPARQL backend's answer is malformed ({media}): {_short(exc)}",
                details={"backend": self.shown},
            ) from None
        except UNREADABLE as exc:  # SyntaxError was taken above
            raise BackendError(
                f"the SPARQL backend's answer cannot be read ({media}): {_short(exc)}",
                details={"backend": self.shown},
            ) from None
        raise BackendError(
            f"the SPARQL backend answered an unexpected media type {media[:80] or '(none)'}",
            details={"backend": self.shown},
        )
