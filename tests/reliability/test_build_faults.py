"""Faults during a build: a kill at any step, a disk that refuses writes.

Whatever happens, DIR/current keeps pointing at the previous complete release,
which stays servable (its store opens read-only and answers), and the next
build cleans up what the dead one left.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pyoxigraph
import pytest

from dipkg.core.release import open_release
from dipkg.core.settings import Settings
from kg.build import build
from kg.paths import display
from tests.conftest import cli_env

STEPS = [
    "reading inputs",
    "writing dumps",
    "validating with SHACL",
    "loading the Oxigraph store",
    "writing the catalogue record",
    "switching the new release in",
]

DRIVER = textwrap.dedent(
    """
    import sys
    from kg.build import build
    def log(message):
        print("STEP " + message, flush=True)
        sys.stdin.readline()  # the test lets us go on, or kills us as this step starts
    build(sys.argv[1], log=log)
    print("done", flush=True)
    """
)


def assert_servable(out: Path, expected_root: Path) -> None:
    release = open_release(out)
    assert release.root == expected_root
    store = pyoxigraph.Store.read_only(str(release.store_dir))
    assert bool(store.query("ASK { ?s a <https://w3id.org/dipkg/ontology#Scenario> }"))
    for entry in release.manifest.dumps:
        assert (release.dumps_dir / entry.file).stat().st_size == entry.bytes


@pytest.fixture()
def previous(tmp_path: Path) -> tuple[Path, Path]:
    out = tmp_path / "data"
    return out, build(out, Settings()).release


@pytest.mark.parametrize("step", STEPS)
def test_sigkill_during_a_build_leaves_the_previous_release(previous, step):
    out, before = previous
    proc = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(out)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        for line in proc.stdout:
            if not line.startswith("STEP "):
                continue  # not the driver's ("done", or a library's output): no answer
            if line[len("STEP ") :].strip() == step:
                proc.send_signal(signal.SIGKILL)
                break
            with contextlib.suppress(BrokenPipeError):  # (it died: the loop ends)
                proc.stdin.write("\n")  # not this step: go on
                proc.stdin.flush()
        else:
            pytest.fail(f"the build never reached {step!r} (exit {proc.wait(timeout=30)})")
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:  # (a failure or a timeout above: it does not build on)
            proc.kill()
            proc.wait(timeout=30)
        proc.stdout.close()
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.close()
    assert proc.returncode == -signal.SIGKILL
    assert_servable(out, before)
    # the next build succeeds and removes what the dead one left behind
    after = build(out, Settings()).release
    assert_servable(out, after)
    assert not list(out.glob(".staging-*"))


def build_on_a_small_disk(out: Path, limit: int) -> subprocess.CompletedProcess[str]:
    """`dipkg build --out OUT` where no file may grow past ``limit`` bytes (a full disk)."""

    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of a signal
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [sys.executable, "-m", "dipkg.cli", "build", "--out", str(out)],
        capture_output=True,
        text=True,
        env=cli_env(),
        preexec_fn=limited,
        timeout=120,
    )


def test_a_write_that_fails_leaves_nothing_half_written(previous):
    out, before = previous
    done = build_on_a_small_disk(out, 200_000)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "error[store]" in lines[0] and "Traceback" not in done.stderr
    assert_servable(out, before)
    assert not list(out.glob(".staging-*"))
    assert sorted(p.name for p in (out / "releases").iterdir()) == [before.name]


def test_a_full_disk_at_the_search_index_is_the_same_clear_error(previous):
    """The search index is written by SQLite, whose errors are not OSErrors: a disk that
    fills up there ("disk I/O error") is the same one-line store error, not an internal one.
    Each file may grow just past the largest the release has but the index."""
    out, before = previous
    sizes = {p.name: p.stat().st_size for p in before.rglob("*") if p.is_file()}
    index = sizes.pop("search.sqlite")
    limit = max(sizes.values()) + 64 * 1024
    assert limit < index, "the index is no longer the largest file: choose another step"
    done = build_on_a_small_disk(out, limit)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "error[store]" in lines[0], done.stderr
    assert "search index" in lines[0] and "Traceback" not in done.stderr
    assert_servable(out, before)
    assert not list(out.glob(".staging-*"))


def test_unwritable_output_folder_is_a_clear_error(tmp_path):
    if os.geteuid() == 0:
        target = Path("/proc/dipkg-cannot-write-here")
    else:
        target = tmp_path / "ro"
        target.mkdir(mode=0o500)
    done = subprocess.run(
        [sys.executable, "-m", "dipkg.cli", "build", "--out", str(target)],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=120,
    )
    assert done.returncode == 1
    assert "error[store]" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("damage", ["delete", "truncate"])
def test_a_missing_or_cut_dump_is_refused_at_open(previous, damage):
    out, before = previous
    victim = before / "dumps" / "dipkg.ttl.gz"
    if damage == "delete":
        victim.unlink()
    else:
        victim.write_bytes(victim.read_bytes()[:100])
    from dipkg.core.errors import StoreError

    with pytest.raises(StoreError, match="dump"):
        open_release(out)
    done = subprocess.run(
        [sys.executable, "-m", "dipkg.cli", "serve", "--data", str(out), "--port", "1"],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=60,
    )
    assert done.returncode == 1 and "dipkg.ttl.gz" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("megabytes", [20, 90])
def test_a_huge_source_cell_is_one_clear_error(inputs_copy, tmp_path, megabytes):
    # a 90 MB cell once ended `error[internal]: MemoryError` (exit 2): Oxigraph's N-Triples
    # reader refuses lines over 16 MiB. The source's size, lines and cells are bounded.
    source = inputs_copy / "sources" / "guizhou-dip-scenarios-batch1.txt"
    lines = source.read_text(encoding="utf-8").split("\n")
    lines[14] += "长" * (megabytes * 1024 * 1024 // 3)  # line 15: scenario 1's 场景应用 cell
    source.write_text("\n".join(lines), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "dipkg.cli", "build", "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env=cli_env(DIPKG_INPUTS_DIR=str(inputs_copy)),
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith(f"{display(source)}:15: error[source]: "), lines[0]
    assert "limit" in lines[0]
    assert not (tmp_path / "out" / "current").exists()
