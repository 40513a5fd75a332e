"""The serving process stays light: `dipkg serve` answering queries and pages has not loaded
the libraries only rare routes or other commands need (issue 17, the memory of the tree).

The real command runs in a subprocess (`dipkg.cli.main(["serve", ...])`, uvicorn and its
query workers included); a thread in that process waits for it, requests the hot routes over
127.0.0.1, lists ``sys.modules``, then requests the catalogue record, lists them again, and
stops the server with SIGINT. It also reads how many objects the server froze out of the
cycle collector's way once started (sparql_api.live.settle_heap).

Allowed in the serving process, and why (measured in bench/PROFILE.md, "The web process's
memory"): the web stack (fastapi, pydantic, starlette, uvicorn), jinja2 (the pages),
pyoxigraph (the pages' store and its terms), pydantic-settings (the settings object), and
typer with click (`dipkg serve` is a subcommand of the typer CLI; click is uvicorn's too).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import cli_env
from tests.endpoint.conftest import free_port

#: module -> where it is loaded instead (never by serving the hot routes)
NOT_WHILE_SERVING = {
    "rdflib": "the catalogue record, on the first /catalog or /.well-known/void request",
    "html5rdf": "rdflib's HTML parser (as rdflib)",
    "sparql_api.catalog_record": "as rdflib",
    "httpx": "the remote backend, or the query page's server-side answer",
    "sparql_api.remote": "the remote backend (DIPKG_SPARQL_BACKEND)",
    "kg": "the build (`dipkg build`)",
    "openpyxl": "the build's Excel workbook",
    "xlsxwriter": "the build's Chinese catalogue sheet",
    "docx": "the build's Word documents",
    "jieba": "the build's Chinese search index",
    "pyshacl": "the tests only",
    "rich": "the command's output, made on first use (dipkg/cli.py _Console): `dipkg serve` "
    "prints only when it fails",
    "matplotlib": "the bench only",
}

JSON = "application/sparql-results+json"
HOT = (  # (path, Accept)
    ("/health", "application/json"),
    ("/sparql?query=ASK%7B%7D", JSON),
    ("/sparql?query=SELECT%20*%20WHERE%20%7B%3Fs%20%3Fp%20%3Fo%7D%20LIMIT%205", JSON),
    ("/sparql?query=CONSTRUCT%20WHERE%20%7B%3Fs%20%3Fp%20%3Fo%7D%20LIMIT%205", "text/turtle"),
    ("/", "text/html"),
    ("/sparql", "text/html"),
    ("/scenario/guizhou-b1-s01", "text/html"),
    ("/scenario/guizhou-b1-s01", "text/turtle"),
)

_PROBE = """
import gc, json, os, signal, sys, threading, time, urllib.error, urllib.request

port, data, hot = int(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
base = f"http://127.0.0.1:{port}"


def get(path, accept="text/html"):
    request = urllib.request.Request(base + path, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status
    except urllib.error.HTTPError as err:
        return err.code


def probe():
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(base + "/health", timeout=2).close()
                break
            except OSError:
                time.sleep(0.1)
        statuses = {f"{path} ({accept})": get(path, accept) for path, accept in hot}
        serving = sorted(sys.modules)
        statuses["/catalog.ttl (text/turtle)"] = get("/catalog.ttl", "text/turtle")
        print(json.dumps({"statuses": statuses, "serving": serving,
                          "after_catalog": sorted(sys.modules),
                          "frozen": gc.get_freeze_count()}), flush=True)
    finally:
        os.kill(os.getpid(), signal.SIGINT)


threading.Thread(target=probe, daemon=True).start()
from dipkg.cli import main

sys.argv = ["dipkg", "serve", "--data", data, "--port", str(port)]
main()
"""


def _loaded(modules: list[str], name: str) -> bool:
    return any(m == name or m.startswith(name + ".") for m in modules)


def test_serving_loads_no_library_of_a_rare_route_or_another_command(built_data: Path):
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, str(free_port()), str(built_data), json.dumps(HOT)],
        env=cli_env(DIPKG_QUERY_WORKERS="1"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    assert lines, out.stderr[-2000:]
    seen = json.loads(lines[-1])
    assert all(status == 200 for status in seen["statuses"].values()), seen["statuses"]
    loaded = {
        name: why for name, why in NOT_WHILE_SERVING.items() if _loaded(seen["serving"], name)
    }
    assert not loaded, f"the serving process loaded (only needed for): {loaded}"
    # the known-bad beside it: the same listing sees rdflib once the record was asked for
    assert _loaded(seen["after_catalog"], "rdflib")
    assert _loaded(seen["serving"], "pyoxigraph") and _loaded(seen["serving"], "uvicorn")
    # and what it holds for good was set aside from the cycle collector once it started
    # (sparql_api.live.settle_heap): the modules and the app are tens of thousands of objects
    assert seen["frozen"] > 20_000, seen["frozen"]
