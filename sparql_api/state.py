"""The state every route shares: :class:`AppContext` (``app.state.dipkg``) and its hooks.

Below the app factory (sparql_api/app.py) and every router: the endpoint, the pages and
the catalogue import this module, never the factory that mounts them, so no import
cycle runs through ``create_app``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

from dipkg.core.release import Release
from dipkg.core.settings import Settings
from sparql_api.backends import Backend, QueryPool
from sparql_api.cache import ResponseCache
from sparql_api.describe import Describer

if TYPE_CHECKING:  # annotations only: both modules read the state
    import anyio

    from sparql_api.catalog_record import CatalogDocs
    from sparql_api.pages.site import PageContext


@dataclass
class AppContext:
    """What every route may use, the one state of an app (``app.state.dipkg``): the
    settings, the release, its backend and query pool, the caches, the pages' site."""

    settings: Settings
    release: Release
    backend: Backend
    pool: QueryPool | None  # None until the app's startup made it (create_app(pool=None))
    cache: ResponseCache
    last_modified: datetime
    #: the pages' lookups; closed when the release is retired (sparql_api/live.py)
    describer: Describer | None = None
    #: what the page routes share (templates, cache); set by sparql_api.ui.install
    site: PageContext | None = None
    #: the catalogue record, read once, on first use (sparql_api/catalog_routes.py)
    catalog: CatalogDocs | None = None
    #: the catalogue page's view of the record, by language
    catalog_views: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: finished responses the outermost fast path answers repeats from (sparql_api/fastpath.py)
    fast_cache: ResponseCache = field(
        default_factory=lambda: ResponseCache(
            max_bytes=8 * 1024 * 1024, max_entry_bytes=1024 * 1024
        )
    )
    #: a query answer's headers after its ETag that are the same for every answer of the
    #: release, encoded once (sparql_api/endpoint.py ``_answer_head``)
    answer_head: tuple[tuple[bytes, bytes], ...] | None = None
    #: the page for people at GET /sparql (no query, the client prefers text/html);
    #: set by the pages feature, e.g. with :func:`set_sparql_page`
    sparql_page: Callable[[Request], Awaitable[Response]] | None = None
    #: the workbooks made at once (sparql_api/endpoint.py; made on first use, in the loop)
    workbooks: anyio.CapacityLimiter | None = None

    @property
    def named_graphs(self) -> list[str]:
        if self.pool is None:
            return []
        return list(self.pool.info.get("named_graphs") or [])


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
