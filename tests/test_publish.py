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
