"""The server's logs: one configured handler, an access log, a request id on every line.

``dipkg serve`` logs to standard error through one handler, for uvicorn's own
messages, the app's warnings (worker pool, release switches, backend) and the
access log alike: time, level, logger and the request id, as text or, with
``--log-format json`` (``DIPKG_LOG_FORMAT=json``), one JSON object per line for
log shippers.

:class:`RequestLog`, in front of the app, gives every HTTP request an id:
the client's ``X-Request-Id`` when it is a sane token (1–128 of ``A–Z a–z 0–9 . _ : -``),
else a fresh one; it is echoed in the response's ``X-Request-Id`` and carried by
every log record made while the request runs (a killed query's warning names it).
It writes the access log (``dipkg.access``: method, path, status, bytes, time,
client), on by default (``--no-access-log`` / ``DIPKG_ACCESS_LOG=false``); a 5xx is
logged at WARNING even with the access log off. Under ``dipkg serve`` the query lane
(sparql_api/lane.py) sits in front of it and does the same for the query requests it
answers, with the same two functions (:func:`request_id_for`, :func:`log_request`).

The access log is written once per request, so it is kept cheap: the text format's time
is formatted once per second (:class:`TextFormatter`), a fresh request id is a version-4
UUID's 32 hex digits from a generator of its own (unique in practice, not a secret: it is
echoed to the client), and while the logging configuration is exactly
:func:`log_config`'s text one (one stream handler on the root logger; nothing else
listening to ``dipkg.access``) the line is written straight to that handler's stream,
the same bytes the logging machinery would write (tests/test_logs.py compares them).
Any other configuration (JSON, a handler added by an embedding application or a test)
gets a real :class:`logging.LogRecord` as before.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import time
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

Scope = dict[str, Any]

#: the id of the request being answered (None outside a request)
request_id: ContextVar[str | None] = ContextVar("dipkg_request_id", default=None)
access = logging.getLogger("dipkg.access")

_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
#: access-log fields a JSON line carries as its own keys
ACCESS_FIELDS = ("method", "path", "status", "bytes", "duration_ms", "client")
#: the access log's message
ACCESS_LINE = '%s "%s %s" %d %d %.1fms'


class RequestIdFilter(logging.Filter):
    """Stamp each record with the current request id ("-" outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request_id,
    the access fields where present, and the exception's text where there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        for key in ACCESS_FIELDS:
            if hasattr(record, key):
                line[key] = getattr(record, key)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
TEXT_DATEFMT = "%Y-%m-%dT%H:%M:%S%z"


class TextFormatter(logging.Formatter):
    """:data:`TEXT_FORMAT`'s formatter, the time formatted once per second (the format has
    no fraction of a second, so every record of one second shows the same text)."""

    _last: tuple[int, str | None, object, str] | None = None

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        if datefmt is None:  # logging's default format shows milliseconds: nothing to share
            return super().formatTime(record, datefmt)
        second = int(record.created)
        last = self._last
        if (
            last is not None
            and last[0] == second
            and last[1] == datefmt
            and last[2] is self.converter
        ):
            return last[3]
        text = super().formatTime(record, datefmt)
        self._last = (second, datefmt, self.converter, text)
        return text


def log_config(log_format: str = "text") -> dict[str, Any]:
    """The ``logging.config.dictConfig`` of ``dipkg serve`` (also uvicorn's ``log_config``)."""
    formatter: dict[str, Any] = (
        {"()": JsonFormatter}
        if log_format == "json"
        else {"()": TextFormatter, "fmt": TEXT_FORMAT, "datefmt": TEXT_DATEFMT}
    )
    quiet = {"handlers": [], "propagate": True}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"dipkg": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "dipkg",
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["stderr"], "level": "INFO"},
        # uvicorn's loggers send to the one handler above (its own access log stays off:
        # RequestLog writes dipkg.access with the request id)
        "loggers": {
            "uvicorn": {**quiet, "level": "INFO"},
            "uvicorn.error": quiet,
            "uvicorn.access": {**quiet, "level": "WARNING"},
            # httpx logs every request to a remote backend at INFO, URL and all
            "httpx": {**quiet, "level": "WARNING"},
            "httpcore": {**quiet, "level": "WARNING"},
        },
    }


#: a version-4 UUID's fixed bits (RFC 9562: version 4, variant 10)
_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)


#: the request ids' own generator (seeded from the OS; again in a forked child, so two
#: processes never share a sequence), apart from ``random``'s, which anyone may seed
_IDS = random.Random()
os.register_at_fork(after_in_child=_IDS.seed)


def new_request_id(bits: int | None = None) -> str:
    """A fresh request id: 32 hex digits laid out as ``uuid.uuid4().hex`` (version 4,
    RFC variant) from a Mersenne Twister seeded from the OS (122 random bits: unique in
    practice; not unguessable, and it need not be: the client is told it)."""
    if bits is None:
        bits = _IDS.getrandbits(128)
    return "%032x" % ((bits & _UUID4_CLEAR) | _UUID4_SET)


def _stream_handler(level: int) -> logging.StreamHandler | None:  # type: ignore[type-arg]
    """The handler an access record at ``level`` would reach and be written by, when the
    configuration is exactly :func:`log_config`'s text one: ``dipkg.access`` and its
    ancestors below the root have no handlers and let the record through, and the root
    has one :class:`logging.StreamHandler` with a :class:`TextFormatter` and the
    :class:`RequestIdFilter` only. None otherwise (the record then takes logging's path)."""
    if access.disabled or access.filters or not access.isEnabledFor(level):
        return None
    node: logging.Logger | None = access
    while node is not None and node is not logging.root:
        if node.handlers:
            return None
        if not node.propagate:
            return None
        node = node.parent  # type: ignore[assignment]
    if node is None:
        return None
    handlers = node.handlers
    if len(handlers) != 1:
        return None
    handler = handlers[0]
    if (
        type(handler) is not logging.StreamHandler
        or type(handler.formatter) is not TextFormatter
        or handler.formatter._fmt != TEXT_FORMAT
        or level < handler.level
        or len(handler.filters) != 1
        or type(handler.filters[0]) is not RequestIdFilter
    ):
        return None
    return handler


def write_access_line(
    handler: logging.StreamHandler,  # type: ignore[type-arg]
    level: int,
    created: float,
    rid: str,
    message: str,
) -> None:
    """Write what ``handler`` would for a ``dipkg.access`` record made at ``created``
    (time.time()) with ``message`` and request id ``rid``: :data:`TEXT_FORMAT`'s fields."""
    formatter: TextFormatter = handler.formatter  # type: ignore[assignment]
    asctime = formatter.formatTime(_Stamp(created), formatter.datefmt)  # type: ignore[arg-type]
    line = f"{asctime} {logging.getLevelName(level)} {access.name} [{rid}] {message}"
    handler.acquire()
    try:
        try:
            handler.stream.write(line + handler.terminator)
            handler.flush()
        except RecursionError:
            raise
        except Exception:  # as StreamHandler.emit: reported, never raised into the request
            handler.handleError(access.makeRecord(access.name, level, "", 0, message, (), None))
    finally:
        handler.release()


class _Stamp:
    """What :meth:`logging.Formatter.formatTime` reads of a record."""

    __slots__ = ("created", "msecs")

    def __init__(self, created: float) -> None:
        self.created = created
        self.msecs = (created - int(created)) * 1000


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key == name:
            return value.decode("latin-1")
    return None


class RequestLog:
    """ASGI middleware: request id in and out, the access log, 5xx always logged."""

    def __init__(self, app: Any, *, access_log: bool = True) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id_for(scope)
        token = request_id.set(rid)
        started = time.perf_counter()
        seen: dict[str, int] = {"status": 0, "bytes": 0}

        async def stamped(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"
                ]
                message = {**message, "headers": [*headers, (b"x-request-id", rid.encode("ascii"))]}
            elif message["type"] == "http.response.body":
                seen["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, stamped)
        finally:
            # no response started: the server answers 500 or drops it
            log_request(scope, rid, seen["status"] or 500, seen["bytes"], started, self.access_log)
            request_id.reset(token)


def request_id_for(scope: Scope) -> str:
    """The request's id: its sane ``X-Request-Id``, else a new one."""
    given = _header(scope, b"x-request-id")
    return given if given is not None and _SANE_ID.fullmatch(given) else new_request_id()


def log_request(
    scope: Scope, rid: str, status: int, sent: int, started: float, access_log: bool
) -> None:
    """The access line of a request answered ``status`` with ``sent`` body bytes, begun at
    ``started`` (time.perf_counter()): written when ``access_log``, and always for a 5xx."""
    if not access_log and status < 500:
        return
    level = logging.WARNING if status >= 500 else logging.INFO
    client = scope.get("client")
    path = scope.get("path", "")
    if scope.get("query_string"):
        path += "?" + scope["query_string"].decode("latin-1")[:512]
    # the path is percent-decoded: a %0A must not start a forged log line
    path = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", path[:1024])
    fields = {
        "method": scope.get("method", ""),
        "path": path,
        "status": status,
        "bytes": sent,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        "client": client[0] if client else "-",
    }
    args = (
        fields["client"],
        fields["method"],
        fields["path"],
        status,
        fields["bytes"],
        fields["duration_ms"],
    )
    handler = _stream_handler(level)
    if handler is not None:
        write_access_line(handler, level, time.time(), rid, ACCESS_LINE % args)
    else:
        access.log(level, ACCESS_LINE, *args, extra=fields)
