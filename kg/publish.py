"""``dipkg publish --to URL``: load the built graph into any store that speaks the
SPARQL 1.1 Graph Store HTTP Protocol.

Each graph goes in ONE ``PUT {url}?graph={iri}`` request (the protocol's
"replace this graph"), streamed from the release's files: the data into the
project's named graph (default ``{base}graph/data``), the catalogue record into
``{base}graph/catalog`` (:mod:`dipkg.core.publish_plan`, which remote mode reads too).

All or nothing: before writing, the target's current content of every graph
about to be replaced is read (``GET``) into a temporary file; if a later PUT
fails, the graphs already replaced are put back (or deleted, if they did not
exist), so the target ends with the previous release, not new data beside an
old catalogue. The error line says what the target holds, graph by graph.
(A reader querying during the moment between two PUTs, or during a
rollback, can still see the new data with the old catalogue: the Graph Store
Protocol has no multi-graph transaction.) With ``update`` (the store's SPARQL
Update endpoint) there is no such moment: every graph is PUT under a fresh
staging name, then ONE update request moves them all into place. A run whose
update cannot be sent (a wrong or dead ``update``) cannot drop its staging
graphs either: the next run finds them by name, with one bounded query to the
store's query endpoint (``query``), and its switch request drops them too (only
names ``{graph}-staging-{24 hex digits}``, or the 12 of older runs, of the graphs it
publishes, dated a day or more ago).

Bounded: one deadline (``publish_timeout``, default 600 s) covers the whole
upload, whatever the target does (a target that drips its answer cannot renew
it); a rollback then gets at most ``min(timeout, 120 s)`` more.

Credentials: ``--user`` with ``--password-file`` / ``DIPKG_PUBLISH_PASSWORD_FILE``
(or ``DIPKG_PUBLISH_PASSWORD``), or ``user:password@`` in the URL (visible in
``ps``). No message ever shows the password or the target's response body
(only its status code and reason).

Why one module of ~570 lines: one protocol exchange (stage, PUT, MOVE, roll back)
whose failure paths must each say what the target now holds; split, they drift.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import email.utils
import json
import re
import secrets
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from dipkg.core.credentials import (
    NOT_HTTP,
    Credentials,
    http_url_problem,
    resolve,
    scrub,
    without_userinfo,
)
from dipkg.core.credentials import redact as redact  # re-exported: the one redaction helper
from dipkg.core.errors import DipkgError
from dipkg.core.publish_plan import Upload, plan
from dipkg.core.release import Release

_CHUNK = 1 << 16
#: a rollback after a failure gets at most this much more time
ROLLBACK_SECONDS = 120.0
#: the kept copy of a graph may be at most this many times the new one, plus the slack
BACKUP_FACTOR = 16
BACKUP_SLACK = 64 * 1024 * 1024
#: a staging graph is named ``{graph}-staging-{token}``, the token this many bytes in hex:
#: the run's start in Unix seconds (4 bytes), then 8 random ones (:func:`staging_token`;
#: two runs started in the same second collide at 2**-64)
TOKEN_BYTES = 12
#: the length of the tokens of older dipkgs (random, then time and 2 random bytes), still
#: recognised as staging graphs to drop
OLD_TOKEN_BYTES = 6
#: a staging graph whose token says it was made less than this long ago (or later) may be
#: a run still under way: never dropped as stale. Virtuoso keeps no empty graphs, so the
#: other run's ``MOVE`` from a dropped staging graph would empty its target
STALE_AFTER = 24 * 3600
#: staging graphs left by earlier runs: at most this many found (and dropped) per run,
#: from an answer of at most this many bytes
STALE_LIMIT = 1000
STALE_BYTES = 4 * 1024 * 1024


class PublishError(DipkgError):
    code = "publish"
    status = 502


def check_target(url: str, option: str = "--to") -> None:
    """Raise :class:`PublishError` unless ``url`` is a usable http(s) URL (before anything is
    sent)."""
    shown = redact(url)
    problem = http_url_problem(url)
    if problem == NOT_HTTP:
        what = {
            "--to": "a Graph Store Protocol endpoint",
            "--query": "a SPARQL query endpoint",
        }.get(option, "a SPARQL Update endpoint")
        raise PublishError(f"{option} must be an http(s) URL of {what}, not {shown!r}")
    if problem is not None:
        raise PublishError(f"{option} {shown!r} {problem}")
    try:
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL) as exc:
        raise PublishError(
            f"{option} {shown!r} is not a valid URL: {scrub(str(exc))[:120]}"
        ) from None


def query_endpoint(update: str) -> str:
    """The default ``--query`` for an ``--update`` URL: its last path segment ``update`` made
    ``query`` (Oxigraph's /update, Fuseki's /ds/update, Stardog's /db/update), else the
    ``--update`` URL itself (Virtuoso's /sparql answers both)."""
    parts = urlsplit(update)
    head, slash, last = parts.path.rpartition("/")
    if slash and last == "update":
        return urlunsplit(parts._replace(path=f"{head}/query"))
    return update


class _FileBody:
    """A request body read from a file in chunks; re-iterable, so an authentication
    round trip (401, then the same request with credentials) can send it again."""

    def __init__(self, path: Path, progress: Callable[[int], None]) -> None:
        self.path = path
        self.progress = progress

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with self.path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                self.progress(len(chunk))
                yield chunk


@dataclass
class _Graph:
    upload: Upload
    backup: Path | None = None  # the target's previous content (None: the graph did not exist)
    backup_type: str = "application/n-triples"
    state: str = "old"  # old | new | unknown | restored
    status: int = 0


@dataclass
class _Run:
    url: str
    shown: str
    credentials: Credentials | None
    graphs: list[_Graph] = field(default_factory=list)
    update: str | None = None  # a SPARQL Update endpoint: stage, then switch in one request
    query: str | None = None  # its query endpoint: where earlier runs' staging graphs are found
    notices: list[str] = field(default_factory=list)  # for the operator, after a success
    #: how far the query endpoint's clock (its ``Date`` header) is behind this one's, in
    #: seconds (0 when it is not, or says nothing): staging graphs are dated by both
    behind: float = 0.0

    def reason(self, response: httpx.Response) -> str:
        phrase = "".join(c for c in response.reason_phrase if c.isprintable())[:80]
        return scrub(f"HTTP {response.status_code} {phrase}".strip(), self.credentials)

    def transport(self, exc: Exception) -> str:
        return type(exc).__name__


def _states(graphs: list[_Graph]) -> str:
    words = {
        "old": "its previous content",
        "restored": "its previous content (restored)",
        "new": "the NEW content",
        "unknown": "an UNKNOWN state (the request's outcome is not known)",
    }

    def word(g: _Graph) -> str:
        if g.state == "restored" and g.backup is None:
            return "its previous content (none: removed again)"
        return words[g.state]

    return "; ".join(f"<{g.upload.graph}> holds {word(g)}" for g in graphs)


async def _backup(client: httpx.AsyncClient, run: _Run, g: _Graph, folder: Path) -> None:
    """Keep the target's current content of ``g`` (streamed to a file)."""
    headers = {"Accept": "application/n-triples, text/turtle;q=0.5"}
    try:
        async with client.stream(
            "GET", run.url, params={"graph": g.upload.graph}, headers=headers
        ) as response:
            if response.status_code == 404:
                g.backup = None
                return
            if response.status_code != 200:
                raise PublishError(
                    f"cannot read the current graph <{g.upload.graph}> from {run.shown} "
                    "to keep it for a "
                    f"rollback: {run.reason(response)}; nothing was written"
                )
            g.backup = folder / f"graph-{run.graphs.index(g)}"
            g.backup_type = (response.headers.get("content-type") or "application/n-triples").split(
                ";"
            )[0]
            # bounded, so an endless answer cannot fill the disk before the deadline
            limit = BACKUP_FACTOR * g.upload.path.stat().st_size + BACKUP_SLACK
            size = 0
            with g.backup.open("wb") as out:
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > limit:
                        raise PublishError(
                            f"the current graph <{g.upload.graph}> on {run.shown} "
                            f"is larger than {limit} bytes "
                            f"({BACKUP_FACTOR}× the new one); "
                            "it was not kept for a rollback and nothing was written"
                        )
                    out.write(chunk)
    except httpx.HTTPError as exc:
        raise PublishError(
            f"could not reach {run.shown}: {run.transport(exc)}; nothing was written"
        ) from None


#: of an answer to a PUT, DELETE or update, at most this much is read (only its status is used)
ANSWER_BYTES = 64 * 1024


async def _send(client: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One request whose answer body is read only up to ANSWER_BYTES, then dropped: a target
    answering with an endless body costs neither memory nor, past the deadline, time."""
    async with client.stream(method, url, **kwargs) as response:
        size = 0
        async for chunk in response.aiter_raw():
            size += len(chunk)
            if size > ANSWER_BYTES:
                break
    return response


async def _learn_challenge(client: httpx.AsyncClient, run: _Run) -> None:
    """With digest authentication, meet the target's challenge on a request without a body
    before the first upload: the DELETE of ``{graph}-probe-{32 random hex}``, a graph no
    run makes, in no shape the stale-staging lookup or another run's staging could share
    (a staging-shaped name could be a concurrent run's). Virtuoso 7.2's
    /sparql-graph-crud-auth answers an upload's first, unauthenticated attempt with 401
    and closes the connection without reading the body, so the upload broke off mid-body
    (ReadError) unless some earlier request had met the challenge (its anonymous GETs, the
    backups, do not). Its answer is not read: a wrong password shows on the upload
    itself, a dead target on the next request."""
    if not isinstance(client.auth, httpx.DigestAuth):
        return
    name = f"{run.graphs[0].upload.graph}-probe-{secrets.token_hex(16)}"
    with contextlib.suppress(httpx.HTTPError):
        await _send(client, "DELETE", run.url, params={"graph": name})


async def _put(
    client: httpx.AsyncClient,
    run: _Run,
    graph: str,
    path: Path,
    media: str,
    progress: Callable[[int], None],
) -> httpx.Response:
    return await _send(
        client,
        "PUT",
        run.url,
        params={"graph": graph},
        content=_FileBody(path, progress),
        headers={"Content-Type": media, "Content-Length": str(path.stat().st_size)},
    )


async def _rollback(client: httpx.AsyncClient, run: _Run) -> list[str]:
    """Put back every graph not known to be old; the problems met (empty: all restored)."""
    problems = []
    for g in run.graphs:
        if g.state == "old":
            continue
        try:
            if g.backup is None:
                response = await _send(client, "DELETE", run.url, params={"graph": g.upload.graph})
                ok = response.status_code in (200, 202, 204, 404)
            else:
                response = await _put(
                    client, run, g.upload.graph, g.backup, g.backup_type, lambda n: None
                )
                ok = response.status_code in (200, 201, 204)
            if ok:
                g.state = "restored"
            else:
                problems.append(f"<{g.upload.graph}>: {run.reason(response)}")
        except (httpx.HTTPError, OSError) as exc:
            problems.append(f"<{g.upload.graph}>: {run.transport(exc)}")
    return problems


async def _update(client: httpx.AsyncClient, run: _Run, text: str) -> httpx.Response:
    assert run.update is not None
    return await _send(
        client,
        "POST",
        run.update,
        content=text.encode("utf-8"),
        headers={"Content-Type": "application/sparql-update"},
    )


async def _drop_staging(client: httpx.AsyncClient, run: _Run, staging: list[str]) -> str:
    """Remove the staging graphs (best effort, bounded); '' or what went wrong. None sent
    (the target never took a connection): nothing to remove, nothing said."""
    if not staging:
        return ""
    try:
        async with asyncio.timeout(30):
            response = await _update(
                client, run, " ;\n".join(f"DROP SILENT GRAPH <{g}>" for g in staging)
            )
        if response.status_code in (200, 204):
            return ""
        return (
            f"; the staging graphs could not be removed ({run.reason(response)}): "
            + ", ".join(f"<{g}>" for g in staging)
            + LATER
        )
    except (TimeoutError, httpx.HTTPError) as exc:
        return (
            f"; the staging graphs could not be removed ({type(exc).__name__}): "
            + ", ".join(f"<{g}>" for g in staging)
            + LATER
        )


#: how staging graphs left behind go away (said wherever some may be)
LATER = " (a successful `dipkg publish --update` to this target a day or more later drops them)"


def _literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


async def _graph_rows(client: httpx.AsyncClient, run: _Run, text: str) -> tuple[list[dict], str]:
    """The rows of one bounded SELECT to ``run.query`` (30 s, STALE_BYTES), and the problem
    met ("" when none; then no rows)."""
    assert run.query is not None
    problem = ""
    answer = bytearray()
    try:
        async with asyncio.timeout(30):
            async with client.stream(
                "POST",
                run.query,
                data={"query": text},
                headers={"Accept": "application/sparql-results+json"},
            ) as response:
                run.behind = max(run.behind, _behind(response.headers.get("date")))
                if response.status_code != 200:
                    problem = run.reason(response)
                else:
                    async for chunk in response.aiter_bytes():
                        answer += chunk
                        if len(answer) > STALE_BYTES:
                            problem = f"an answer over {STALE_BYTES} bytes"
                            break
        rows = [] if problem else json.loads(answer)["results"]["bindings"]
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise TypeError
        return rows, problem
    except (TimeoutError, httpx.HTTPError) as exc:
        return [], type(exc).__name__
    except (ValueError, KeyError, TypeError):  # (json's errors are ValueErrors)
        return [], "not SPARQL JSON results"


async def _stale_staging(client: httpx.AsyncClient, run: _Run) -> list[str]:
    """The staging graphs of this release's graphs that earlier runs left on the target
    (bounded queries to ``run.query``). Only exact ``{graph}-staging-{token}`` names count;
    when the query fails, none (and a warning for the operator).

    ``GRAPH ?g {}`` lists the named graphs without reading them (Oxigraph, Fuseki);
    Virtuoso 7.2 answers it with one row and ``?g`` unbound, which the first query asks
    for too (``!BOUND(?g)``: never true where ``?g`` is bound, as the spec has it). Then
    the second reads ``GRAPH ?g { ?s ?p ?o }``, which Virtuoso answers from its graph
    index, under the same bounds."""
    assert run.query is not None
    prefixes = [f"{g.upload.graph}-staging-" for g in run.graphs]
    token = f"(?:[0-9a-f]{{{2 * TOKEN_BYTES}}}|[0-9a-f]{{{2 * OLD_TOKEN_BYTES}}})"
    shape = re.compile("|".join(re.escape(p) + token for p in prefixes))
    found = " || ".join(f"STRSTARTS(STR(?g), {_literal(p)})" for p in prefixes)
    listed = f"GRAPH ?g {{}} FILTER(!BOUND(?g) || {found})"
    rows, problem = await _graph_rows(
        client, run, f"SELECT DISTINCT ?g WHERE {{ {listed} }} LIMIT {STALE_LIMIT}"
    )
    if not problem and any("g" not in row for row in rows):
        read = f"GRAPH ?g {{ ?s ?p ?o }} FILTER({found})"
        rows, problem = await _graph_rows(
            client, run, f"SELECT DISTINCT ?g WHERE {{ {read} }} LIMIT {STALE_LIMIT}"
        )
    names = [
        row["g"].get("value")
        for row in rows
        if isinstance(row.get("g"), dict) and row["g"].get("type") == "uri"
    ]
    if problem:
        run.notices.append(
            "warning: could not look for staging graphs left by an earlier failed publish "
            f"({redact(run.query)}: {problem}); none removed; --query names the store's "
            "SPARQL query endpoint"
        )
    # by this machine's clock or the store's, whichever is behind: a clock set days ahead
    # here would make a run under way look stale
    now = time.time() - run.behind
    return sorted(
        {n for n in names if isinstance(n, str) and shape.fullmatch(n) and _old_enough(n, now)}
    )


def _behind(date: str | None) -> float:
    """How many seconds the HTTP ``Date`` header ``date`` is behind this machine's clock
    (0 when it is not behind, or is missing or unreadable)."""
    if not date:
        return 0.0
    try:
        when = email.utils.parsedate_to_datetime(date)
        if when.tzinfo is None:  # "-0000": UTC, said to be from a clock of unknown zone
            when = when.replace(tzinfo=datetime.UTC)
        sent = when.timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return 0.0
    return max(0.0, time.time() - sent)


def staging_token(now: float | None = None) -> str:
    """A fresh staging token: the time in Unix seconds (8 hex digits), then 16 random ones."""
    seconds = int(time.time() if now is None else now) & 0xFFFFFFFF
    return f"{seconds:08x}{secrets.token_hex(TOKEN_BYTES - 4)}"


def _old_enough(name: str, now: float) -> bool:
    """Whether a staging graph's token dates it :data:`STALE_AFTER` or more ago (a token of
    a dipkg before tokens held the time is random: a time to come or recent one is kept)."""
    made = int(name.rsplit("-staging-", 1)[1][:8], 16)
    return made <= now - STALE_AFTER


async def _publish_staged(
    client: httpx.AsyncClient,
    run: _Run,
    timeout: float,
    progress: Callable[[Upload, int], None] | None,
) -> list[tuple[Upload, int]]:
    """PUT every graph under a fresh staging name, then replace all of them with ONE SPARQL
    Update request (``MOVE <staging> TO <graph> ; ...``): a store that applies an update
    request as one transaction (Oxigraph does) never shows readers a mix."""
    token = staging_token()
    staging = [f"{g.upload.graph}-staging-{token}" for g in run.graphs]
    untouched = "the target's graphs were not touched: " + ", ".join(
        f"<{g.upload.graph}>" for g in run.graphs
    )
    statuses = []
    sent: list[str] = []  # the staging graphs the target may hold (a PUT that reached it)
    stale: list[str] = []  # staging graphs of earlier runs, dropped by the switch
    try:
        async with asyncio.timeout(timeout):
            await _learn_challenge(client, run)
            if run.query:
                stale = await _stale_staging(client, run)
            for g, name in zip(run.graphs, staging, strict=True):
                report = (lambda n, u=g.upload: progress(u, n)) if progress else (lambda n: None)
                sent.append(name)
                try:
                    response = await _put(
                        client, run, name, g.upload.path, g.upload.media_type, report
                    )
                except httpx.HTTPError as exc:
                    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
                        sent.remove(name)  # no connection: the target saw nothing of it
                    raise PublishError(
                        f"could not send graph <{g.upload.graph}> to {run.shown}: "
                        f"{run.transport(exc)}; {untouched}"
                        + await _drop_staging(client, run, sent)
                    ) from None
                if response.status_code not in (200, 201, 204):
                    raise PublishError(
                        f"{run.shown} refused graph <{g.upload.graph}> (staged as <{name}>): "
                        f"{run.reason(response)}; {untouched}"
                        + await _drop_staging(client, run, sent)
                    )
                statuses.append(response.status_code)
    except TimeoutError:
        raise PublishError(
            f"stopped after the time limit of {timeout:g} s (--timeout, DIPKG_PUBLISH_TIMEOUT); "
            f"{untouched}" + await _drop_staging(client, run, sent)
        ) from None
    switch = " ;\n".join(
        [
            f"MOVE <{name}> TO <{g.upload.graph}>"
            for g, name in zip(run.graphs, staging, strict=True)
        ]
        + [f"DROP SILENT GRAPH <{name}>" for name in stale]
    )
    shown = redact(run.update or "")
    try:
        async with asyncio.timeout(min(timeout, ROLLBACK_SECONDS)):
            response = await _update(client, run, switch)
    except (TimeoutError, httpx.HTTPError) as exc:
        raise PublishError(
            f"the switch to the new graphs ({shown}) did not answer: {type(exc).__name__}; the "
            "target holds either all new or all previous graphs (one update request), and maybe "
            "the staging graphs " + ", ".join(f"<{n}>" for n in staging) + LATER
        ) from None
    if response.status_code not in (200, 204):
        raise PublishError(
            f"{shown} refused the switch to the new graphs: {run.reason(response)}; {untouched}"
            + await _drop_staging(client, run, staging)
        )
    if stale:
        shown_stale = ", ".join(f"<{n}>" for n in stale[:10])
        more = f" and {len(stale) - 10} more" if len(stale) > 10 else ""
        run.notices.append(
            f"removed {len(stale)} staging graph(s) left by an earlier failed publish: "
            f"{shown_stale}{more}"
        )
    return [(g.upload, status) for g, status in zip(run.graphs, statuses, strict=True)]


async def _publish(
    run: _Run, timeout: float, auth: str, progress: Callable[[Upload, int], None] | None
) -> list[tuple[Upload, int]]:
    credentials: httpx.Auth | None = None
    if run.credentials is not None:
        c = run.credentials
        credentials = (
            httpx.DigestAuth(c.user, c.password)
            if auth == "digest"
            else httpx.BasicAuth(c.user, c.password)
        )
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dipkg-publish-")))
        async with httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 30.0)),
            follow_redirects=False,
            auth=credentials,
            trust_env=False,
        ) as client:
            if run.update:
                return await _publish_staged(client, run, timeout, progress)
            failure = ""
            in_flight: _Graph | None = None
            try:
                async with asyncio.timeout(timeout):
                    await _learn_challenge(client, run)
                    for g in run.graphs:  # 1. keep what the target holds now
                        await _backup(client, run, g, folder)
                    for g in run.graphs:  # 2. replace each graph
                        report = (
                            (lambda n, u=g.upload: progress(u, n)) if progress else (lambda n: None)
                        )
                        in_flight = g
                        try:
                            response = await _put(
                                client,
                                run,
                                g.upload.graph,
                                g.upload.path,
                                g.upload.media_type,
                                report,
                            )
                        except httpx.HTTPError as exc:
                            g.state = "unknown"  # it may have been applied
                            failure = (
                                f"could not send graph <{g.upload.graph}> to {run.shown}: "
                                f"{run.transport(exc)}"
                            )
                            break
                        in_flight = None
                        if response.status_code not in (200, 201, 204):
                            failure = (
                                f"{run.shown} refused graph <{g.upload.graph}>: "
                                f"{run.reason(response)}"
                            )
                            break
                        g.state, g.status = "new", response.status_code
                        in_flight = None
            except TimeoutError:
                if in_flight is not None:
                    in_flight.state = "unknown"  # the PUT under way may have been applied
                failure = (
                    f"stopped after the time limit of {timeout:g} s "
                    "(--timeout, DIPKG_PUBLISH_TIMEOUT)"
                )
            if not failure:
                return [(g.upload, g.status) for g in run.graphs]
            touched = [g for g in run.graphs if g.state != "old"]
            if not touched:
                raise PublishError(f"{failure}; nothing was written: {_states(run.graphs)}")
            try:
                async with asyncio.timeout(min(timeout, ROLLBACK_SECONDS)):
                    problems = await _rollback(client, run)
            except TimeoutError:
                problems = [f"stopped after {min(timeout, ROLLBACK_SECONDS):g} s"]
            if not problems:
                raise PublishError(
                    f"{failure}; rolled back, the target holds the previous release: "
                    f"{_states(run.graphs)}"
                )
            raise PublishError(
                f"{failure}; rollback FAILED ({', '.join(problems)}): {_states(run.graphs)}; "
                "run `dipkg publish` again"
            )
    raise AssertionError("unreachable")


def publish(
    release: Release,
    url: str,
    *,
    graph: str | None = None,
    timeout: float = 600.0,
    auth: str = "basic",
    user: str | None = None,
    password: str | None = None,
    password_file: Path | None = None,
    update: str | None = None,
    query: str | None = None,
    progress: Callable[[Upload, int], None] | None = None,
    notice: Callable[[str], None] | None = None,
) -> list[tuple[Upload, int]]:
    """PUT each graph, all or nothing; return (upload, HTTP status) pairs; raise
    :class:`PublishError` (one line naming each graph's state on the target) on failure.

    Credentials: ``user`` / ``password`` / ``password_file``, or in the URL
    (``http://user:password@host/...``); sent as HTTP basic or, with ``auth="digest"``,
    digest authentication (Virtuoso's /sparql-graph-crud-auth wants digest).

    With ``update``, ``query`` (default :func:`query_endpoint`) is where staging graphs that
    earlier failed runs left are looked for; ``notice`` gets, after a success, the lines
    saying what was removed (or, starting ``warning:``, that they could not be looked for).
    """
    check_target(url)
    if query and not update:
        raise PublishError("--query is used only with --update (to find stale staging graphs)")
    if update:
        check_target(update, "--update")
        query = query or query_endpoint(update)
        check_target(query, "--query")
    if auth not in ("basic", "digest"):
        raise PublishError(f"--auth must be basic or digest, not {auth!r}")
    clean, credentials = resolve(
        url, user=user, password=password, password_file=password_file, setting="--password-file"
    )
    run = _Run(
        url=clean,
        shown=redact(clean),
        credentials=credentials,
        graphs=[_Graph(u) for u in plan(release, graph)],
        update=without_userinfo(update) if update else None,
        query=without_userinfo(query) if query else None,
    )
    done = asyncio.run(_publish(run, timeout, auth, progress))
    if notice:
        for line in run.notices:
            notice(line)
    return done
