"""The remote backend's failures, in the endpoint's one JSON error shape."""

from __future__ import annotations

from sparql_api.errors import QueryError


class BackendError(QueryError):
    """The backend answered with an error or with something that is not a result."""

    code = "backend-error"
    status = 502


class BackendUnavailable(QueryError):
    """The backend cannot be reached (refused, reset, DNS...)."""

    code = "backend-unavailable"
    status = 503


class BackendTimeout(QueryError):
    """A page lookup's exchange with the backend passed its deadline (a slow or dripping
    backend)."""

    code = "backend-timeout"
    status = 504


class BackendBusy(QueryError):
    """Every backend slot stayed taken until the deadline (the backend is slow for everyone)."""

    code = "backend-busy"
    status = 503


class BackendRejected(QueryError):
    """The backend refused the query (HTTP 400): its parser or evaluator said no."""

    code = "backend-rejected"
    status = 400
