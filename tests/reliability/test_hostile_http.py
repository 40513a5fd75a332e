"""Hostile HTTP input against a real server (hypothesis, bounded example counts).

Paths (traversal, ``%2e%2e``, ``%00``, over-long, invalid UTF-8 escapes, full-width
characters, double slashes), query parameters, Accept, Accept-Language and
Content-Type are fuzzed. Whatever comes in: never a 5xx, never a byte of a file
outside the published data (a canary is planted next to the data folder, inside
it, inside the release and in the server's working directory), and every error is
the one JSON shape ``{error, status, message}`` (or the HTML error page a browser
asked for). Requests go over raw sockets so nothing on the client normalises them;
a request line that is not valid HTTP at all (raw non-ASCII bytes, a path beyond
the HTTP parser's limit) is refused by the HTTP protocol with a 400 in the same JSON
shape (sparql_api/connections.py), which is counted separately.
"""

from __future__ import annotations

import json
import socket
from collections import Counter
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.endpoint.conftest import Server
from tests.reliability.conftest import CANARY, record

FORBIDDEN = (CANARY.encode(), b"root:x:0:0", b"PRIVATE KEY")
#: what the server says of bytes its HTTP parser refuses (sparql_api/connections.py)
PROTOCOL_400 = b"the request is not valid HTTP"
COUNTS: Counter = Counter()
FUZZ = settings(
    max_examples=500,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def server(canary_server: Server) -> Iterator[Server]:
    yield canary_server
    record("hostile_http", dict(sorted(COUNTS.items())))


def raw(
    server: Server,
    method: str,
    target: bytes,
    headers: dict[str, bytes] | None = None,
    body: bytes = b"",
) -> tuple[int, dict[str, str], bytes]:
    host, port = server.url.removeprefix("http://").split(":")
    lines = [
        method.encode() + b" " + target + b" HTTP/1.1",
        b"Host: " + host.encode() + b":" + port.encode(),
        b"Connection: close",
    ]
    for name, value in (headers or {}).items():
        lines.append(name.encode() + b": " + value)
    if body or method == "POST":
        lines.append(b"Content-Length: " + str(len(body)).encode())
    request = b"\r\n".join(lines) + b"\r\n\r\n" + body
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            chunk = sock.recv(1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    data = b"".join(chunks)
    head, _, payload = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ")[1])
    out: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        out[name.strip().lower()] = value.strip()
    if out.get("transfer-encoding", "").lower() == "chunked":
        payload = _dechunk(payload)
    return status, out, payload


def _dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2 :]
    return out


def check(method: str, target: bytes, status: int, headers: dict[str, str], body: bytes) -> None:
    where = f"{method} {target[:300]!r} -> {status}"
    COUNTS["requests"] += 1
    COUNTS[f"status_{status // 100}xx"] += 1
    assert status < 500, f"{where}: {body[:300]!r}"
    for secret in FORBIDDEN:
        assert secret not in body, f"{where}: a file outside the published data leaked"
    if status < 400:
        return
    ctype = headers.get("content-type", "")
    if PROTOCOL_400 in body:  # the parser's refusal of a request that is not HTTP
        assert status == 400 and ctype == "application/json"
        COUNTS["refused_by_the_http_parser"] += 1
    if ctype.startswith("text/html"):
        COUNTS["html_error_pages"] += 1
        return
    assert ctype.startswith("application/json"), f"{where}: error as {ctype!r}: {body[:200]!r}"
    if method == "HEAD":
        return
    error = json.loads(body)
    assert {"error", "status", "message"} <= error.keys(), f"{where}: {error}"
    assert error["status"] == status and isinstance(error["message"], str), f"{where}: {error}"


# --- paths ---------------------------------------------------------------------------

TRAVERSALS = [
    "/dumps/../../etc/passwd",
    "/dumps/%2e%2e/%2e%2e/etc/passwd",
    "/dumps/%2E%2E/%2E%2E/secret.txt",
    "/dumps/..%2f..%2fsecret.txt",
    "/dumps/..%2F..%2F..%2Fsecret.txt",
    "/dumps/%2e%2e%2f%2e%2e%2fsecret.txt",
    "/dumps/..%5c..%5csecret.txt",
    "/dumps/..\\..\\secret.txt",
    "/dumps/.%2e/.%2e/secret.txt",
    "/dumps/%252e%252e/%252e%252e/secret.txt",
    "/dumps/%c0%ae%c0%ae/%c0%ae%c0%ae/secret.txt",
    "/dumps/../canary.ttl",
    "/dumps/..%2fcanary.ttl",
    "/dumps/%2e%2e/canary.ttl",
    "/dumps/../manifest.json",
    "/dumps/../store/CURRENT",
    "/dumps/..%2fstore%2fCURRENT",
    "/dumps/dipkg.ttl%00",
    "/dumps/dipkg.ttl%00.html",
    "/dumps/%00../../secret.txt",
    "/dumps//etc/passwd",
    "/dumps/%2fetc%2fpasswd",
    "/dumps/secret.txt",
    "/static/../../../secret.txt",
    "/static/%2e%2e/%2e%2e/%2e%2e/secret.txt",
    "/static/..%2f..%2f..%2fsecret.txt",
    "/static//etc/passwd",
    "/static/%2fetc%2fpasswd",
    "/static/....//....//secret.txt",
    "/static/%ff%fe",
    "/static/%c0%af",
    "/static/..;/..;/secret.txt",
    "/scenario/../../../../etc/passwd",
    "/scenario/%2e%2e/%2e%2e/secret.txt",
    "/scenario/guizhou-b1-s01/../../../secret.txt",
    "/scenario/guizhou-b1-s01%00.ttl",
    "/scenario/%ff%fe",
    "/scenario/%ef%bc%8e%ef%bc%8e/secret.txt",
    "/%ef%bd%93%ef%bd%83%ef%bd%85%ef%bd%8e%ef%bd%81%ef%bd%92%ef%bd%89%ef%bd%8f/guizhou-b1-s01",
    "//etc/passwd",
    "///etc//passwd",
    "//scenario//guizhou-b1-s01",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/..%2f..%2f..%2fetc%2fpasswd",
    "/catalog/../../secret.txt",
    "/catalog.ttl%00",
    "/ontology/../../secret.txt",
    "/.well-known/../../secret.txt",
    "/secret.txt",
    "/passwd",
    "/releases/secret.txt",
    "/current/manifest.json",
    "/data/secret.txt",
    "/%00",
    "/%",
    "/%zz",
    "/%e4%b8",
    "/a%ffb",
    "/query/../../secret.txt",
    "/sparql/../../secret.txt",
    "/" + "a" * 4000,
    "/static/" + "a" * 300,
    "/static/x/" + "b" * 5000,
    "/dumps/" + "a" * 300,
    "/scenario/" + "a" * 300 + ".ttl",
    "/scenario/" + "%2e%2e/" * 2000 + "secret.txt",
    "/dumps/" + "..%2f" * 1000 + "etc%2fpasswd",
    "/" + "%ff" * 3000,
]
RAW_TARGETS = [  # not valid HTTP request targets: the HTTP parser may refuse them
    b"/dumps/\xff\xfe",
    b"/\xef\xbd\x93\xef\xbd\x83",
    b"/scenario/\x00",
    b"/" + b"a" * 100_000,
    b"http://evil.example/etc/passwd",
    b"*",
    b"../../etc/passwd",
    b"/dumps/dipkg.ttl\x00",
]


@pytest.mark.parametrize("target", TRAVERSALS)
def test_known_traversals_reach_nothing(server: Server, target: str) -> None:
    for method in ("GET", "HEAD"):
        status, headers, body = raw(server, method, target.encode())
        check(method, target.encode(), status, headers, body)
        assert status in (301, 303, 400, 404, 405, 406, 308), (target, status)
    status, headers, body = raw(server, "GET", target.encode(), {"Accept": b"text/html"})
    check("GET", target.encode(), status, headers, body)
    COUNTS["fixed_paths"] += 1


@pytest.mark.parametrize("target", RAW_TARGETS)
def test_raw_request_targets_reach_nothing(server: Server, target: bytes) -> None:
    status, headers, body = raw(server, "GET", target)
    check("GET", target, status, headers, body)
    assert status in (400, 404, 414), (target[:80], status)
    COUNTS["raw_targets"] += 1


SEGMENTS = st.one_of(
    st.sampled_from(
        [
            "..",
            "%2e%2e",
            "%2E%2E",
            ".%2e",
            "%2e.",
            "...",
            ".",
            "",
            "%00",
            "%ff%fe",
            "%c0%af",
            "%2f",
            "%5c",
            "..%2f",
            "..%5c",
            "%252e%252e",
            "dumps",
            "static",
            "scenario",
            "catalog",
            "ontology",
            "secret.txt",
            "passwd",
            "etc",
            "current",
            "releases",
            "manifest.json",
            "store",
            "CURRENT",
            "canary.ttl",
            "dipkg.ttl",
            "dipkg.ttl.gz",
            "guizhou-b1-s01",
            "guizhou-b1-s01.ttl",
            "data",
            "1.2.3",
            "index.json",
            "%ef%bd%93%ef%bd%83",
            "%e4%b8%ad",
            "%ef%bc%8e%ef%bc%8e",
            "%f0%9f%98%80",
            "%ed%a0%80",
            "%c3%28",
            "%e2%82",
            "%",
            "%%",
            "%g0",
            ";",
            "?",
            "#",
        ]
    ),
    st.text(max_size=12).map(lambda s: quote(s, safe="")),
    st.integers(1, 6000).map(lambda n: "a" * n),
)
PREFIXES = st.sampled_from(
    [
        "",
        "/dumps",
        "/static",
        "/scenario",
        "/domain",
        "/concept",
        "/scheme",
        "/catalog",
        "/ontology",
        "/sparql",
        "/query",
        "/.well-known",
        "/guide",
        "/dataset",
        "/",
    ]
)


@FUZZ
@given(
    prefix=PREFIXES,
    segments=st.lists(SEGMENTS, max_size=8),
    method=st.sampled_from(["GET", "GET", "HEAD", "POST", "OPTIONS"]),
    accept=st.sampled_from([None, b"text/html", b"application/json", b"text/turtle", b"*/*"]),
)
def test_fuzzed_paths_reach_nothing(
    server: Server, prefix: str, segments: list[str], method: str, accept: bytes | None
) -> None:
    target = (prefix + "/" + "/".join(segments)).encode("ascii")
    status, headers, body = raw(server, method, target, {"Accept": accept} if accept else {})
    check(method, target, status, headers, body)
    COUNTS["fuzzed_paths"] += 1


# --- query parameters ----------------------------------------------------------------

VALUES = st.one_of(
    st.sampled_from(
        [
            "ASK {}",
            "SELECT * WHERE { ?s ?p ?o } LIMIT 3",
            "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 2",
            "json",
            "xml",
            "csv",
            "tsv",
            "turtle",
            "json-ld",
            "nt",
            "rdf+xml",
            "html",
            "zh",
            "en",
            "true",
            "false",
            "01",
            "text/html",
            "*/*",
            "",
            "../../secret.txt",
            "file:///etc/passwd",
            "http://127.0.0.1:9/",
            "\x00",
            "\ufeff",
            "ｊｓｏｎ",
            "ＡＳＫ {}",
            "a" * 3000,
        ]
    ),
    st.text(max_size=40),
)
PARAM_NAMES = st.sampled_from(
    [
        "query",
        "format",
        "output",
        "lang",
        "example",
        "default-graph-uri",
        "named-graph-uri",
        "union-default-graph",
        "update",
        "x",
        "query[]",
        "",
        "%ff",
        "q%00",
    ]
)


def _encode(params: list[tuple[str, str]], garble: bool) -> str:
    parts = [
        (k if k.startswith("%") or k == "q%00" else quote(k, safe="")) + "=" + quote(v, safe="")
        for k, v in params
    ]
    if garble:
        parts.append("query=%ff%fe%c0%af")
    return "&".join(parts)


@FUZZ
@given(
    path=st.sampled_from(
        [
            "/sparql",
            "/query",
            "/",
            "/scenario/guizhou-b1-s01",
            "/scenario/guizhou-b1-s01.html",
            "/dumps/",
            "/dumps/dipkg.ttl",
            "/catalog",
            "/catalog.ttl",
            "/ontology",
            "/.well-known/void",
            "/health",
            "/static/style.css",
        ]
    ),
    params=st.lists(st.tuples(PARAM_NAMES, VALUES), max_size=4),
    garble=st.booleans(),
    method=st.sampled_from(["GET", "POST"]),
)
def test_fuzzed_query_parameters(
    server: Server, path: str, params: list[tuple[str, str]], garble: bool, method: str
) -> None:
    query = _encode(params, garble)
    target = f"{path}?{query}".encode("ascii") if query else path.encode()
    if method == "POST" and path in ("/sparql", "/query"):  # the same parameters as a form body
        status, headers, body = raw(
            server,
            "POST",
            path.encode(),
            {"Content-Type": b"application/x-www-form-urlencoded"},
            query.encode(),
        )
    else:
        status, headers, body = raw(server, method, target)
    check(method, target, status, headers, body)
    COUNTS["fuzzed_parameter_sets"] += 1


# --- headers -------------------------------------------------------------------------

HEADER_TEXT = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"), max_size=80
).map(lambda s: s.encode("latin-1"))
ACCEPTS = st.one_of(
    st.sampled_from(
        [
            b"text/html",
            b"*/*",
            b"",
            b"*",
            b"text/*;q=0",
            b"*/*;q=0",
            b"application/json;q=abc",
            b"text/turtle;q=1e999",
            b"application/ld+json;q=-1",
            b"application/sparql-results+json;q=NaN",
            b"text/html, */*;q=0.0001",
            b";;;,,,",
            b"text/html;level=1;q=0.5, text/turtle;q=0.5",
            b"image/png",
            b"application/xml;q=0.9",
            b"text/csv;charset=ebcdic",
            b"\xff\xfe",
            b'application/ld+json;profile="http://www.w3.org/ns/json-ld#expanded"',
            b"a" * 4000,
            b", ".join([b"text/html"] * 500),
        ]
    ),
    HEADER_TEXT,
)
LANGUAGES = st.one_of(
    st.sampled_from(
        [
            b"zh",
            b"en",
            b"*",
            b"",
            b"zh-Hans-CN;q=0.5, en;q=0.9",
            b"en;q=abc",
            b"de, fr;q=0.1",
            b"x" * 4000,
            b"zh;q=1e999",
            b"en;q=-1",
            b"\xe4\xb8\xad\xe6\x96\x87",
            b",,,;;;",
            b"i-klingon",
            b"zh-\xff",
        ]
    ),
    HEADER_TEXT,
)
CONTENT_TYPES = st.one_of(
    st.sampled_from(
        [
            b"application/sparql-query",
            b"application/x-www-form-urlencoded",
            b"application/sparql-update",
            b"application/sparql-query; charset=latin-1",
            b'application/sparql-query; charset=utf-8; x="y',
            b"application/x-www-form-urlencoded; charset=\xff",
            b"multipart/form-data; boundary=x",
            b"text/plain",
            b"application/json",
            b"",
            b";",
            b"*/*",
            b"application/sparql-query;;;",
            b"APPLICATION/SPARQL-QUERY",
        ]
    ),
    HEADER_TEXT,
)
BODIES = st.one_of(
    st.sampled_from(
        [
            b"ASK {}",
            b"query=ASK%7B%7D",
            b"query=%ff%fe",
            b"\xff\xfe\x00",
            b"",
            b'--x\r\nContent-Disposition: form-data; name="query"\r\n\r\nASK {}\r\n--x--',
            b"update=LOAD%20%3Cfile%3A%2F%2F%2Fetc%2Fpasswd%3E",
            b'{"query": "ASK {}"}',
        ]
    ),
    st.binary(max_size=200),
)


@FUZZ
@given(
    path=st.sampled_from(
        [
            "/sparql?query=ASK%20%7B%7D",
            "/sparql?query=CONSTRUCT%20WHERE%20%7B%3Fs%20%3Fp%20%3Fo%7D%20LIMIT%201",
            "/sparql",
            "/",
            "/scenario/guizhou-b1-s01",
            "/scenario/guizhou-b1-s01.html",
            "/scheme/data-kinds",
            "/dumps/",
            "/dumps/SHA256SUMS",
            "/catalog",
            "/ontology",
            "/no/such/thing",
            "/query",
        ]
    ),
    accept=st.one_of(st.none(), ACCEPTS),
    language=st.one_of(st.none(), LANGUAGES),
)
def test_fuzzed_accept_and_accept_language(
    server: Server, path: str, accept: bytes | None, language: bytes | None
) -> None:
    headers = {}
    if accept is not None:
        headers["Accept"] = accept
    if language is not None:
        headers["Accept-Language"] = language
    status, out, body = raw(server, "GET", path.encode(), headers)
    check("GET", path.encode() + b" " + repr(headers).encode(), status, out, body)
    COUNTS["fuzzed_accept_headers"] += 1


@FUZZ
@given(
    content_type=st.one_of(st.none(), CONTENT_TYPES),
    body=BODIES,
    accept=st.one_of(st.none(), ACCEPTS),
    path=st.sampled_from(
        ["/sparql", "/query", "/sparql?format=json", "/scenario/guizhou-b1-s01", "/dumps/"]
    ),
)
def test_fuzzed_posts(
    server: Server, content_type: bytes | None, body: bytes, accept: bytes | None, path: str
) -> None:
    headers = {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    if accept is not None:
        headers["Accept"] = accept
    status, out, payload = raw(server, "POST", path.encode(), headers, body)
    check("POST", path.encode() + b" " + repr(headers).encode(), status, out, payload)
    COUNTS["fuzzed_posts"] += 1


def test_the_server_is_still_healthy(server: Server) -> None:
    status, _, body = raw(server, "GET", b"/health")
    assert status == 200 and json.loads(body)["workers"]["alive"] == 2
