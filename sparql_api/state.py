"""The state every route shares: :class:`AppContext` (``app.state.dipkg``) and its hooks.

Below the app factory (sparql_api/app.py) and every router: the endpoint, the pages and
the catalogue import this module, never the factory that mounts them, so no import
cycle runs through ``create_app``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

from dipkg.core.release import Release
from dipkg.core.settings import Settings
from sparql_api.cache import ResponseCache


@dataclass
class AppContext:
    """What every route may use: the settings, the release, the worker pool."""

    settings: Settings
    release: Release
    pool: Any  # WorkerPool (or a test double with .run/.alive/.info)
    cache: ResponseCache
    last_modified: datetime
    extra: dict[str, Any] = field(default_factory=dict)
    #: finished responses the outermost fast path answers repeats from (sparql_api/fastpath.py)
    fast_cache: ResponseCache = field(
        default_factory=lambda: ResponseCache(
            max_bytes=64 * 1024 * 1024, max_entry_bytes=1024 * 1024
        )
    )
    #: the page for people at GET /sparql (no query, the client prefers text/html);
    #: set by the pages feature, e.g. with :func:`set_sparql_page`
    sparql_page: Callable[[Request], Awaitable[Response]] | None = None

    @property
    def named_graphs(self) -> list[str]:
        info = getattr(self.pool, "info", None) or {}
        return list(info.get("named_graphs") or [])


def context(request: Request) -> AppContext:
    """The app's :class:`AppContext` (use as a FastAPI dependency)."""
    return request.app.state.dipkg


def add_router(app: FastAPI, router: APIRouter, **kwargs: Any) -> None:
    """The hook for later features: mount a router on the app."""
    app.include_router(router, **kwargs)
    app.state.dipkg.fast_cache.clear()


def set_sparql_page(app: FastAPI, page: Callable[[Request], Awaitable[Response]]) -> None:
    """Serve ``page(request)`` at GET /sparql (without a query) when the client prefers
    text/html to the RDF service description (browsers do)."""
    app.state.dipkg.sparql_page = page
    app.state.dipkg.fast_cache.clear()  # answers at /sparql change
