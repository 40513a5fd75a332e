"""The one way to talk to the backend: :class:`BackendClient` bounds every exchange (bytes,
time, number in flight) and remembers how the recent ones went (``/health``)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
import pyoxigraph as ox

from dipkg.core.credentials import Credentials, redact
from sparql_api.errors import QueryError
from sparql_api.remote.answers import (
    ACCEPT_TABLE,
    GRAPH_PARSERS,
    Answer,
    _media,
    _parse_results,
    _raise_for_status,
    _short,
    _transport_error,
)
from sparql_api.remote.dialect import Graphs
from sparql_api.remote.errors import (
    BackendBusy,
    BackendError,
    BackendTimeout,
    BackendUnavailable,
)

FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


def _form(pairs: Iterable[tuple[str, str]]) -> bytes:
    """A form body (repeated names allowed: default-graph-uri, named-graph-uri)."""
    return urlencode(list(pairs)).encode("ascii")


#: an error answer (status >= 400) is read up to this much: its message is all that is used
ERROR_BYTES = 64 * 1024
#: /health's probe: its own short deadline and cap, no slot (it must answer while queries wait)
PROBE_TIMEOUT = 5.0
#: a failure this recent (and newer than the last success) makes /health say the backend is not ok
RECENT_SECONDS = 60.0


@dataclass
class BackendState:
    """What the recent real exchanges said (``/health`` reports it)."""

    last_ok: float | None = None
    last_failure: tuple[float, str, str] | None = None  # (monotonic time, kind, message)
    failures: dict[str, int] = field(default_factory=dict)

    def record(self, ok: bool, kind: str = "", message: str = "") -> None:
        if ok:
            self.last_ok = time.monotonic()
        else:
            self.last_failure = (time.monotonic(), kind, message[:200])
            self.failures[kind] = self.failures.get(kind, 0) + 1

    def failing(self) -> tuple[str, str] | None:
        """(kind, message) of a failure newer than the last success, within RECENT_SECONDS."""
        if self.last_failure is None:
            return None
        at, kind, message = self.last_failure
        if time.monotonic() - at > RECENT_SECONDS or (
            self.last_ok is not None and self.last_ok > at
        ):
            return None
        return kind, message


class BackendClient:
    """Every exchange with the backend goes through :meth:`exchange`, which bounds it:

    * **bytes**: the answer is read as a stream with a running count and cut at
      ``max_bytes`` (an error answer at 64 KiB); compressed answers are refused
      (``Accept-Encoding: identity`` is sent), so the count is the real size;
    * **time**: one deadline for the whole exchange (waiting for a slot, connecting,
      sending, every read) - not a per-read timeout a dripping backend can renew;
    * **number**: at most ``slots`` exchanges in flight (queries and page lookups
      share them), so a slow backend holds at most that many connections;

    and records the outcome (:class:`BackendState`) for ``/health``. Page lookups run in
    worker threads and reach it with :meth:`exchange_sync` (on the app's event loop).

    An exchange cancelled before the backend's answer began (its deadline, or the client
    gone) **retires the connection pool** it used: httpcore 1.0.9 can keep, for ever, a
    connection whose request was cancelled before it was sent (encode/httpcore#1093: one
    assigned while the request waited for it; here also one connected and left NEW, with
    no request), and once ``slots + 2`` of those hold the pool every later exchange waits
    for a connection that never frees - a backend that was slow once would stay
    unreachable. New exchanges get a fresh pool; the retired one is closed (its sockets
    with it) when its last exchange ends. The price: a retired pool's idle keep-alive
    connections go with it, so after a timeout the next exchanges connect anew.
    """

    def __init__(
        self,
        url: str,
        credentials: Credentials | None,
        *,
        slots: int,
        timeout: float,
        max_bytes: int,
    ) -> None:
        self.url = url
        self.shown = redact(url)  # what messages and /health show: no credentials, no query string
        self.credentials = credentials
        self.slots = slots
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.state = BackendState()
        self.in_flight = 0
        self.waiting = 0
        self.server = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: asyncio.Semaphore | None = None
        self._client: httpx.AsyncClient | None = None
        #: exchanges in flight on each shared pool (the current one, and retired ones)
        self._users: dict[httpx.AsyncClient, int] = {}
        self._closing: set[asyncio.Task[None]] = set()  # retired pools being closed
        self._ssl: Any = None  # one TLS context for every pool (29 ms to make each time)
        self._probe: tuple[float, dict[str, Any]] | None = None
        self._probing: asyncio.Future[dict[str, Any]] | None = None

    def new_client(self) -> httpx.AsyncClient:
        auth = (
            httpx.BasicAuth(self.credentials.user, self.credentials.password)
            if self.credentials
            else None
        )
        if self._ssl is None:
            self._ssl = httpx.create_ssl_context(trust_env=False)
        return httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout + 5, connect=5.0),
            limits=httpx.Limits(max_connections=self.slots + 2),
            follow_redirects=False,
            trust_env=False,
            auth=auth,
            verify=self._ssl,
        )

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._slots = asyncio.Semaphore(self.slots)
        self._client = self.new_client()

    async def stop(self) -> None:
        # first: no exchange starts on, or retires to, a pool from here on
        current, self._client = self._client, None
        pools = [current, *self._users] if current is not None else list(self._users)
        for pool in pools:
            if not pool.is_closed:
                await pool.aclose()
        while self._closing:  # (closings started while the others closed)
            await asyncio.gather(*self._closing, return_exceptions=True)
        self._loop = None
        self._users.clear()

    def _retire(self, client: httpx.AsyncClient) -> None:
        """New exchanges get a fresh pool; ``client`` closes when its last one ends. (Not
        once stopped: the stopped client has no pool to replace.)"""
        if client is self._client and client is not None:
            self._client = self.new_client()

    def _let_go(self, client: httpx.AsyncClient) -> None:
        """An exchange on the shared pool ``client`` ended: close it if it is retired and idle."""
        left = self._users.get(client, 0) - 1
        if left > 0:
            self._users[client] = left
            return
        self._users.pop(client, None)
        if client is not self._client and not client.is_closed:  # (after stop: closed)
            task = asyncio.ensure_future(client.aclose())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    @contextlib.contextmanager
    def _using(self, client: httpx.AsyncClient, shared: bool) -> Iterator[None]:
        """An exchange's hold on the shared pool ``client`` while it runs (see
        :meth:`_let_go`); none on a private one."""
        if not shared:
            yield
            return
        self._users[client] = self._users.get(client, 0) + 1
        try:
            yield
        finally:
            self._let_go(client)

    async def exchange(
        self,
        form: list[tuple[str, str]],
        accept: str,
        *,
        timeout: float | None = None,
        line_cap: int | None = None,
        max_bytes: int | None = None,
        slot: bool = True,
        record: bool = True,
        client: httpx.AsyncClient | None = None,
    ) -> Answer:
        """POST ``form``; the answer (checked: errors raise). Raises :class:`BackendTimeout`
        at the deadline, :class:`BackendBusy` if no slot freed up before it."""
        limit = timeout or self.timeout
        shared = client is None
        client = client or self._client
        if client is None:
            raise BackendUnavailable(
                "the SPARQL backend client is not started", details={"backend": self.shown}
            )
        with self._using(client, shared):
            waited = False
            try:
                async with asyncio.timeout(limit):
                    if slot and self._slots is not None:
                        self.waiting += 1
                        waited = True
                        try:
                            await self._slots.acquire()
                        finally:
                            self.waiting -= 1
                        waited = False
                    self.in_flight += 1
                    try:
                        answer = await self._read(
                            client, form, accept, line_cap, max_bytes or self.max_bytes, shared
                        )
                    finally:
                        self.in_flight -= 1
                        if slot and self._slots is not None:
                            self._slots.release()
            except TimeoutError:
                if waited:
                    err: QueryError = BackendBusy(
                        f"all {self.slots} connections to the SPARQL backend "
                        f"stayed busy for {limit:g} s",
                        details={"backend": self.shown, "limit_seconds": limit},
                    )
                else:
                    err = BackendTimeout(
                        f"the SPARQL backend did not finish its answer within {limit:g} s",
                        details={"backend": self.shown, "limit_seconds": limit},
                    )
                if record:
                    self.state.record(False, err.code, err.message)
                raise err from None
            except httpx.HTTPError as exc:
                err = _transport_error(self.shown, exc)
                if record:
                    self.state.record(False, err.code, err.message)
                raise err from None
            try:
                # (tokenized for an undeclared prefix's place: only when it may be one)
                query = (
                    next((v for k, v in form if k == "query"), "") if answer.status == 400 else ""
                )
                _raise_for_status(self.shown, answer, self.credentials, query)
                if answer.status >= 300:
                    raise BackendError(
                        f"the SPARQL backend answered HTTP {answer.status}",
                        details={"backend": self.shown, "status": answer.status},
                    )
            except (BackendError, BackendUnavailable) as exc:
                if record:
                    self.state.record(False, exc.code, exc.message)
                raise
            except QueryError:  # the query's fault (400, its time limit): the backend works
                if record:
                    self.state.record(True)
                raise
            if record:
                self.state.record(True)
            return answer

    async def _read(
        self,
        client: httpx.AsyncClient,
        form: list[tuple[str, str]],
        accept: str,
        line_cap: int | None,
        cap: int,
        shared: bool = False,
    ) -> Answer:
        headers = {**FORM_HEADERS, "Accept": accept, "Accept-Encoding": "identity"}
        begun = False
        try:
            async with client.stream(
                "POST", self.url, content=_form(form), headers=headers
            ) as response:
                begun = True
                media = _media(response.headers.get("content-type"))
                encoding = response.headers.get("content-encoding", "identity").strip().lower()
                if encoding not in ("", "identity"):
                    raise BackendError(
                        f"the SPARQL backend sent a compressed answer ({encoding[:40]}) "
                        "although it was asked for none",
                        details={"backend": self.shown},
                    )
                if response.status_code >= 400:
                    cap = min(cap, ERROR_BYTES)
                line_cut = (
                    line_cap is not None
                    and response.status_code < 400
                    and GRAPH_PARSERS.get(media) == ox.RdfFormat.N_TRIPLES
                )
                chunks: list[bytes] = []
                size = lines = 0
                complete = True
                async for chunk in response.aiter_raw():
                    chunks.append(chunk)
                    size += len(chunk)
                    if line_cut:
                        lines += chunk.count(b"\n")
                        if lines > line_cap:  # type: ignore[operator]
                            complete = False
                            break
                    if size > cap:
                        complete = False
                        break
                body = b"".join(chunks)
                del chunks
                if not complete:
                    body = body[: body.rfind(b"\n") + 1] if line_cut else body[:cap]
                return Answer(response.status_code, media, response.headers, body, complete)
        except asyncio.CancelledError:
            if shared and not begun:  # before the answer began: the pool may keep a dead slot
                self._retire(client)
            raise

    def exchange_sync(self, form: list[tuple[str, str]], accept: str, **kwargs: Any) -> Answer:
        """:meth:`exchange` from a worker thread (the pages), run on the app's event loop so
        the deadline, the byte cap and the slots hold; before the app runs (start-up), on a
        private loop and client."""
        loop = self._loop
        if loop is not None and loop.is_running():
            try:
                asyncio.get_running_loop()
                on_a_loop = True
            except RuntimeError:
                on_a_loop = False
            if not on_a_loop:
                future = asyncio.run_coroutine_threadsafe(
                    self.exchange(form, accept, **kwargs), loop
                )
                limit = (kwargs.get("timeout") or self.timeout) + 10
                try:
                    return future.result(timeout=limit)
                except concurrent.futures.TimeoutError:
                    future.cancel()
                    raise BackendTimeout(
                        f"the SPARQL backend did not answer within {limit:g} s",
                        details={"backend": self.shown},
                    ) from None

        async def private() -> Answer:
            async with self.new_client() as client:
                return await self.exchange(form, accept, client=client, slot=False, **kwargs)

        return asyncio.run(private())

    async def probe(self) -> dict[str, Any]:
        """Ask the backend ``ASK {}`` and combine it with what the recent real exchanges said:
        ``ok`` only if both are fine. Concurrent callers share one probe in flight."""
        if self._probing is None or self._probing.done():
            self._probing = asyncio.ensure_future(self._probe_now())
        result = await asyncio.shield(self._probing)
        return {**result, **self._recent()}

    async def _probe_now(self) -> dict[str, Any]:
        now = time.monotonic()
        status: Any
        try:
            answer = await self.exchange(
                [("query", "ASK {}")],
                ACCEPT_TABLE,
                timeout=PROBE_TIMEOUT,
                max_bytes=ERROR_BYTES,
                slot=False,
                record=False,
            )
            self.server = answer.headers.get("server", "")[:200]
            status = answer.status
            reachable = answer.status == 200
            if (
                reachable
                and self.state.failing()
                and self.state.failing()[0] == BackendUnavailable.code
            ):
                self.state.record(
                    True
                )  # it answers again: "unreachable" is over (not so a slow answer)
        except QueryError as exc:
            reachable, status = False, exc.code
        result = {
            "url": self.shown,
            "reachable": reachable,
            "status": status,
            "server": self.server or None,
            "latency_ms": round((time.monotonic() - now) * 1000, 1),
        }
        self._probe = (time.monotonic(), result)
        return result

    def _recent(self) -> dict[str, Any]:
        failing = self.state.failing()
        out: dict[str, Any] = {
            "in_flight": self.in_flight,
            "waiting": self.waiting,
            "slots": self.slots,
            "recent_failures": dict(self.state.failures),
        }
        if self.state.last_ok is not None:
            out["last_ok_seconds_ago"] = round(time.monotonic() - self.state.last_ok, 1)
        if failing is not None:
            out["failing"] = {"error": failing[0], "message": failing[1]}
        return out

    def healthy(self) -> bool:
        return bool(self._probe and self._probe[1]["reachable"]) and self.state.failing() is None


def check_backend(client: BackendClient, graphs: Graphs, timeout: float = 10.0) -> str:
    """Raise :class:`BackendUnavailable`/:class:`BackendError` unless the backend answers a
    SPARQL query and holds the data graph; return its ``Server`` header."""
    url = client.shown
    answer = client.exchange_sync(
        [("query", f"ASK {{ GRAPH <{graphs.data}> {{ ?s ?p ?o }} }}")],
        ACCEPT_TABLE,
        timeout=timeout,
        max_bytes=ERROR_BYTES,
        record=False,
    )
    try:
        result = _parse_results(answer.body, answer.media)
    except (KeyError, SyntaxError, ValueError) as exc:
        raise BackendError(f"{url} does not answer like a SPARQL endpoint: {_short(exc)}") from None
    if not (isinstance(result, ox.QueryBoolean) and bool(result)):
        raise BackendError(
            f"{url} holds no graph <{graphs.data}>: run `dipkg publish --to <its store URL>` first"
        )
    return answer.headers.get("server", "")
