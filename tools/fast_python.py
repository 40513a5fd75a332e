"""Which Python ``make install`` builds the project's venv on (prints its command).

The same Python version runs this server at different speeds by how it was built. On one
machine with 3.11 (bench/PROFILE.md, "The interpreter"), pyenv's default build (no
profile-guided or link-time optimisation, the interpreter in a shared ``libpython``
whose functions call each other through the PLT) against Debian's ``/usr/bin/python3``
(PGO and LTO, the interpreter in its own binary): the web process's own Python per cold
query 25-35% less CPU on Debian's, the query pool 16-27% more jobs a second, ~11% more
cold point lookups a second end to end.

So: ``python3`` on the PATH, unless it is such a build (a shared ``libpython`` without
``--enable-optimizations``) and one of the system's usual interpreters
(:data:`CANDIDATES`) is an optimised build of the same Python version (``3.11``, say);
or unless it is unusable (older than 3.11, or without ``venv`` and ``ensurepip``, which
Debian keeps in ``python3-venv``) and another is usable. Optimised means built with
``--enable-optimizations`` (python.org's, the Docker images', uv's), or without a shared
``libpython`` (Debian's and Ubuntu's). The system's interpreters are not even asked when
the PATH's is fine, and ``make install PYTHON=...`` skips all of this. Standard library
only: it runs before the venv exists.
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
    """``default``, unless it is a plain build while another candidate is a usable
    optimised build of the same Python version (the first such, in the order of
    ``found``), or ``default`` is unusable and another is usable."""
    usable = {c: f for c, f in found.items() if f is not None and f.get("usable")}
    first = usable.get(default)
    if first is None:
        return next(iter(usable), default)
    if optimised(first) is not False:
        return default
    for command, facts in usable.items():
        same_version = list(facts.get("version", []))[:2] == list(first.get("version", []))[:2]
        if command != default and same_version and optimised(facts):
            return command
    return default


def describe(facts: dict[str, Any] | None) -> str:
    if facts is None:
        return "-"
    kind = {True: " optimised", False: " plain build", None: ""}[optimised(facts)]
    usable = "" if facts.get("usable") else " unusable"
    return ".".join(map(str, facts.get("version", []))) + usable + kind


def main() -> int:
    default, *system = CANDIDATES
    first = probe(default)
    found: dict[str, dict[str, Any] | None] = {default: first}
    if first is None or not first.get("usable") or optimised(first) is False:
        # the system's are asked only when the PATH's is no good as it is
        seen = {os.path.realpath(str(first["executable"]))} if first else set()
        for command in system:
            facts = probe(command)
            where = os.path.realpath(str(facts["executable"])) if facts else None
            if where in seen:
                continue  # the PATH's is the system's: one of them
            if where is not None:
                seen.add(where)
            found[command] = facts
    chosen = choose(found, default)
    shown = ", ".join(f"{c}: {describe(f)}" for c, f in found.items())
    print(f"fast_python: {chosen} ({shown})", file=sys.stderr)
    print(chosen)
    return 0


if __name__ == "__main__":
    sys.exit(main())
