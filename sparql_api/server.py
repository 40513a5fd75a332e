"""``dipkg serve``: open the release, build the app, run uvicorn (one process; the
query workers are the parallelism)."""

from __future__ import annotations

import argparse
import errno
import logging.config
import socket
import sys
from pathlib import Path

import uvicorn

from dipkg.core.errors import ConfigError, DipkgError, StoreError
from dipkg.core.settings import Settings, load_settings
from sparql_api.connections import connection_cap, protocol_class, raise_open_files
from sparql_api.lane import QueryLane
from sparql_api.live import LiveApp
from sparql_api.logs import RequestLog, log_config


def _port_free(host: str, port: int) -> None:
    """One line and exit 1 when ``host:port`` cannot be listened on: a port out of range, a
    host that is not this machine's, a port taken (uvicorn would print six lines and exit
    3, or a traceback)."""
    problem: DipkgError | None = None
    if not 0 < port < 65536:
        problem = ConfigError(
            f"port {port} is not a port: give a number from 1 to 65535 with --port or the "
            "setting DIPKG_PORT",
            file=f"{host}:{port}",
        )
    else:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as exc:
                problem = _unusable(host, port, exc)
    if problem is not None:
        print(str(problem), file=sys.stderr)
        raise SystemExit(1)


def _unusable(host: str, port: int, exc: OSError) -> DipkgError:
    """Why ``host:port`` cannot be listened on: the host (no such name, not an address of
    this machine), the port taken, or the system's reason."""
    if isinstance(exc, socket.gaierror) or exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
        return ConfigError(
            f"host {host!r} cannot be used ({exc.strerror}): give an address of this "
            "machine with --host or the setting DIPKG_HOST",
            file=f"{host}:{port}",
        )
    reason = (
        "is already in use" if exc.errno == errno.EADDRINUSE else f"cannot be used ({exc.strerror})"
    )
    return DipkgError(
        f"port {port} on {host} {reason}: stop what holds it, or choose another "
        "port with --port or the setting DIPKG_PORT",
        file=f"{host}:{port}",
    )


def run(
    settings: Settings, data_dir: Path, host: str, port: int, *, access_log: bool | None = None
) -> None:
    """Serve ``data_dir``'s current release at http://host:port/ until interrupted,
    switching to each new build ``DIR/current`` points at (sparql_api/live.py).

    A missing, empty or corrupt store, or a port in use, prints one line
    (``str(err)``) to stderr and exits 1. Logs: :mod:`sparql_api.logs`.
    """
    config_logs = log_config(settings.log_format)
    logging.config.dictConfig(config_logs)  # the app's own warnings from the start, before uvicorn
    _port_free(host, port)
    try:
        # the current release (leased, its store or remote backend checked); the app
        # follows DIR/current from then on (sparql_api/live.py)
        app = LiveApp.open(settings, Path(data_dir))
    except DipkgError as err:
        print(str(err), file=sys.stderr)
        raise SystemExit(1) from None
    app.settle_heap = True  # this process serves one app at a time (sparql_api/live.py)

    cap = connection_cap(settings, raise_open_files())
    logged = settings.access_log if access_log is None else access_log
    config = uvicorn.Config(
        # query requests in one step (sparql_api/lane.py); the rest through the access log
        QueryLane(RequestLog(app, access_log=logged), app, access_log=logged),
        host=host,
        port=port,
        access_log=False,  # the lane and RequestLog write the access log, with the request id
        log_config=config_logs,
        log_level="info",
        lifespan="on",
        proxy_headers=False,  # X-Forwarded-* are read by the app itself, from trusted proxies only
        server_header=False,
        # httptools, with the header, idle, send and connection limits (sparql_api/connections.py)
        http=protocol_class(settings, cap),
        timeout_keep_alive=settings.idle_timeout,  # type: ignore[arg-type]  (a float works)
        backlog=min(2048, cap),
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    try:
        server.run()
    except StoreError as err:  # the workers could not open the store
        print(str(err), file=sys.stderr)
        raise SystemExit(1) from None
    if getattr(server, "started", True) is False:
        # lifespan startup failed (e.g. a corrupt store): uvicorn has logged why
        raise SystemExit(1)


def main(argv: list[str] | None = None) -> None:
    """``python -m sparql_api.server --data DIR [--host H] [--port P]`` (used by the tests)."""
    try:
        settings = load_settings()
    except DipkgError as err:  # a setting that cannot work: one line, as `dipkg serve` says it
        print(str(err), file=sys.stderr)
        raise SystemExit(1) from None
    parser = argparse.ArgumentParser(prog="python -m sparql_api.server")
    parser.add_argument("--data", type=Path, default=settings.data_dir)
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=settings.port)
    parser.add_argument("--access-log", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument(
        "--sparql-backend", default=None, help="remote SPARQL endpoint (docs/remote-backend.md)"
    )
    args = parser.parse_args(argv)
    if args.sparql_backend:
        settings = settings.model_copy(update={"sparql_backend": args.sparql_backend})
    run(settings, args.data, args.host, args.port, access_log=args.access_log)


if __name__ == "__main__":
    main()
