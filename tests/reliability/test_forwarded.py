"""Forged X-Forwarded-Host / Host: no client may choose the URLs a shared cache keeps.

X-Forwarded-* are honoured only from the proxies in ``DIPKG_TRUSTED_PROXIES`` (none by
default); every 303/301 whose Location is built from the request says so in ``Vary``
(``Host``, and the X-Forwarded-* headers when a trusted proxy set them); the 404 page's
language links are paths on this site whatever the request path was. Clients are told
apart by their loopback source address (127.0.0.1 and 127.0.0.2).
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from tests.endpoint.conftest import Server, serving
from tests.reliability.conftest import record

SCENARIO = "/scenario/guizhou-b1-s01"
FORGED = {
    "X-Forwarded-Host": "evil.example",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Prefix": "/x",
}


def request(
    server: Server,
    target: str,
    headers: dict[str, str],
    source: str = "127.0.0.1",
    host: str | None = None,
) -> tuple[int, dict[str, str], str]:
    """One raw HTTP/1.1 request from ``source`` (nothing on the client rewrites it)."""
    addr, port = server.url.removeprefix("http://").split(":")
    lines = [
        f"GET {target} HTTP/1.1",
        f"Host: {host or addr + ':' + port}",
        "Connection: close",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    with socket.create_connection(
        (addr, int(port)), timeout=30, source_address=(source, 0)
    ) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        data = b""
        while chunk := sock.recv(1 << 16):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    out: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        key = name.strip().lower()
        out[key] = (out[key] + ", " if key in out else "") + value.strip()
    return int(status_line.split()[1]), out, body.decode("utf-8", "replace")


def vary(headers: dict[str, str]) -> set[str]:
    return {v.strip().lower() for v in headers.get("vary", "").split(",") if v.strip()}


@pytest.fixture(scope="module")
def proxied(canary_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server that trusts one proxy: 127.0.0.2."""
    yield from serving(
        canary_data,
        tmp_path_factory,
        "proxied",
        DIPKG_QUERY_WORKERS="1",
        DIPKG_TRUSTED_PROXIES='["127.0.0.2/32"]',
    )


def test_forged_forwarded_headers_from_an_untrusted_peer_are_ignored(canary_server: Server) -> None:
    own = canary_server.url
    cases = {
        "303 resource": (SCENARIO, {"Accept": "text/turtle"}),
        "303 catalog": ("/catalog", {"Accept": "text/turtle"}),
        "301 dumps": ("/dumps", {}),
    }
    seen = {}
    for name, (target, headers) in cases.items():
        status, out, _ = request(canary_server, target, {**headers, **FORGED})
        seen[name] = (status, out.get("location"))
        assert status in (301, 303), (name, status)
        assert out["location"].startswith(own + "/"), (name, out["location"])
        assert "host" in vary(out), (name, out.get("vary"))  # the Location is built from Host
        assert "x-forwarded-host" not in vary(out), (name, out.get("vary"))
    _, out, body = request(canary_server, "/sparql", {"Accept": "application/n-triples", **FORGED})
    assert f"<{own}/sparql>" in body and "evil.example" not in body
    assert "host" in vary(out)
    # a forged Host: the client's own URL (caches key on Host), said in Vary
    status, out, _ = request(
        canary_server, SCENARIO, {"Accept": "text/turtle"}, host="evil.example"
    )
    assert status == 303 and "host" in vary(out)
    record("forwarded", {"untrusted_forged": {k: list(v) for k, v in seen.items()}})


def test_a_configured_proxy_is_honoured_and_no_one_else(proxied: Server) -> None:
    status, out, _ = request(
        proxied, SCENARIO, {"Accept": "text/turtle", **FORGED}, source="127.0.0.2"
    )
    assert (
        status == 303 and out["location"] == "https://evil.example/x/scenario/guizhou-b1-s01.ttl"
    ), out
    assert {"host", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-prefix"} <= vary(out), out
    _, _, body = request(
        proxied, "/sparql", {"Accept": "application/n-triples", **FORGED}, source="127.0.0.2"
    )
    assert "<https://evil.example/x/sparql>" in body
    status, out, _ = request(
        proxied, SCENARIO, {"Accept": "text/turtle", **FORGED}, source="127.0.0.1"
    )
    assert status == 303 and out["location"].startswith(proxied.url + "/"), out


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/x",
        "///evil.example/x",
        "/\\evil.example/x",
        "/%5Cevil.example/x",
        "/%2F%2Fevil.example/x",
        "//evil.example/x?lang=zh",
    ],
)
def test_the_404_page_links_stay_on_the_site(canary_server: Server, target: str) -> None:
    status, _, body = request(canary_server, target, {"Accept": "text/html"})
    assert status == 404
    hrefs = re.findall(r'href="([^"]*)"', body)
    page = canary_server.url + "/page"  # what a browser resolves the links against (any path here)
    for href in hrefs:
        resolved = urlsplit(urljoin(page, href.replace("&amp;", "&")))
        assert resolved.hostname != "evil.example", href
    switch = re.findall(r'hreflang="\w+" href="([^"]*)"', body) + re.findall(
        r'<a href="([^"]*)" lang="[^"]*" hreflang=', body
    )
    assert len(switch) >= 3, (
        hrefs
    )  # <link rel=alternate> (the other language) and the two switch links
    for href in switch:  # the language links: this site, the requested path
        resolved = urlsplit(urljoin(page, href.replace("&amp;", "&")))
        assert (resolved.scheme, resolved.netloc) == (
            "http",
            canary_server.url.removeprefix("http://"),
        ), href
        assert href.startswith("/") and not href.startswith("//") and "\\" not in href, href
