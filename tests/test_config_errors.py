"""A setting that cannot work is one clear error naming where it came from.

Settings come from ``DIPKG_`` variables and dipkg.toml (dipkg/core/settings.py). A value
pydantic refuses used to reach the user as ``error[internal]: ValidationError: ...`` with
pydantic's report and a web address; it is now ``DIPKG_X: error[config]: ...`` (the
variable is the place), or ``dipkg.toml: error[config]: key: ...``, exit 1, and a
secret's value is never repeated.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dipkg.core.errors import ConfigError
from dipkg.core.settings import load_settings
from tests.conftest import cli_env
from tests.test_cli import one_error_line, run

MiB = 1024 * 1024


def use_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> Path:
    """A dipkg.toml holding ``text``, named by DIPKG_CONFIG for this test."""
    config = tmp_path / "dipkg.toml"
    config.write_text(text, encoding="utf-8")
    monkeypatch.setenv("DIPKG_CONFIG", str(config))
    return config


@pytest.mark.parametrize("command", ["serve", "build", "query"])
def test_a_bad_variable_is_named_by_every_command(tmp_path: Path, command: str) -> None:
    args = {
        "serve": ["serve", "--data", str(tmp_path)],
        "build": ["build", "--out", str(tmp_path / "out")],
        "query": ["query", "--data", str(tmp_path), "ASK {}"],
    }[command]
    done = run(*args, DIPKG_QUERY_TIMEOUT="-1")
    line = one_error_line(done, "config")
    assert line == "DIPKG_QUERY_TIMEOUT: error[config]: Input should be greater than 0 (got '-1')"
    assert "pydantic" not in done.stderr and "internal" not in done.stderr
    assert not (tmp_path / "out").exists()  # nothing written


def test_the_server_module_names_it_too(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sparql_api.server", "--data", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=cli_env(DIPKG_MAX_ROWS="lots"),
    )
    assert done.returncode == 1, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("DIPKG_MAX_ROWS: error[config]: "), lines
    assert "'lots'" in lines[0]


def test_every_bad_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIPKG_MAX_ROWS", "0")
    monkeypatch.setenv("DIPKG_QUERY_WORKERS", "many")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    err = caught.value
    assert err.file == "DIPKG_MAX_ROWS" and err.code == "config"
    assert "; DIPKG_QUERY_WORKERS: " in err.message and "'many'" in err.message
    assert [e["variable"] for e in err.details["errors"]] == [
        "DIPKG_MAX_ROWS",
        "DIPKG_QUERY_WORKERS",
    ]


def test_a_bad_key_of_dipkg_toml_names_the_file_and_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = use_config(tmp_path, monkeypatch, "query_timeout = -3\n")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value) == (
        f"{config}: error[config]: query_timeout: Input should be greater than 0 (got -3)"
    )


def test_a_key_no_setting_has_is_named_with_the_closest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mistyped key was dropped in silence, its setting left at the default (``prot =
    8000``: the server on another port). Its value is never repeated: it may be a secret
    under a mistyped name."""
    config = use_config(
        tmp_path,
        monkeypatch,
        'prot = 8001\nsparql_backend_pasword = "hunter2"\n[catalog]\npublisher_nam = "x"\n',
    )
    with pytest.raises(ConfigError) as caught:
        load_settings()
    text = str(caught.value)
    assert text.startswith(f"{config}: error[config]: "), text
    assert "catalog.publisher_nam: no such setting; did you mean 'catalog.publisher_name_" in text
    assert "prot: no such setting; did you mean 'port'?" in text
    assert "sparql_backend_pasword: no such setting; did you mean 'sparql_backend_password'" in text
    assert "hunter2" not in text and "8001" not in text
    # a DIPKG_A__B variable is read into a table: its mistyped part is named too
    monkeypatch.delenv("DIPKG_CONFIG")
    monkeypatch.chdir(tmp_path / "..")
    monkeypatch.setenv("DIPKG_CATALOG__VERSOIN", "2")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value).startswith("DIPKG_CATALOG__VERSOIN: error[config]: no such setting")
    assert "did you mean 'DIPKG_CATALOG__VERSION'?" in str(caught.value)  # as it was given


def test_a_secret_is_never_repeated() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(publish_password=918273645, query_timeout=0)
    text = str(caught.value) + repr(caught.value.details)
    assert "918273645" not in text
    assert "publish_password: Input should be a valid string" in text
    assert "(got 0)" in text  # an ordinary value is shown


def test_the_spool_must_hold_one_allowed_result(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIPKG_SPOOL_MB", "24")
    monkeypatch.setenv("DIPKG_MAX_RESULT_BYTES", str(24 * MiB))
    assert load_settings().spool_mb == 24  # exactly one result's worth: fine
    monkeypatch.setenv("DIPKG_MAX_RESULT_BYTES", str(24 * MiB + 1))
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert caught.value.file is None
    assert caught.value.message.startswith(
        "spool_mb (24 MiB, DIPKG_SPOOL_MB) is smaller than max_result_bytes (25165825 bytes, "
        "DIPKG_MAX_RESULT_BYTES)"
    )


@pytest.mark.parametrize(
    "args, expected",
    [
        (
            ["--port", "99999"],
            "127.0.0.1:99999: error[config]: port 99999 is not a port: give a number from 1 "
            "to 65535 with --port or the setting DIPKG_PORT",
        ),
        (
            ["--host", "256.1.1.1", "--port", "8000"],
            "256.1.1.1:8000: error[config]: host '256.1.1.1' cannot be used",
        ),
        (  # an address, of another machine (EADDRNOTAVAIL); TEST-NET-3, never routed
            ["--host", "203.0.113.9", "--port", "8000"],
            "203.0.113.9:8000: error[config]: host '203.0.113.9' cannot be used",
        ),
    ],
    ids=["port", "host", "not-ours"],
)
def test_a_place_to_listen_that_cannot_work_is_one_line(
    built_data: Path, args: list[str], expected: str
) -> None:
    """They were a traceback (OverflowError) and a port said to be in use."""
    done = run("serve", "--data", str(built_data), *args)
    assert one_error_line(done, "config").startswith(expected), done.stderr


@pytest.mark.parametrize(
    "url,why",
    [
        ("ftp://x/sparql", "must be an http(s) URL"),
        ("http:///sparql", "has no host"),
        ("http://host:99999/sparql", "is not a valid URL"),
    ],
)
@pytest.mark.parametrize("how", ["flag", "variable"])
def test_a_backend_url_that_cannot_work_names_its_setting(
    built_data: Path, url: str, why: str, how: str
) -> None:
    """It was ``error[backend-unavailable]: ... cannot be reached: UnsupportedProtocol``,
    naming no setting, for a URL that could never be reached; a password in it is never
    repeated."""
    secret = url.replace("//", "//ops:s3cret-pw@", 1)
    if how == "flag":
        done = run("serve", "--data", str(built_data), "--sparql-backend", secret)
    else:
        done = run("serve", "--data", str(built_data), DIPKG_SPARQL_BACKEND=secret)
    line = one_error_line(done, "config")
    assert line.startswith("DIPKG_SPARQL_BACKEND (--sparql-backend): error[config]:"), line
    assert why in line and "s3cret-pw" not in done.stderr + done.stdout


def test_a_list_variable_that_is_not_json_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIPKG_TRUSTED_PROXIES", "10.0.0.1")  # a list is JSON: ["10.0.0.1"]
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert caught.value.file == "DIPKG_TRUSTED_PROXIES"
    assert "written as JSON" in caught.value.message


def test_an_item_of_a_list_variable_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIPKG_TRUSTED_PROXIES", '["10.0.0.1", "nowhere"]')
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert caught.value.file == "DIPKG_TRUSTED_PROXIES"
    assert "'nowhere'" in caught.value.message


def test_the_file_is_blamed_only_for_what_it_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = use_config(tmp_path, monkeypatch, "query_timeout = -2\n")
    monkeypatch.setenv("DIPKG_CATALOG", '{"issued": "x"}')
    with pytest.raises(ConfigError) as caught:
        load_settings()
    places = [
        (e.get("variable"), e.get("file"), e.get("key")) for e in caught.value.details["errors"]
    ]
    assert places == [("DIPKG_CATALOG", None, None), (None, str(config), "query_timeout")]
    assert f"; {config}: query_timeout: " in caught.value.message
    monkeypatch.delenv("DIPKG_CATALOG")
    with pytest.raises(ConfigError) as caught:  # a value given in code: its setting, not the file
        load_settings(max_rows=0, query_timeout=1)
    assert caught.value.file == "max_rows"


def test_a_file_that_is_not_toml_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = use_config(tmp_path, monkeypatch, "query_timeout = \n")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value).startswith(f"{config}: error[config]: not TOML: ")
    assert "line 1" in caught.value.message


@pytest.mark.parametrize("command", ["serve", "build"])
def test_a_settings_file_named_but_missing_is_an_error(tmp_path: Path, command: str) -> None:
    """DIPKG_CONFIG (the systemd unit's /etc/dipkg/dipkg.toml) that names no file is refused:
    a mistyped path used to leave every setting at its default without a word."""
    missing = tmp_path / "etc" / "dipkg.toml"
    args = {
        "serve": ["serve", "--data", str(tmp_path), "--port", "1"],
        "build": ["build", "--out", str(tmp_path / "out")],
    }[command]
    done = run(*args, DIPKG_CONFIG=str(missing))
    line = one_error_line(done, "config")
    assert line == f"DIPKG_CONFIG: error[config]: the settings file '{missing}' does not exist"
    assert not (tmp_path / "out").exists()  # nothing written
    done = run(*args, DIPKG_CONFIG=str(tmp_path))
    line = one_error_line(done, "config")
    assert line.startswith("DIPKG_CONFIG: error[config]: ") and "is a folder" in line


def test_the_default_settings_file_stays_optional(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIPKG_CONFIG", "")
    assert load_settings().port == 8000
    monkeypatch.setenv("DIPKG_CONFIG", os.devnull)  # an empty file that is not a regular one
    assert load_settings().port == 8000
