"""Faults during a build: a kill at any step, a disk that refuses writes.

Whatever happens, DIR/current keeps pointing at the previous complete release,
which stays servable (its store opens read-only and answers), and the next
build cleans up what the dead one left.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pyoxigraph
import pytest

from kg.build import build
from kg.layout import open_release
from kg.settings import Settings
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
    import sys, time
    from kg.build import build
    def log(message):
        print(message, flush=True)
        time.sleep(0.2)  # give the test a moment to kill us inside this step
    build(sys.argv[1], log=log)
    print("done", flush=True)
    """
)


def assert_servable(out: Path, expected_root: Path) -> None:
    release = open_release(out)
    assert release.root == expected_root
    store = pyoxigraph.Store.read_only(str(release.store_dir))
    assert bool(store.query("ASK { ?s a <https://w3id.org/dipkg/ontology#Scenario> }"))
    for entry in release.manifest["dumps"]:
        assert (release.dumps_dir / entry["file"]).stat().st_size == entry["bytes"]


@pytest.fixture()
def previous(tmp_path: Path) -> tuple[Path, Path]:
    out = tmp_path / "data"
    return out, build(out, Settings()).release


@pytest.mark.parametrize("step", STEPS)
def test_sigkill_during_a_build_leaves_the_previous_release(previous, step):
    out, before = previous
    proc = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(out)], stdout=subprocess.PIPE, text=True, env=cli_env()
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.strip() == step:
            proc.send_signal(signal.SIGKILL)
            break
    else:
        pytest.fail(f"the build never reached {step!r}")
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert_servable(out, before)
    # the next build succeeds and removes what the dead one left behind
    after = build(out, Settings()).release
    assert_servable(out, after)
    assert not list(out.glob(".staging-*"))


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of a signal
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))


def test_a_write_that_fails_leaves_nothing_half_written(previous):
    out, before = previous
    done = subprocess.run(
        [sys.executable, "-m", "kg.cli", "build", "--out", str(out)],
        capture_output=True,
        text=True,
        env=cli_env(),
        preexec_fn=_limit_file_size,
        timeout=120,
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "error[store]" in lines[0] and "Traceback" not in done.stderr
    assert_servable(out, before)
    assert not list(out.glob(".staging-*"))
    assert sorted(p.name for p in (out / "releases").iterdir()) == [before.name]


def test_unwritable_output_folder_is_a_clear_error(tmp_path):
    if os.geteuid() == 0:
        target = Path("/proc/dipkg-cannot-write-here")
    else:
        target = tmp_path / "ro"
        target.mkdir(mode=0o500)
    done = subprocess.run(
        [sys.executable, "-m", "kg.cli", "build", "--out", str(target)],
        capture_output=True, text=True, env=cli_env(), timeout=120,
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
    from kg.errors import StoreError

    with pytest.raises(StoreError, match="dump"):
        open_release(out)
    done = subprocess.run([sys.executable, "-m", "kg.cli", "serve", "--data", str(out), "--port", "1"],
                          capture_output=True, text=True, env=cli_env(), timeout=60)
    assert done.returncode == 1 and "dipkg.ttl.gz" in done.stderr and "Traceback" not in done.stderr
