"""`dipkg publish --to URL` against a real `oxigraph serve` started here (loopback only)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import cli_env
from tests.endpoint.conftest import free_port
from tests.oxigraph import oxigraph_serve


@pytest.fixture()
def oxigraph_server(tmp_path):
    with oxigraph_serve(tmp_path / "ox") as url:
        yield url


def count(url: str, graph: str) -> int:
    response = httpx.post(
        f"{url}/query",
        data={"query": f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"},
        headers={"Accept": "application/sparql-results+json"},
    )
    response.raise_for_status()
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


def publish(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dipkg.cli", "publish", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=cli_env(**(env or {})),
    )


def test_publish_replaces_the_projects_graph(oxigraph_server, built_data, build_result):
    triples = build_result.manifest.counts.triples
    graph = "https://w3id.org/dipkg/graph/data"
    for _ in range(2):  # the second publish replaces, it does not add
        done = publish("--to", f"{oxigraph_server}/store", "--data", str(built_data))
        assert done.returncode == 0, done.stderr
        assert count(oxigraph_server, graph) == triples
    assert "published dipkg.nt" in done.stdout
    assert count(oxigraph_server, "https://w3id.org/dipkg/graph/catalog") >= 0


def test_publish_into_a_chosen_graph(oxigraph_server, built_data, build_result):
    done = publish(
        "--to",
        f"{oxigraph_server}/store",
        "--data",
        str(built_data),
        "--graph",
        "http://example.org/g",
    )
    assert done.returncode == 0, done.stderr
    assert count(oxigraph_server, "http://example.org/g") == build_result.manifest.counts.triples


def test_publish_to_nothing_is_a_clear_error(built_data):
    done = publish("--to", f"http://127.0.0.1:{free_port()}/store", "--data", str(built_data))
    assert done.returncode == 1
    assert "error[publish]" in done.stderr and "could not reach" in done.stderr
    assert "Traceback" not in done.stderr


def test_update_to_nothing_says_nothing_of_staging_graphs(built_data):
    """--update to a port nothing listens on: no graph was staged, so none is said to be
    left behind (it said "the staging graphs could not be removed")."""
    url = f"http://127.0.0.1:{free_port()}"
    done = publish("--to", url + "/store", "--update", url + "/update", "--data", str(built_data))
    assert done.returncode == 1
    assert "error[publish]" in done.stderr and "could not send graph" in done.stderr
    assert "the target's graphs were not touched" in done.stderr
    assert "staging" not in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_publish_refused_names_the_status(oxigraph_server, built_data):
    done = publish("--to", f"{oxigraph_server}/no-such-service", "--data", str(built_data))
    assert done.returncode == 1
    assert "HTTP 404" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("graph", ["not an iri", "relative/graph"])
def test_a_graph_name_that_is_no_iri_is_one_line(built_data, graph):
    done = publish(
        "--to", f"http://127.0.0.1:{free_port()}/store", "--data", str(built_data), "--graph", graph
    )
    assert done.returncode == 1
    assert done.stderr.startswith("error[config]: the graph name is not an absolute IRI"), (
        done.stderr
    )
    assert len(done.stderr.strip().splitlines()) == 1 and "internal" not in done.stderr


def test_a_failure_never_shows_the_password(built_data):
    done = publish(
        "--to", f"http://admin:s3cret@127.0.0.1:{free_port()}/store", "--data", str(built_data)
    )
    assert done.returncode == 1
    assert "s3cret" not in done.stderr + done.stdout and "admin" not in done.stderr


@pytest.mark.parametrize("scheme", ["basic", "digest"])
def test_credentials_in_the_url_are_sent(built_data, scheme, tmp_path):
    """A loopback Graph Store that wants HTTP authentication (digest like Virtuoso's, or basic)."""
    import base64
    import hashlib
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[str] = []

    class Store(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):  # noqa: N802 - the graph does not exist yet (publish keeps it for a rollback)
            self.do_PUT(missing=True)

        def do_PUT(self, missing=False):  # noqa: N802
            length = int(self.headers.get("Content-Length", 0))
            self.rfile.read(length)
            header = self.headers.get("Authorization", "")
            seen.append(header.split(" ", 1)[0])
            ok = False
            if (
                scheme == "basic"
                and header == "Basic " + base64.b64encode(b"admin:s3cret").decode()
            ):
                ok = True
            if scheme == "digest" and header.startswith("Digest "):
                fields = dict(
                    part.strip().split("=", 1)
                    for part in header[len("Digest ") :].split(",")
                    if "=" in part
                )
                fields = {k: v.strip('"') for k, v in fields.items()}
                ha1 = hashlib.md5(b"admin:store:s3cret").hexdigest()
                ha2 = hashlib.md5(f"{self.command}:{fields['uri']}".encode()).hexdigest()
                expected = hashlib.md5(
                    f"{ha1}:{fields['nonce']}:{fields['nc']}:{fields['cnonce']}:{fields['qop']}:{ha2}".encode()
                ).hexdigest()
                ok = fields.get("response") == expected
            if ok:
                self.send_response(404 if missing else 204)
            else:
                self.send_response(401)
                if scheme == "digest":
                    self.send_header(
                        "WWW-Authenticate", 'Digest realm="store", nonce="abc123", qop="auth"'
                    )
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
        # the same without the password in the URL (so not in `ps`): a file, or the environment
        secret = tmp_path / "password"
        secret.write_text("s3cret\n")
        bare = f"http://127.0.0.1:{server.server_address[1]}/store"
        from_file = publish(
            "--to",
            bare,
            "--user",
            "admin",
            "--password-file",
            str(secret),
            "--data",
            str(built_data),
            "--auth",
            scheme,
        )
        from_env = publish(
            "--to",
            bare,
            "--data",
            str(built_data),
            "--auth",
            scheme,
            env={"DIPKG_PUBLISH_USER": "admin", "DIPKG_PUBLISH_PASSWORD": "s3cret"},
        )
        wrong = publish(
            "--to",
            bare,
            "--data",
            str(built_data),
            "--auth",
            scheme,
            env={"DIPKG_PUBLISH_USER": "admin", "DIPKG_PUBLISH_PASSWORD": "wrong"},
        )
    finally:
        server.shutdown()
    assert done.returncode == 0, done.stderr
    assert from_file.returncode == 0, from_file.stderr
    assert from_env.returncode == 0, from_env.stderr
    assert wrong.returncode == 1 and "HTTP 401" in wrong.stderr and "wrong" not in wrong.stderr
    assert ("Digest" if scheme == "digest" else "Basic") in seen


class CurtStore:
    """A loopback Graph Store with digest authentication that, like Virtuoso 7.2's
    /sparql-graph-crud-auth, answers a request without valid credentials with 401 at once
    and closes the connection without reading its body; reads (GET) need none. Also the
    store's /update and /query (staged publishing). ``log``: (method, path, authorised)."""

    def __init__(self) -> None:
        import hashlib
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.log: list[tuple[str, str, bool]] = []
        self.graphs: list[str] = []  # the named graphs /query reports, Virtuoso's way
        self.forms: list[dict[str, list[str]]] = []  # each /query and /update form
        self.date: str | None = None  # the Date header it sends (None: its clock's)
        store = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def date_time_string(self, timestamp=None):
                return store.date or super().date_time_string(timestamp)

            def _authorised(self) -> bool:
                header = self.headers.get("Authorization", "")
                if not header.startswith("Digest "):
                    return False
                fields = {
                    k.strip(): v.strip().strip('"')
                    for k, _, v in (
                        part.partition("=") for part in header[len("Digest ") :].split(",")
                    )
                }
                ha1 = hashlib.md5(b"admin:store:s3cret").hexdigest()
                ha2 = hashlib.md5(f"{self.command}:{fields['uri']}".encode()).hexdigest()
                expected = hashlib.md5(
                    ":".join(
                        (ha1, fields["nonce"], fields["nc"], fields["cnonce"], fields["qop"], ha2)
                    ).encode()
                ).hexdigest()
                return fields.get("response") == expected

            def _answer(self) -> None:
                path = self.path.split("?", 1)[0]
                ok = self.command == "GET" or self._authorised()
                store.log.append((self.command, path, ok))
                if not ok:  # at once, the body unread, and the connection closed
                    self.send_response(401)
                    self.send_header(
                        "WWW-Authenticate", 'Digest realm="store", nonce="n0nce", qop="auth"'
                    )
                    self.send_header("Content-Length", "0")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.close_connection = True
                    return
                sent = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = b""
                if self.command == "POST":
                    from urllib.parse import parse_qs

                    store.forms.append(
                        {"update": [sent.decode()]}
                        if path == "/update"
                        else parse_qs(sent.decode())
                    )
                if self.command == "POST" and path == "/query":
                    # Virtuoso 7.2: GRAPH ?g {} is one row with ?g unbound; GRAPH ?g { ?s ?p
                    # ?o } lists the graphs (their names filtered as the query asks)
                    query = store.forms[-1]["query"][0]
                    rows = (
                        [{}]
                        if "GRAPH ?g {}" in query
                        else [
                            {"g": {"type": "uri", "value": g}}
                            for g in store.graphs
                            if g.rpartition("-staging-")[0] + "-staging-" in query
                        ]
                    )
                    answer = {"head": {"vars": ["g"]}, "results": {"bindings": rows}}
                    status, body = 200, json.dumps(answer).encode()
                else:
                    status = {"GET": 404, "DELETE": 404, "PUT": 201}.get(self.command, 204)
                self.send_response(status)
                self.send_header("Content-Type", "application/sparql-results+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_PUT = do_POST = do_DELETE = _answer  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def publish(self, data, *, staged: bool) -> subprocess.CompletedProcess[str]:
        """``dipkg publish --auth digest`` of ``data`` to this store (with ``--update`` when
        ``staged``), then the store stopped."""
        extra = ["--update", self.url + "/update"] if staged else []
        try:
            return publish(
                "--to",
                self.url + "/store",
                *extra,
                "--auth",
                "digest",
                "--data",
                str(data),
                env={"DIPKG_PUBLISH_USER": "admin", "DIPKG_PUBLISH_PASSWORD": "s3cret"},
            )
        finally:
            self.server.shutdown()


@pytest.mark.parametrize("staged", [False, True], ids=["plain", "update"])
def test_digest_uploads_are_not_cut_by_a_curt_401(built_data, staged):
    """The first upload met the challenge with its 1.5 MB body on the wire: a store that
    refuses it unread and hangs up broke it off (ReadError: seen with Virtuoso and
    --update, whose first request is that upload). A bodiless request meets the challenge
    first; every upload then goes out with credentials, once."""
    store = CurtStore()
    done = store.publish(built_data, staged=staged)
    assert done.returncode == 0, done.stderr
    puts = [entry for entry in store.log if entry[0] == "PUT"]
    assert puts and all(ok for _, _, ok in puts), store.log  # never refused: no body wasted
    assert store.log[0][:2] == ("DELETE", "/store")  # the bodiless request, before all else


def test_staging_graphs_left_behind_are_found_on_virtuoso_too(built_data):
    """Virtuoso 7.2 does not list graphs for ``GRAPH ?g {}`` (one row, ?g unbound), so the
    stale staging graphs of a failed --update were never found there, and no warning said
    so. Such a row is asked for and seen; then the graphs are read another way."""
    store = CurtStore()
    stale = "https://w3id.org/dipkg/graph/data-staging-0123456789ab"
    store.graphs = [stale, "https://w3id.org/dipkg/graph/data-staging-keep", "urn:x:other"]
    done = store.publish(built_data, staged=True)
    assert done.returncode == 0, done.stderr
    assert f"removed 1 staging graph(s) left by an earlier failed publish: <{stale}>" in (
        done.stdout + done.stderr
    )
    queries = [f["query"][0] for f in store.forms if "query" in f]
    assert len(queries) == 2 and "GRAPH ?g { ?s ?p ?o }" in queries[1]
    (switch,) = [f["update"][0] for f in store.forms if "update" in f]
    assert f"DROP SILENT GRAPH <{stale}>" in switch and "keep" not in switch


def test_a_clock_set_ahead_here_drops_no_staging_graph_of_a_run_under_way(built_data):
    """Staging graphs are dated by the run's clock; a publishing machine whose clock is
    days ahead took a run under way for one a day old. The query endpoint's Date header
    is the second clock: a graph must be a day old by both."""
    import email.utils
    import time

    from kg.publish import staging_token

    store = CurtStore()
    store.date = email.utils.formatdate(time.time() - 2 * 86400, usegmt=True)
    prefix = "https://w3id.org/dipkg/graph/data-staging-"
    recent = prefix + staging_token(time.time() - 1.5 * 86400)  # a day old only by our clock
    old = prefix + staging_token(time.time() - 3.5 * 86400)  # by both
    store.graphs = [recent, old]
    done = store.publish(built_data, staged=True)
    assert done.returncode == 0, done.stderr
    (switch,) = [f["update"][0] for f in store.forms if "update" in f]
    assert f"DROP SILENT GRAPH <{old}>" in switch and recent not in switch


# --- hostile targets and all-or-nothing ------------------------------------------------
DATA = "https://w3id.org/dipkg/graph/data"
CATALOG = "https://w3id.org/dipkg/graph/catalog"
OLD = b'<http://example.org/old> <http://example.org/p> "old" .\n'


class Gate:
    """A loopback proxy in front of `oxigraph serve` that turns hostile on demand:
    ``refuse``: a PUT of this graph (or a staging graph named after it) answers 500 with the
    request's header lines as its
    body (so an echoed Authorization header would show); ``drip``: the first ``drip`` PUTs
    are applied, then answered one byte every 0.5 s for up to 20 s."""

    def __init__(self, target: str) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.target = target
        self.refuse: str | None = None
        self.refuse_from = 0  # from this PUT on (1 = the first), every PUT is refused
        self.puts = 0
        self.drip = 0
        self.flood = False  # a GET answers an endless graph
        gate = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _forward(self):
                from urllib.parse import parse_qs, urlsplit

                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                graph = parse_qs(urlsplit(self.path).query).get("graph", [""])[0]
                gate.puts += self.command == "PUT"
                if self.command == "PUT" and (
                    (gate.refuse and graph.startswith(gate.refuse))
                    or 0 < gate.refuse_from <= gate.puts
                ):
                    echo = (self.requestline + "\r\n" + str(self.headers)).encode()
                    return self._send(500, echo)
                if self.command == "GET" and gate.flood:
                    try:
                        self.send_response(200)
                        self.send_header("Content-Type", "application/n-triples")
                        self.end_headers()  # no length: until the connection closes
                        line = (
                            b"<http://example.org/s> <http://example.org/p>"
                            b" <http://example.org/o> .\n" * 1000
                        )
                        for _ in range(100_000):
                            self.wfile.write(line)
                    except OSError:
                        pass
                    self.close_connection = True
                    return None
                response = httpx.request(
                    self.command,
                    gate.target + self.path,
                    content=body or None,
                    headers={
                        k: v
                        for k, v in self.headers.items()
                        if k.lower() in ("accept", "content-type")
                    },
                    timeout=60,
                )
                if self.command == "PUT" and gate.drip > 0:
                    gate.drip -= 1
                    try:
                        self.send_response(200)  # (a 204 could have no body to drip)
                        self.send_header("Content-Length", "1000")
                        self.end_headers()
                        for _ in range(40):
                            self.wfile.write(b" ")
                            self.wfile.flush()
                            time.sleep(0.5)
                    except OSError:
                        pass
                    self.close_connection = True
                    return None
                return self._send(
                    response.status_code, response.content, response.headers.get("content-type", "")
                )

            def _send(self, status, body, ctype="text/plain"):
                self.send_response(status)
                if ctype:
                    self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_PUT = do_DELETE = do_POST = do_HEAD = _forward  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture()
def gate(oxigraph_server):
    g = Gate(oxigraph_server)
    yield g
    g.close()


def put_old(url: str, graph: str) -> None:
    r = httpx.put(
        f"{url}/store",
        params={"graph": graph},
        content=OLD,
        headers={"Content-Type": "application/n-triples"},
    )
    assert r.status_code in (201, 204), r.text


@pytest.mark.parametrize("before", ["an earlier release", "nothing"])
def test_a_failed_catalogue_put_rolls_the_data_back(oxigraph_server, gate, built_data, before):
    """Data PUT accepted, catalogue PUT refused (with the request's headers echoed back):
    the data graph is put back (or removed), the line says what the target holds, and
    neither the password nor the echoed Authorization header is shown."""
    if before == "an earlier release":
        put_old(oxigraph_server, DATA)
        put_old(oxigraph_server, CATALOG)
    gate.refuse = CATALOG
    url = gate.url.replace("http://", "http://admin:s3cret@") + "/store"
    done = publish("--to", url, "--data", str(built_data))
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error[publish]: "), done.stderr
    assert f"refused graph <{CATALOG}>: HTTP 500" in lines[0]
    assert "rolled back, the target holds the previous release" in lines[0]
    assert (
        f"<{DATA}> holds its previous content ({'restored' if before != 'nothing' else 'none'}"
        in lines[0]
    )
    assert f"<{CATALOG}> holds its previous content" in lines[0]
    for secret in ("s3cret", "YWRtaW46czNjcmV0", "Authorization", "Host:"):
        assert secret not in done.stderr + done.stdout, secret
    expected = 1 if before == "an earlier release" else 0
    assert count(oxigraph_server, DATA) == expected and count(oxigraph_server, CATALOG) == expected


def test_a_failed_rollback_says_which_graph_is_new(oxigraph_server, gate, built_data):
    """The catalogue PUT and then the rollback's PUT are refused: the line says exactly which
    graph holds the new release and which the old one."""
    put_old(oxigraph_server, DATA)
    put_old(oxigraph_server, CATALOG)
    gate.refuse_from = 2
    done = publish("--to", f"{gate.url}/store", "--data", str(built_data))
    assert done.returncode == 1
    line = done.stderr.strip()
    assert "rollback FAILED" in line and f"<{DATA}> holds the NEW content" in line, line
    assert f"<{CATALOG}> holds its previous content" in line and "run `dipkg publish` again" in line
    assert (
        count(oxigraph_server, DATA) > 1 and count(oxigraph_server, CATALOG) == 1
    )  # as the line says


def test_a_dripping_target_is_stopped_at_the_time_limit(oxigraph_server, gate, built_data):
    """The data PUT is applied but its answer drips one byte every 0.5 s: publish stops at
    DIPKG_PUBLISH_TIMEOUT (not per read), rolls the data back, says so."""
    put_old(oxigraph_server, DATA)
    gate.drip = 1
    started = time.monotonic()
    done = publish(
        "--to", f"{gate.url}/store", "--data", str(built_data), env={"DIPKG_PUBLISH_TIMEOUT": "3"}
    )
    elapsed = time.monotonic() - started
    print(f"publish against a dripping target ended after {elapsed:.1f} s (limit 3 s)")
    assert done.returncode == 1, done.stderr
    assert "stopped after the time limit of 3 s" in done.stderr and "rolled back" in done.stderr
    assert elapsed < 10
    assert count(oxigraph_server, DATA) == 1


@pytest.mark.parametrize(
    "to", ["http://127.0.0.1:99999/store", "http://127.0.0.1:port/store", "http:///store"]
)
def test_a_bad_target_url_is_one_line(built_data, to):
    done = publish("--to", to, "--data", str(built_data))
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error[publish]: --to"), done.stderr


def test_an_endless_current_graph_is_not_kept(oxigraph_server, gate, built_data):
    """The copy kept for a rollback is bounded (16× the new graph + 64 MiB): a target that
    answers the GET with an endless graph stops publish before anything is written."""
    put_old(oxigraph_server, DATA)
    gate.flood = True
    done = publish("--to", f"{gate.url}/store", "--data", str(built_data))
    assert (
        done.returncode == 1
        and "is larger than" in done.stderr
        and "nothing was written" in done.stderr
    )
    assert count(oxigraph_server, DATA) == 1


def graphs_and_counts(url: str) -> dict[str, int]:
    response = httpx.post(
        f"{url}/query",
        data={"query": "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"},
        headers={"Accept": "application/sparql-results+json"},
    )
    return {b["g"]["value"]: int(b["n"]["value"]) for b in response.json()["results"]["bindings"]}


def test_with_update_every_graph_switches_at_once(oxigraph_server, built_data, build_result):
    """--update: the graphs are staged, then switched in one SPARQL Update request. A reader
    polling both graphs in one query meanwhile sees the old pair or the new pair, never a mix."""
    import threading

    put_old(oxigraph_server, DATA)
    put_old(oxigraph_server, CATALOG)
    seen: set[tuple[int, int]] = set()
    stop = threading.Event()

    def reader():
        query = (
            "SELECT ?d ?c WHERE { "
            f"{{ SELECT (COUNT(*) AS ?d) WHERE {{ GRAPH <{DATA}> {{ ?s ?p ?o }} }} }} "
            f"{{ SELECT (COUNT(*) AS ?c) WHERE {{ GRAPH <{CATALOG}> {{ ?s ?p ?o }} }} }} }}"
        )
        while not stop.is_set() and len(seen) < 1000:
            row = httpx.post(
                f"{oxigraph_server}/query",
                data={"query": query},
                headers={"Accept": "application/sparql-results+json"},
            ).json()["results"]["bindings"][0]
            seen.add((int(row["d"]["value"]), int(row["c"]["value"])))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        done = publish(
            "--to",
            f"{oxigraph_server}/store",
            "--update",
            f"{oxigraph_server}/update",
            "--data",
            str(built_data),
        )
    finally:
        stop.set()
        thread.join(30)
    assert done.returncode == 0, done.stderr
    after = graphs_and_counts(oxigraph_server)
    new = (build_result.manifest.counts.triples, after[CATALOG])
    assert after[DATA] == new[0] and not [g for g in after if "-staging-" in g]
    assert seen <= {(1, 1), new}, seen


def test_with_update_a_refused_graph_leaves_the_target_untouched(oxigraph_server, gate, built_data):
    put_old(oxigraph_server, DATA)
    put_old(oxigraph_server, CATALOG)
    gate.refuse = CATALOG
    done = publish(
        "--to",
        f"{gate.url}/store",
        "--update",
        f"{oxigraph_server}/update",
        "--data",
        str(built_data),
    )
    assert done.returncode == 1
    assert (
        f"refused graph <{CATALOG}>" in done.stderr
        and "the target's graphs were not touched" in done.stderr
    )
    assert graphs_and_counts(oxigraph_server) == {
        DATA: 1,
        CATALOG: 1,
    }  # and no staging graph is left


def test_publish_holds_its_release_while_it_sends(built_data, tmp_path):
    """A lease on the release, as a server holds one: two builds in a row cannot prune the
    files `dipkg publish` is sending (a catalogue gone mid-upload would leave the data graph
    replaced and not rolled back). On a copy: other tests' servers lease the session's
    build."""
    import os
    import shutil
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from dipkg.core.release import claim, open_release

    data = tmp_path / "data"
    shutil.copytree(built_data, data, symlinks=True)
    built_data = data
    root = open_release(built_data).root
    held: list[bool] = []

    class Store(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def answer(self, status: int) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self):  # noqa: N802 - no graph yet
            self.answer(404)

        def do_PUT(self):  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            fd = claim(root)  # what a build's pruning takes
            held.append(fd is None)
            if fd is not None:
                os.close(fd)
            self.answer(204)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Store)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        done = publish(
            "--to", f"http://127.0.0.1:{server.server_address[1]}/store", "--data", str(built_data)
        )
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 0, done.stderr
    assert held and all(held), "a build could have pruned the release mid-upload"
    fd = claim(root)
    assert fd is not None  # let go at the end
    os.close(fd)


def graph_names(url: str) -> set[str]:
    """Every named graph of the store, empty ones too (as an operator lists them)."""
    response = httpx.post(
        f"{url}/query",
        data={"query": "SELECT DISTINCT ?g WHERE { GRAPH ?g {} }"},
        headers={"Accept": "application/sparql-results+json"},
    )
    return {b["g"]["value"] for b in response.json()["results"]["bindings"]}


def test_staging_graphs_a_failed_switch_left_are_dropped_by_the_next_publish(
    oxigraph_server, built_data
):
    """An --update that cannot be sent leaves the staged graphs behind (two failed runs: two
    copies). The next successful publish drops those made a day or more ago, says so, and
    leaves every other graph alone: an unrelated one, ones only looking like a staging graph
    of ours, and the fresh ones, which may be a run still under way (Virtuoso would empty its
    target on that run's MOVE from a dropped graph)."""
    import time

    from kg.publish import staging_token

    bystanders = {
        "http://example.org/other",
        "http://example.org/other-staging-0123456789ab",  # a graph this release does not publish
        f"{DATA}-staging-abc",
        f"{DATA}-staging-0123456789abc",
        f"{DATA}-staging-0123456789AB",
        f"{DATA}-staging-0123456789ab/x",
        f"{DATA}x-staging-0123456789ab",
        f"{DATA}-staging-{'0' * 18}",  # neither today's 24 digits nor the older 12
    }
    for g in bystanders:
        put_old(oxigraph_server, g)
    store = f"{oxigraph_server}/store"
    for _ in range(2):
        failed = publish(
            "--to", store, "--update", f"{oxigraph_server}/wrong", "--data", str(built_data)
        )
        assert failed.returncode == 1
        assert "the staging graphs could not be removed (HTTP 404" in failed.stderr
        assert "to this target a day or more later drops them" in failed.stderr
    fresh = graph_names(oxigraph_server) - bystanders
    assert len(fresh) == 4 and all("-staging-" in g for g in fresh), fresh
    day_old = staging_token(time.time() - 86400 - 60)
    older_dipkg = day_old[:8] + "abcd"  # 12 digits: dated by an older dipkg
    left = {
        f"{DATA}-staging-{day_old}",
        f"{CATALOG}-staging-{day_old}",
        f"{CATALOG}-staging-{older_dipkg}",
    }
    for g in left:
        put_old(oxigraph_server, g)

    done = publish(
        "--to", store, "--update", f"{oxigraph_server}/update", "--data", str(built_data)
    )
    assert done.returncode == 0, done.stderr
    assert "removed 3 staging graph(s) left by an earlier failed publish" in done.stdout
    assert all(f"<{g}>" in done.stdout for g in left)
    assert graph_names(oxigraph_server) == bystanders | fresh | {DATA, CATALOG}
    assert all(count(oxigraph_server, g) == 1 for g in bystanders)

    again = publish(
        "--to", store, "--update", f"{oxigraph_server}/update", "--data", str(built_data)
    )
    assert again.returncode == 0 and "removed" not in again.stdout + again.stderr


def test_staging_graphs_that_cannot_be_looked_for_are_a_warning(oxigraph_server, built_data):
    """A --query that does not answer: the publish still succeeds, with one warning line
    (no password in it); nothing else is dropped."""
    put_old(oxigraph_server, f"{DATA}-staging-0123456789ab")
    ox = oxigraph_server.replace("http://", "http://admin:s3cret@")
    done = publish(
        "--to",
        f"{ox}/store",
        "--update",
        f"{oxigraph_server}/update",
        "--query",
        f"{ox}/nope",
        "--data",
        str(built_data),
    )
    assert done.returncode == 0, done.stderr
    warning = [line for line in done.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warning) == 1 and "HTTP 404" in warning[0] and "--query" in warning[0], done.stderr
    assert "s3cret" not in done.stdout + done.stderr
    assert f"{DATA}-staging-0123456789ab" in graph_names(oxigraph_server)


def test_the_query_endpoint_is_found_next_to_the_update_endpoint():
    from kg.publish import query_endpoint

    assert query_endpoint("http://h:7878/update") == "http://h:7878/query"
    assert query_endpoint("http://h/ds/update?x=1") == "http://h/ds/query?x=1"
    assert query_endpoint("http://h:8890/sparql-auth") == "http://h:8890/sparql-auth"
    assert query_endpoint("http://h/updates") == "http://h/updates"


def test_a_staging_token_dates_its_graph():
    """24 lowercase hex digits, the first 8 the run's start, 16 random (12 with 4 random
    collided at 1 in 65,536 for two runs started in the same second): only a graph a day old
    or more counts as stale; a token of an older dipkg (random) that reads as a time to come
    is kept, one that dates itself (12 digits, time first) is read the same way."""
    from kg.publish import STALE_AFTER, _old_enough, staging_token

    now = 1_800_000_000.0
    token = staging_token(now)
    assert re.fullmatch(r"[0-9a-f]{24}", token) and int(token[:8], 16) == int(now)
    assert len({staging_token(now) for _ in range(1000)}) == 1000
    name = f"{DATA}-staging-"
    assert not _old_enough(name + staging_token(now - 60), now)  # may be a run under way
    assert _old_enough(name + staging_token(now - STALE_AFTER), now)
    assert not _old_enough(name + "ffffffff0000", now)
    assert _old_enough(name + "0123456789ab", now)
    assert not _old_enough(name + f"{int(now) - 60:08x}0000", now)  # older dipkg, this minute
    assert _old_enough(name + f"{int(now - STALE_AFTER):08x}0000", now)
