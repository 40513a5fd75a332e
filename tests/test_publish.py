"""`dipkg publish --to URL` against a real `oxigraph serve` started here (loopback only)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import cli_env

OXIGRAPH = shutil.which("oxigraph") or str(Path(sys.executable).parent / "oxigraph")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture()
def oxigraph_server(tmp_path):
    if not Path(OXIGRAPH).exists():
        pytest.skip("the `oxigraph` server (PyPI package oxigraph) is not installed")
    port = free_port()
    proc = subprocess.Popen(
        [OXIGRAPH, "serve", "--location", str(tmp_path / "ox"), "--bind", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/query", params={"query": "ASK {}"}, timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("oxigraph serve did not start")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def count(url: str, graph: str) -> int:
    response = httpx.post(
        f"{url}/query",
        data={"query": f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"},
        headers={"Accept": "application/sparql-results+json"},
    )
    response.raise_for_status()
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


def publish(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kg.cli", "publish", *args], capture_output=True, text=True, timeout=120, env=cli_env()
    )


def test_publish_replaces_the_projects_graph(oxigraph_server, built_data, build_result):
    triples = build_result.manifest["counts"]["triples"]
    graph = "https://w3id.org/dipkg/graph/data"
    for _ in range(2):  # the second publish replaces, it does not add
        done = publish("--to", f"{oxigraph_server}/store", "--data", str(built_data))
        assert done.returncode == 0, done.stderr
        assert count(oxigraph_server, graph) == triples
    assert "published dipkg.nt" in done.stdout
    assert count(oxigraph_server, "https://w3id.org/dipkg/graph/catalog") >= 0


def test_publish_into_a_chosen_graph(oxigraph_server, built_data, build_result):
    done = publish("--to", f"{oxigraph_server}/store", "--data", str(built_data), "--graph", "http://example.org/g")
    assert done.returncode == 0, done.stderr
    assert count(oxigraph_server, "http://example.org/g") == build_result.manifest["counts"]["triples"]


def test_publish_to_nothing_is_a_clear_error(built_data):
    done = publish("--to", f"http://127.0.0.1:{free_port()}/store", "--data", str(built_data))
    assert done.returncode == 1
    assert "error[publish]" in done.stderr and "could not reach" in done.stderr
    assert "Traceback" not in done.stderr


def test_publish_refused_names_the_status(oxigraph_server, built_data):
    done = publish("--to", f"{oxigraph_server}/no-such-service", "--data", str(built_data))
    assert done.returncode == 1
    assert "HTTP 404" in done.stderr and "Traceback" not in done.stderr


def test_a_failure_never_shows_the_password(built_data):
    done = publish("--to", f"http://admin:s3cret@127.0.0.1:{free_port()}/store", "--data", str(built_data))
    assert done.returncode == 1
    assert "s3cret" not in done.stderr + done.stdout and "admin" not in done.stderr


@pytest.mark.parametrize("scheme", ["basic", "digest"])
def test_credentials_in_the_url_are_sent(built_data, scheme):
    """A loopback Graph Store that wants HTTP authentication (digest like Virtuoso's, or basic)."""
    import base64
    import hashlib
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[str] = []

    class Store(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_PUT(self):  # noqa: N802
            length = int(self.headers.get("Content-Length", 0))
            self.rfile.read(length)
            header = self.headers.get("Authorization", "")
            seen.append(header.split(" ", 1)[0])
            ok = False
            if scheme == "basic" and header == "Basic " + base64.b64encode(b"admin:s3cret").decode():
                ok = True
            if scheme == "digest" and header.startswith("Digest "):
                fields = dict(
                    part.strip().split("=", 1) for part in header[len("Digest "):].split(",") if "=" in part
                )
                fields = {k: v.strip('"') for k, v in fields.items()}
                ha1 = hashlib.md5(b"admin:store:s3cret").hexdigest()
                ha2 = hashlib.md5(f"PUT:{fields['uri']}".encode()).hexdigest()
                expected = hashlib.md5(
                    f"{ha1}:{fields['nonce']}:{fields['nc']}:{fields['cnonce']}:{fields['qop']}:{ha2}".encode()
                ).hexdigest()
                ok = fields.get("response") == expected
            if ok:
                self.send_response(204)
            else:
                self.send_response(401)
                if scheme == "digest":
                    self.send_header("WWW-Authenticate", 'Digest realm="store", nonce="abc123", qop="auth"')
                else:
                    self.send_header("WWW-Authenticate", 'Basic realm="store"')
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Store)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://admin:s3cret@127.0.0.1:{server.server_address[1]}/store"
        done = publish("--to", url, "--data", str(built_data), "--auth", scheme)
    finally:
        server.shutdown()
    assert done.returncode == 0, done.stderr
    assert ("Digest" if scheme == "digest" else "Basic") in seen
