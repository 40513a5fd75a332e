"""The app factory: ``create_app(settings, release)`` (settings and store injected, no globals).

The web app never builds or validates: it serves one immutable release. Routes
live in routers (``app.include_router``); later features (pages, dumps, the
catalogue) add theirs with :func:`add_router` or ``create_app(..., routers=[...])``
and reach the shared state with :func:`sparql_api.state.context`
(``request.app.state.dipkg``), defined below every router so that none imports this module.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi import routing as fastapi_routing
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from dipkg import __version__
from dipkg.core.errors import DipkgError
from dipkg.core.release import MANIFEST, Release
from dipkg.core.settings import Settings
from sparql_api import catalog_routes, http
from sparql_api.backends import QueryPool
from sparql_api.backends import choose as choose_backend
from sparql_api.cache import ResponseCache
from sparql_api.endpoint import router as sparql_router
from sparql_api.errors import HttpError, client_disconnected, internal_error
from sparql_api.fastpath import FastPath
from sparql_api.hotpath import HotPath
from sparql_api.http import error_response
from sparql_api.state import AppContext, add_router
from sparql_api.ui import install as install_linked_data

log = logging.getLogger("sparql_api")


_HTTP_CODES = {
    404: "not-found",
    405: "method-not-allowed",
    400: "bad-request",
    413: "too-large",
    415: "unsupported-media-type",
    406: "not-acceptable",
}
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """The methods the app answers at ``request``'s path: those of every route whose path
    matches (Starlette names only the first route's in its 405), HEAD wherever GET is
    (HeadMiddleware) and OPTIONS everywhere (CORSMiddleware)."""
    routes: Any = request.app.routes
    if hasattr(fastapi_routing, "iter_route_contexts"):  # FastAPI >= 0.16x nests included routers
        routes = fastapi_routing.iter_route_contexts(routes)
    path = request.scope.get("path", "")
    root = request.scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :] or "/"
    allowed: set[str] = {"OPTIONS"}
    for route in routes:
        regex, methods = getattr(route, "path_regex", None), getattr(route, "methods", None)
        if regex is not None and methods and regex.match(path):
            allowed.update(methods)
    if "GET" in allowed:
        allowed.add("HEAD")
    return sorted(allowed, key=lambda m: (_METHODS.index(m) if m in _METHODS else len(_METHODS), m))


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DipkgError)
    async def dipkg_error(request: Request, exc: DipkgError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http-error")
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        details = {}
        if exc.status_code == 405:  # Starlette names only the first matching route's methods
            details["allow"] = allowed_methods(request)
            message = (
                f"{request.method} is not allowed at {request.url.path}; "
                f"allowed: {', '.join(details['allow'])}"
            )
        if exc.status_code == 404:
            message = f"no resource at {request.url.path}"
        return error_response(
            HttpError(message, status=exc.status_code, code=code, details=details)
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"loc": [str(p) for p in e.get("loc", ())], "message": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        return error_response(
            HttpError(
                "invalid request parameters",
                status=422,
                code="invalid-request",
                details={"problems": problems},
            )
        )

    @app.exception_handler(ClientDisconnect)
    async def client_gone(request: Request, exc: ClientDisconnect) -> JSONResponse:
        # the client left (or was dropped for sending its body too slowly) mid-upload:
        # nobody to answer, nothing unexpected to log
        return error_response(client_disconnected())

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(internal_error())


def create_app(
    settings: Settings,
    release: Release,
    *,
    pool: QueryPool | None = None,
    routers: Sequence[APIRouter] = (),
) -> FastAPI:
    """The web app over ``release``. With ``pool=None`` the app starts its own worker
    pool at startup and stops it at shutdown; a given pool is the caller's to manage."""
    own_pool = pool is None
    backend = choose_backend(
        settings, release
    )  # local store or remote SPARQL endpoint: decided here only

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx: AppContext = app.state.dipkg
        if own_pool:
            ctx.pool = backend.pool()
            await ctx.pool.start()
        try:
            yield
        finally:
            if own_pool and ctx.pool is not None:
                await ctx.pool.stop()

    app = _App(
        title="dipkg SPARQL endpoint",
        version=__version__,
        description=(
            "Read-only SPARQL 1.1 endpoint (SPARQL 1.1 Protocol) over the dipkg knowledge graph "
            f"(build {release.build_id}). "
            "Every error is a JSON object `{error, status, message, line?, column?, details?}`."
        ),
        lifespan=lifespan,
        # /openapi.json stays; FastAPI's /docs and /redoc would load their UI from a CDN
        docs_url=None,
        redoc_url=None,
    )
    app.state.dipkg = AppContext(
        settings=settings,
        release=release,
        backend=backend,
        pool=pool,
        # the response caches: a quarter of DIPKG_RESPONSE_CACHE_MB here, half in the fast
        # path; an answer kept from its DIPKG_RESPONSE_CACHE_MIN_USES-th time (one-off
        # queries are most of them: sparql_api/cache.py)
        cache=ResponseCache(
            max_bytes=settings.cache_bytes(0.25),
            max_entry_bytes=512 * 1024,
            min_uses=settings.response_cache_min_uses,
        ),
        fast_cache=ResponseCache(
            max_bytes=settings.cache_bytes(0.5),
            max_entry_bytes=1024 * 1024,
            min_uses=settings.response_cache_min_uses,
        ),
        last_modified=http.last_modified(release.manifest.modified, release.root / MANIFEST),
    )
    _install_error_handlers(app)
    app.include_router(sparql_router)
    add_router(app, catalog_routes.router)  # /catalog, /.well-known/void (issue 5)
    for extra in routers:
        add_router(app, extra)
    # --- linked data (issue 4): query UI, static files, dumps, pages; resource catch-all last ---
    describer = app.state.dipkg.describer = backend.describer()
    install_linked_data(app, settings, release, describer=describer)
    # outermost first: CORS wraps HEAD wraps gzip wraps the app; in front of them all, the
    # fast path and the bare path (_App.build_middleware_stack)
    app.add_middleware(http.GZipMiddleware)
    app.add_middleware(http.HeadMiddleware)
    app.add_middleware(http.CORSMiddleware)
    return app


class _App(FastAPI):
    """FastAPI, with two ASGI layers in front of its whole stack (its error and telemetry
    middlewares included): the fast path (repeat GETs of immutable answers) and inside it
    the bare path (cold queries at /sparql; unless ``Settings.sparql_hot_path`` is off)."""

    #: whether FastAPI's OpenTelemetry wrapper has a provider to report to. FastAPI asks on
    #: every request (tracer and meter provider look-ups and environment reads: 3-4% of the
    #: web process's time on a cold query); here it is asked once, at the first request, so
    #: a provider configured before the server answers (opentelemetry-instrument) counts.
    _telemetry_on: bool | None = None

    #: whether the query lane (sparql_api/lane.py) answers for this app (None: not asked yet)
    _bare: bool | None = None

    def _telemetry_enabled(self) -> bool:
        on = self._telemetry_on
        if on is None:
            native = getattr(self, "_native_telemetry", None)  # FastAPI >= 0.13x
            on = self._telemetry_on = native is not None and bool(native.enabled())
        return on

    def bare(self) -> bool:
        """Whether the query lane (sparql_api/lane.py) may answer this app's query requests
        itself: the bare path is on, the app has no ``root_path`` and no telemetry provider
        (asked once, as :meth:`__call__` asks)."""
        bare = self._bare
        if bare is None:
            ctx: AppContext = self.state.dipkg
            bare = self._bare = (
                ctx.settings.sparql_hot_path
                and not self.root_path
                and not self._telemetry_enabled()
            )
        return bare

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "fastapi.telemetry" not in scope:
            # without a provider: what FastAPI.__call__ does then, without asking again
            if not self._telemetry_enabled():
                if self.root_path:
                    scope["root_path"] = self.root_path
                await Starlette.__call__(self, scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        ctx: AppContext = self.state.dipkg
        if ctx.settings.sparql_hot_path:
            stack = HotPath(stack, ctx)
        return FastPath(stack, cache=ctx.fast_cache, trusted=ctx.settings.trusted_proxies)
