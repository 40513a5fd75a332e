"""What an installed dipkg carries: one version number, the licence, the vendored YASGUI."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

import dipkg
from tests.conftest import cli_env

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "sparql_api" / "static" / "vendor" / "yasgui"


def test_the_version_is_defined_once() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert importlib.metadata.version("dipkg") == dipkg.__version__


def test_dipkg_version() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dipkg.cli", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        env=cli_env(),
    )
    assert done.returncode == 0 and done.stdout.strip() == f"dipkg {dipkg.__version__}"


def test_licence_file_matches_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "Apache-2.0"
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert (
        "Apache License" in text
        and "Version 2.0, January 2004" in text
        and "END OF TERMS AND CONDITIONS" in text
    )


def test_the_yasgui_notice_names_the_pinned_version() -> None:
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    version = lock["packages"]["node_modules/@zazuko/yasgui"]["version"]
    notice = (ROOT / "sparql_api" / "static" / "licences" / "yasgui.txt").read_text(
        encoding="utf-8"
    )
    assert f"@zazuko/yasgui {version} " in notice and "MIT License" in notice


@pytest.mark.slow
def test_the_wheel_carries_yasgui_its_notice_the_licence_and_no_pyyaml(tmp_path: Path) -> None:
    if not (VENDOR / "yasgui.min.js").is_file():
        pytest.skip("YASGUI is not vendored here (make ui-vendor needs npm)")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("dipkg-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in (
        "sparql_api/static/vendor/yasgui/yasgui.min.js",
        "sparql_api/static/vendor/yasgui/yasgui.min.css",
        "sparql_api/static/licences/yasgui.txt",
        "sparql_api/static/favicon.svg",
        "dipkg/core/traditional.txt",  # the search's traditional -> simplified characters
    ):
        assert name in names, name
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    metadata = (
        zipfile.ZipFile(wheel)
        .read(next(n for n in names if n.endswith(".dist-info/METADATA")))
        .decode()
    )
    assert f"Version: {dipkg.__version__}" in metadata
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert not any("pyyaml" in r.lower() and "extra ==" not in r for r in requires), requires


def make_dry_run(*args: str, **env: str) -> str:
    import os

    full = {k: v for k, v in os.environ.items() if not k.startswith("DIPKG_")}
    full.update(env)
    done = subprocess.run(
        ["make", "-n", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=60, env=full
    )
    assert done.returncode == 0, done.stderr
    return next(line for line in done.stdout.splitlines() if "dipkg serve" in line)


def test_make_serve_leaves_host_port_and_data_to_the_settings() -> None:
    """`DIPKG_PORT=8001 make serve` bound 8000: the Makefile passed --port 8000 itself."""
    line = make_dry_run("serve", DIPKG_PORT="8001")
    assert "--port" not in line and "--host" not in line and "--data" not in line
    line = make_dry_run("serve", "PORT=8002", "HOST=127.0.0.2", "DATA=elsewhere")
    assert "--port 8002" in line and "--host 127.0.0.2" in line and "--data elsewhere" in line


def test_make_keeps_bytecode_whatever_the_environment_says() -> None:
    """A machine whose environment sets PYTHONDONTWRITEBYTECODE (CI's does) made every
    process of `make test` compile every module it imports, every time: the Makefile's
    commands run without it."""
    import os

    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    probe = 'probe: ; @echo "[$$PYTHONDONTWRITEBYTECODE]"'
    done = subprocess.run(
        ["make", "-s", "-C", str(ROOT), "--eval", probe, "probe"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
