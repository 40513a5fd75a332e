"""Which Python `make install` makes the venv with (tools/fast_python.py): the PATH's
python3 unless it is a plain build (no optimisation, a shared libpython) and the system
has an optimised one; always a usable one (>= 3.11, with venv and ensurepip)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tools import fast_python

ROOT = Path(__file__).resolve().parent.parent

V311 = {"usable": True, "version": [3, 11, 7]}
PLAIN = {**V311, "configure": "'--enable-shared'", "shared_libpython": True}
DISTRO = {**PLAIN, "version": [3, 11, 2], "shared_libpython": False}
TUNED = {**V311, "configure": "'--enable-optimizations'", "shared_libpython": True}
OLD = {**DISTRO, "usable": False, "version": [3, 10, 12]}
UNKNOWN = {**V311, "configure": "", "shared_libpython": None}
DISTRO_312 = {**DISTRO, "version": [3, 12, 3]}
PLAIN_313 = {**PLAIN, "version": [3, 13, 0]}


def test_what_counts_as_an_optimised_build() -> None:
    assert fast_python.optimised(PLAIN) is False
    assert fast_python.optimised(DISTRO) is True  # the interpreter in its own binary
    assert fast_python.optimised(TUNED) is True  # python.org's, Docker's, pyenv's tuned
    assert fast_python.optimised(UNKNOWN) is None


@pytest.mark.parametrize(
    ("found", "chosen"),
    [
        ({"python3": DISTRO, "/usr/bin/python3": PLAIN}, "python3"),
        ({"python3": TUNED, "/usr/bin/python3": DISTRO}, "python3"),  # the PATH's is fine
        ({"python3": PLAIN, "/usr/bin/python3": DISTRO}, "/usr/bin/python3"),
        (
            {"python3": PLAIN, "/usr/bin/python3": None, "/usr/local/bin/python3": TUNED},
            "/usr/local/bin/python3",
        ),
        ({"python3": PLAIN, "/usr/bin/python3": OLD}, "python3"),  # no venv, or < 3.11
        ({"python3": PLAIN, "/usr/bin/python3": PLAIN}, "python3"),
        ({"python3": UNKNOWN, "/usr/bin/python3": DISTRO}, "python3"),  # cannot tell: keep
        ({"python3": PLAIN, "/usr/bin/python3": UNKNOWN}, "python3"),
        ({"python3": OLD, "/usr/bin/python3": PLAIN}, "/usr/bin/python3"),  # usable first
        ({"python3": None, "/usr/bin/python3": None}, "python3"),  # nothing: as before
        ({"python3": PLAIN, "/usr/bin/python3": DISTRO_312}, "python3"),  # not its version
        ({"python3": PLAIN_313, "/usr/bin/python3": DISTRO}, "python3"),  # never a downgrade
        (
            {"python3": PLAIN, "/usr/bin/python3": DISTRO_312, "/usr/local/bin/python3": TUNED},
            "/usr/local/bin/python3",
        ),
        (
            {"python3": DISTRO, "/usr/bin/python3": DISTRO, "/usr/local/bin/python3": TUNED},
            "python3",
        ),
    ],
)
def test_the_path_s_python_unless_it_is_plainly_slower(
    found: dict[str, dict[str, Any] | None], chosen: str
) -> None:
    assert fast_python.choose(found) == chosen


def test_the_probe_reads_a_real_interpreter() -> None:
    facts = fast_python.probe(sys.executable)
    assert facts is not None
    assert facts["version"] == list(sys.version_info[:3])
    assert isinstance(facts["usable"], bool)  # (False where a venv was made without pip)
    assert isinstance(facts["configure"], str)
    if Path("/proc/self/maps").exists():
        mapped = "libpython" in Path("/proc/self/maps").read_text(errors="replace")
        assert facts["shared_libpython"] is mapped
    assert fast_python.probe("no-such-python-here") is None


def test_the_tool_prints_one_interpreter_and_says_why() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "fast_python.py")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    chosen = done.stdout.strip()
    assert chosen in fast_python.CANDIDATES and shutil.which(chosen)
    assert done.stderr.startswith(f"fast_python: {chosen} (python3: ")
    if chosen != "python3":  # only ever a usable optimised build of the PATH's version
        facts, path = fast_python.probe(chosen), fast_python.probe("python3")
        assert facts is not None and facts["usable"], facts
        if path is not None and path["usable"]:
            assert fast_python.optimised(facts) is True, json.dumps(facts)
            assert facts["version"][:2] == path["version"][:2]


@pytest.mark.skipif(shutil.which("make") is None, reason="no make here")
def test_make_asks_the_tool_unless_python_is_given() -> None:
    # (not the caller's own PYTHON, nor the variables of a `make test PYTHON=...` above)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHON", "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")
    }

    def venv_recipe(*args: str) -> str:
        done = subprocess.run(
            ["make", "-n", "-B", "-C", str(ROOT), "VENV=/nonexistent-venv", *args]
            + ["/nonexistent-venv/bin/python"],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    asked = venv_recipe()
    assert 'py=""' in asked and "tools/fast_python.py" in asked and "-m venv" in asked
    given = venv_recipe("PYTHON=python3.12")
    assert 'py="python3.12"' in given
