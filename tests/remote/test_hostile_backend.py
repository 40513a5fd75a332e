"""Remote mode against a hostile backend on 127.0.0.1 (the recording proxy of
tests/remote/conftest.py in its hostile modes): an entity bomb, a dripping answer,
a huge answer, deeply nested JSON, a backend that echoes the request's headers.
The real `dipkg serve --sparql-backend` answers each within its limits, with one
JSON error, and recovers when the backend does (docs/remote-backend.md)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil
import pytest

from tests.endpoint.conftest import QUERY_TIMEOUT, stop_server
from tests.remote.conftest import Proxy, start_cli_server

P = "PREFIX dip: <https://w3id.org/dipkg/ontology#>\n"
SELECT = P + "SELECT ?s WHERE { ?s a dip:Domain } ORDER BY ?s"
CONSTRUCT = "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 10"
PAGES = [
    "domain/finance",
    "domain/industry",
    "domain/transport",
    "domain/culture-tourism",
    "domain/other",
    *(f"scenario/guizhou-b1-s{i:02d}" for i in range(1, 24)),
    "ontology",
    "scheme/domains",
    "guide/guizhou-b1",
]


def ask(server, query: str, **params: str) -> httpx.Response:
    return httpx.post(server.sparql, data={"query": query, **params}, timeout=60)


def rss_mib(server) -> float:
    return psutil.Process(server.proc.pid).memory_info().rss / 2**20


def test_an_entity_bomb_is_refused(proxied):
    """RDF/XML with internal entities: pyoxigraph's parser would expand them (here 10 MB
    from 614 bytes; 1 GB at two more levels). Refused before parsing: 502."""
    server, proxy = proxied
    proxy.mode = "bomb"
    started = time.monotonic()
    r = ask(server, CONSTRUCT, format="nt")
    assert r.status_code == 502, (r.status_code, len(r.content))
    assert (
        r.json()["error"] == "backend-error" and "document type declaration" in r.json()["message"]
    )
    assert len(r.content) < 2000 and time.monotonic() - started < 5
    proxy.mode = "forward"
    assert ask(server, CONSTRUCT, format="nt").status_code == 200


def test_deeply_nested_json_is_a_502_not_a_500(proxied):
    server, proxy = proxied
    proxy.mode = "deep"
    r = ask(server, SELECT)
    assert r.status_code == 502 and r.json()["error"] == "backend-error", r.text[:300]
    page = httpx.get(f"{server.url}/domain/finance.ttl", timeout=30)
    assert page.status_code == 502 and page.json()["error"] == "backend-error"


@pytest.mark.parametrize("huge_mib", [400])
def test_a_huge_answer_is_cut_at_the_byte_cap(proxied, huge_mib):
    """A 400 MiB literal: read up to the cap (16 MiB here) and refused with 502, for
    queries and page lookups alike; the server's memory does not grow with it."""
    server, proxy = proxied
    proxy.mode, proxy.huge_bytes = "huge", huge_mib * 2**20
    before = rss_mib(server)
    started = time.monotonic()
    r = ask(server, SELECT)
    assert r.status_code == 502 and r.json()["error"] == "backend-error", r.text[:300]
    page = httpx.get(f"{server.url}/domain/finance.ttl", timeout=60)
    assert page.status_code == 502 and "larger than" in page.json()["message"], page.text[:300]
    elapsed = time.monotonic() - started
    grown = rss_mib(server) - before
    print(
        f"two {huge_mib} MiB answers refused in {elapsed:.2f} s;"
        f" server RSS {before:.0f} MiB, +{grown:.0f} MiB"
    )
    assert elapsed < 10 and grown < 120
    proxy.mode = "forward"
    assert ask(server, SELECT).status_code == 200


@pytest.mark.serial  # a bound in seconds: timed alone, not beside other tests
def test_a_dripping_backend_cannot_hang_the_server(proxied):
    """One byte every 0.5 s: 46 page requests and 4 queries at once each end at the time
    limit (503/504 in the one JSON shape) instead of hanging; /health says the backend is
    failing although its cheap probe still answers; everything recovers with the backend."""
    server, proxy = proxied
    proxy.mode, proxy.spare_probe = "drip", True

    def page(path: str) -> tuple[int, str, float]:
        started = time.monotonic()
        r = httpx.get(f"{server.url}/{path}.ttl", timeout=40)
        error = r.json().get("error", "") if r.status_code != 200 else ""
        return r.status_code, error, time.monotonic() - started

    def query(_: int) -> tuple[int, str, float]:
        started = time.monotonic()
        r = ask(server, SELECT)
        error = r.json().get("error", "") if r.status_code != 200 else ""
        return r.status_code, error, time.monotonic() - started

    started = time.monotonic()
    with ThreadPoolExecutor(50) as pool:
        pages = list(pool.map(page, (PAGES * 2)[:46]))
        queries = list(pool.map(query, range(4)))
    total = time.monotonic() - started
    slowest = max(t for _, _, t in pages + queries)
    print(
        f"50 requests against a dripping backend ended in {total:.1f} s (slowest {slowest:.1f} s; "
        f"limit {QUERY_TIMEOUT} s)"
    )
    assert {s for s, _, _ in pages} <= {503, 504}, pages
    assert {e for _, e, _ in pages} <= {"backend-timeout", "backend-busy"}, pages
    assert {(s, e) for s, e, _ in queries} <= {(503, "timeout"), (503, "busy")}, queries
    assert total < 4 * QUERY_TIMEOUT + 6, total
    health = httpx.get(server.url + "/health", timeout=10)
    assert health.status_code == 503, health.text
    backend = health.json()["details"]["backend"]
    assert backend["reachable"] is True and backend["ok"] is False, backend
    assert backend["failing"]["error"] in ("backend-timeout", "backend-busy")

    proxy.mode = "forward"  # the backend recovers: so does the server, at once
    time.sleep(0.2)
    recovered = time.monotonic()
    assert httpx.get(f"{server.url}/domain/finance.ttl", timeout=10).status_code == 200
    assert ask(server, SELECT).status_code == 200
    assert httpx.get(server.url + "/health", timeout=10).status_code == 200
    assert time.monotonic() - recovered < QUERY_TIMEOUT + 2


def test_credentials_are_never_shown(built_data: Path, proxy: Proxy, tmp_path: Path):
    """Credentials in the URL: sent as HTTP basic, never in /health, an error body or the log,
    even when the backend echoes the request's Authorization header back."""
    proxy.mode = "forward"
    url = proxy.url.replace("http://", "http://admin:s3cret@") + "/query"
    server = start_cli_server(built_data, tmp_path, "--sparql-backend", url)
    try:
        proxy.mode, proxy.spare_probe = "echo", True
        proxy.auth.clear()
        health = httpx.get(server.url + "/health")
        r = ask(server, SELECT)
        page = httpx.get(f"{server.url}/domain/finance.ttl")
    finally:
        proxy.mode, proxy.spare_probe = "forward", False
        stop_server(server)
    assert "Basic YWRtaW46czNjcmV0" in proxy.auth  # it was sent, and echoed back
    assert (
        r.status_code == page.status_code == 502
        and "Authorization: [redacted]" in r.json()["message"]
    )
    shown = health.text + r.text + page.text + server.log.read_text()
    assert health.json()["backend"]["url"] == proxy.url + "/query"
    for secret in ("s3cret", "YWRtaW46czNjcmV0", "admin:"):
        assert secret not in shown, secret


def test_the_password_can_come_from_a_file(built_data: Path, proxy: Proxy, tmp_path: Path):
    """DIPKG_SPARQL_BACKEND_USER + DIPKG_SPARQL_BACKEND_PASSWORD_FILE: nothing in `ps`."""
    secret = tmp_path / "backend-password"
    secret.write_text("s3cret\n")
    proxy.mode = "forward"
    server = start_cli_server(
        built_data,
        tmp_path,
        "--sparql-backend",
        f"{proxy.url}/query",
        DIPKG_SPARQL_BACKEND_USER="admin",
        DIPKG_SPARQL_BACKEND_PASSWORD_FILE=str(secret),
    )
    try:
        proxy.auth.clear()
        assert ask(server, SELECT).status_code == 200
        cmdline = " ".join(psutil.Process(server.proc.pid).cmdline())
        environ = psutil.Process(server.proc.pid).environ()
    finally:
        stop_server(server)
    assert proxy.auth and set(proxy.auth) == {"Basic YWRtaW46czNjcmV0"}
    assert "s3cret" not in cmdline and "s3cret" not in " ".join(environ.values())


def test_an_unreadable_password_file_is_one_line(built_data: Path, tmp_path: Path):
    import subprocess
    import sys

    from tests.conftest import cli_env
    from tests.endpoint.conftest import free_port

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dipkg.cli",
            "serve",
            "--data",
            str(built_data),
            "--port",
            str(free_port()),
            "--sparql-backend",
            "http://127.0.0.1:9/query",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=cli_env(
            DIPKG_SPARQL_BACKEND_USER="u",
            DIPKG_SPARQL_BACKEND_PASSWORD_FILE=str(tmp_path / "missing"),
        ),
    )
    assert (
        done.returncode == 1
        and "error[credentials]" in done.stderr
        and "Traceback" not in done.stderr
    )
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_backend_failing_after_the_start_up_check_is_one_line(built_data: Path, proxy: Proxy):
    """The start-up ASK passes but the pages' first lookups fail (a backend echoing the request's
    headers): one line, exit 1, no traceback, no credentials."""
    import subprocess
    import sys

    from tests.conftest import cli_env
    from tests.endpoint.conftest import free_port

    proxy.mode, proxy.spare_probe = "echo", True
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "dipkg.cli",
                "serve",
                "--data",
                str(built_data),
                "--port",
                str(free_port()),
                "--sparql-backend",
                proxy.url.replace("http://", "http://admin:s3cret@") + "/query",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env=cli_env(),
        )
    finally:
        proxy.mode, proxy.spare_probe = "forward", False
    assert (
        done.returncode == 1
        and "error[backend-error]" in done.stderr
        and "Traceback" not in done.stderr
    )
    assert len(done.stderr.strip().splitlines()) == 1
    assert "s3cret" not in done.stderr and "YWRtaW46czNjcmV0" not in done.stderr


@pytest.mark.parametrize("cap", ["\u00b2", "9" * 5000, "-1", "0", "3,4", "3.0", "0x3"])
def test_a_row_cap_header_that_is_no_number_is_ignored(proxied, cap):
    """The backend's X-SPARQL-MaxRows (Virtuoso's own cut) is read only as ASCII digits:
    '²' passed str.isdigit() and 5,000 digits int()'s limit, each a 500. Known-good
    beside: a cap of 3 reads as a cut result (two rows and the truncation signal)."""
    server, proxy = proxied
    for value, rows, truncated in ((cap, 5, None), ("3", 2, "true")):
        proxy.headers = {"X-SPARQL-MaxRows": value}
        r = ask(server, f"{SELECT} # {value[:8]!r} {time.time()}")  # (unique: no cached answer)
        assert r.status_code == 200, (value[:20], r.text[:300])
        assert len(r.json()["results"]["bindings"]) == rows, value[:20]
        assert r.headers.get("x-dipkg-truncated") == truncated
