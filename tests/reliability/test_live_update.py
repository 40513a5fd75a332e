"""Updating the data without downtime: ``dipkg serve`` follows ``DIR/current`` (sparql_api/live.py).

A real server (``dipkg serve``, the user's command) answers a bounded loop of mixed
requests while the graph is rebuilt five times from changed inputs (the English
label of the industry domain becomes ``Industry r1`` … ``Industry r5``). Every
answer is checked against the release it names (``X-Dipkg-Build``): the label it
shows, the exact bytes and ETag of a dump range. 0 errors, the new data within
seconds, the server never restarted, no workers, file descriptors or releases left
behind. The builds use the real inputs: one takes 3-5 s alone here, about twice that
under this load (the figures in test-artifacts/reliability.json).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import pytest

from dipkg.core.manifest import FORMAT
from dipkg.core.release import open_release
from tests.conftest import cli_env
from tests.endpoint.conftest import Server, start_server, stop_server
from tests.reliability.conftest import lane_client, record, zombies
from tests.reliability.test_soak import SELECTS, wait_pool

WORKERS = 2
REBUILDS = 5
LANES = 8
MAX_REQUESTS = 20_000
BUDGET = 150.0  # seconds for the whole loop; it stops by itself
SWITCH_WITHIN = 20.0  # seconds from a finished build to the server answering from it

INDUSTRY = "https://w3id.org/dipkg/domain/industry"
LABEL_QUERY = (
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> SELECT ?l WHERE { "
    f"<{INDUSTRY}> rdfs:label ?l FILTER(lang(?l) = 'en') }}"
)
REVISION = re.compile(r"Industry r(\d+)")
CHECKED_DUMPS = ("dipkg.ttl", "dipkg.nt.gz", "dipkg.jsonld", "SHA256SUMS")
# a query that runs a few seconds: every English and Chinese label against every other, 3 times
SLOW_QUERY = (
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> SELECT (COUNT(*) AS ?n) WHERE { "
    "VALUES ?k { 1 2 3 } ?a rdfs:label ?x . ?b rdfs:label ?y }"
)


@dataclass
class Built:
    build_id: str
    rev: int
    root: Path
    files: dict[str, bytes]
    last_modified: str = ""


def set_revision(inputs: Path, rev: int) -> None:
    table = inputs / "translations.tsv"
    text = table.read_text(encoding="utf-8")
    changed = re.sub(r"(?m)^工业领域\t.*$", f"工业领域\tIndustry r{rev}", text, count=1)
    assert changed != text or f"Industry r{rev}" in text
    table.write_text(changed, encoding="utf-8")


def rebuild(data: Path, inputs: Path, rev: int) -> Built:
    """``dipkg build --out DATA`` (the user's command) from ``inputs`` changed to revision
    ``rev``."""
    set_revision(inputs, rev)
    done = subprocess.run(
        [sys.executable, "-m", "dipkg.cli", "build", "--out", str(data)],
        env=cli_env(DIPKG_INPUTS_DIR=str(inputs)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    release = open_release(data)
    files = {name: (release.dumps_dir / name).read_bytes() for name in CHECKED_DUMPS}
    return Built(release.build_id, rev, release.root, files)


def relink(data: Path, target: str) -> None:
    """Point ``current`` at ``target`` the way the build does (an atomic rename)."""
    tmp = data / ".current.test"
    tmp.symlink_to(target)
    os.replace(tmp, data / "current")


def serving(server: Server) -> str:
    return httpx.get(server.url + "/health", timeout=10).json()["build_id"]


def wait_serving(server: Server, build_id: str, within: float = SWITCH_WITHIN) -> float:
    """Seconds until /health names ``build_id``."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        try:
            if serving(server) == build_id:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise AssertionError(
        f"the server did not switch to {build_id} within {within} s: {serving(server)}"
    )


def releases(data: Path) -> set[str]:
    return {p.name for p in (data / "releases").iterdir()}


def label_rev(text: str) -> int | None:
    found = REVISION.search(text)
    return int(found.group(1)) if found else None


# --- the load ------------------------------------------------------------------------
@dataclass
class Seen:
    kind: str
    status: int
    build: str | None
    rev: int | None = None
    dump: tuple[str, int, int] | None = None  # (file, first byte, last byte)
    digest: str = ""
    etag: str = ""
    body_build: str | None = None  # a build id the body itself names (/dumps/index.json)


@dataclass
class Load:
    seen: list[Seen] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def expected(kind: str) -> set[int]:
    return {"dump-range": {206}}.get(kind, {200})


async def one(client: httpx.AsyncClient, rng: random.Random, i: int) -> Seen:
    roll = rng.random()
    if roll < 0.3:  # the label, by SPARQL (GET or POST; some unique: they miss the caches)
        query = LABEL_QUERY + (f" # {i}" if rng.random() < 0.5 else "")
        headers = {"Accept": "application/sparql-results+json"}
        if rng.random() < 0.5:
            r = await client.get("/sparql", params={"query": query}, headers=headers)
        else:
            r = await client.post("/sparql", data={"query": query}, headers=headers)
        rev = None
        if r.status_code == 200:
            rows = r.json()["results"]["bindings"]
            rev = label_rev(rows[0]["l"]["value"]) if rows else None
        return Seen("label", r.status_code, r.headers.get("x-dipkg-build"), rev=rev)
    if roll < 0.4:
        r = await client.get(
            "/sparql",
            params={"query": rng.choice(SELECTS) + f" # {i % 7}"},
            headers={"Accept": rng.choice(["text/csv", "application/sparql-results+json"])},
        )
        return Seen("select", r.status_code, r.headers.get("x-dipkg-build"))
    if roll < 0.6:  # pages: the domain's data (it shows the label) and an HTML page
        if rng.random() < 0.6:
            r = await client.get("/domain/industry." + rng.choice(["ttl", "nt", "jsonld"]))
            return Seen(
                "page-data", r.status_code, r.headers.get("x-dipkg-build"), rev=label_rev(r.text)
            )
        r = await client.get(
            rng.choice(["/domain/industry.html", "/scenario/guizhou-b1-s05.html", "/"]),
            headers={"Accept-Language": rng.choice(["zh", "en"])},
        )
        return Seen(
            "page-html", r.status_code, r.headers.get("x-dipkg-build"), rev=label_rev(r.text)
        )
    if roll < 0.9:  # dumps by Range, and a whole small one
        name = rng.choice(CHECKED_DUMPS)
        if name == "SHA256SUMS" or rng.random() < 0.1:
            r = await client.get(f"/dumps/{name}")
            return Seen(
                "dump",
                r.status_code,
                r.headers.get("x-dipkg-build"),
                dump=(name, 0, -1),
                digest=hashlib.sha256(r.content).hexdigest(),
                etag=r.headers.get("etag", ""),
            )
        start = rng.randrange(0, 20_000)
        r = await client.get(
            f"/dumps/{name}", headers={"Range": f"bytes={start}-{start + rng.randrange(0, 8000)}"}
        )
        span = (name, 0, -1)
        if r.status_code == 206:
            first, last = r.headers["content-range"].split(" ")[1].split("/")[0].split("-")
            span = (name, int(first), int(last))
        return Seen(
            "dump-range",
            r.status_code,
            r.headers.get("x-dipkg-build"),
            dump=span,
            digest=hashlib.sha256(r.content).hexdigest(),
            etag=r.headers.get("etag", ""),
        )
    if roll < 0.95:
        r = await client.get("/dumps/index.json")
        body = r.json() if r.status_code == 200 else {}
        ttl = next((d["sha256"] for d in body.get("dumps", []) if d["file"] == "dipkg.ttl"), "")
        return Seen("dump-index", r.status_code, None, body_build=body.get("build_id"), etag=ttl)
    r = await client.get("/health")
    return Seen(
        "health",
        r.status_code,
        None,
        body_build=r.json().get("build_id") if r.status_code == 200 else None,
    )


async def drive(base: str, stop: threading.Event, deadline: float, seed: int) -> Load:
    out = Load()
    counter = iter(range(MAX_REQUESTS))

    async def lane(n: int) -> None:
        rng = random.Random(seed * 100 + n)
        async with lane_client(base) as client:
            while not stop.is_set() and time.monotonic() < deadline:
                i = next(counter, None)
                if i is None:
                    return
                try:
                    out.seen.append(await one(client, rng, i))
                except (httpx.HTTPError, ValueError, KeyError) as exc:
                    out.errors.append(f"{type(exc).__name__}: {exc}")

    await asyncio.gather(*(lane(n) for n in range(LANES)))
    return out


def check(seen: list[Seen], builds: dict[str, Built]) -> list[str]:
    """Every answer is wholly the release it names: its label, its dumps' bytes and ETags."""
    problems = []
    for s in seen:
        if s.status not in expected(s.kind):
            problems.append(f"{s.kind}: status {s.status}")
            continue
        named = s.build or s.body_build
        if named not in builds:
            problems.append(f"{s.kind}: unknown build {named!r}")
            continue
        built = builds[named]
        if s.rev is not None and s.rev != built.rev:
            problems.append(f"{s.kind}: label of r{s.rev} from build {named} (r{built.rev})")
        if s.kind in ("label", "page-data") and s.rev is None:
            problems.append(f"{s.kind}: no label in the answer of build {named}")
        if s.dump is not None:
            name, first, last = s.dump
            whole = built.files[name]
            part = whole if last < 0 else whole[first : last + 1]
            if s.digest != hashlib.sha256(part).hexdigest():
                problems.append(f"{s.kind}: {name} bytes {first}-{last} are not build {named}'s")
            if name != "SHA256SUMS" and s.etag != f'"{hashlib.sha256(whole).hexdigest()}"':
                problems.append(f"{s.kind}: {name} ETag {s.etag} is not build {named}'s")
        if (
            s.kind == "dump-index"
            and s.etag != hashlib.sha256(built.files["dipkg.ttl"]).hexdigest()
        ):
            problems.append(f"dump-index: the listing of {named} names another dipkg.ttl")
    return problems


def test_the_checker_catches_mixed_answers() -> None:
    """Known-bad answers for :func:`check`: each mixes two releases or fails."""
    one_ = Built("b1", 1, Path("r1"), {n: b"one " * 100 for n in CHECKED_DUMPS})
    two = Built("b2", 2, Path("r2"), {n: b"two " * 100 for n in CHECKED_DUMPS})
    builds = {"b1": one_, "b2": two}
    good_tag = f'"{hashlib.sha256(two.files["dipkg.ttl"]).hexdigest()}"'
    part = hashlib.sha256(two.files["dipkg.ttl"][4:12]).hexdigest()
    assert (
        check(
            [
                Seen("label", 200, "b2", rev=2),
                Seen(
                    "dump-range", 206, "b2", dump=("dipkg.ttl", 4, 11), digest=part, etag=good_tag
                ),
            ],
            builds,
        )
        == []
    )
    bad = [
        Seen("label", 200, "b2", rev=1),  # the label of r1 with the build header of r2
        Seen("page-data", 200, "b1"),  # no label at all
        Seen(
            "dump-range",
            206,
            "b2",
            dump=("dipkg.ttl", 4, 11),  # r1's bytes under r2's name
            digest=hashlib.sha256(one_.files["dipkg.ttl"][4:12]).hexdigest(),
            etag=good_tag,
        ),
        Seen(
            "dump-range",
            206,
            "b2",
            dump=("dipkg.ttl", 4, 11),
            digest=part,  # r1's ETag
            etag=f'"{hashlib.sha256(one_.files["dipkg.ttl"]).hexdigest()}"',
        ),
        Seen("dump-range", 500, "b2"),
        Seen("label", 200, "b9", rev=1),
    ]
    assert len(check(bad, builds)) == len(bad)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_five_rebuilds_under_load_no_errors_no_mixing_no_leaks(
    inputs_copy: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    first = rebuild(data, inputs_copy, 0)
    builds = {first.build_id: first}
    server = start_server(
        data,
        tmp_path,
        cli=True,
        DIPKG_QUERY_WORKERS=str(WORKERS),
        DIPKG_RELOAD_INTERVAL="0.5",
        DIPKG_QUERY_TIMEOUT="10",
    )
    try:
        proc = psutil.Process(server.proc.pid)
        wait_pool(server, WORKERS)
        with httpx.Client(base_url=server.url, timeout=30) as warm:  # open what stays open
            for path in (
                "/",
                "/domain/industry.ttl",
                "/dumps/",
                "/dumps/dipkg.ttl",
                "/catalog.ttl",
            ):
                assert warm.get(path).status_code == 200
            r = warm.get(
                "/sparql", params={"query": LABEL_QUERY}, headers={"Accept": "application/json"}
            )
            old_tag, old_modified = r.headers["etag"], r.headers["last-modified"]
        fds_start = proc.num_fds()
        stop = threading.Event()
        result: dict[str, Load] = {}
        started = time.monotonic()
        loop = threading.Thread(
            target=lambda: result.update(
                load=asyncio.run(drive(server.url, stop, started + BUDGET, 20261201))
            ),
            name="live-load",
        )
        loop.start()
        lags, build_seconds = [], []
        try:
            time.sleep(1.0)  # the first release under load
            for rev in range(1, REBUILDS + 1):
                t = time.monotonic()
                built = rebuild(data, inputs_copy, rev)
                build_seconds.append(time.monotonic() - t)
                builds[built.build_id] = built
                lags.append(wait_serving(server, built.build_id))
                time.sleep(0.7)  # the new release under load; the old one drains
        finally:
            stop.set()
            loop.join(BUDGET)
        elapsed = time.monotonic() - started
        load = result["load"]
        problems = check(load.seen, builds)
        last = builds[built.build_id]

        # the new data without a restart; validators of the first release do not match it
        assert proc.is_running() and server.proc.poll() is None
        r = httpx.get(
            server.url + "/sparql",
            params={"query": LABEL_QUERY},
            headers={"Accept": "application/json", "If-None-Match": old_tag},
            timeout=30,
        )
        assert r.status_code == 200 and r.headers["x-dipkg-build"] == last.build_id
        assert label_rev(r.json()["results"]["bindings"][0]["l"]["value"]) == REBUILDS
        r2 = httpx.get(
            server.url + "/sparql",
            params={"query": LABEL_QUERY},
            headers={"Accept": "application/json", "If-Modified-Since": old_modified},
            timeout=30,
        )
        assert r2.status_code == 200, (
            "If-Modified-Since of the first release answered 304 for the last"
        )

        # no leaks: the old pools stopped, descriptors back, only the kept releases left
        wait_pool(server, WORKERS)
        time.sleep(0.5)
        fds_end = proc.num_fds()
        left = zombies(server)
        held = [f.path for f in proc.open_files() if "/releases/" in f.path]
        statuses = Counter((s.kind, s.status) for s in load.seen)
        figures = {
            "rebuilds": REBUILDS,
            "requests": len(load.seen),
            "seconds": round(elapsed, 1),
            "lanes": LANES,
            "errors": len(load.errors) + len(problems),
            "switch_seconds": {"max": round(max(lags), 2), "mean": round(sum(lags) / len(lags), 2)},
            "build_seconds": {
                "max": round(max(build_seconds), 2),
                "mean": round(sum(build_seconds) / len(build_seconds), 2),
            },
            "builds_seen_in_answers": len({s.build or s.body_build for s in load.seen}),
            "fds": {"start": fds_start, "end": fds_end},
            "workers_end": len(server.workers()),
            "zombies": len(left),
            "releases_left": len(releases(data)),
            "mix": dict(sorted(Counter(s.kind for s in load.seen).items())),
        }
        record("live_update", figures)
        print(figures, dict(statuses))
        assert not load.errors, load.errors[:10]
        assert not problems, f"{len(problems)} problems: {problems[:10]}"
        assert len(load.seen) >= 500, f"only {len(load.seen)} requests"
        assert figures["builds_seen_in_answers"] == REBUILDS + 1  # every release answered
        assert len(server.workers()) == WORKERS and not left
        assert fds_end <= fds_start + 4, (
            f"file descriptors: {fds_start} at the start, {fds_end} at the end"
        )
        assert all(last.root.name in path for path in held), held
        previous = [b for b in builds.values() if b.rev == REBUILDS - 1][0]
        assert releases(data) == {last.root.name, previous.root.name}
    finally:
        stop_server(server)


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_sighup_switches_at_once_old_queries_finish_held_releases_stay(
    inputs_copy: Path, tmp_path: Path
) -> None:
    """With polling off (DIPKG_RELOAD_INTERVAL=0) the server stays on its release through two
    builds: that release is kept (its lease), though retention alone would prune it, and its
    dumps still answer (before leases: 500). SIGHUP switches at once; a query running on the
    old release finishes there; then its workers stop and the next build prunes it."""
    data = tmp_path / "data"
    a = rebuild(data, inputs_copy, 0)
    server = start_server(
        data,
        tmp_path,
        cli=True,
        DIPKG_QUERY_WORKERS=str(WORKERS),
        DIPKG_RELOAD_INTERVAL="0",
        DIPKG_QUERY_TIMEOUT="60",
    )
    try:
        b = rebuild(data, inputs_copy, 1)
        c = rebuild(data, inputs_copy, 2)
        assert serving(server) == a.build_id
        assert releases(data) == {a.root.name, b.root.name, c.root.name}
        r = httpx.get(
            server.url + "/dumps/dipkg.ttl", headers={"Range": "bytes=100-199"}, timeout=30
        )
        assert r.status_code == 206 and r.content == a.files["dipkg.ttl"][100:200]

        slow: dict[str, object] = {}

        def run_slow() -> None:
            response = httpx.post(
                server.sparql,
                data={"query": SLOW_QUERY},
                timeout=90,
                headers={"Accept": "application/sparql-results+json"},
            )
            slow.update(response=response, done=time.monotonic())

        query = threading.Thread(target=run_slow)
        query.start()
        time.sleep(0.5)  # it is on a worker of release a
        os.kill(server.proc.pid, signal.SIGHUP)
        lag = wait_serving(server, c.build_id, within=10)
        switched = time.monotonic()
        both_pools = len(server.workers()) if "done" not in slow else None
        query.join(90)
        response = slow["response"]
        assert isinstance(response, httpx.Response)
        assert response.status_code == 200, response.text
        assert response.headers["x-dipkg-build"] == a.build_id
        assert slow["done"] > switched, "the slow query ended before the switch: make it slower"
        if both_pools is not None:
            assert both_pools == 2 * WORKERS  # the old pool runs until its query is done
        wait_pool(server, WORKERS)  # then it stops
        time.sleep(0.3)
        d = rebuild(data, inputs_copy, 3)  # a is no longer held: pruned now (b never was)
        assert releases(data) == {c.root.name, d.root.name}
        assert serving(server) == c.build_id  # polling is off
        os.kill(server.proc.pid, signal.SIGHUP)
        wait_serving(server, d.build_id, within=10)
        record(
            "live_update_sighup",
            {"switch_seconds": round(lag, 2), "pools_during_old_query": both_pools},
        )
    finally:
        stop_server(server)


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_release_that_cannot_be_opened_is_not_switched_to(
    inputs_copy: Path, tmp_path: Path
) -> None:
    """``current`` moved to a broken release: the server keeps answering from its release,
    says why in one line, and moves on when ``current`` points at a good one."""
    data = tmp_path / "data"
    a = rebuild(data, inputs_copy, 0)
    server = start_server(
        data, tmp_path, cli=True, DIPKG_QUERY_WORKERS=str(WORKERS), DIPKG_RELOAD_INTERVAL="0.2"
    )
    try:
        broken = data / "releases" / "broken"
        subprocess.run(["cp", "-a", str(a.root), str(broken)], check=True)
        (broken / "manifest.json").write_text(json.dumps({"format": FORMAT}), encoding="utf-8")
        relink(data, "releases/broken")
        server.log_lines("not switching to broken", within=SWITCH_WITHIN)
        time.sleep(1.0)  # its refusal, then five more checks that do not repeat it
        assert serving(server) == a.build_id
        for path in ("/dumps/dipkg.ttl", "/domain/industry.ttl", "/"):
            assert httpx.get(server.url + path, timeout=30).status_code == 200
        log = server.log.read_text(encoding="utf-8", errors="replace")
        refusals = [line for line in log.splitlines() if "not switching to broken" in line]
        assert len(refusals) == 1 and "manifest lacks 'build_id'" in refusals[0], log[-2000:]
        assert "Traceback" not in log
        b = rebuild(data, inputs_copy, 1)
        wait_serving(server, b.build_id)
        assert len(server.workers()) >= WORKERS
        wait_pool(server, WORKERS)
    finally:
        stop_server(server)


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_remote_backend_mode_follows_current_too(inputs_copy: Path, tmp_path: Path) -> None:
    """With ``--sparql-backend`` the release's own files (manifest, dumps, catalogue) switch the
    same way; the backend's data changes when ``dipkg publish`` replaces its graphs."""
    from tests.remote.conftest import published_oxigraph

    data = tmp_path / "data"
    a = rebuild(data, inputs_copy, 0)
    with published_oxigraph(data, tmp_path / "ox") as backend:
        server = start_server(
            data,
            tmp_path,
            "--sparql-backend",
            f"{backend}/query",
            cli=True,
            DIPKG_QUERY_WORKERS=str(WORKERS),
            DIPKG_RELOAD_INTERVAL="0.3",
        )
        try:
            assert serving(server) == a.build_id
            b = rebuild(data, inputs_copy, 1)
            wait_serving(server, b.build_id)
            r = httpx.get(
                server.url + "/dumps/dipkg.ttl", headers={"Range": "bytes=0-99"}, timeout=30
            )
            assert r.status_code == 206 and r.headers["x-dipkg-build"] == b.build_id
            assert r.headers["etag"] == f'"{hashlib.sha256(b.files["dipkg.ttl"]).hexdigest()}"'
            published = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "dipkg.cli",
                    "publish",
                    "--to",
                    f"{backend}/store",
                    "--data",
                    str(data),
                ],
                capture_output=True,
                text=True,
                timeout=120,
                env=cli_env(),
            )
            assert published.returncode == 0, published.stderr
            r = httpx.get(
                server.sparql,
                params={"query": LABEL_QUERY},
                headers={"Accept": "application/sparql-results+json"},
                timeout=30,
            )
            assert r.status_code == 200 and r.headers["x-dipkg-build"] == b.build_id
            assert label_rev(r.json()["results"]["bindings"][0]["l"]["value"]) == 1
            assert releases(data) == {a.root.name, b.root.name}
        finally:
            stop_server(server)
