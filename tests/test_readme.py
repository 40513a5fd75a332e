"""The README says what the project does: its commands run, its links and settings exist."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from dipkg.core.settings import Settings
from tests.conftest import cli_env

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
SH_BLOCKS = re.findall(r"```sh\n(.*?)```", README, re.S)


def dipkg_queries() -> list[str]:
    """Every `dipkg query '…'` command in the README's shell blocks (multi-line quoted)."""
    found = []
    for block in SH_BLOCKS:
        for match in re.finditer(r"^dipkg query ('.*?'|\"\$\(cat [^)]+\)\")", block, re.S | re.M):
            found.append(match.group(1))
    return found


def test_the_readme_has_query_examples():
    assert len(dipkg_queries()) >= 3


@pytest.mark.parametrize("argument", dipkg_queries(), ids=lambda a: a[:40])
def test_readme_queries_run(built_data, argument):
    if argument.startswith('"$(cat '):
        text = (ROOT / argument[len('"$(cat ') : -2]).read_text(encoding="utf-8")
    else:
        text = shlex.split(argument)[0]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dipkg.cli",
            "query",
            "--data",
            str(built_data),
            "--format",
            "csv",
            text,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=cli_env(),
    )
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) > 1  # a header and at least one row


def test_relative_links_exist():
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", README):
        assert (ROOT / target).exists(), target


def _is_setting(env: str) -> bool:
    """Whether ``DIPKG_{env}`` sets something: a setting, or a key of a table setting
    (``CATALOG__PUBLISHER_IRI``)."""
    model: object = Settings
    for part in env.lower().split("__"):
        fields = getattr(model, "model_fields", {})
        if part not in fields:
            return False
        model = fields[part].annotation
    return True


def test_settings_table_names_real_settings():
    assert _is_setting("CATALOG__PUBLISHER_IRI") and _is_setting("PORT")
    assert not _is_setting("PROT") and not _is_setting("CATALOG__PUBLISHER_NAM")  # known-bad
    for env in re.findall(r"`DIPKG_([A-Z_]+)`", README):
        if env in {
            "DEBUG",
            "CKAN_PYTHON",
            "CONFIG",
        }:  # a switch, a test hook, the config file itself
            continue
        assert _is_setting(env), f"README names DIPKG_{env}, which is no setting"


def test_counts_the_readme_states():
    corrections = tomllib.loads((ROOT / "build" / "corrections.toml").read_text(encoding="utf-8"))[
        "correction"
    ]
    assert f"({len(corrections)} entries" in README
    queries = sorted((ROOT / "build" / "queries").glob("*.rq"))
    assert f"holds {len(queries)} questions" in README
    for line in ("make serve", "make test"):
        assert line in README
