"""How large an in-memory copy of the store the workers may share (Settings.memory_store_mb,
Settings.memory_store_bytes, settings.usable_memory): a number of MiB, 0, or ``auto`` (the
default: an eighth of the memory the server may use, divided among the query workers and
the fork server, each of which may come to hold a copy of its own)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dipkg.core.errors import ConfigError
from dipkg.core.settings import MEMORY_STORE_SHARE, load_settings, usable_memory
from tests.test_config_errors import use_config

MIB = 1024 * 1024
GIB = 1024 * MIB


def test_auto_is_an_eighth_of_memory_shared_by_every_copy() -> None:
    assert load_settings().memory_store_mb == "auto"  # the default
    assert MEMORY_STORE_SHARE == 8
    four = load_settings(query_workers=4)
    assert four.memory_store_bytes(24 * GIB) == 24 * GIB // 8 // 5  # ~614 MiB
    assert four.memory_store_bytes(4 * GIB) == 4 * GIB // 8 // 5  # ~102 MiB
    # the 100x synthetic graph's copy (~170 MiB): in memory on 24 GiB, on disk on 4 GiB
    assert four.memory_store_bytes(24 * GIB) > 170 * MIB > four.memory_store_bytes(4 * GIB)
    two = load_settings(query_workers=2)
    assert two.memory_store_bytes(24 * GIB) == 24 * GIB // 8 // 3
    assert four.memory_store_bytes() == usable_memory() // 8 // 5  # this machine's
    assert four.memory_store_bytes(0) == 0  # memory unknown: no copy


def test_a_number_is_the_copy_s_own_limit_whatever_the_memory() -> None:
    for mib in (0, 1, 64, 4096):
        settings = load_settings(memory_store_mb=mib, query_workers=7)
        assert settings.memory_store_bytes(1 * GIB) == mib * MIB
        assert settings.memory_store_bytes(64 * GIB) == mib * MIB


@pytest.mark.parametrize(("text", "value"), [("64", 64), (" 7 ", 7), ("0", 0), ("auto", "auto")])
def test_the_variable_takes_mib_or_auto(
    monkeypatch: pytest.MonkeyPatch, text: str, value: int | str
) -> None:
    monkeypatch.setenv("DIPKG_MEMORY_STORE_MB", text)
    assert load_settings().memory_store_mb == value


@pytest.mark.parametrize("text", ["-1", "lots", "1.5", "", "Auto", "true"])
def test_anything_else_is_one_clear_error(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv("DIPKG_MEMORY_STORE_MB", text)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert caught.value.file == "DIPKG_MEMORY_STORE_MB"
    assert len(caught.value.details["errors"]) == 1  # not one per member of the union
    assert "whole number of MiB (0: no copy) or auto" in caught.value.message


def test_the_config_file_takes_mib_or_auto(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_config(tmp_path, monkeypatch, 'memory_store_mb = "auto"\n')
    assert load_settings().memory_store_mb == "auto"
    use_config(tmp_path, monkeypatch, "memory_store_mb = 12\n")
    assert load_settings().memory_store_bytes() == 12 * MIB
    config = use_config(tmp_path, monkeypatch, "memory_store_mb = -3\n")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert caught.value.file == str(config) and "0 or more MiB" in caught.value.message


def test_usable_memory_is_the_machine_s_or_its_cgroup_s_limit(tmp_path: Path) -> None:
    machine = usable_memory(())
    assert machine > 256 * MIB  # this process runs on more than that
    assert 0 < usable_memory() <= machine  # with whatever cgroup this test runs in
    limit = tmp_path / "memory.max"
    cases = {
        "max\n": machine,  # cgroup v2 without a limit
        f"{GIB}\n": min(GIB, machine),
        f"{machine * 4}\n": machine,  # a limit above the machine (v1's "no limit" is huge)
        "0\n": machine,
        "garbage": machine,
        "": machine,
    }
    for text, expected in cases.items():
        limit.write_text(text, encoding="ascii")
        assert usable_memory((str(limit),)) == expected, text
    assert usable_memory((str(tmp_path / "absent"), str(limit))) == machine  # absent: passed over
    limit.write_text(f"{GIB}\n", encoding="ascii")
    second = tmp_path / "v1"
    second.write_text(f"{GIB // 2}\n", encoding="ascii")
    assert usable_memory((str(limit), str(second))) == min(GIB // 2, machine)  # the lowest
