"""Which Python `make install` makes the venv with (tools/fast_python.py): the PATH's
python3 unless it is a plain build (no optimisation, a shared libpython) and the system
has an optimised one; always a usable one (>= 3.11, with venv and ensurepip)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tools import fast_python

ROOT = Path(__file__).resolve().parent.parent

PLAIN = {"usable": True, "configure": "'--enable-shared'", "shared_libpython": True}
DISTRO = {"usable": True, "configure": "'--enable-shared'", "shared_libpython": False}
TUNED = {"usable": True, "configure": "'--enable-optimizations'", "shared_libpython": True}
OLD = {**DISTRO, "usable": False}
UNKNOWN = {"usable": True, "configure": "", "shared_libpython": None}


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
    assert facts["usable"] is True  # this one runs the tests, in a venv made with venv
    assert isinstance(facts["configure"], str)
    if Path("/proc/self/maps").exists():
        mapped = "libpython" in Path("/proc/self/maps").read_text(errors="replace")
        assert facts["shared_libpython"] is mapped
    assert fast_python.probe("no-such-python-here") is None


def test_the_tool_prints_one_usable_interpreter() -> None:
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
    facts = fast_python.probe(chosen)
    assert facts is not None and facts["usable"], facts
    if chosen != "python3":  # only ever for an optimised build
        assert fast_python.optimised(facts) is True, json.dumps(facts)


def test_make_asks_the_tool_unless_python_is_given() -> None:
    def venv_recipe(*args: str) -> str:
        done = subprocess.run(
            [
                "make",
                "-n",
                "-B",
                "-C",
                str(ROOT),
                "VENV=/nonexistent-venv",
                *args,
                "/nonexistent-venv/bin/python",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    asked = venv_recipe()
    assert 'py=""' in asked and "tools/fast_python.py" in asked and "-m venv" in asked
    given = venv_recipe("PYTHON=python3.12")
    assert 'py="python3.12"' in given
