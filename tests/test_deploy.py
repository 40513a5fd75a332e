"""The deployment story, run for real: docs/deploy.md's nginx config in front of a real
dipkg on 127.0.0.1, and the container's entry point (``dipkg serve --build-if-missing``)
without Docker; the image itself is built only where a Docker engine answers."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.endpoint.conftest import Server, free_port, server_in, start_server, stop_server

ROOT = Path(__file__).resolve().parent.parent
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
DOMAIN = "data.example.org"


def test_dockerfile_sources_exist_and_it_runs_unprivileged_with_a_healthcheck() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    for line in text.splitlines():
        m = re.match(r"COPY (?!--from)(.+) \S+$", line)
        if m:
            for source in m.group(1).split():
                assert (ROOT / source).exists(), f"Dockerfile copies {source}, which is missing"
    assert re.search(r"^USER (?!root)\w+", text, re.M)
    assert "HEALTHCHECK" in text and "/health" in text
    assert '"serve", "--build-if-missing"' in text
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".venv", "data", "node_modules"} <= set(ignored)


def docker_engine() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0


@pytest.mark.slow
def test_the_image_builds_where_docker_runs() -> None:
    if not docker_engine():
        pytest.skip(
            "no Docker engine on this machine (only the client):"
            " the entry point is tested without it"
        )
    done = subprocess.run(
        ["docker", "build", "-t", "dipkg-test", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.slow
def test_the_entry_point_builds_on_first_start_then_serves(tmp_path: Path) -> None:
    data = tmp_path / "volume"
    data.mkdir()
    server = start_server(data, tmp_path, "--build-if-missing", cli=True)
    try:
        assert httpx.get(server.url + "/health", timeout=10).json()["status"] == "ok"
        assert (data / "current").is_symlink() or (data / "current").exists()
        assert "no release in" in server.log.read_text()
    finally:
        stop_server(server)
    # a second start finds the release and does not build again
    again = start_server(data, tmp_path, "--build-if-missing", cli=True)
    try:
        assert "no release in" not in again.log.read_text()
    finally:
        stop_server(again)


# --- nginx in front --------------------------------------------------------------


def local_nginx_config(upstream_port: int, listen_port: int, prefix: Path) -> str:
    """deploy/nginx.conf as shipped, on loopback: the TLS server becomes a plain one on
    ``listen_port`` (no certificates here), the upstream is the test's dipkg."""
    conf = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    conf = conf.replace("server dipkg:8000;", f"server 127.0.0.1:{upstream_port};")
    conf = re.sub(
        r"server \{\n    listen 80;.*?\n\}\n", "", conf, count=1, flags=re.S
    )  # the HTTP→HTTPS one
    conf = conf.replace("listen 443 ssl;", f"listen 127.0.0.1:{listen_port};")
    conf = re.sub(r"\n\s*(http2 on|ssl_\w+)[^\n]*;", "", conf)
    assert "ssl_certificate" not in conf and "server dipkg:8000" not in conf
    return f"""
daemon off;
master_process off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
{conf}
}}
"""


@pytest.fixture(scope="module")
def own_base_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The graph built with the public domain as its base IRI (docs/deploy.md, second way)."""
    from dipkg.core.settings import Settings
    from kg.build import build

    data = tmp_path_factory.mktemp("own-base") / "data"
    build(data, Settings(base_iri=f"https://{DOMAIN}/"))
    return data


@pytest.fixture(scope="module", params=["w3id-base", "own-base"])
def proxied(
    request: pytest.FixtureRequest, built_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, str, str]]:
    if NGINX is None:
        pytest.fail("nginx is not installed: .ci/run installs Debian's nginx for this test")
    work = tmp_path_factory.mktemp("nginx")
    if request.param == "own-base":
        started = server_in(
            request.getfixturevalue("own_base_data"),
            work,
            DIPKG_TRUSTED_PROXIES='["127.0.0.1"]',
            DIPKG_BASE_IRI=f"https://{DOMAIN}/",
        )
    else:
        started = server_in(built_data, work, DIPKG_TRUSTED_PROXIES='["127.0.0.1"]')
    with started as server:
        port = free_port()
        upstream = int(server.url.rsplit(":", 1)[1])
        (work / "nginx.conf").write_text(local_nginx_config(upstream, port, work), encoding="utf-8")
        proc = subprocess.Popen(
            [NGINX, "-p", str(work), "-c", str(work / "nginx.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(url + "/health", timeout=2)
                break
            except httpx.HTTPError:
                if proc.poll() is not None:
                    pytest.fail(f"nginx exited: {proc.stderr.read().decode()}")
                time.sleep(0.1)
        yield (
            server,
            url,
            f"https://{DOMAIN}/" if request.param == "own-base" else "https://w3id.org/dipkg/",
        )
        proc.send_signal(signal.SIGQUIT)
        proc.wait(timeout=10)


def test_behind_nginx_links_and_redirects_name_the_public_host(
    proxied: tuple[Server, str, str],
) -> None:
    _, url, base = proxied
    headers = {"Host": DOMAIN}
    assert httpx.get(url + "/health", headers=headers, timeout=10).json()["status"] == "ok"
    r = httpx.get(
        url + "/scenario/guizhou-b1-s01", headers={**headers, "Accept": "text/turtle"}, timeout=10
    )
    assert r.status_code == 303
    assert r.headers["location"].startswith(f"http://{DOMAIN}/scenario/guizhou-b1-s01"), r.headers[
        "location"
    ]
    nt = httpx.get(url + "/scenario/guizhou-b1-s01.nt", headers=headers, timeout=10)
    # the resource is named by the configured base, whichever host serves it
    assert nt.status_code == 200 and f"<{base}scenario/guizhou-b1-s01> " in nt.text
    description = httpx.get(
        url + "/sparql", headers={**headers, "Accept": "text/turtle"}, timeout=10
    ).text
    assert f"<http://{DOMAIN}/sparql>" in description


def test_behind_nginx_sparql_answers_and_errors_keep_their_shape(
    proxied: tuple[Server, str, str],
) -> None:
    _, url, _ = proxied
    headers = {"Host": DOMAIN, "Accept": "application/sparql-results+json"}
    r = httpx.get(
        url + "/sparql",
        params={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s a ?c }"},
        headers=headers,
        timeout=30,
    )
    assert r.status_code == 200 and int(r.json()["results"]["bindings"][0]["n"]["value"]) > 0
    r = httpx.get(
        url + "/sparql",
        params={"query": "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> {} }"},
        headers=headers,
        timeout=30,
    )
    assert r.status_code == 400 and r.json()["error"] == "service-refused"


def test_a_client_cannot_forge_the_host_past_the_proxy(proxied: tuple[Server, str, str]) -> None:
    """nginx overwrites X-Forwarded-Host with the Host it serves: a client's own is dropped."""
    _, url, _ = proxied
    r = httpx.get(
        url + "/scenario/guizhou-b1-s01",
        timeout=10,
        headers={"Host": DOMAIN, "X-Forwarded-Host": "evil.example", "Accept": "text/html"},
    )
    assert r.status_code == 303 and "evil.example" not in r.headers["location"]
