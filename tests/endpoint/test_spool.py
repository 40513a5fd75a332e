"""Large results through spool files (sparql_api/spool.py): the same bytes as the in-memory
path in every format, the truncation signal, the size limit, no file left behind by a
failed, killed or timed-out query, and the server's memory flat in the result's size."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import gzip
import io
import json
import os
import re
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pyoxigraph as ox
import pytest

from dipkg.core.release import open_release
from sparql_api.errors import QueryTimeout, ResultTooLarge, SpoolFailed, SpoolFull, WorkerDied
from sparql_api.results import Job, Spool, evaluate
from sparql_api.spool import PREFIX, SpoolDir, sweep
from sparql_api.workers import WorkerPool
from tests.endpoint.conftest import Server, serving_in, start_server, stop_server
from tests.reliability.conftest import tree_rss

ALL = "SELECT ?s ?p ?o WHERE { ?s ?p ?o }"  # the real graph: ~10,800 rows
GRAPH = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"
#: every request a new query (a SPARQL comment), so no cache answers it
_n = iter(range(1_000_000))
MEDIA = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "ntriples": "application/n-triples",
    "turtle": "text/turtle",
}


def fresh(query: str) -> str:
    return f"{query}\n# {next(_n)} {time.time()}"


@pytest.fixture(scope="module")
def store(endpoint_data: Path) -> ox.Store:
    return ox.Store.read_only(str(open_release(endpoint_data).store_dir))


@pytest.fixture(scope="module")
def served_store(endpoint_data: Path) -> ox.Store:
    """What a served app's workers evaluate on: the fork server's in-memory copy
    (DIPKG_MEMORY_STORE_MB), made the same way. A capped query without ORDER BY keeps
    the store's own order, which is not the disk's."""
    from sparql_api.zygote import copy_of

    disk = ox.Store.read_only(str(open_release(endpoint_data).store_dir))
    dump = io.BytesIO()
    disk.dump(dump, format=ox.RdfFormat.N_QUADS)
    return copy_of(dump.getvalue())  # preload's copy, without its fork


def job_for(fmt: str, query: str, cap: int, **kw: int) -> Job:
    table = fmt in ("json", "xml", "csv", "tsv")
    return Job(query, fmt if table else None, None if table else fmt, cap, **kw)


def same(fmt: str, a: bytes, b: bytes) -> bool:
    return json.loads(a) == json.loads(b) if fmt == "json" else a == b


# --- the worker's side: sparql_api.results with a spool -------------------------------


@pytest.mark.parametrize("cap", [7, 300])
@pytest.mark.parametrize("fmt", list(MEDIA))
def test_a_spooled_result_is_the_in_memory_one(
    served_store: ox.Store, tmp_path: Path, fmt: str, cap: int
) -> None:
    # (on the in-memory copy: sorting the whole graph read from the disk took ~2 s a query)
    store = served_store
    table = fmt in ("json", "xml", "csv", "tsv")
    query = (ALL + " ORDER BY ?s ?p ?o" if table else GRAPH) + " LIMIT 200"
    memory = evaluate(store, job_for(fmt, query, cap))
    spool = Spool(str(tmp_path / "4242"), threshold=256)
    spooled = evaluate(store, job_for(fmt, query, cap), spool=spool)
    assert spooled.spooled and not memory.spooled and spooled.body == b""
    body = Path(spool.path).read_bytes()
    assert spooled.length == len(body) == len(memory.body)
    assert body == memory.body  # byte for byte, the JSON truncation note included
    assert (
        (spooled.rows, spooled.truncated)
        == (memory.rows, memory.truncated)
        == (
            min(cap, 200),
            cap < 200,
        )
    )
    if fmt == "json" and cap < 200:
        assert json.loads(body)["truncated"] is True
    assert os.listdir(tmp_path) == ["4242"]  # the intermediate TSV is gone
    # under the threshold: in memory, no file
    Path(spool.path).unlink()
    small = evaluate(store, job_for(fmt, query, cap), spool=Spool(spool.path, 1 << 20))
    assert not small.spooled and small.body == memory.body and os.listdir(tmp_path) == []


@pytest.mark.parametrize("fmt", ["json", "csv", "tsv", "ntriples"])
def test_a_result_over_the_limit_stops_and_leaves_no_spool_file(
    store: ox.Store, tmp_path: Path, fmt: str
) -> None:
    query = ALL if fmt != "ntriples" else GRAPH
    spool = Spool(str(tmp_path / "4242"), threshold=1024)
    with pytest.raises(ResultTooLarge):
        evaluate(store, job_for(fmt, query, 100_000, max_bytes=200_000), spool=spool)
    assert os.listdir(tmp_path) == []
    # the same limit without the spool: the same answer (the known-good case beside it)
    with pytest.raises(ResultTooLarge):
        evaluate(store, job_for(fmt, query, 100_000, max_bytes=200_000))
    assert evaluate(store, job_for(fmt, query, 100_000, max_bytes=1 << 26), spool=spool).spooled


def test_a_spool_that_cannot_be_written_is_a_503_not_a_short_body(
    store: ox.Store, tmp_path: Path
) -> None:
    gone = Spool(str(tmp_path / "removed" / "4242"), threshold=256)  # its folder is missing
    with pytest.raises(SpoolFailed) as info:
        evaluate(store, job_for("json", ALL, 100), spool=gone)
    assert info.value.status == 503 and "spool" in info.value.message
    assert str(tmp_path) not in info.value.message  # no path in the message
    small = evaluate(store, job_for("json", "ASK {}", 100), spool=gone)  # under the threshold
    assert not small.spooled and json.loads(small.body)["boolean"] is True


def test_a_stale_spool_folder_is_swept_and_a_live_one_kept(tmp_path: Path) -> None:
    dead = psutil.Popen(["true"])
    dead.wait()
    stale = tmp_path / f"{PREFIX}{dead.pid}-abc"
    live = tmp_path / f"{PREFIX}{os.getpid()}-abc"
    other = tmp_path / "unrelated-1-abc"
    for folder in (stale, live, other):
        folder.mkdir()
        (folder / "123").write_bytes(b"x")
    assert sweep(str(tmp_path)) == [str(stale)]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name])


def test_a_spool_file_of_the_wrong_length_is_never_served(tmp_path: Path) -> None:
    folder = SpoolDir(1024)
    folder.path = str(tmp_path)
    (tmp_path / "77").write_bytes(b"x" * 100)
    with pytest.raises(ValueError, match="100 bytes, not 200"):
        folder.take(77, 200)  # half-written, or not the file announced
    with pytest.raises(ValueError):
        folder.take(78, 10)  # none at all
    (tmp_path / "77").write_bytes(b"x" * 100)
    with folder.take(77, 100) as file:
        assert file.read() == b"x" * 100
    assert os.listdir(tmp_path) == []  # unlinked once open


def test_a_symlink_or_fifo_in_the_spool_folder_is_never_served(tmp_path: Path) -> None:
    # a compromised worker (same uid) points its spool path at a file the server can read
    folder = SpoolDir(1024)
    folder.path = str(tmp_path / "spool")
    os.mkdir(folder.path)
    secret = tmp_path / "secret"
    secret.write_bytes(b"s" * 100)
    os.symlink(secret, os.path.join(folder.path, "77"))
    with pytest.raises(ValueError, match="unreadable"):
        folder.take(77, 100)  # the announced length is the target's: still refused
    assert secret.read_bytes() == b"s" * 100 and os.listdir(folder.path) == []
    os.mkfifo(os.path.join(folder.path, "78"))  # would block the event loop on open
    with pytest.raises(ValueError, match="not a regular file"):
        folder.take(78, 0)
    assert os.listdir(folder.path) == []
    (Path(folder.path) / "79").write_bytes(b"x" * 100)  # the known-good case beside them
    with folder.take(79, 100) as file:
        assert file.read() == b"x" * 100


def test_open_spool_streams_are_held_to_the_budget_until_they_close(tmp_path: Path) -> None:
    folder = SpoolDir(1024, budget=250)
    folder.path = str(tmp_path)
    for pid in (1, 2, 3):
        (tmp_path / str(pid)).write_bytes(b"x" * 100)
    first = folder.take(1, 100)
    second = folder.take(2, 100)
    assert folder.held == 200
    with pytest.raises(SpoolFull) as info:
        folder.take(3, 100)  # 300 > 250
    assert info.value.status == 503 and info.value.code == "spool-full"
    assert "spool budget" in info.value.message
    assert os.listdir(tmp_path) == [] and folder.held == 200  # refused: its file is gone
    first.close()
    first.close()  # twice: given back once
    assert folder.held == 100
    (tmp_path / "3").write_bytes(b"y" * 100)
    with folder.take(3, 100) as third:
        assert third.read() == b"y" * 100 and folder.held == 200
    assert folder.held == 100
    del second  # dropped without a close: the collector gives it back
    gc.collect()
    assert folder.held == 0


# --- the pool: replies that name a file --------------------------------------------------


def _pool(endpoint_data: Path, **kw: object) -> WorkerPool:
    release = open_release(endpoint_data)
    kw.setdefault("size", 1)
    return WorkerPool(release.store_dir, spool_threshold=64 * 1024, **kw)  # type: ignore[arg-type]


def test_the_pool_hands_over_a_spooled_reply_and_keeps_no_file(
    endpoint_data: Path, store: ox.Store
) -> None:
    expected = evaluate(store, Job(ALL, "xml", None, 10_000))

    async def scenario() -> tuple[dict, bytes, list[str], bytes | None, str]:
        pool = _pool(endpoint_data, timeout=30)
        await pool.start()
        try:
            assert pool.spool is not None and pool.spool.path is not None
            folder = pool.spool.path
            reply = await pool.run(Job(ALL, "xml", None, 10_000))
            assert reply.stream is not None and reply.body == b""
            with reply.stream:
                body = reply.stream.read()
            left = pool.spool.files()
            small = await pool.run(Job("ASK {}", "json", None, 10))
            return reply.header, body, left, small.stream, folder
        finally:
            await pool.stop()

    header, body, left, small_stream, folder = asyncio.run(scenario())
    assert body == expected.body and header["length"] == len(body)
    assert header["truncated"] is True and header["rows"] == 10_000
    assert left == []  # unlinked by the parent as soon as it was open
    assert small_stream is None  # under the threshold: through the pipe, as before
    assert not os.path.exists(folder)  # the pool's folder goes with it


def test_a_spooled_reply_over_the_budget_is_refused_and_the_worker_kept(
    endpoint_data: Path,
) -> None:
    async def scenario() -> tuple[dict, list[str], bytes, dict]:
        pool = _pool(endpoint_data, timeout=30, spool_budget=256 * 1024)
        await pool.start()
        try:
            assert pool.spool is not None
            worker = next(iter(pool._workers))
            refused = await pool.run(Job(ALL, "xml", None, 10_000))  # > 1 MiB
            assert refused.stream is None
            left = pool.spool.files()
            fits = await pool.run(Job(ALL + " LIMIT 500", "xml", None, 10_000))  # ~100 KiB
            assert fits.stream is not None and pool.spool.held > 0
            with fits.stream:
                body = fits.stream.read()
            assert pool.spool.held == 0 and worker in pool._workers  # the same worker
            return refused.header, left, body, dict(pool.stats)
        finally:
            await pool.stop()

    header, left, body, stats = asyncio.run(scenario())
    assert header["ok"] is False and header["error"] == "spool-full", header
    assert header["status"] == 503 and left == []
    assert body.startswith(b"<?xml") and stats["deaths"] == 0


def test_a_lent_worker_preempted_while_it_spools_leaves_no_file_and_the_rerun_streams(
    endpoint_data: Path,
) -> None:
    # client "a" runs two large SELECTs (the second on a worker lent beyond its share of
    # one); the lent one is caught writing its spool file and frozen there, then client
    # "b" takes that worker back: its half-written file goes with it, the query runs
    # again within "a"'s share and comes back whole, in a file like the first
    big = "SELECT ?a ?d WHERE { ?a a ?c . ?d a ?f } LIMIT 300000 # %s"

    async def scenario() -> dict[str, Any]:
        pool = _pool(endpoint_data, timeout=60, client_queries=1, size=2, spool_budget=1 << 30)
        await pool.start()
        try:
            assert pool.spool is not None
            mine = [
                asyncio.create_task(pool.run(Job(big % i, "tsv", None, 300_000), "a"))
                for i in range(2)
            ]
            deadline = time.monotonic() + 10
            while not pool.shares._lent and time.monotonic() < deadline:
                await asyncio.sleep(0.002)
            lent = next(iter(pool.shares._lent)).worker.pid
            while time.monotonic() < deadline and not any(
                name.split(".")[0] == str(lent) for name in pool.spool.files()
            ):
                await asyncio.sleep(0.002)
            os.kill(lent, signal.SIGSTOP)  # certainly mid-write
            during = pool.spool.files()
            cheap = await pool.run(Job("ASK {}", "json", None, 10), "b")
            replies = await asyncio.gather(*mine)
            lengths = []
            for reply in replies:
                assert reply.stream is not None
                with reply.stream:
                    lengths.append(len(reply.stream.read()))
            for _ in range(100):  # the killed worker's file: removed once it is reaped
                if not pool.spool.files():
                    break
                await asyncio.sleep(0.02)
            return {
                "headers": [r.header for r in replies],
                "lengths": lengths,
                "cheap": cheap.header,
                "lent": lent,
                "during": during,
                "after": pool.spool.files(),
                "held": pool.spool.held,
                "stats": dict(pool.stats),
            }
        finally:
            await pool.stop()

    out = asyncio.run(scenario())
    headers, lengths, stats = out["headers"], out["lengths"], out["stats"]
    assert out["cheap"]["ok"] is True
    assert stats["borrowed"] == 1 and stats["preempted"] == 1 and stats["deaths"] == 0, stats
    assert str(out["lent"]) in [n.split(".")[0] for n in out["during"]], out  # it was writing
    assert [h["ok"] for h in headers] == [True, True] and [h["rows"] for h in headers] == [
        300_000,
        300_000,
    ]
    assert lengths[0] == lengths[1] == headers[0]["length"] > 64 * 1024
    assert out["after"] == [] and out["held"] == 0


@pytest.mark.parametrize("how", ["killed", "timeout"])
def test_a_worker_stopped_mid_write_leaves_no_spool_file(endpoint_data: Path, how: str) -> None:
    # a cross join writes until the size limit: the worker is caught while its file grows,
    # frozen there (SIGSTOP, so the file is certainly half-written), then killed by us or by
    # the pool at the time limit; the query fails and the file is removed
    endless = Job("SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }", "tsv", None, 10**9)

    async def scenario() -> tuple[BaseException | None, list[str], list[str], int]:
        pool = _pool(endpoint_data, timeout=30 if how == "killed" else 2)
        await pool.start()
        try:
            assert pool.spool is not None
            worker = next(iter(pool._workers))
            task = asyncio.ensure_future(pool.run(endless))
            deadline = time.monotonic() + 10
            while not pool.spool.files() and time.monotonic() < deadline:
                await asyncio.sleep(0.002)
            os.kill(worker.pid, signal.SIGSTOP)
            during = pool.spool.files()
            if how == "killed":
                os.kill(worker.pid, signal.SIGKILL)
            error = None
            try:
                await task
            except (WorkerDied, QueryTimeout) as exc:
                error = exc
            for _ in range(100):  # removed once the worker is reaped
                if not pool.spool.files():
                    break
                await asyncio.sleep(0.02)
            return error, during, pool.spool.files(), worker.pid
        finally:
            await pool.stop()

    error, during, after, pid = asyncio.run(scenario())
    assert during == [str(pid)], during  # its body, half-written
    assert isinstance(error, WorkerDied if how == "killed" else QueryTimeout), error
    assert after == []


# --- over HTTP: a real server with the real row cap -------------------------------------


@pytest.fixture(scope="module")
def big(endpoint_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose 10,000-row cap cuts the real graph, its spool folder in its own TMPDIR."""
    workdir = tmp_path_factory.mktemp("spool")
    tmp = workdir / "tmp"
    tmp.mkdir()
    yield from serving_in(
        endpoint_data,
        workdir,
        DIPKG_MAX_ROWS="10000",
        DIPKG_QUERY_WORKERS="2",
        DIPKG_MAX_RESULT_BYTES=str(4 * 1024 * 1024),
        TMPDIR=str(tmp),
    )
    assert list(tmp.iterdir()) == [], "the spool folder outlived the server"


def spool_files(srv: Server) -> list[Path]:
    tmp = srv.log.parent / "tmp"
    folders = list(tmp.glob(f"{PREFIX}{srv.proc.pid}-*"))
    assert len(folders) == 1, folders
    return list(folders[0].iterdir())


@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv", "ntriples"])  # Turtle: 0.7 MB
def test_a_large_result_streams_in_every_format(
    big: Server, served_store: ox.Store, fmt: str
) -> None:
    query = ALL if fmt in ("json", "xml", "csv", "tsv") else GRAPH
    expected = evaluate(served_store, job_for(fmt, query, 10_000))
    assert len(expected.body) > 1024 * 1024  # over the threshold: spooled
    r = httpx.get(
        big.sparql,
        params={"query": fresh(query)},
        headers={"Accept": MEDIA[fmt], "Accept-Encoding": "identity"},
        timeout=60,
    )
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-length"] == str(len(r.content))
    assert r.headers["x-dipkg-truncated"] == "true" and r.headers["x-dipkg-rows"] == "10000"
    assert r.headers["x-dipkg-max-rows"] == "10000" and r.headers["etag"]
    assert same(fmt, r.content, expected.body)
    if fmt == "json":
        doc = r.json()
        assert doc["truncated"] is True and "10000 rows" in doc["note"]
        assert len(doc["results"]["bindings"]) == 10_000
    # gzip, compressed as it streams (chunked: no length known before the end)
    r = httpx.get(
        big.sparql,
        params={"query": fresh(query)},
        headers={"Accept": MEDIA[fmt], "Accept-Encoding": "gzip"},
        timeout=60,
    )
    assert r.headers["content-encoding"] == "gzip" and "content-length" not in r.headers
    assert r.headers["x-dipkg-truncated"] == "true"
    assert same(fmt, r.content, expected.body)  # httpx decompressed it
    assert spool_files(big) == []


def test_a_head_request_and_a_repeat_of_a_large_result(big: Server) -> None:
    query = fresh(ALL)
    head = httpx.head(big.sparql, params={"query": query}, headers={"Accept-Encoding": "identity"})
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) > 1024 * 1024
    first = httpx.get(big.sparql, params={"query": query}, headers={"Accept-Encoding": "identity"})
    again = httpx.get(big.sparql, params={"query": query}, headers={"Accept-Encoding": "identity"})
    assert first.content == again.content and len(first.content) == int(
        head.headers["content-length"]
    )
    # the third from the fast path's cache (compressed, it is small; kept from its
    # second time: DIPKG_RESPONSE_CACHE_MIN_USES)
    for _ in range(3):
        with httpx.stream(
            "GET", big.sparql, params={"query": query}, headers={"Accept-Encoding": "gzip"}
        ) as raw:
            assert raw.headers["content-encoding"] == "gzip"
            assert json.loads(gzip.decompress(b"".join(raw.iter_raw()))) == first.json()
    assert spool_files(big) == []


def doubling_rows(rows: int) -> str:
    """``rows`` rows of one 256 KiB value each (tests/endpoint/test_limits.py's doubling)."""
    binds = " ".join(f"BIND(CONCAT(?v{i}, ?v{i}) AS ?v{i + 1})" for i in range(14))
    values = " ".join(str(i) for i in range(rows))
    return (
        f"SELECT ?v14 WHERE {{ VALUES ?i {{ {values} }} "
        f'BIND(CONCAT(STR(?i), "_0123456789abcdef") AS ?v0) {binds} }}'
    )


@pytest.mark.parametrize("fmt", ["json", "csv", "xml"])
def test_a_spooled_result_over_the_size_limit_is_still_503(big: Server, fmt: str) -> None:
    ok = httpx.post(  # 3 MiB: spooled and sent
        big.sparql, data={"query": fresh(doubling_rows(12))}, headers={"Accept": MEDIA[fmt]}
    )
    assert ok.status_code == 200 and len(ok.content) > 3 * 1024 * 1024
    r = httpx.post(  # 5 MiB, over the server's 4 MiB: stopped while it was written
        big.sparql,
        data={"query": fresh(doubling_rows(20))},
        headers={"Accept": MEDIA[fmt]},
        timeout=60,
    )
    assert r.status_code == 503, r.text[:300]
    assert r.json()["error"] == "result-too-large" and "4 MiB" in r.json()["message"]
    assert spool_files(big) == []


def _held_spool_files(srv: Server) -> list[str]:
    """The server's open descriptors on (unlinked) spool files (psutil skips deleted ones)."""
    fds = f"/proc/{srv.proc.pid}/fd"
    held = []
    for fd in os.listdir(fds):
        with contextlib.suppress(OSError):
            if PREFIX in (target := os.readlink(os.path.join(fds, fd))):
                held.append(target)
    return held


def _stall(srv: Server, query: str) -> tuple[socket.socket, bytes]:
    """A GET of ``query`` by a client that reads the head, then stops reading."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # little in flight
    sock.connect(("127.0.0.1", int(srv.url.rsplit(":", 1)[1])))
    target = "/sparql?" + str(httpx.QueryParams({"query": query}))
    sock.sendall(
        f"GET {target} HTTP/1.1\r\nHost: x\r\nAccept: text/csv\r\n"
        "Accept-Encoding: identity\r\n\r\n".encode()
    )
    sock.settimeout(30)
    return sock, sock.recv(4096)


def test_slow_clients_hold_the_spool_budget_and_one_gone_gives_it_back(
    endpoint_data: Path, tmp_path: Path
) -> None:
    # two results of ~18 MiB each under a budget of 24 MiB: a client reading slowly holds
    # its (unlinked) file, so a second is refused until the first client leaves; the one
    # that left stops the stream at once (the access log counts what was sent)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    srv = start_server(
        endpoint_data,
        tmp_path,
        DIPKG_SPOOL_MB="24",
        DIPKG_MAX_RESULT_BYTES=str(24 * 1024 * 1024),  # (one allowed result fits the budget)
        DIPKG_QUERY_WORKERS="2",
        TMPDIR=str(tmp),
    )
    try:
        sock, head = _stall(srv, fresh(doubling_rows(64)))  # the only GET of /sparql
        assert head.startswith(b"HTTP/1.1 200"), head[:200]
        length = int(re.search(rb"content-length: (\d+)", head.lower()).group(1))  # type: ignore[union-attr]
        assert length > 16 * 1024 * 1024
        assert len(_held_spool_files(srv)) == 1  # held open by the stalled stream
        refused = httpx.post(
            srv.sparql,
            data={"query": fresh(doubling_rows(64))},
            headers={"Accept": "text/csv"},
            timeout=60,
        )
        assert refused.status_code == 503, refused.text[:300]
        assert refused.json()["error"] == "spool-full" and "24 MiB" in refused.json()["message"]
        assert refused.headers["retry-after"]
        assert spool_files(srv) == []  # the refused reply's file is gone
        sock.close()  # the slow client leaves with most of the body unread
        deadline = time.monotonic() + 10
        while _held_spool_files(srv) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _held_spool_files(srv) == []  # the stream's file is closed
        again = httpx.post(
            srv.sparql,
            data={"query": fresh(doubling_rows(64))},
            headers={"Accept": "text/csv"},
            timeout=60,
        )
        assert again.status_code == 200 and len(again.content) > 16 * 1024 * 1024
        sent = None
        deadline = time.monotonic() + 10  # (its own: the POST above may take a while)
        while sent is None and time.monotonic() < deadline:
            for line in srv.log.read_text().splitlines():
                if '"GET /sparql?' in line and (found := re.search(r'" 200 (\d+) ', line)):
                    sent = int(found.group(1))
            time.sleep(0.05)
        assert sent is not None and sent < length // 2, (sent, length)
    finally:
        stop_server(srv)
    assert list(tmp.iterdir()) == []


# --- memory: flat in the size of the result ----------------------------------------------


def _peak_during(server: Server, request: object) -> tuple[int, float]:
    """The growth of the server tree's resident memory (peak less the start, MiB) while
    ``request()`` runs, sampled every 5 ms."""
    base = tree_rss(server)
    peak = [base]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], tree_rss(server))
            time.sleep(0.005)

    thread = threading.Thread(target=sample)
    thread.start()
    try:
        size = request()  # type: ignore[operator]
    finally:
        done.set()
        thread.join()
    return size, (peak[0] - base) / 2**20


@pytest.mark.slow
def test_the_server_memory_stays_flat_for_a_four_times_larger_result(
    endpoint_data: Path, tmp_path: Path
) -> None:
    # N then 4N rows on a fresh server: the in-memory path held the body in the worker (TSV
    # and the result) and whole in the server, ~45 MiB more for 4N here (bench/PROFILE.md)
    srv = start_server(endpoint_data, tmp_path, DIPKG_MAX_ROWS="100000", DIPKG_QUERY_WORKERS="2")
    try:
        growth = {}
        for n in (10_000, 40_000):
            query = fresh(f"SELECT * WHERE {{ VALUES ?k {{ 1 2 3 4 }} ?s ?p ?o }} LIMIT {n}")

            def ask(query: str = query) -> int:
                with httpx.stream(
                    "GET",
                    srv.sparql,
                    params={"query": query},
                    headers={"Accept-Encoding": "identity"},
                    timeout=60,
                ) as r:
                    assert r.status_code == 200
                    return sum(len(chunk) for chunk in r.iter_bytes())

            growth[n] = _peak_during(srv, ask)
    finally:
        stop_server(srv)
    (small, grew_small), (large, grew_large) = growth[10_000], growth[40_000]
    print(
        f"server tree growth: {small:,} B: {grew_small:.1f} MiB; {large:,} B: {grew_large:.1f} MiB"
    )
    assert large > 3.5 * small > 3.5 * 1024 * 1024
    assert grew_large < grew_small + 12, growth
    assert grew_large < large / 2**20 / 2, growth  # well under the body's own size
