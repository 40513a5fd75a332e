"""The endpoint's errors: :class:`dipkg.core.errors.DipkgError` subclasses, one code each.

Every 4xx/5xx the app returns is ``DipkgError.to_dict()`` as JSON (see
:mod:`sparql_api.app` for the handlers that also cover FastAPI's own 404/405/422).
"""

from __future__ import annotations

from typing import Any

from dipkg.core.errors import DipkgError

#: the most characters of a client's own input an error message quotes
QUOTED = 100


def quoted(text: str, limit: int = QUOTED) -> str:
    """``text`` from a client as an error message repeats it: at most ``limit`` characters
    (a 60 KB Accept header is not sent back whole)."""
    return text if len(text) <= limit else text[:limit] + "…"


class QueryError(DipkgError):
    """The request or its query is unacceptable (base class)."""

    code = "bad-request"
    status = 400


class QuerySyntaxError(QueryError):
    code = "query-syntax"
    status = 400


class ServiceRefused(QueryError):
    code = "service-refused"
    status = 400


class UpdateForbidden(QueryError):
    code = "update-forbidden"
    status = 403


class UnsupportedMediaType(QueryError):
    code = "unsupported-media-type"
    status = 415


class QueryTooLarge(QueryError):
    code = "query-too-large"
    status = 413


class QueryTooDeep(QueryError):
    """Nested deeper than the parser can recurse safely (sparql_api.guard.MAX_NESTING)."""

    code = "query-too-deep"
    status = 400


class NotAcceptable(QueryError):
    code = "not-acceptable"
    status = 406


class QueryTimeout(QueryError):
    code = "timeout"
    status = 503


class WorkerDied(QueryError):
    code = "worker-died"
    status = 503


class Busy(QueryError):
    code = "busy"
    status = 503


class ResultTooLarge(QueryError):
    """The serialised result would exceed ``Settings.max_result_bytes``."""

    code = "result-too-large"
    status = 503


class SpoolFailed(QueryError):
    """A large result could not be written to the spool folder (the disk is full)."""

    code = "spool-failed"
    status = 503


class SpoolFull(QueryError):
    """Open spooled streams already hold ``Settings.spool_mb`` (sparql_api/spool.py)."""

    code = "spool-full"
    status = 503


class TooManyQueries(QueryError):
    """One client has ``Settings.client_queue`` queries waiting already (sparql_api/shares.py)."""

    code = "too-many-queries"
    status = 429


class QueryEvaluationError(QueryError):
    """The query parsed but failed during evaluation (e.g. a type error pyoxigraph refuses)."""

    code = "query-evaluation"
    status = 400


class HttpError(DipkgError):
    """FastAPI/Starlette's own errors (404, 405, 422...) in the one shape."""

    code = "http"

    def __init__(self, message: str, *, status: int, code: str | None = None, **kw: Any) -> None:
        super().__init__(message, status=status, **kw)
        if code:
            self.code = code


def client_disconnected() -> HttpError:
    """The client left (or was dropped for sending its body too slowly) mid-upload."""
    return HttpError("the client disconnected", status=400, code="client-disconnected")


def internal_error() -> HttpError:
    """An unexpected exception: nothing of it is shown (it is logged)."""
    return HttpError("internal server error", status=500, code="internal")
