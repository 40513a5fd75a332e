"""The server's logs as an operator reads them, from a real server: one handler with
time, level and logger; the access log with the request id; JSON lines; a port in use."""

from __future__ import annotations

import io
import json
import logging
import os
import random
import re
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from sparql_api import logs
from tests.conftest import cli_env
from tests.endpoint.conftest import Server, serving, start_server, stop_server

RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
TEXT_LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} "
    r"(DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+ \[[^\]]+\] "
)


@pytest.fixture(scope="module")
def text_server(built_data: Path, tmp_path_factory: pytest.TempPathFactory):
    yield from serving(
        built_data,
        tmp_path_factory,
        "logs-text",
        DIPKG_QUERY_TIMEOUT="1",
        DIPKG_QUERY_WORKERS="1",
        DIPKG_WORKER_SANDBOX="false",
    )


def test_a_request_id_is_echoed_and_logged(text_server: Server) -> None:
    r = httpx.get(text_server.url + "/health", headers={"X-Request-Id": "op-trace.42"}, timeout=10)
    assert r.headers["x-request-id"] == "op-trace.42"
    (line,) = [x for x in text_server.log_lines("[op-trace.42]") if "[op-trace.42]" in x]
    assert TEXT_LINE.match(line) and " INFO dipkg.access " in line and '"GET /health" 200' in line


@pytest.mark.parametrize("given", [None, "x" * 200, "bad id\u00e9", 'a"b'])
def test_a_missing_or_insane_request_id_is_replaced(text_server: Server, given: str | None) -> None:
    headers = {"X-Request-Id": given.encode("utf-8")} if given is not None else {}
    r = httpx.get(text_server.url + "/health", headers=headers, timeout=10)
    assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"])
    assert any(
        f"[{r.headers['x-request-id']}]" in x
        for x in text_server.log_lines(f"[{r.headers['x-request-id']}]")
    )


def test_every_line_has_time_level_and_logger_even_the_pools_warnings(text_server: Server) -> None:
    log = text_server.log_lines()
    sandbox = [x for x in log if "WITHOUT the network sandbox" in x]
    assert sandbox and all(
        TEXT_LINE.match(x) and " WARNING sparql_api.workers " in x for x in sandbox
    )
    assert all(TEXT_LINE.match(x) for x in log if x.strip()), [
        x for x in log if not TEXT_LINE.match(x)
    ][:3]


def test_a_killed_query_and_its_503_are_logged_with_the_request_id(text_server: Server) -> None:
    r = httpx.get(
        text_server.sparql,
        params={"query": RUNAWAY},
        headers={"X-Request-Id": "runaway-1"},
        timeout=30,
    )
    assert r.status_code == 503 and r.headers["x-request-id"] == "runaway-1"
    mine = [x for x in text_server.log_lines("[runaway-1]", "dipkg.access") if "[runaway-1]" in x]
    assert any(
        "WARNING sparql_api.workers" in x and "stopped at the 1 s limit" in x for x in mine
    ), mine
    assert any("WARNING dipkg.access" in x and " 503 " in x for x in mine), mine


def test_no_access_log_still_logs_5xx_as_json(built_data: Path, tmp_path: Path) -> None:
    srv = start_server(
        built_data,
        tmp_path,
        DIPKG_LOG_FORMAT="json",
        DIPKG_ACCESS_LOG="false",
        DIPKG_QUERY_TIMEOUT="1",
        DIPKG_QUERY_WORKERS="1",
    )
    try:
        httpx.get(srv.url + "/health", headers={"X-Request-Id": "quiet-ok"}, timeout=10)
        httpx.get(
            srv.sparql, params={"query": RUNAWAY}, headers={"X-Request-Id": "loud-503"}, timeout=30
        )
        records = [
            json.loads(x) for x in srv.log_lines("loud-503", "dipkg.access") if x.strip()
        ]  # every line is one JSON object
    finally:
        stop_server(srv)
    assert all({"time", "level", "logger", "message", "request_id"} <= set(r) for r in records)
    assert not [r for r in records if r["request_id"] == "quiet-ok"]  # the access log is off
    loud = [r for r in records if r["request_id"] == "loud-503"]
    assert any(
        r["logger"] == "dipkg.access" and r["status"] == 503 and r["level"] == "WARNING"
        for r in loud
    )
    assert any(r["logger"] == "sparql_api.workers" for r in loud)


def test_a_port_in_use_is_one_line_naming_the_port_and_the_setting(built_data: Path) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen(1)
        port = held.getsockname()[1]
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "dipkg.cli",
                "serve",
                "--data",
                str(built_data),
                "--port",
                str(port),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env=cli_env(),
        )
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert f"port {port}" in line and "DIPKG_PORT" in line and "already in use" in line


def test_a_percent_encoded_newline_cannot_forge_a_log_line(text_server: Server) -> None:
    httpx.get(
        text_server.url + "/x%0A2026-01-01T00:00:00+0000 INFO forged [-] owned",
        timeout=10,
        headers={"X-Request-Id": "forge-try"},
    )
    log = text_server.log_lines("[forge-try]")
    assert not [x for x in log if x.startswith("2026-01-01T00:00:00+0000 INFO forged")]
    assert any("[forge-try]" in x and "\\x0a" in x for x in log)


# --- the access line's cheap path (sparql_api/logs.py) ---------------------------------------


def _text_handler(stream: io.StringIO) -> logging.StreamHandler:  # type: ignore[type-arg]
    """The handler log_config("text") configures, writing to ``stream``."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.TextFormatter(logs.TEXT_FORMAT, logs.TEXT_DATEFMT))
    handler.addFilter(logs.RequestIdFilter())
    return handler


@pytest.mark.parametrize("level", [logging.INFO, logging.WARNING])
@pytest.mark.parametrize("created", [1764577000.0, 1764577000.999, 1764577001.25])
def test_the_direct_access_line_is_the_bytes_logging_writes(level: int, created: float) -> None:
    message = logs.ACCESS_LINE % ("127.0.0.1", "GET", "/sparql?query=x", 200, 41, 1.5)
    by_logging, direct = io.StringIO(), io.StringIO()
    record = logs.access.makeRecord(logs.access.name, level, __file__, 1, message, (), None)
    record.created = created
    token = logs.request_id.set("rid-1")
    try:
        _text_handler(by_logging).handle(record)
    finally:
        logs.request_id.reset(token)
    logs.write_access_line(_text_handler(direct), level, created, "rid-1", message)
    assert direct.getvalue() == by_logging.getvalue()
    assert TEXT_LINE.match(direct.getvalue()) and direct.getvalue().endswith(" 1.5ms\n")
    # one formatter's time is cached per second: the same second gives the same text, the
    # next second its own (the handler, and so its formatter's cache, is kept across them)
    stream = io.StringIO()
    handler = _text_handler(stream)
    for at in (created, int(created) + 0.5, created + 1):
        logs.write_access_line(handler, level, at, "rid-1", message)
    first, same, later = stream.getvalue().splitlines()
    assert first == same == direct.getvalue().rstrip("\n")
    assert later != first and later[:19] != first[:19]


def test_the_cached_time_keeps_milliseconds_without_a_date_format() -> None:
    """logging's default time format shows milliseconds: no per-second cache there."""
    formatter = logs.TextFormatter("%(asctime)s")
    record = logging.makeLogRecord({"msg": "x"})
    texts = []
    for fraction in (0.1, 0.2):
        record.created, record.msecs = 1764577000 + fraction, fraction * 1000
        texts.append(formatter.formatTime(record))
    assert texts[0].endswith(",100") and texts[1].endswith(",200"), texts


def test_the_direct_line_only_for_the_served_configuration() -> None:
    root, ours = logging.getLogger(), _text_handler(io.StringIO())
    saved, level = root.handlers[:], root.level
    try:
        root.setLevel(logging.INFO)  # as log_config's
        root.handlers = [ours]
        assert logs._stream_handler(logging.INFO) is ours
        # anything else listening gets a real LogRecord: another handler, another formatter,
        # a handler on the access logger, a filter, the logger's level
        root.handlers = [ours, logging.NullHandler()]
        assert logs._stream_handler(logging.INFO) is None
        root.handlers = [logging.StreamHandler(io.StringIO())]
        assert logs._stream_handler(logging.INFO) is None
        root.handlers = [ours]
        logs.access.addHandler(logging.NullHandler())
        assert logs._stream_handler(logging.INFO) is None
        logs.access.handlers.clear()
        logs.access.addFilter(logging.Filter("nothing"))
        assert logs._stream_handler(logging.INFO) is None
        logs.access.filters.clear()
        logs.access.setLevel(logging.WARNING)
        assert logs._stream_handler(logging.INFO) is None
        assert logs._stream_handler(logging.WARNING) is ours
    finally:
        root.handlers = saved
        root.setLevel(level)
        logs.access.handlers.clear()
        logs.access.filters.clear()
        logs.access.setLevel(logging.NOTSET)


def test_a_fresh_request_id_is_laid_out_as_a_uuid4() -> None:
    ids = {logs.new_request_id() for _ in range(2000)}
    assert len(ids) == 2000
    for rid in ids:
        assert re.fullmatch(r"[0-9a-f]{32}", rid)
        parsed = uuid.UUID(rid)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    # known-bad: ids from the shared ``random`` would repeat whenever someone seeds it
    random.seed(7)
    first = logs.new_request_id()
    random.seed(7)
    assert logs.new_request_id() != first
    # a forked child does not repeat its parent's sequence
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next id, to the parent
        os.write(write, logs.new_request_id().encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 64).decode()
    os.waitpid(pid, 0)
    assert child != logs.new_request_id() and re.fullmatch(r"[0-9a-f]{32}", child)
    assert logs.new_request_id(0) == "00000000000040008000000000000000"
    assert logs.new_request_id((1 << 128) - 1) == "ffffffffffff4fffbfffffffffffffff"
