"""How large an in-memory copy of the store the workers may share (Settings.memory_store_mb,
Settings.memory_store_bytes, settings.usable_memory): a number of MiB, 0, or ``auto`` (the
default: an eighth of the memory the server may use, divided among the query workers and
the fork server, each of which may come to hold a copy of its own)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dipkg.core.errors import ConfigError
from dipkg.core.settings import (
    MEMORY_STORE_SHARE,
    cgroup_limit_files,
    load_settings,
    usable_memory,
)
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


def test_a_negative_number_is_named_as_such(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIPKG_MEMORY_STORE_MB", "-1")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "0 or more MiB, or auto" in caught.value.message


@pytest.mark.parametrize("text", ["lots", "1.5", "", "Auto", "true", "--1", "-"])
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
    for text in ("true", "1.5", '"12"', '"auto "'):  # a bool is not a number; strings as env
        config = use_config(tmp_path, monkeypatch, f"memory_store_mb = {text}\n")
        if text.startswith('"'):
            assert load_settings().memory_store_mb in (12, "auto")
            continue
        with pytest.raises(ConfigError) as caught:
            load_settings()
        assert caught.value.file == str(config), text
        assert "whole number of MiB (0: no copy) or auto" in caught.value.message


def test_usable_memory_is_the_machine_s_or_its_cgroup_s_limit(tmp_path: Path) -> None:
    machine = usable_memory([])
    assert machine > 256 * MIB  # this process runs on more than that
    assert 0 < usable_memory() <= machine  # with whatever cgroup this test runs in
    limit = tmp_path / "memory.max"
    cases = {
        "max\n": machine,  # cgroup v2 without a limit
        f"{GIB}\n": min(GIB, machine),
        f"{machine * 4}\n": machine,  # a limit above the machine
        "9223372036854771712\n": machine,  # cgroup v1's "no limit"
        "0\n": machine,
        "garbage": machine,
        "\u0663": machine,  # a digit, not an ASCII one
        "": machine,
    }
    for text, expected in cases.items():
        limit.write_text(text, encoding="utf-8")
        assert usable_memory([str(limit)]) == expected, text
    assert usable_memory([str(tmp_path / "absent"), str(limit)]) == machine  # passed over
    limit.write_text(f"{GIB}\n", encoding="ascii")
    second = tmp_path / "v1"
    second.write_text(f"{GIB // 2}\n", encoding="ascii")
    assert usable_memory([str(limit), str(second)]) == min(GIB // 2, machine)  # the lowest


def _tree(root: Path, limits: dict[str, str]) -> None:
    for where, text in limits.items():
        (root / where).parent.mkdir(parents=True, exist_ok=True)
        (root / where).write_text(text, encoding="ascii")


def test_the_limit_of_the_process_s_own_cgroup_and_those_above_it(tmp_path: Path) -> None:
    """A systemd unit's MemoryMax= is in the unit's own cgroup, not at the top level; a
    limit on a parent caps its children too. v2 and v1 alike."""
    root, proc = tmp_path / "cgroup", tmp_path / "proc-self-cgroup"
    proc.write_text("0::/system.slice/dipkg.service\n", encoding="ascii")
    files = cgroup_limit_files(str(proc), str(root))
    assert files[:3] == [
        f"{root}/system.slice/dipkg.service/memory.max",
        f"{root}/system.slice/memory.max",
        f"{root}/memory.max",
    ]
    _tree(root, {"system.slice/dipkg.service/memory.max": f"{GIB}\n", "memory.max": "max\n"})
    assert usable_memory(files) == min(GIB, usable_memory([]))
    _tree(root, {"system.slice/memory.max": f"{GIB // 4}\n"})  # the parent's is lower
    assert usable_memory(cgroup_limit_files(str(proc), str(root))) == GIB // 4

    proc.write_text("5:cpu,cpuacct:/a\n4:memory:/user.slice/x\n0::/\n", encoding="ascii")
    files = cgroup_limit_files(str(proc), str(root))
    assert files[:3] == [
        f"{root}/memory/user.slice/x/memory.limit_in_bytes",
        f"{root}/memory/user.slice/memory.limit_in_bytes",
        f"{root}/memory/memory.limit_in_bytes",
    ]
    assert f"{root}/memory.max" in files  # v2's top level, from "0::/"
    _tree(root, {"memory/user.slice/x/memory.limit_in_bytes": f"{GIB // 2}\n"})
    assert usable_memory(files) == GIB // 2  # (v2's unit above is not this process's now)
    _tree(root, {"memory.max": f"{GIB // 8}\n"})  # v2's top level, lower: both count
    assert usable_memory(cgroup_limit_files(str(proc), str(root))) == GIB // 8

    proc.write_text("0::/../../elsewhere\n", encoding="ascii")  # outside the namespace
    assert cgroup_limit_files(str(proc), str(root)) == [
        f"{root}/memory.max",
        f"{root}/memory/memory.limit_in_bytes",
    ]
    assert cgroup_limit_files(str(tmp_path / "absent"), str(root)) == [
        f"{root}/memory.max",
        f"{root}/memory/memory.limit_in_bytes",
    ]
