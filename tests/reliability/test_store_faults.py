"""The server started on a missing, empty or corrupt release says so in one line and
exits 1, never with a traceback (tests/endpoint/test_inprocess.py has the first
cases: missing folder, empty store, every store file garbage, manifest of an
unknown format; these are the rest: RocksDB files truncated, garbled or gone, the
manifest gone or malformed, ``current`` pointing nowhere)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox
import pytest

from dipkg.core.release import open_release
from tests.reliability.conftest import record

ROOT = Path(__file__).resolve().parents[2]


def _ssts(r: Path) -> list[Path]:
    return sorted((r / "store").glob("*.sst"))


def _truncate(f: Path, keep: float = 0.5) -> None:
    data = f.read_bytes()
    f.write_bytes(data[: int(len(data) * keep)])


def _garble(f: Path) -> None:
    data = bytearray(f.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = b"\xff" * min(64, len(data) - middle)
    f.write_bytes(bytes(data))


def _rewrite_manifest(r: Path, **changes: object) -> None:
    manifest = json.loads((r / "manifest.json").read_text(encoding="utf-8"))
    manifest.update(changes)
    (r / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def _relink(d: Path, target: str) -> None:
    (d / "current").unlink()
    (d / "current").symlink_to(target)


# (what breaks, how; the word the one line must contain)
FAULTS: dict[str, tuple[Callable[[Path, Path], None], str]] = {
    "every sst truncated to half": (lambda d, r: [_truncate(f) for f in _ssts(r)], "corrupt"),
    "the biggest sst truncated": (
        lambda d, r: _truncate(max(_ssts(r), key=lambda f: f.stat().st_size)),
        "corrupt",
    ),
    "64 bytes garbled inside every sst": (lambda d, r: [_garble(f) for f in _ssts(r)], "corrupt"),
    "every sst empty": (lambda d, r: [f.write_bytes(b"") for f in _ssts(r)], "corrupt"),
    "the sst files deleted": (lambda d, r: [f.unlink() for f in _ssts(r)], "corrupt"),
    "RocksDB CURRENT names a missing MANIFEST": (
        lambda d, r: (r / "store" / "CURRENT").write_text("MANIFEST-999999\n"),
        "corrupt",
    ),
    "RocksDB CURRENT deleted": (lambda d, r: (r / "store" / "CURRENT").unlink(), "corrupt"),
    "RocksDB MANIFEST deleted": (
        lambda d, r: [f.unlink() for f in (r / "store").glob("MANIFEST-*")],
        "corrupt",
    ),
    "RocksDB MANIFEST truncated": (
        lambda d, r: [_truncate(f, 0.02) for f in (r / "store").glob("MANIFEST-*")],
        "corrupt",
    ),
    "store folder empty": (
        lambda d, r: (shutil.rmtree(r / "store"), (r / "store").mkdir()),
        "store",
    ),
    "store folder deleted": (lambda d, r: shutil.rmtree(r / "store"), "store folder is missing"),
    "store is a file": (
        lambda d, r: (shutil.rmtree(r / "store"), (r / "store").write_text("x")),
        "store folder is missing",
    ),
    "manifest deleted": (lambda d, r: (r / "manifest.json").unlink(), "manifest is missing"),
    "manifest truncated": (
        lambda d, r: _truncate(r / "manifest.json", 0.05),
        "manifest is unreadable",
    ),
    "manifest not UTF-8": (
        lambda d, r: (r / "manifest.json").write_bytes(b"\xff\xfe\x00{"),
        "manifest is unreadable",
    ),
    "manifest a JSON list": (
        lambda d, r: (r / "manifest.json").write_text("[1, 2]"),
        "unknown format",
    ),
    "manifest dumps not a list": (
        lambda d, r: _rewrite_manifest(r, dumps="dipkg.ttl"),
        "malformed",
    ),
    "manifest dump entry without format": (
        lambda d, r: _rewrite_manifest(r, dumps=[{"file": "dipkg.ttl"}]),
        "malformed",
    ),
    "manifest build_id a number": (lambda d, r: _rewrite_manifest(r, build_id=5), "malformed"),
    "current points nowhere": (lambda d, r: _relink(d, "releases/nowhere"), "no complete build"),
    "current points at itself": (lambda d, r: _relink(d, "current"), "no complete build"),
    "current is a plain file": (
        lambda d, r: ((d / "current").unlink(), (d / "current").write_text("x")),
        "manifest",
    ),
    "data folder empty": (lambda d, r: (shutil.rmtree(d), d.mkdir()), "no complete build"),
    "data folder is a file": (
        lambda d, r: (shutil.rmtree(d), d.write_text("x")),
        "no complete build",
    ),
}


def _release(tmp_path: Path, built: Path) -> tuple[Path, Path]:
    data = tmp_path / "data"
    src = open_release(built).root
    shutil.copytree(src, data / "releases" / src.name, symlinks=True)
    (data / "current").symlink_to(Path("releases") / src.name)
    return data, data / "releases" / src.name


def _serve(data: Path, how: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIPKG_")}
    env["PYTHONPATH"] = str(ROOT)
    if how == "module":
        cmd = [sys.executable, "-m", "sparql_api.server", "--data", str(data), "--port", "9"]
    else:  # the user's command, `dipkg serve`
        cmd = [
            sys.executable,
            "-c",
            "from dipkg.cli import main; main()",
            "serve",
            "--data",
            str(data),
            "--host",
            "127.0.0.1",
            "--port",
            "9",
        ]
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    except subprocess.TimeoutExpired as exc:  # it started serving: the fault went unseen
        raise AssertionError(f"the server started on a broken release: {exc.stderr!r}") from None


RESULTS: dict[str, str] = {}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_broken_release_is_one_line_and_exit_1(
    fault: str, built_data: Path, tmp_path: Path
) -> None:
    data, release = _release(tmp_path, built_data)
    breaker, word = FAULTS[fault]
    breaker(data, release)
    out = _serve(data, "module")
    lines = out.stderr.strip().splitlines()
    RESULTS[fault] = lines[-1] if lines else ""
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr, out.stderr
    assert len(lines) == 1, out.stderr
    assert "error[store]" in lines[0] and word in lines[0], lines[0]
    if len(RESULTS) == len(FAULTS):
        record(
            "store_faults",
            {"faults_refused_with_one_line": len(RESULTS), "faults": sorted(RESULTS)},
        )


@pytest.mark.parametrize(
    "fault",
    [
        "every sst truncated to half",
        "manifest deleted",
        "current points nowhere",
        "manifest dumps not a list",
    ],
)
def test_dipkg_serve_says_the_same(fault: str, built_data: Path, tmp_path: Path) -> None:
    data, release = _release(tmp_path, built_data)
    FAULTS[fault][0](data, release)
    out = _serve(data, "cli")
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
    assert "error[store]" in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_a_truncated_write_ahead_log_loses_nothing(built_data: Path, tmp_path: Path) -> None:
    """The one store fault that is no fault: the build flushed every write into the sst
    files, so a cut WAL (*.log) still opens with every quad."""
    data, release = _release(tmp_path, built_data)
    expected = len(ox.Store.read_only(str(release / "store")))
    for f in (release / "store").glob("*.log"):
        _truncate(f, 0.01)
    assert len(ox.Store.read_only(str(release / "store"))) == expected
