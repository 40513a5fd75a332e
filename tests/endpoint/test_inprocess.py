"""In-process tests (Starlette TestClient, real worker pool) and the serve entry point."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from dipkg.core.release import open_release
from dipkg.core.settings import Settings
from sparql_api.app import create_app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def app_client(endpoint_data: Path) -> Iterator[TestClient]:
    settings = Settings(max_query_bytes=2000, max_rows=50, query_workers=1, query_timeout=5)
    extra = APIRouter()

    @extra.get("/extra")
    def extra_route() -> dict[str, str]:
        return {"hello": "world"}

    @extra.get("/typed")
    def typed_route(n: int) -> dict[str, int]:
        return {"n": n}

    @extra.get("/boom")
    def boom_route() -> None:
        raise RuntimeError("a bug with a secret /etc/passwd path")

    app = create_app(settings, open_release(endpoint_data), routers=[extra])
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_routers_can_be_added_and_share_the_context(app_client: TestClient) -> None:
    r = app_client.get("/extra")
    assert r.json() == {"hello": "world"}
    assert r.headers["access-control-allow-origin"] == "*"
    assert app_client.head("/extra").status_code == 200


def test_get_query_too_long_is_413(app_client: TestClient) -> None:
    r = app_client.get("/sparql", params={"query": "ASK {} #" + "x" * 3000})
    assert r.status_code == 413 and r.json()["error"] == "query-too-large"


def test_row_cap_in_process(app_client: TestClient) -> None:
    r = app_client.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o }"})
    assert r.headers["x-dipkg-truncated"] == "true" and len(r.json()["results"]["bindings"]) == 50
    assert r.headers["x-dipkg-max-rows"] == "50" and r.headers["x-dipkg-rows"] == "50"


def test_identical_queries_come_from_the_cache(app_client: TestClient) -> None:
    ctx = app_client.app.state.dipkg  # type: ignore[attr-defined]
    q = "SELECT (COUNT(*) AS ?n) WHERE { ?s a ?t } # cache"
    first = app_client.get("/sparql", params={"query": q})
    app_client.post("/sparql", data={"query": q})  # (kept from its second time: min_uses)
    hits = ctx.cache.hits
    second = app_client.post("/sparql", data={"query": q})
    assert ctx.cache.hits == hits + 1
    assert first.content == second.content
    third = app_client.get("/sparql", params={"query": q}, headers={"Accept": "text/csv"})
    assert ctx.cache.hits == hits + 1  # another variant is another entry
    assert third.headers["content-type"].startswith("text/csv")


def test_invalid_utf8_and_bad_params_are_400(app_client: TestClient) -> None:
    r = app_client.post(
        "/sparql",
        content=b"query=%FF%FE",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 400 and r.json()["error"] == "bad-request"
    r = app_client.post(
        "/sparql", content=b"\xff\xfe", headers={"Content-Type": "application/sparql-query"}
    )
    assert r.status_code == 400
    r = app_client.post(
        "/sparql",
        content=b"ASK {}",
        headers={"Content-Type": "application/sparql-query; charset=latin-1"},
    )
    assert r.status_code == 415
    r = app_client.get("/sparql", params=[("query", "ASK {}"), ("query", "ASK {}")])
    assert r.status_code == 400


def test_422_and_500_have_the_one_shape_and_no_traceback(app_client: TestClient) -> None:
    r = app_client.get(
        "/typed", params={"n": "not a number"}, headers={"Accept": "application/json"}
    )
    assert r.status_code == 422
    body = r.json()
    assert (
        body["error"] == "invalid-request" and body["status"] == 422 and body["details"]["problems"]
    )
    r = app_client.get("/boom", headers={"Accept": "application/json"})
    assert r.status_code == 500
    assert r.json() == {"error": "internal", "status": 500, "message": "internal server error"}
    assert "Traceback" not in r.text and "passwd" not in r.text


def test_validation_errors_have_the_one_shape(app_client: TestClient) -> None:
    r = app_client.get("/docs")
    assert (
        r.status_code == 404 and r.json()["error"] == "not-found"
    )  # off: it would load from a CDN
    r = app_client.request("PATCH", "/sparql")
    assert r.status_code == 405 and r.json()["error"] == "method-not-allowed"


# --- dipkg serve / server.run ------------------------------------------------


def _serve(data: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIPKG_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "sparql_api.server", "--data", str(data), "--port", "9", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_serve_refuses_a_missing_folder(tmp_path: Path) -> None:
    out = _serve(tmp_path / "nothing")
    assert out.returncode == 1
    assert len(out.stderr.strip().splitlines()) == 1 and "error[store]" in out.stderr
    assert "dipkg build" in out.stderr


def _release(tmp_path: Path, endpoint_data: Path) -> Path:
    data = tmp_path / "data"
    src = open_release(endpoint_data).root
    shutil.copytree(src, data / "releases" / src.name, symlinks=True)
    (data / "current").symlink_to(Path("releases") / src.name)
    return data / "releases" / src.name


def test_serve_refuses_an_empty_store(tmp_path: Path, endpoint_data: Path) -> None:
    root = _release(tmp_path, endpoint_data)
    shutil.rmtree(root / "store")
    store = ox.Store(str(root / "store"))
    store.flush()
    del store
    out = _serve(tmp_path / "data")
    assert (
        out.returncode == 1 and "empty" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    )


def test_serve_refuses_a_corrupt_store(tmp_path: Path, endpoint_data: Path) -> None:
    root = _release(tmp_path, endpoint_data)
    for f in (root / "store").iterdir():
        if f.is_file():
            f.write_bytes(b"garbage")
    out = _serve(tmp_path / "data")
    assert out.returncode == 1 and "error[store]" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_serve_refuses_a_broken_manifest(tmp_path: Path, endpoint_data: Path) -> None:
    root = _release(tmp_path, endpoint_data)
    (root / "manifest.json").write_text(json.dumps({"format": 99}))
    out = _serve(tmp_path / "data")
    assert out.returncode == 1 and "manifest" in out.stderr


def test_the_sparql_page_hook(app_client: TestClient) -> None:
    from fastapi.responses import HTMLResponse

    from sparql_api.state import set_sparql_page

    async def page(request) -> HTMLResponse:
        return HTMLResponse("<!doctype html><title>SPARQL</title>")

    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    state = app_client.app.state.dipkg  # type: ignore[attr-defined]
    installed = state.sparql_page  # the linked-data feature installs its own page
    state.sparql_page = None
    state.fast_cache.clear()  # a direct state change bypasses set_sparql_page, which clears it
    try:
        # without a page a browser gets the RDF it prefers (application/xml;q=0.9: RDF/XML),
        # asked twice so that the fast path keeps it (DIPKG_RESPONSE_CACHE_MIN_USES) ...
        kept = len(state.fast_cache)
        for _ in range(2):
            r = app_client.get("/sparql", headers={"Accept": browser})
            assert r.headers["content-type"].startswith("application/xml")
        assert len(state.fast_cache) == kept + 1
        set_sparql_page(app_client.app, page)  # type: ignore[arg-type]  # ... and clears it
        r = app_client.get("/sparql", headers={"Accept": browser})
        assert r.headers["content-type"].startswith("text/html") and "SPARQL" in r.text
        assert app_client.get("/sparql").headers["content-type"].startswith("text/turtle")
        assert (
            app_client.get(
                "/sparql", params={"query": "ASK {}"}, headers={"Accept": browser}
            ).status_code
            == 200
        )
    finally:
        state.sparql_page = installed
        state.fast_cache.clear()


def test_dipkg_serve_end_to_end(endpoint_data: Path, tmp_path: Path) -> None:
    """The lead's CLI (`dipkg serve`) starts this server; a query answers; SIGTERM stops it
    cleanly."""
    import signal
    import time

    import httpx
    import psutil

    from tests.endpoint.conftest import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIPKG_")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from dipkg.cli import main; main()",
            "serve",
            "--data",
            str(endpoint_data),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            try:
                r = httpx.get(
                    f"http://127.0.0.1:{port}/sparql",
                    params={"query": "ASK { ?s ?p ?o }"},
                    timeout=5,
                )
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "dipkg serve did not come up"
                time.sleep(0.1)
        assert r.status_code == 200 and r.json()["boolean"] is True
        children = psutil.Process(proc.pid).children(recursive=True)
        assert len(children) >= 1
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    _, alive = psutil.wait_procs(children, timeout=5)
    assert not alive


def test_client_keys_group_an_ipv6_host_by_its_64() -> None:
    """One IPv6 host owns a whole /64: it must not rotate addresses for more worker shares."""
    from sparql_api.protocol import client_key

    assert (
        client_key("2001:db8:1:2::1") == client_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    )
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:10.0.0.1") == client_key("10.0.0.1") == "10.0.0.1"
    assert client_key("127.0.0.2") != client_key("127.0.0.1")
