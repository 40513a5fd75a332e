"""The query workers' second wall where the OS refuses them an empty network namespace: a
seccomp filter under which socket(2) of any family but AF_UNIX fails, as do io_uring and
other ABIs' calls (sparql_api/workers_child.py ``_deny_network_sockets``). Checked in a real
process against a real listener: pyoxigraph's SERVICE, which the guard refuses before it
ever runs, cannot connect under the filter; the same process without it does (known-bad:
the oracle sees a connection). The workers of a real server run under it
(tests/endpoint/test_fork_server.py, by the kernel's word and their own)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.listener import Listener

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import socket, sys
import pyoxigraph as ox
from sparql_api.workers_child import _deny_network_sockets
if sys.argv[2] == "filter":
    assert _deny_network_sockets(), "the kernel refused the filter"
for family in (socket.AF_INET, socket.AF_INET6, socket.AF_NETLINK):
    try:
        socket.socket(family, socket.SOCK_DGRAM).close()
        print("socket", family.name, "made")
    except PermissionError:
        print("socket", family.name, "refused")
a, b = socket.socketpair()  # a worker's own channel still works
a.sendall(b"x"); assert b.recv(1) == b"x"
socket.socket(socket.AF_UNIX).close()
import ctypes, platform
if platform.machine() in ("x86_64", "aarch64"):  # io_uring_setup(2): 425 on both
    libc = ctypes.CDLL(None, use_errno=True)
    ring = libc.syscall(425, 8, ctypes.create_string_buffer(120))
    print("io_uring", "refused" if ring < 0 and ctypes.get_errno() == 13 else "made")
try:
    list(ox.Store().query(
        "SELECT * WHERE { SERVICE <http://127.0.0.1:%s/sparql> { ?s ?p ?o } }" % sys.argv[1]))
    print("service answered")
except Exception as exc:
    print("service failed:", type(exc).__name__)
"""

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="a Linux seccomp filter"
)


def _run(mode: str) -> tuple[str, int]:
    listener = Listener()
    try:
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(listener.port), mode],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
        assert out.returncode == 0, out.stderr[-2000:]
        time.sleep(0.2)  # (the listener's thread counts what reached it)
        return out.stdout, listener.accepted
    finally:
        listener.close()


def test_under_the_filter_no_internet_socket_and_service_cannot_connect() -> None:
    text, accepted = _run("filter")
    assert "socket AF_INET refused" in text and "socket AF_INET6 refused" in text, text
    assert "socket AF_NETLINK refused" in text and "io_uring made" not in text, text
    assert "service failed: PermissionError" in text, text
    assert accepted == 0


def test_without_the_filter_the_same_process_connects() -> None:
    """Known-bad beside it: the oracle sees SERVICE reach the listener when nothing stops it."""
    text, accepted = _run("none")
    assert "socket AF_INET made" in text, text
    assert accepted >= 1
