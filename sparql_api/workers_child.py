"""The worker process's side of :mod:`sparql_api.workers` (``python -m sparql_api.workers_child``).

Kept light: it imports the frame format, pyoxigraph and :mod:`sparql_api.results`,
never asyncio, logging or the web app, so a worker starts in a fraction of the
time and memory of one that imported the pool's module. The frame format is
described in :mod:`sparql_api.workers`.
"""

from __future__ import annotations

import json
import os
import signal
import struct
import sys
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

from dipkg.core.errors import DipkgError
from sparql_api.errors import WorkerDied

if TYPE_CHECKING:
    from sparql_api.results import Job

_HEAD = struct.Struct(">I")
_BODY = struct.Struct(">Q")
#: a reply frame's fixed head: taken, status + flags, rows, body length
_REPLY = struct.Struct(">BBIQ")
TAKEN = b"\0"
RESULT, ERROR, INFO = 0, 1, 2
TRUNCATED, GRAPH, RETIRE, SPOOLED = 16, 32, 64, 128
MAX_HEADER = 16 * 1024 * 1024
#: Stack of the thread that evaluates queries in a worker (see child_main).
EVAL_STACK = 256 * 1024 * 1024


def encode_frame(header: dict[str, Any], body: bytes = b"") -> bytes:
    raw = json.dumps(header, ensure_ascii=False).encode("utf-8")
    return _HEAD.pack(len(raw)) + raw + _BODY.pack(len(body)) + body


#: job frames' heads (length and JSON) by their fields: a server sends the same few
#: (formats, caps) with every query, so each is encoded once (at most :data:`_MEMO` kept)
_JOB_HEADS: dict[tuple[Any, ...], bytes] = {}
#: and the worker's side: the fields of a head, by its JSON
_JOB_FIELDS: dict[bytes, dict[str, Any]] = {}
_MEMO = 64


def encode_job(job: Job) -> bytes:
    """The frame of a query's job: its fields but the query as the JSON header, the
    query as the body (UTF-8, as it is: not escaped into JSON)."""
    if job.default_graph is not None or job.named_graphs is not None:  # a request's dataset
        head = None
        key: tuple[Any, ...] = ()
    else:
        key = (
            job.table_format,
            job.graph_format,
            job.max_rows,
            job.max_bytes,
            job.union_default_graph,
        )
        head = _JOB_HEADS.get(key)
    if head is None:
        fields = {name: value for name, value in job.__dict__.items() if name != "query"}
        raw = json.dumps(fields, ensure_ascii=False).encode("utf-8")
        head = _HEAD.pack(len(raw)) + raw
        if key:
            if len(_JOB_HEADS) >= _MEMO:
                _JOB_HEADS.clear()
            _JOB_HEADS[key] = head
    query = job.query.encode("utf-8")
    return head + _BODY.pack(len(query)) + query


def decode_job(raw: bytes, body: bytes) -> dict[str, Any]:
    """A job's fields (:class:`sparql_api.results.Job`'s arguments) from its frame's JSON
    header ``raw`` and body (the query)."""
    fields = _JOB_FIELDS.get(raw)
    if fields is None:
        fields = json.loads(raw)
        if not isinstance(fields, dict):
            raise ValueError("protocol error: a job's header is not an object")
        if len(raw) <= 1024:  # (a long one, a request's own dataset, is not kept)
            if len(_JOB_FIELDS) >= _MEMO:
                _JOB_FIELDS.clear()
            _JOB_FIELDS[raw] = fields
    return {**fields, "query": body.decode("utf-8")}


def encode_reply(
    status: int,
    body: bytes = b"",
    flags: int = 0,
    rows: int = 0,
    spooled: int | None = None,
    taken: bool = False,
) -> bytes:
    """A reply frame without its first byte (:data:`TAKEN`, sent on its own before), or
    with it (``taken``). With ``spooled`` (a length), the body is that many bytes in the
    worker's spool file, complete and closed: the frame announces it and carries none
    (flag :data:`SPOOLED`)."""
    cut = 0 if taken else 1
    if spooled is not None:
        return _REPLY.pack(0, status | flags | SPOOLED, min(rows, 0xFFFFFFFF), spooled)[cut:]
    return _REPLY.pack(0, status | flags, min(rows, 0xFFFFFFFF), len(body))[cut:] + body


def encode_json_reply(
    status: int, header: dict[str, Any], flags: int = 0, taken: bool = False
) -> bytes:
    body = json.dumps(header, ensure_ascii=False).encode("utf-8")
    return encode_reply(status, body, flags, taken=taken)


def _read_exact(stream: BinaryIO, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        chunk = stream.read(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def _read_raw(stream: BinaryIO) -> tuple[bytes, bytes] | None:
    """A frame's JSON header and body, as bytes (None: end of file)."""
    raw = _read_exact(stream, _HEAD.size)
    if raw is None:
        return None
    (hlen,) = _HEAD.unpack(raw)
    header = _read_exact(stream, hlen)
    blen_raw = _read_exact(stream, _BODY.size)
    if header is None or blen_raw is None:
        return None
    (blen,) = _BODY.unpack(blen_raw)
    body = _read_exact(stream, blen) if blen else b""
    if body is None:
        return None
    return header, body


def _read_frame(stream: BinaryIO) -> dict[str, Any] | None:
    frame = _read_raw(stream)
    return None if frame is None else json.loads(frame[0])


def _isolate_network() -> bool:
    """Move this process into an empty network namespace (no interfaces). Best effort."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes  # lazy: Linux only; the worker's start-up imports what it uses

        libc = ctypes.CDLL(None, use_errno=True)
        clone_newnet, clone_newuser = 0x40000000, 0x10000000
        if libc.unshare(clone_newnet) == 0:
            return True
        return libc.unshare(clone_newuser | clone_newnet) == 0
    except Exception:  # noqa: BLE001
        return False


def cut_off_network(sandbox: bool) -> tuple[bool, bool]:
    """Both walls between this process (and the workers it starts) and the network, in
    their order (the namespace first: unshare is a call the filter must not see refused):
    whether the empty namespace holds, whether the seccomp filter does. Neither when
    ``sandbox`` is off (DIPKG_WORKER_SANDBOX=false)."""
    if not sandbox:
        return False, False
    return _isolate_network(), _deny_network_sockets()


#: (AUDIT_ARCH_*, the numbers of socket(2) and io_uring_setup(2)) of the architectures the
#: filter knows
_SECCOMP_ARCH = {"x86_64": (0xC000003E, 41, 425), "aarch64": (0xC00000B7, 198, 425)}


def _deny_network_sockets() -> bool:
    """Install a seccomp filter on this thread (inherited by the threads and processes it
    starts) under which socket(2) of any family but AF_UNIX fails with EACCES, and so does
    every call of another ABI (i386's ``int 0x80``, x32) and io_uring_setup(2) (whose
    requests seccomp does not see); every other call as before. A query's SERVICE
    (pyoxigraph's HTTP client) then cannot connect anywhere, whatever the guard let
    through, while the workers' pipes and Unix sockets work. Linux on x86-64 or AArch64;
    False elsewhere or where the kernel refuses it. Beside the empty network namespace
    (:func:`_isolate_network`), and holding where that is refused (Docker's default
    seccomp profile refuses unshare, not a process's own filter)."""
    import platform

    arch = _SECCOMP_ARCH.get(platform.machine())
    if arch is None:
        return False
    try:
        import ctypes

        audit_arch, nr_socket, nr_io_uring_setup = arch
        # BPF_LD|BPF_W|BPF_ABS, BPF_JMP|BPF_JEQ|BPF_K, BPF_JMP|BPF_JGE|BPF_K, BPF_RET|BPF_K
        ld, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
        allow, deny = 0x7FFF0000, 0x00050000 | 13  # SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO|EACCES
        af_unix, x32 = 1, 0x40000000
        program = [  # offsets in struct seccomp_data: nr 0, arch 4, args[0] 16 (low half)
            (ld, 0, 0, 4),  # 0   A = arch
            (jeq, 1, 0, audit_arch),  # 1   this ABI: 3, else 2
            (ret, 0, 0, deny),  # 2   another ABI (i386, AArch32): nothing
            (ld, 0, 0, 0),  # 3   A = the call's number
            (jge, 5, 0, x32),  # 4   x32's numbers: 10
            (jeq, 4, 0, nr_io_uring_setup),  # 5   io_uring: 10
            (jeq, 0, 2, nr_socket),  # 6   socket: 7, else 9
            (ld, 0, 0, 16),  # 7   A = its family
            (jeq, 0, 1, af_unix),  # 8   AF_UNIX: 9, else 10
            (ret, 0, 0, allow),  # 9
            (ret, 0, 0, deny),  # 10
        ]

        class SockFilter(ctypes.Structure):
            _fields_ = [
                ("code", ctypes.c_ushort),
                ("jt", ctypes.c_ubyte),
                ("jf", ctypes.c_ubyte),
                ("k", ctypes.c_uint32),
            ]

        class SockFprog(ctypes.Structure):
            _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]

        filters = (SockFilter * len(program))(*(SockFilter(*op) for op in program))
        fprog = SockFprog(len(program), filters)
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_no_new_privs, pr_set_seccomp, seccomp_mode_filter = 38, 22, 2
        if libc.prctl(pr_set_no_new_privs, 1, 0, 0, 0) != 0:
            return False
        return libc.prctl(pr_set_seccomp, seccomp_mode_filter, ctypes.byref(fprog), 0, 0) == 0
    except Exception:  # noqa: BLE001
        return False


def _die_with_parent(parent: int) -> None:
    """Linux: SIGKILL this worker when the server dies, even mid-query (no orphans)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes  # lazy: Linux only; the worker's start-up imports what it uses

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001
        return
    if os.getppid() != parent:  # the server died before prctl took effect
        os._exit(1)


def _batch_scheduling() -> bool:
    """Linux: run this worker as batch work (SCHED_BATCH). Its CPU share is a normal
    process's; only its wake-ups no longer preempt the server's web process, which hands it
    a job and has the next request to read (interactive work). Measured under cold point
    lookups (bench/PROFILE.md, fourteenth session): 3-7% more requests a second, the p99
    no higher. Only from the default policy: a server an operator runs under another
    (idle, real-time, batch already) keeps it. Best effort: elsewhere, or refused, the
    worker runs as before."""
    if not hasattr(os, "sched_setscheduler") or not hasattr(os, "SCHED_BATCH"):
        return False
    try:
        policy = os.sched_getscheduler(0)
        if policy != os.SCHED_OTHER:
            return policy == os.SCHED_BATCH
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    except OSError:
        return False
    return True


def _policy_name() -> str:
    """This process's scheduling policy: "batch", "other" (the default), "idle", "fifo",
    "rr", or "unknown"."""
    names = {
        getattr(os, f"SCHED_{name.upper()}"): name
        for name in ("batch", "other", "idle", "fifo", "rr")
        if hasattr(os, f"SCHED_{name.upper()}")
    }
    try:
        return names.get(os.sched_getscheduler(0), "unknown")
    except (AttributeError, OSError):
        return "unknown"


@dataclass(frozen=True)
class Preloaded:
    """The store at ``path`` copied into memory by the fork server (sparql_api/zygote.py)
    before it forked this worker: ``store`` (a pyoxigraph in-memory store, shared
    copy-on-write), ``size`` the bytes the copy took."""

    path: str
    store: Any
    size: int


#: (pid, descriptor) of /proc/self/statm as the process ``pid`` opened it
_statm: tuple[int, int] | None = None


def resident_bytes() -> int:
    """This process's resident memory (Linux: /proc/self/statm), or 0 where unknown.

    A worker asks after every query: the file stays open and is read with one ``pread``
    (opening, reading and closing it took eight system calls). ``/proc/self`` is resolved
    when the file is opened, so a forked child (the fork server's workers) opens its own;
    the descriptor it inherited is left alone (closing a number it did not open could close
    another file)."""
    global _statm
    try:
        pid = os.getpid()
        if _statm is None or _statm[0] != pid:
            _statm = (pid, os.open("/proc/self/statm", os.O_RDONLY | os.O_CLOEXEC))
        return int(os.pread(_statm[1], 256, 0).split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return 0


def child_main(preloaded: Preloaded | None = None) -> int:
    """Serve jobs on stdin/stdout. With ``preloaded`` (forked by the zygote) and the
    config's store the same, evaluate on that in-memory copy instead of opening the store."""
    import resource  # lazy: Unix only; the worker's start-up imports what it uses

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)  # stray prints go to stderr, never into the protocol
    inp = sys.stdin.buffer

    def send(frame: bytes) -> None:
        view = memoryview(frame)
        while view:  # an unbuffered write may be partial
            written = out.write(view)
            view = view[written or 0 :]

    config = _read_frame(inp)
    if config is None:
        return 0
    _die_with_parent(int(config.get("parent") or os.getppid()))
    sandboxed, filtered = cut_off_network(config.get("sandbox", True))
    _batch_scheduling()
    limit = config.get("memory_limit")
    if preloaded is not None and preloaded.path != config["store"]:
        preloaded = None  # (never, in practice: one zygote per pool, one pool per store)
    if limit and hasattr(resource, "RLIMIT_DATA"):
        # the inherited copy of the store is not the query's: the cap is on top of it
        cap = int(limit) + (preloaded.size if preloaded is not None else 0)
        try:
            resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))
        except (ValueError, OSError):
            pass
    try:
        import pyoxigraph as ox

        # lazy: imported once the worker is set up, so an import error is its start-up answer
        from sparql_api import results

        store = preloaded.store if preloaded is not None else ox.Store.read_only(config["store"])
        named = []
        for graph in store.named_graphs():
            named.append(graph.value if isinstance(graph, ox.NamedNode) else "_:" + graph.value)
            if len(named) >= 100:
                break
    except (OSError, RuntimeError, ValueError) as exc:
        send(
            encode_json_reply(
                INFO,
                {
                    "ok": False,
                    "error": "store",
                    "status": 503,
                    "message": f"cannot open the store read-only: {exc}",
                },
                taken=True,
            )
        )
        return 1
    info = {
        "pid": os.getpid(),
        "sandboxed": sandboxed,
        "filtered": filtered,
        "named_graphs": named,
        "store": "memory" if preloaded is not None else "disk",
        "scheduling": _policy_name(),
    }
    send(encode_json_reply(INFO, {"ok": True, "info": info}, taken=True))
    prefixes = config.get("prefixes") or None

    growth = int(config.get("retire_growth") or 0)
    baseline = resident_bytes()
    retire_at = baseline + growth if growth and baseline else None

    spool = None
    if config.get("spool"):  # the pool's spool folder: this worker's large results go there
        spool = results.Spool(
            os.path.join(config["spool"], str(os.getpid())),
            int(config.get("spool_threshold") or results.SPOOL_THRESHOLD),
        )

    # a job's first reply byte: alone as soon as it is read (a pipe), or with the reply (a
    # socket, where the kernel tells the pool whether a dead worker had read its job)
    ack_first = bool(config.get("ack_first", True))

    def serve() -> None:
        _serve_jobs(
            inp, send, store, prefixes, int(limit) if limit else None, retire_at, spool, ack_first
        )

    # pyoxigraph parses and evaluates recursively: long chains (thousands of BINDs,
    # MINUS or UNION blocks, `1+1+...`) overflow the 8 MiB main stack (SIGSEGV).
    # Evaluate on a thread with a larger stack (address space; only touched pages
    # are resident): every query up to 64 KiB then parses and runs.
    try:
        threading.stack_size(EVAL_STACK)
        thread = threading.Thread(target=serve, name="dipkg-eval", daemon=True)
        thread.start()
    except (ValueError, RuntimeError, MemoryError):  # no such stack here: the main thread's
        serve()
        return 0
    thread.join()
    return 0


def _serve_jobs(
    inp: BinaryIO,
    send: Any,
    store: Any,
    prefixes: dict[str, str] | None,
    memory_limit: int | None = None,
    retire_at: int | None = None,
    spool: Any = None,
    ack_first: bool = True,
) -> None:
    from sparql_api import results  # lazy: loaded by child_main's start-up check

    taken = not ack_first  # the first byte goes with each reply

    while True:
        frame = _read_raw(inp)
        if frame is None:
            return
        if ack_first:
            send(TAKEN)  # from here on, a death is this query's
        job = results.Job(**decode_job(*frame))
        try:
            outcome = results.evaluate(store, job, prefixes, spool)
        except DipkgError as exc:
            send(encode_json_reply(ERROR, {"ok": False, **exc.to_dict()}, taken=taken))
            continue
        except (KeyboardInterrupt, SystemExit):
            raise
        except MemoryError:
            # over the worker's memory cap in Python (building or serialising a result):
            # answer 503 like a worker killed for memory, then retire (the parent replaces us)
            mib = f" ({memory_limit // (1024 * 1024)} MiB)" if memory_limit else ""
            err = WorkerDied(
                f"the query needed more memory than a worker may use{mib} and was stopped",
                details={"reason": "memory", "limit_bytes": memory_limit},
            )
            send(encode_json_reply(ERROR, {"ok": False, **err.to_dict()}, RETIRE, taken))
            return
        except BaseException as exc:  # noqa: BLE001  (a bug or a Rust panic: report it, stay alive)
            send(
                encode_json_reply(
                    ERROR,
                    {
                        "ok": False,
                        "error": "internal",
                        "status": 500,
                        "message": f"internal error while evaluating the query: "
                        f"{type(exc).__name__}",
                    },
                    taken=taken,
                )
            )
            print(f"sparql_api worker: {type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        flags = (TRUNCATED if outcome.truncated else 0) | (GRAPH if outcome.kind == "graph" else 0)
        # a worker that grew past its limit answers, then retires: the allocator keeps what a
        # large result needed, and a fresh process starts small (the parent replaces it)
        grown = retire_at is not None and resident_bytes() > retire_at
        flags |= RETIRE if grown else 0
        if outcome.spooled:  # the file is complete and closed: the parent may read it now
            send(encode_reply(RESULT, b"", flags, outcome.rows, outcome.length, taken))
        else:
            send(encode_reply(RESULT, outcome.body, flags, outcome.rows, taken=taken))
        if grown:
            return


if __name__ == "__main__":
    sys.exit(child_main())
