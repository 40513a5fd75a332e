"""The scale curve: build time, peak memory and point-lookup latency against graph size.

    python -m bench.scale [--scales 1,10,100] [--duration 3] [--out DIR]

For each scale (number of synthetic guides, bench/synth.py; 1 = the real graph)
it builds the graph, records wall time and peak resident memory of the build,
times the search index (its build from the store, size, load, and search and
match latency in process: kg/search.py),
serves it with ``dipkg serve`` and measures a point lookup of one scenario with
wrk, cold (every request unique: the engine path) and warm (repeated: the
cache path). Writes scale.json, scale.md and scale.png to DIR (default
bench/results/). ``--scales 1,10,100,1000`` (4.9 M triples at 1000×) takes
about 8 minutes on 2 cores; the README records the curve. Linear build time,
sub-linear memory and flat lookup latency are what it shows; loopback only,
every load bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.parse
from pathlib import Path

from bench.run import ROOT, build, free_port, make_queries, scenario_for, wait_ready, wrk

SEARCHES = (
    "温度",
    "temperature",
    "土壤墒情",
    "blood pressure",
    "降雨量数据",
    "游客数量",
    "xyzzy",
    "年龄 性别",
)
MATCHES = (
    "土壤墒情、降雨量、施肥量",
    "blood pressure, heart rate",
    "电力消耗、电解质温度、氧化铝浓度",
)


def search_timings(data: Path) -> dict[str, float]:
    """The search index (kg/search.py): its build from the release's store, its size and
    load time, and the latency of searches and matches (in process, each repeated)."""
    import time

    import pyoxigraph

    from dipkg.core.search_index import INDEX_FILE, SearchIndex
    from kg.search import build_index

    release = (data / "current").resolve()
    manifest = json.loads((release / "manifest.json").read_text())
    store = pyoxigraph.Store.read_only(str(release / "store"))
    scratch = Path(tempfile.mkdtemp(prefix="dipkg-index-"))
    try:
        started = time.perf_counter()
        build_index(store, manifest["base_iri"], scratch / INDEX_FILE)
        index_seconds = time.perf_counter() - started
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    del store
    started = time.perf_counter()
    index = SearchIndex.load(release)
    load_seconds = time.perf_counter() - started

    def latencies(run, inputs, repeat=5) -> list[float]:
        out = []
        for _ in range(repeat):
            for text in inputs:
                t = time.perf_counter()
                run(text)
                out.append((time.perf_counter() - t) * 1000)
        return sorted(out)

    search = latencies(index.search, SEARCHES)
    match = latencies(index.match, MATCHES)
    return {
        "index_build_seconds": round(index_seconds, 2),
        "index_mb": round((release / INDEX_FILE).stat().st_size / 2**20, 1),
        "index_load_seconds": round(load_seconds, 2),
        "search_p50_ms": round(search[len(search) // 2], 2),
        "search_p99_ms": round(search[min(len(search) - 1, int(len(search) * 0.99))], 2),
        "match_p50_ms": round(match[len(match) // 2], 2),
    }


def measure(scale: int, duration: float) -> dict[str, float]:
    workdir = Path(tempfile.mkdtemp(prefix=f"dipkg-scale-{scale}-"))
    try:
        data, seconds, peak, triples = build(scale, workdir)
        timings = search_timings(data)
        dumps = json.loads((data / "current" / "manifest.json").read_text())["dumps"]
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("DIPKG_")}
        proc = subprocess.Popen(
            [sys.executable, "-m", "dipkg.cli", "serve", "--data", str(data), "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}/sparql"
            wait_ready(url + "?query=" + urllib.parse.quote("ASK {}"), timeout=180)
            query, accept = make_queries(scenario_for(scale))["point lookup"]
            target = url + "?query=" + urllib.parse.quote(query)
            cold = wrk(target, accept, duration, 8, cold=True)
            warm = wrk(target, accept, duration, 8)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        return {
            "scale": scale,
            "triples": triples,
            "build_seconds": round(seconds, 2),
            "build_peak_mb": round(peak, 1),
            "dump_mb": round(sum(d["bytes"] for d in dumps if d["encoding"] is None) / 2**20, 1),
            "lookup_cold_rps": round(cold[0], 1),
            "lookup_cold_p50_ms": cold[1],
            "lookup_cold_p99_ms": cold[2],
            "lookup_warm_rps": round(warm[0], 1),
            "lookup_warm_p50_ms": warm[1],
            **timings,
        }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def write(rows: list[dict[str, float]], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "scale.json").write_text(json.dumps(rows, indent=2) + "\n")
    lines = [
        "| scale | triples | build s | build peak MB | dumps MB (uncompressed) "
        "| lookup cold req/s (p50/p99 ms) "
        "| lookup warm req/s (p50 ms) | search index s (MB, load s) | search p50/p99 ms "
        "| match p50 ms |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['scale']}× | {r['triples']:,} | {r['build_seconds']} | {r['build_peak_mb']} | "
            f"{r['dump_mb']} | {r['lookup_cold_rps']:,.0f} "
            f"({r['lookup_cold_p50_ms']:.2f}/{r['lookup_cold_p99_ms']:.2f}) | "
            f"{r['lookup_warm_rps']:,.0f} ({r['lookup_warm_p50_ms']:.2f}) | "
            f"{r.get('index_build_seconds', '–')} ({r.get('index_mb', '–')}, "
            f"{r.get('index_load_seconds', '–')}) | "
            f"{r.get('search_p50_ms', '–')}/{r.get('search_p99_ms', '–')} | "
            f"{r.get('match_p50_ms', '–')} |"
        )
    (out / "scale.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        triples = [r["triples"] for r in rows]
        fig, axes = plt.subplots(1, 3, figsize=(13, 4))
        axes[0].plot(triples, [r["build_seconds"] for r in rows], "o-")
        axes[0].set_title("build time (s)")
        axes[1].plot(triples, [r["build_peak_mb"] for r in rows], "o-")
        axes[1].set_title("build peak memory (MB)")
        axes[2].plot(triples, [r["lookup_cold_p50_ms"] for r in rows], "o-", label="cold p50")
        axes[2].plot(triples, [r["lookup_warm_p50_ms"] for r in rows], "o-", label="warm p50")
        axes[2].set_title("point lookup latency (ms)")
        axes[2].legend()
        for ax in axes:
            ax.set_xscale("log")
            ax.set_xlabel("triples")
        fig.tight_layout()
        fig.savefig(out / "scale.png", dpi=110)
    except ImportError:
        print("bench: matplotlib not installed (pip install -e '.[bench]'): no plot written")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scales", default="1,10,100", help="comma-separated synthetic guide counts"
    )
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("bench: wrk is needed (Debian package wrk)")
    rows = []
    for scale in (int(s) for s in args.scales.split(",")):
        print(f"scale {scale} …", flush=True)
        rows.append(measure(scale, args.duration))
        print(f"  {rows[-1]}", flush=True)
    write(rows, args.out)


if __name__ == "__main__":
    main()
