"""Which Python ``make install`` builds the project's venv on (prints its command).

The same Python version runs this server at very different speeds by how it was built.
Measured on one machine with the same 3.11 (bench/PROFILE.md, "The interpreter"): the
web process's Python per cold query 97-153 us on Debian's ``/usr/bin/python3`` against
162-198 us on a ``pyenv install`` built with its defaults, and the query pool 16-27% more
jobs a second. A default pyenv (or ``./configure``) build has neither profile-guided nor
link-time optimisation, and its interpreter calls its own functions through a shared
``libpython`` that cannot be inlined across; a distribution's build, python.org's, the
Docker images' and ``--enable-optimizations`` builds do not pay that.

So: ``python3`` on the PATH, unless it is such a plain build and one of the system's
usual interpreters (:data:`CANDIDATES`) is an optimised one; each must be Python >= 3.11
with ``venv`` and ``ensurepip`` (Debian keeps them in ``python3-venv``). Optimised means
built with ``--enable-optimizations``, or with the interpreter in its own binary rather
than a shared ``libpython`` (how Debian and Ubuntu build theirs, with PGO and LTO). What
the PATH says stays the choice whenever it is not clearly the slower build; ``make
install PYTHON=...`` skips all of this. Standard library only: it runs before the venv
exists.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from typing import Any

#: the PATH's interpreter, then the system's usual places
CANDIDATES = ("python3", "/usr/bin/python3", "/usr/local/bin/python3")

#: what each candidate says of itself (run with ``-I``: no user site, no environment)
PROBE = r"""
import json, sys, sysconfig
usable = sys.version_info >= (3, 11)
try:
    import ensurepip, venv  # noqa: F401
except ImportError:
    usable = False
try:
    with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
        shared = "libpython" in maps.read()
except OSError:
    shared = None
print(json.dumps({
    "usable": usable,
    "version": list(sys.version_info[:3]),
    "executable": sys.executable,
    "configure": sysconfig.get_config_var("CONFIG_ARGS") or "",
    "shared_libpython": shared,
}))
"""


def probe(command: str, timeout: float = 30.0) -> dict[str, Any] | None:
    """What ``command`` says of itself, or None when it is missing or fails."""
    if shutil.which(command) is None:
        return None
    try:
        done = subprocess.run(
            [command, "-I", "-c", PROBE], capture_output=True, text=True, timeout=timeout
        )
        facts = json.loads(done.stdout) if done.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    return facts if isinstance(facts, dict) else None


def optimised(facts: dict[str, Any]) -> bool | None:
    """Whether an interpreter is an optimised build (None: cannot tell)."""
    if "--enable-optimizations" in str(facts.get("configure", "")):
        return True
    shared = facts.get("shared_libpython")
    return None if shared is None else not shared


def choose(found: dict[str, dict[str, Any] | None], default: str = "python3") -> str:
    """``default`` unless it is unusable or a plain build while another candidate is a
    usable optimised one (the first such, in the order of ``found``)."""
    usable = {c: f for c, f in found.items() if f is not None and f.get("usable")}
    first = usable.get(default)
    if first is not None and optimised(first) is not False:
        return default
    for command, facts in usable.items():
        if command != default and optimised(facts):
            return command
    return default if first is not None or not usable else next(iter(usable))


def main() -> int:
    found: dict[str, dict[str, Any] | None] = {}
    seen: set[str] = set()
    for command in CANDIDATES:
        facts = probe(command)
        where = os.path.realpath(str(facts["executable"])) if facts else None
        if where is not None and where in seen:
            continue  # the PATH's is the system's: one of them
        if where is not None:
            seen.add(where)
        found[command] = facts
    chosen = choose(found)
    shown = ", ".join(
        f"{c}: "
        + (
            "-"
            if f is None
            else ".".join(map(str, f.get("version", [])))
            + ("" if f.get("usable") else " unusable")
            + {True: " optimised", False: " plain build", None: ""}[optimised(f)]
        )
        for c, f in found.items()
    )
    print(f"fast_python: {chosen} ({shown})", file=sys.stderr)
    print(chosen)
    return 0


if __name__ == "__main__":
    sys.exit(main())
