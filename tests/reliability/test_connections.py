"""Hostile connections against a real server (sparql_api/connections.py): raw sockets
that send an endless request head, trickle one (slow-loris) or nothing at all, hold
more idle connections than the server has file descriptors, or ask for a large
result and never read it. Each time the server stays bounded in memory and a new
request from someone else still answers. Loops are bounded in bytes and seconds.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.endpoint.conftest import Server, serving, start_server, stop_server
from tests.reliability.conftest import record

MiB = 1024 * 1024
HEADER_TIMEOUT = 2.0
SEND_TIMEOUT = 2.0
NOFILE = 256  # the server's `ulimit -n` in the idle-connections test
BIG = (
    "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f } LIMIT 6500",
    "application/sparql-results+xml",
)  # ≈ 3.4 MB
FIGURES: dict[str, object] = {}


@pytest.fixture(scope="module")
def server(canary_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from serving(
        canary_data,
        tmp_path_factory,
        "connections",
        DIPKG_QUERY_WORKERS="1",
        DIPKG_HEADER_TIMEOUT=str(HEADER_TIMEOUT),
        DIPKG_SEND_TIMEOUT=str(SEND_TIMEOUT),
    )
    record("connections", FIGURES)


def address(server: Server) -> tuple[str, int]:
    host, port = server.url.removeprefix("http://").split(":")
    return host, int(port)


def rss(server: Server) -> int:
    return psutil.Process(server.proc.pid).memory_info().rss


def cheap_answers(server: Server, within: float = 2.0) -> float:
    """Seconds a fresh client's cheap query took (it must answer 200 within ``within``)."""
    started = time.monotonic()
    r = httpx.get(
        server.sparql, params={"query": f"ASK {{ ?s ?p ?o }} # {time.time_ns()}"}, timeout=within
    )
    elapsed = time.monotonic() - started
    assert r.status_code == 200 and r.json()["boolean"] is True
    return elapsed


def read_all(sock: socket.socket, limit: float) -> tuple[bytes, str]:
    """What arrives until the peer closes ("eof"/"reset") or ``limit`` seconds pass ("open")."""
    sock.settimeout(0.5)
    data = b""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(1 << 16)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return data, "reset"
        if not chunk:
            return data, "eof"
        data += chunk
    return data, "open"


def form_post(query: str, accept: str) -> bytes:
    """A raw POST /sparql of ``query`` as a form, asking for ``accept``."""
    body = str(httpx.QueryParams({"query": query}))
    return (
        f"POST /sparql HTTP/1.1\r\nHost: x\r\nAccept: {accept}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n{body}"
    ).encode()


def status_of(data: bytes) -> int | None:
    parts = data.split(b" ", 2)
    return int(parts[1]) if data.startswith(b"HTTP/1.1 ") and len(parts) > 1 else None


def test_endless_request_heads_get_431_and_memory_stays_flat(server: Server) -> None:
    """Three clients each stream a header value without end (at most 16 MiB each here)."""
    before = rss(server)
    socks = [socket.create_connection(address(server), timeout=5) for _ in range(3)]
    sent = [0, 0, 0]
    closed = [False, False, False]
    chunk = b"a" * (64 * 1024)
    try:
        for s in socks:
            s.sendall(b"GET /sparql HTTP/1.1\r\nHost: x\r\nX-Endless: ")
        peak = before
        while not all(closed) and min(sent) < 16 * MiB:
            for i, s in enumerate(socks):
                if closed[i]:
                    continue
                try:
                    s.sendall(chunk)
                    sent[i] += len(chunk)
                except (BrokenPipeError, ConnectionResetError, TimeoutError):
                    closed[i] = True
            peak = max(peak, rss(server))
        answers = [read_all(s, 3.0) for s in socks]
    finally:
        for s in socks:
            s.close()
    grown = (peak - before) / MiB
    FIGURES["endless_header"] = {
        "clients": 3,
        "max_header_bytes": 65536,
        "sent_before_close_kib": [n // 1024 for n in sent],
        "statuses": [status_of(d) for d, _ in answers],
        "server_rss_growth_mib": round(grown, 1),
    }
    assert all(closed), (
        f"the server read {[n // MiB for n in sent]} MiB of request head and kept reading"
    )
    assert [status_of(d) for d, _ in answers] == [431] * 3, answers
    assert b'"error":"header-too-large"' in answers[0][0]
    assert grown < 32, f"server memory grew {grown:.0f} MiB"
    cheap_answers(server)


@pytest.mark.serial  # a bound in seconds: timed alone, not beside other tests
def test_a_slow_loris_gets_408_and_a_silent_connection_is_closed(server: Server) -> None:
    loris = socket.create_connection(address(server), timeout=5)
    silent = socket.create_connection(address(server), timeout=5)
    try:
        loris.sendall(b"GET /sparql HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        closed_after = None
        for i in range(int(HEADER_TIMEOUT * 4) + 8):  # a header line every 0.5 s, bounded
            time.sleep(0.5)
            try:
                loris.sendall(b"X-Slow-%d: b\r\n" % i)
            except (BrokenPipeError, ConnectionResetError):
                closed_after = time.monotonic() - started
                break
        data, how = read_all(loris, 2.0)
        if closed_after is None and how != "open":
            closed_after = time.monotonic() - started
        _, silent_how = read_all(silent, 2.0)
    finally:
        loris.close()
        silent.close()
    FIGURES["slow_loris"] = {
        "header_timeout_s": HEADER_TIMEOUT,
        "status": status_of(data),
        "closed_after_s": None if closed_after is None else round(closed_after, 2),
        "silent_connection": silent_how,
    }
    assert status_of(data) == 408, (data[:200], how)
    assert closed_after is not None and closed_after < HEADER_TIMEOUT + 2.0
    assert silent_how in ("eof", "reset"), "a connection that never sent a byte stayed open"
    cheap_answers(server)


@pytest.mark.serial  # a bound in seconds: timed alone, not beside other tests
def test_a_body_that_trickles_gets_408(server: Server) -> None:
    """The head arrives, then the announced 64 KiB body one byte every 0.5 s."""
    sock = socket.create_connection(address(server), timeout=5)
    try:
        sock.sendall(
            b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
            b"Content-Length: 65536\r\n\r\n"
        )
        started = time.monotonic()
        closed_after = None
        for _ in range(int(HEADER_TIMEOUT * 4) + 8):  # bounded
            time.sleep(0.5)
            try:
                sock.sendall(b"A")
            except (BrokenPipeError, ConnectionResetError):
                closed_after = time.monotonic() - started
                break
        data, how = read_all(sock, 2.0)
        if closed_after is None and how != "open":
            closed_after = time.monotonic() - started
    finally:
        sock.close()
    FIGURES["slow_body"] = {
        "header_timeout_s": HEADER_TIMEOUT,
        "status": status_of(data),
        "closed_after_s": None if closed_after is None else round(closed_after, 2),
    }
    assert status_of(data) == 408, (data[:200], how)
    assert closed_after is not None and closed_after < HEADER_TIMEOUT + 2.0
    cheap_answers(server)
    assert "Traceback" not in server.log.read_text(encoding="utf-8", errors="replace")


@pytest.mark.serial  # a bound in seconds: timed alone, not beside other tests
def test_a_client_that_never_reads_a_large_result_is_dropped(server: Server) -> None:
    query, accept = BIG
    r = httpx.post(server.sparql, data={"query": query}, headers={"Accept": accept}, timeout=60)
    assert r.status_code == 200
    full = len(r.content)
    assert full > 2 * MiB
    request = form_post(query, accept)
    clients = 12
    before = rss(server)
    socks = []
    try:
        for _ in range(clients):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a client that reads nothing
            s.connect(address(server))
            s.sendall(request)
            socks.append(s)
        time.sleep(1.0)
        held = rss(server)
        during = cheap_answers(server)
        time.sleep(SEND_TIMEOUT + 2.0)  # the stall is noticed within one more period
        after = rss(server)
        answers = [read_all(s, 5.0) for s in socks]
    finally:
        for s in socks:
            s.close()
    got = [len(d) for d, _ in answers]
    FIGURES["slow_reader"] = {
        "clients": clients,
        "result_bytes": full,
        "send_timeout_s": SEND_TIMEOUT,
        "server_rss_held_mib": round((held - before) / MiB, 1),
        "server_rss_after_drop_mib": round((after - before) / MiB, 1),
        "bytes_each_client_got_kib": sorted({n // 1024 for n in got}),
        "ends": sorted({how for _, how in answers}),
        "cheap_query_meanwhile_ms": round(during * 1000, 1),
    }
    assert all(how != "open" and n < full for n, (_, how) in zip(got, answers, strict=True)), (
        f"the server kept sending to clients that read nothing: {got} of {full} bytes, "
        f"{[h for _, h in answers]}"
    )
    assert (after - before) / MiB < 16, f"the server still holds {(after - before) / MiB:.0f} MiB"


@pytest.mark.serial  # a bound in seconds: timed alone, not beside other tests
def test_bytes_the_parser_refuses_during_a_stalled_answer_still_drop_it(server: Server) -> None:
    """A client asks for a large result, reads nothing, then sends a byte the HTTP parser
    refuses: the refusal must not cancel the send timeout and wait for a close that the
    full buffer never lets happen (the connection, and its place, held for good); and no
    400 is written inside the answer."""
    query, accept = BIG
    request = form_post(query, accept)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a client that reads nothing
        s.connect(address(server))
        s.sendall(request)
        time.sleep(1.0)  # the answer has begun and stalled
        s.sendall(b"\x00\r\n\r\n")  # not HTTP
        time.sleep(SEND_TIMEOUT + 2.0)
        # seen from the server, before this client reads (reading would let a close drain)
        mine = s.getsockname()[1]
        held = [
            c
            for c in psutil.Process(server.proc.pid).net_connections("tcp")
            if c.raddr and c.raddr.port == mine and c.status == psutil.CONN_ESTABLISHED
        ]
        data, _ = read_all(s, 3.0)
    finally:
        s.close()
    assert not held, f"the server still holds the connection {SEND_TIMEOUT + 2.0:g} s later"
    assert b"bad-request" not in data and data.count(b"HTTP/1.1 ") <= 1
    cheap_answers(server)


def test_more_idle_connections_than_file_descriptors_do_not_lock_others_out(
    canary_data: Path, tmp_path: Path
) -> None:
    """Like 1,050 idle connections under `ulimit -n 1024`: here 320 under 256."""
    srv = start_server(
        canary_data, tmp_path, nofile=NOFILE, DIPKG_QUERY_WORKERS="1", DIPKG_HEADER_TIMEOUT="60"
    )
    socks: list[socket.socket] = []
    try:
        for _ in range(320):
            socks.append(socket.create_connection(address(srv), timeout=5))
        time.sleep(0.5)
        fds = psutil.Process(srv.proc.pid).num_fds()
        took = [cheap_answers(srv, within=5.0) for _ in range(5)]
        r = httpx.get(srv.url + "/health", timeout=5)
        closed = 0
        for s in socks:
            s.settimeout(0.01)
            try:
                closed += s.recv(1) == b""
            except TimeoutError:
                pass
            except ConnectionResetError:
                closed += 1
        FIGURES["idle_connections"] = {
            "nofile": NOFILE,
            "idle_opened": len(socks),
            "server_fds": fds,
            "idle_closed_to_make_room": closed,
            "cheap_query_ms": [round(t * 1000, 1) for t in took],
        }
        assert r.status_code == 200
        assert fds < NOFILE, fds
        assert closed >= len(socks) - NOFILE, closed
    finally:
        for s in socks:
            s.close()
        stop_server(srv)


def _query_request(query: str, version: bytes = b"HTTP/1.1", extra: bytes = b"") -> bytes:
    from urllib.parse import quote

    return (
        b"GET /sparql?query=" + quote(query).encode() + b" " + version + b"\r\nHost: x\r\n"
        b"Accept: application/sparql-results+json\r\n" + extra + b"\r\n"
    )


def _responses(data: bytes) -> list[tuple[bytes, bytes]]:
    """(head, body) of each response in ``data``, by their Content-Length."""
    out = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        fields = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:] if b": " in line)
        length = int(fields[b"content-length"])
        out.append((head, rest[:length]))
        data = rest[length:]
    return out


def test_the_lane_s_answers_keep_http_s_framing(server: Server) -> None:
    """The query lane's answers leave in one write each (sparql_api/connections.py
    SEND_WHOLE): pipelined queries get their answers in order on the one connection, which
    stays open; an HTTP/1.0 request and one that asks to close get ``connection: close``
    and the connection ends after the answer."""
    tag = time.time_ns()
    with socket.create_connection(address(server), timeout=10) as sock:
        sock.sendall(
            _query_request(f"ASK {{ ?s ?p ?o }} # a {tag}")
            + _query_request(f"SELECT (1 AS ?one) {{}} # b {tag}")
        )
        data, how = read_all(sock, 1.5)
    assert how == "open", how  # kept alive
    (head_a, body_a), (head_b, body_b) = _responses(data)
    assert head_a.startswith(b"HTTP/1.1 200") and b'"boolean":true' in body_a
    assert head_b.startswith(b"HTTP/1.1 200") and b'"one"' in body_b
    assert b"connection: close" not in head_a + head_b
    for request in (
        _query_request(f"ASK {{}} # c {tag}", b"HTTP/1.0"),
        _query_request(f"ASK {{}} # d {tag}", extra=b"Connection: close\r\n"),
    ):
        with socket.create_connection(address(server), timeout=10) as sock:
            sock.sendall(request)
            data, how = read_all(sock, 5)
        assert how == "eof", how
        ((head, body),) = _responses(data)
        assert head.startswith(b"HTTP/1.1 200") and b"connection: close" in head.lower()
        assert b'"boolean":true' in body


@pytest.mark.parametrize("size_kib", [80, 200])
def test_a_large_head_sent_at_once_gets_431(server: Server, size_kib: int) -> None:
    """A head over the limit that arrives whole, in one or two reads, is measured as the
    parser gives it: 431, and the app never answers it (it was read past the limit when
    the head began and ended within one read: an 80 KB head got a 200)."""
    pad = b"a" * 1000
    lines = b"".join(b"X-Pad-%d: %s\r\n" % (i, pad) for i in range(size_kib))
    head = b"GET /health HTTP/1.1\r\nHost: x\r\n" + lines + b"\r\n"
    assert len(head) > 64 * 1024
    with socket.create_connection(address(server), timeout=5) as sock:
        sock.sendall(head)
        data, _ = read_all(sock, 3.0)
    assert status_of(data) == 431, data[:200]
    assert data.count(b"HTTP/1.1 ") == 1 and b'"error":"header-too-large"' in data
    cheap_answers(server)


def test_a_head_just_under_the_limit_is_answered(server: Server) -> None:
    """Known-good beside it: 60 KB of headers in one write is a request like any other."""
    lines = b"".join(b"X-Pad-%d: %s\r\n" % (i, b"a" * 1000) for i in range(60))
    head = b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + lines + b"\r\n"
    with socket.create_connection(address(server), timeout=5) as sock:
        sock.sendall(head)
        data, _ = read_all(sock, 3.0)
    assert status_of(data) == 200, data[:200]


@pytest.mark.parametrize(
    "request_line",
    [
        "GET /search?q=温度 HTTP/1.1".encode(),  # raw UTF-8 in the target: pasted into curl
        b"GET /health HTTP/1.1\r\nNo colon here",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # TLS spoken to plain HTTP
    ],
)
def test_what_the_http_parser_refuses_is_a_json_400(server: Server, request_line: bytes) -> None:
    """uvicorn answered these with a text/plain "Invalid HTTP request received."; the error
    shape is the project's everywhere, and says what most often causes it."""
    with socket.create_connection(address(server), timeout=5) as sock:
        sock.sendall(request_line + b"\r\nHost: x\r\n\r\n")
        data, _ = read_all(sock, 3.0)
    ((head, body),) = _responses(data)
    assert status_of(head) == 400 and b"content-type: application/json" in head.lower(), head
    error = json.loads(body)
    assert error["error"] == "bad-request" and error["status"] == 400
    assert "percent-encode" in error["message"]
    cheap_answers(server)


def test_a_request_target_over_the_limit_gets_414(server: Server) -> None:
    head = b"GET /" + b"a" * (80 * 1024) + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection(address(server), timeout=5) as sock:
        sock.sendall(head)
        data, _ = read_all(sock, 3.0)
    assert status_of(data) == 414, data[:200]
    assert data.count(b"HTTP/1.1 ") == 1 and b'"error":"uri-too-long"' in data


CHUNKED_ASK = (
    b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
    b"Accept: application/sparql-results+json\r\nTransfer-Encoding: chunked\r\n"
)


def test_an_endless_trailer_field_gets_431_and_memory_stays_flat(server: Server) -> None:
    """A chunked body's trailer field without end: the parser keeps a field until it ends,
    and the head's count had stopped with the head (83 MiB were read in 9 s, the server
    grew 135 MB, until the 408)."""
    before = rss(server)
    chunk = b"a" * (64 * 1024)
    sent, closed, peak = 0, False, before
    with socket.create_connection(address(server), timeout=5) as sock:
        sock.sendall(CHUNKED_ASK + b"\r\n6\r\nASK {}\r\n0\r\nX-Endless: ")
        while sent < 16 * MiB:
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                closed = True
                break
            sent += len(chunk)
            peak = max(peak, rss(server))
        data, _ = read_all(sock, 3.0)
    assert closed, f"the server read {sent // MiB} MiB of trailer and kept reading"
    assert status_of(data) == 431 and b'"error":"header-too-large"' in data, data[:200]
    assert (peak - before) / MiB < 32
    cheap_answers(server)


def test_a_trailer_that_begins_in_the_read_of_the_last_chunk_is_counted(
    server: Server,
) -> None:
    """The body's last chunk, its end and 100 KiB of a trailer field in one read: over the
    limit at once (a read with body in it was not counted: the server waited for more)."""
    with socket.create_connection(address(server), timeout=5) as sock:
        sock.sendall(CHUNKED_ASK + b"\r\n")
        time.sleep(0.3)  # (the head in a read of its own: the next one is the body's)
        sock.sendall(b"6\r\nASK {}\r\n0\r\nX-Endless: " + b"a" * (100 * 1024))
        data, _ = read_all(sock, 1.0)  # (well before the 2 s head timeout's 408)
    assert status_of(data) == 431, data[:200]


def test_trailer_fields_are_measured_on_their_own(server: Server) -> None:
    """Known-good beside it: 40 KB of headers and 30 KB of trailer fields in one write
    are each under the limit (their sum is not: it got 431)."""
    pad = b"a" * 1000
    head = b"".join(b"X-Pad-%d: %s\r\n" % (i, pad) for i in range(40))
    trailer = b"".join(b"X-Tail-%d: %s\r\n" % (i, pad) for i in range(30))
    request = CHUNKED_ASK + b"Connection: close\r\n" + head + b"\r\n6\r\nASK {}\r\n0\r\n"
    with socket.create_connection(address(server), timeout=5) as sock:
        sock.sendall(request + trailer + b"\r\n")
        data, _ = read_all(sock, 3.0)
    assert status_of(data) == 200 and b'"boolean":true' in data, data[:200]


def test_a_body_of_many_small_chunks_is_no_trailer(server: Server) -> None:
    """Known-good: chunk framing is no trailer. A 20 KB query in one-byte chunks (~100 KB
    of framing, more than the head limit) is answered (the first count of the trailers
    counted every chunk's framing: 431)."""
    query = b"ASK { ?s ?p ?o } #" + b"x" * 20000
    body = b"".join(b"1\r\n%s\r\n" % query[i : i + 1] for i in range(len(query)))
    with socket.create_connection(address(server), timeout=5) as sock:
        sock.sendall(CHUNKED_ASK + b"Connection: close\r\n\r\n")
        for at in range(0, len(body), 6000):  # in writes of a few kilobytes, as a client
            time.sleep(0.02)  # (each its own read: one read of it all was never counted)
            sock.sendall(body[at : at + 6000])
        sock.sendall(b"0\r\n\r\n")
        data, _ = read_all(sock, 5.0)
    assert status_of(data) == 200 and b'"boolean":true' in data, data[:200]
