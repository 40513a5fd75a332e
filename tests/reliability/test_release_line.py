"""One folder, a line of releases: builds into it take turns, and a release's validators
name the release, not only its data.

Two builds started together into one folder each read the same ``current`` and published
the same release number, the second switched in over the first with a change set against
a release it did not replace. And the same data built again after other data (A, B, A)
is a new release (its number, version and catalogue record differ) with the same build
id: an ETag made of the build id let a client keep release 1's answer to a query about the
versions as "not modified" under release 3.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dipkg.core.release import Release, read_release
from dipkg.core.settings import Settings
from kg.build import BUILD_LOCK, _one_build_at_a_time, build
from kg.paths import INPUTS_DIR
from sparql_api.app import create_app
from tests.conftest import cli_env

VERSIONS = """PREFIX dcat: <http://www.w3.org/ns/dcat#>
SELECT ?v WHERE { GRAPH ?g { ?d a dcat:Dataset ; dcat:version ?v } }"""
JSON = "application/sparql-results+json"


def revision(folder: Path, rev: int) -> Path:
    """A copy of the inputs whose English label of the industry domain says ``rev``."""
    shutil.copytree(INPUTS_DIR, folder)
    table = folder / "translations.tsv"
    text = table.read_text(encoding="utf-8")
    changed = re.sub(r"(?m)^工业领域\t.*$", f"工业领域\tIndustry r{rev}", text, count=1)
    assert changed != text
    table.write_text(changed, encoding="utf-8")
    return folder


def releases(out: Path) -> dict[int, Release]:
    found = (read_release(p) for p in (out / "releases").iterdir() if p.is_dir())
    return {r.manifest.release: r for r in found}


def answer(release: Release, headers: dict[str, str]) -> tuple[int, str, str]:
    """(status, ETag, body) of the versions query on ``release``'s own app."""
    app = create_app(Settings(query_workers=1), release)
    with TestClient(app) as client:
        got = client.get("/sparql", params={"query": VERSIONS}, headers={"Accept": JSON, **headers})
    return got.status_code, got.headers.get("etag", ""), got.text


@pytest.fixture(scope="module")
def line(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    tmp = tmp_path_factory.mktemp("line")
    out = tmp / "data"
    inputs = {rev: revision(tmp / f"in{rev}", rev) for rev in (1, 2, 3)}
    first = build(out, Settings(inputs_dir=inputs[1]))
    status, first_tag, body = answer(read_release(first.release), {})
    assert status == 200 and first_tag and '"1"' in body
    yield {"out": out, "inputs": inputs, "first": first, "first_tag": first_tag}


def test_two_builds_into_one_folder_take_turns(line) -> None:
    out: Path = line["out"]  # type: ignore[assignment]
    inputs: dict[int, Path] = line["inputs"]  # type: ignore[assignment]
    first = line["first"]
    with (out / BUILD_LOCK).open("a") as held:  # as a build in progress holds it
        fcntl.flock(held, fcntl.LOCK_EX)
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "dipkg.cli", "build", "--quiet", "--out", str(out)],
                env=cli_env(DIPKG_INPUTS_DIR=str(inputs[rev])),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for rev in (2, 3)
        ]
        time.sleep(1.5)
        assert [p.poll() for p in procs] == [None, None]  # both wait for the lock
        assert read_release(out / "current").manifest.build_id == first.manifest.build_id
        # the inputs change while they wait: a build that waited reads them again
        table = inputs[3] / "translations.tsv"
        edited = table.with_suffix(".edited")  # (replaced whole: never read half-written)
        edited.write_text(
            table.read_text(encoding="utf-8").replace("Industry r3", "Industry r4"),
            encoding="utf-8",
        )
        os.replace(edited, table)
    for proc in procs:
        _, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
    line_now = releases(out)  # the newest two are kept
    assert sorted(line_now) == [2, 3]
    second, third = line_now[2].manifest, line_now[3].manifest
    assert second.previous is not None and second.previous.build_id == first.manifest.build_id
    assert third.previous is not None and third.previous.build_id == second.build_id
    assert read_release(out / "current").manifest.release == 3
    assert second.build_id != third.build_id
    labels = {
        rev: any(
            f'"Industry r{rev}"@en' in (r.dumps_dir / "dipkg.nt").read_text(encoding="utf-8")
            for r in line_now.values()
        )
        for rev in (2, 3, 4)
    }
    assert labels == {2: True, 3: False, 4: True}, labels


def test_the_build_lock_takes_the_umask_and_no_write_access(tmp_path: Path) -> None:
    """A group-writable folder is shared: the lock file gets the umask's mode (it was
    0644: another user of the group could not open it for writing, and could not build),
    and a lock file one may only read still locks."""
    old = os.umask(0o002)
    try:
        with _one_build_at_a_time(tmp_path, print) as waited:
            assert waited is False
    finally:
        os.umask(old)
    lock = tmp_path / BUILD_LOCK
    assert stat.S_IMODE(lock.stat().st_mode) == 0o664
    lock.chmod(0o444)
    with _one_build_at_a_time(tmp_path, print) as waited:
        assert waited is False


def test_the_same_data_again_is_a_new_release_with_its_own_validators(line) -> None:
    out: Path = line["out"]  # type: ignore[assignment]
    inputs: dict[int, Path] = line["inputs"]  # type: ignore[assignment]
    first = line["first"]
    again = build(out, Settings(inputs_dir=inputs[1]))  # after other data: a new release
    assert again.manifest.build_id == first.manifest.build_id
    assert again.manifest.release > 1
    release = read_release(again.release)
    status, tag, body = answer(release, {"If-None-Match": str(line["first_tag"])})
    assert status == 200, "release 1's validator matched a later release's answer"
    assert tag != line["first_tag"] and f'"{again.manifest.version}"' in body
    assert answer(release, {"If-None-Match": tag})[0] == 304  # its own still does
