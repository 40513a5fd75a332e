"""Benchmark: this endpoint against `oxigraph serve` and rdflib-endpoint, same graph, same run.

    python -m bench.run [--scale N] [--duration S] [--connections C] [--out DIR]

Builds the graph (the real one, or ``--scale N`` synthetic guides, see
bench/synth.py), starts the three servers on 127.0.0.1, drives each with the
same bounded load (wrk, 1 thread, C connections, S seconds per query) for a
fixed query mix, and prints throughput and p50/p99 latency with ratios to
oxigraph serve, plus build time and peak memory. Writes results.json,
results.md and results.png to DIR (default bench/results/). Loopback only;
every load is bounded in time.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PREFIXES = """PREFIX dip: <https://w3id.org/dipkg/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX schema: <https://schema.org/>
"""


def make_queries(s01: str) -> dict[str, tuple[str, str]]:
    """name -> (query, Accept) about scenario ``s01``; the resource page has no SPARQL peer:
    oxigraph answers DESCRIBE instead."""
    return {
        "point lookup": (
            f"SELECT ?p ?o WHERE {{ <{s01}> ?p ?o }}",
            "application/sparql-results+json",
        ),
        "join + GROUP BY": (
            PREFIXES
            + """SELECT ?domain (COUNT(DISTINCT ?s) AS ?scenarios) (COUNT(?f) AS ?fields) WHERE {
      ?s a dip:Scenario ; dip:domain ?domain . ?f a dip:DataField ; dip:scenario ?s .
    } GROUP BY ?domain ORDER BY ?domain""",
            "application/sparql-results+json",
        ),
        "CONTAINS filter": (
            PREFIXES
            + """SELECT DISTINCT ?s ?label WHERE {
      ?f a dip:DataField ; rdfs:label ?label ; dip:scenario ?s . FILTER(CONTAINS(?label, "温度"))
    }""",
            "application/sparql-results+json",
        ),
        "CONSTRUCT scenario": (
            PREFIXES
            + f"""CONSTRUCT {{ ?x ?p ?o }} WHERE {{
      {{ BIND(<{s01}> AS ?x) ?x ?p ?o }}
      UNION {{ <{s01}> dip:hasCategory ?x . ?x ?p ?o }}
      UNION {{ ?x dip:scenario <{s01}> ; a dip:DataField . ?x ?p ?o }}
    }}""",
            "text/turtle",
        ),
        "resource page": (f"DESCRIBE <{s01}>", "text/turtle"),
    }


REAL_S01 = "https://w3id.org/dipkg/scenario/guizhou-b1-s01"
QUERIES = make_queries(REAL_S01)


def scenario_for(scale: int) -> str:
    """A scenario that exists at this scale (synthetic guides have their own ids, bench/synth.py)."""
    from bench.synth import guide_of

    return REAL_S01 if scale <= 1 else f"https://w3id.org/dipkg/scenario/{guide_of(1)[0]}-s01"


HEAVY = ("join + GROUP BY", "CONTAINS filter", "CONSTRUCT scenario")


@dataclass
class Result:
    server: str
    query: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


@dataclass
class Report:
    scale: int
    triples: int
    build_seconds: float
    build_peak_mb: float
    duration: float
    connections: int
    cold: bool = False
    results: list[Result] = field(default_factory=list)
    memory_mb: dict[str, float] = field(default_factory=dict)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def tree_rss_mb(pid: int) -> float:
    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
        return sum(p.memory_info().rss for p in procs if p.is_running()) / 2**20
    except psutil.Error:
        return float("nan")


_LATENCY = re.compile(r"^\s*(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)


# Cold mode: every request gets a unique SPARQL comment appended ("\n#<n>"), so no cache
# can answer it and the engine path is measured.
_COLD_LUA = """
counter = 0
request = function()
  counter = counter + 1
  return wrk.format(nil, wrk.path .. "%0A%23" .. counter)
end
"""


def wrk(
    url: str, accept: str, duration: float, connections: int, cold: bool = False
) -> tuple[float, float, float, int, int]:
    script: list[str] = []
    if cold:
        lua = Path(tempfile.mkstemp(suffix=".lua")[1])
        lua.write_text(_COLD_LUA)
        script = ["-s", str(lua)]
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            "--latency",
            "--timeout",
            "30s",
            *script,
            "-H",
            f"Accept: {accept}",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=duration + 60,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    errors = 0
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        errors += int(non2xx.group(1))
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    if socket_errors:
        errors += sum(int(x) for x in socket_errors.groups())
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    lat = {m.group(1): float(m.group(2)) * scale[m.group(3)] for m in _LATENCY.finditer(out)}
    return rps, lat.get("50", math.nan), lat.get("99", math.nan), total, errors


def build(scale: int, workdir: Path) -> tuple[Path, float, float, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIPKG_")}
    if scale > 1:
        inputs = workdir / "inputs"
        subprocess.run(
            [sys.executable, "-m", "bench.synth", str(inputs), "--scale", str(scale)],
            check=True,
            cwd=ROOT,
        )
        env["DIPKG_INPUTS_DIR"] = str(inputs)
    data = workdir / "data"
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run(
        [sys.executable, "-m", "dipkg.cli", "build", "--out", str(data), "-q"],
        check=True,
        env=env,
        cwd=ROOT,
    )
    seconds = time.perf_counter() - started
    peak = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024
    triples = json.loads((data / "current" / "manifest.json").read_text())["counts"]["triples"]
    return data, seconds, peak, triples


def start_servers(
    data: Path, skip_rdflib: bool, page: str
) -> dict[str, tuple[subprocess.Popen, str, str]]:
    release = (data / "current").resolve()
    servers: dict[str, tuple[subprocess.Popen, str, str]] = {}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIPKG_")}
    port = free_port()
    servers["dipkg"] = (
        subprocess.Popen(
            [sys.executable, "-m", "dipkg.cli", "serve", "--data", str(data), "--port", str(port)],
            env=env,
            **quiet,
        ),
        f"http://127.0.0.1:{port}/sparql",
        f"http://127.0.0.1:{port}/{page}.html",
    )
    port = free_port()
    servers["oxigraph serve"] = (
        subprocess.Popen(
            [
                str(BIN / "oxigraph"),
                "serve-read-only",
                "--location",
                str(release / "store"),
                "--bind",
                f"127.0.0.1:{port}",
            ],
            **quiet,
        ),
        f"http://127.0.0.1:{port}/query",
        "",
    )
    if not skip_rdflib:
        port = free_port()
        servers["rdflib-endpoint"] = (
            subprocess.Popen(
                [
                    str(BIN / "rdflib-endpoint"),
                    "serve",
                    str(release / "dumps" / "dipkg.ttl"),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ],
                **quiet,
            ),
            f"http://127.0.0.1:{port}/",
            "",
        )
    for _, url, _ in servers.values():
        wait_ready(
            url + ("&" if "?" in url else "?") + "query=" + urllib.parse.quote("ASK {}"),
            timeout=120,
        )
    return servers


def run(args: argparse.Namespace) -> Report:
    if not shutil.which("wrk"):
        sys.exit("bench: wrk is needed (Debian package wrk: apt-get install wrk)")
    workdir = Path(tempfile.mkdtemp(prefix="dipkg-bench-"))
    try:
        print(f"building (scale {args.scale}) …", flush=True)
        data, seconds, peak, triples = build(args.scale, workdir)
        report = Report(
            args.scale,
            triples,
            round(seconds, 2),
            round(peak, 1),
            args.duration,
            args.connections,
            args.cold,
        )
        print(f"  {triples} triples in {seconds:.1f} s, peak {peak:.0f} MB", flush=True)
        s01 = scenario_for(args.scale)
        queries = make_queries(s01)
        servers = start_servers(data, args.skip_rdflib, s01.split("https://w3id.org/dipkg/", 1)[1])
        try:
            for name, (query, accept) in queries.items():
                for server, (_proc, url, page) in servers.items():
                    if name == "resource page" and page:
                        target, cell_accept = page, "text/html"
                    else:
                        target, cell_accept = url + "?query=" + urllib.parse.quote(query), accept
                    probe = httpx.get(target, headers={"Accept": cell_accept}, timeout=60)
                    if probe.status_code != 200 or not probe.content:
                        print(
                            f"  {name:20s} {server:16s} SKIPPED: answers HTTP {probe.status_code}: {probe.text[:120]!r}"
                        )
                        report.results.append(Result(server, name, 0.0, math.nan, math.nan, 0, 1))
                        continue
                    duration = (
                        args.duration if server != "rdflib-endpoint" else min(args.duration, 5)
                    )
                    cold = args.cold and "?query=" in target
                    rps, p50, p99, total, errors = wrk(
                        target, cell_accept, duration, args.connections, cold
                    )
                    report.results.append(
                        Result(server, name, round(rps, 1), p50, p99, total, errors)
                    )
                    print(
                        f"  {name:20s} {server:16s} {rps:10.1f} req/s  p50 {p50:8.2f} ms  p99 {p99:8.2f} ms"
                        + (f"  ERRORS {errors}" if errors else ""),
                        flush=True,
                    )
            for server, (proc, _, _) in servers.items():
                report.memory_mb[server] = round(tree_rss_mb(proc.pid), 1)
        finally:
            for proc, _, _ in servers.values():
                proc.send_signal(signal.SIGTERM)
            for proc, _, _ in servers.values():
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
        return report
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def ratios(report: Report) -> dict[str, object]:
    by = {(r.server, r.query): r.requests_per_s for r in report.results if not r.errors}
    out: dict[str, object] = {}
    per_query = {
        q: by.get(("dipkg", q), 0) / by[("oxigraph serve", q)]
        for q in QUERIES
        if by.get(("oxigraph serve", q))
    }
    out["vs_oxigraph"] = {q: round(v, 3) for q, v in per_query.items()}
    heavy = [per_query[q] for q in HEAVY if q in per_query]
    out["heavy_geomean_vs_oxigraph"] = (
        round(math.exp(sum(map(math.log, heavy)) / len(heavy)), 3) if heavy else None
    )
    if any(r.server == "rdflib-endpoint" for r in report.results):
        mix = [
            by[("dipkg", q)] / by[("rdflib-endpoint", q)]
            for q in QUERIES
            if by.get(("rdflib-endpoint", q))
        ]
        out["mix_geomean_vs_rdflib_endpoint"] = (
            round(math.exp(sum(map(math.log, mix)) / len(mix)), 1) if mix else None
        )
    out["targets"] = {
        "heavy >= 1.0x oxigraph": (out["heavy_geomean_vs_oxigraph"] or 0) >= 1.0,
        "point lookup >= 0.5x oxigraph": per_query.get("point lookup", 0) >= 0.5,
        "mix >= 50x rdflib-endpoint": (out.get("mix_geomean_vs_rdflib_endpoint") or 0) >= 50,
    }
    return out


def write(report: Report, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    summary = ratios(report)
    (out / "results.json").write_text(
        json.dumps({**asdict(report), "summary": summary}, indent=2, ensure_ascii=False) + "\n"
    )
    servers = list(dict.fromkeys(r.server for r in report.results))
    lines = [
        f"Scale {report.scale} ({report.triples} triples); build {report.build_seconds} s, peak {report.build_peak_mb} MB; "
        f"wrk 1 thread, {report.connections} connections, {report.duration} s per cell"
        + (
            "; COLD: every SPARQL request unique, no cache answers."
            if report.cold
            else "; repeated requests (cacheable)."
        ),
        "",
        "| query | "
        + " | ".join(f"{s} req/s (p50/p99 ms)" for s in servers)
        + " | dipkg / oxigraph |",
        "|---|" + "---|" * (len(servers) + 1),
    ]
    by = {(r.server, r.query): r for r in report.results}
    for query in QUERIES:
        cells = []
        for server in servers:
            r = by.get((server, query))
            cells.append(f"{r.requests_per_s:,.0f} ({r.p50_ms:.2f}/{r.p99_ms:.2f})" if r else "–")
        ratio = summary["vs_oxigraph"].get(query)  # type: ignore[union-attr]
        lines.append(
            f"| {query} | " + " | ".join(cells) + f" | {ratio:.2f}× |"
            if ratio
            else f"| {query} | " + " | ".join(cells) + " | – |"
        )
    lines += [
        "",
        f"Memory (RSS of each server's process tree, MB): {report.memory_mb}",
        "",
        f"Summary: {json.dumps(summary)}",
    ]
    (out / "results.md").write_text("\n".join(lines) + "\n")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(10, 5))
        width = 0.8 / len(servers)
        for i, server in enumerate(servers):
            values = [by[(server, q)].requests_per_s if (server, q) in by else 0 for q in QUERIES]
            ax.bar([x + i * width for x in range(len(QUERIES))], values, width, label=server)
        ax.set_xticks(
            [x + width * (len(servers) - 1) / 2 for x in range(len(QUERIES))],
            list(QUERIES),
            rotation=15,
        )
        ax.set_yscale("log")
        ax.set_ylabel("requests per second (log)")
        ax.set_title(f"dipkg vs peers, {report.triples} triples")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "results.png", dpi=110)
    except ImportError:
        print("bench: matplotlib not installed (pip install -e '.[bench]'): no plot written")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scale", type=int, default=1, help="synthetic guides (1 = the real graph)"
    )
    parser.add_argument(
        "--duration", type=float, default=5.0, help="seconds of load per query and server"
    )
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument(
        "--skip-rdflib", action="store_true", help="leave rdflib-endpoint out (slow at scale)"
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="make every SPARQL request unique (no response cache can answer): the engine path",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="default: bench/results/ (bench/results-cold/ with --cold)",
    )
    args = parser.parse_args()
    out = args.out or ROOT / "bench" / ("results-cold" if args.cold else "results")
    write(run(args), out)


if __name__ == "__main__":
    main()
