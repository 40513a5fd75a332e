"""Where queries and page lookups run: the ONE place that chooses the backend.

* :class:`LocalBackend` — the release's own Oxigraph store: query worker
  processes (:class:`~sparql_api.workers.WorkerPool`) and a read-only
  :class:`~sparql_api.describe.Describer`.
* :class:`RemoteBackend` — an external SPARQL endpoint holding the published
  graph (``settings.sparql_backend``): :class:`~sparql_api.remote.pool.RemotePool`
  and :class:`~sparql_api.remote.describer.RemoteDescriber`.

Both give the same four things (:class:`Backend`): ``check()`` (before serving: one
line and exit 1 on failure), ``pool()`` (a :class:`QueryPool`, made at startup, inside
the event loop; the endpoint calls ``pool.run(job)``), ``describer()`` (the pages'
lookups) and ``describe_health(pool)`` (what ``/health`` reports: :class:`PoolHealth`).
:func:`choose` picks one from the settings; ``create_app`` and ``server.run``
call it, nothing else looks at ``settings.sparql_backend``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pyoxigraph

from dipkg.core.credentials import http_url_problem, redact, resolve
from dipkg.core.errors import ConfigError, StoreError
from dipkg.core.iris import PREFIXES
from dipkg.core.release import Release
from dipkg.core.settings import Settings
from sparql_api.describe import Describer
from sparql_api.results import SPOOL_THRESHOLD, Job
from sparql_api.workers import Reply, WorkerPool

if TYPE_CHECKING:  # the remote backend's modules load only when it is chosen (RemoteBackend)
    from sparql_api.remote.client import BackendClient
    from sparql_api.remote.dialect import Graphs


class QueryPool(Protocol):
    """What runs the endpoint's queries: the local worker processes or the remote backend."""

    size: int
    info: dict[str, Any]  # "named_graphs": the graphs a query may name
    stats: dict[str, int]  # counters /health reports

    @property
    def alive(self) -> int: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def run(self, job: Job, client: str | None = None) -> Reply: ...


@dataclass(frozen=True)
class PoolHealth:
    """What ``/health`` says about the queries' side: workers (or backend slots) alive,
    the pool's counters, and the backend's own probe (remote) or the sandbox (local)."""

    alive: int
    size: int
    stats: dict[str, int] = field(default_factory=dict)
    backend: dict[str, Any] | None = None  # remote: the probe and recent exchanges
    network_sandbox: str | None = None  # local: "on", or "off: <why>"
    network_filter: str | None = None  # local: the seccomp filter, "on" or "off: <why>"
    query_store: str | None = None  # local: "memory (N MiB)", or "disk[: why]"


class Backend(Protocol):
    name: str

    def check(self) -> None: ...

    def pool(self) -> QueryPool: ...

    def describer(self) -> Describer: ...

    async def describe_health(self, pool: QueryPool) -> PoolHealth: ...


def check_store(store_dir: Path) -> None:
    """:class:`StoreError` if the store is corrupt or empty (cheap: reads one quad)."""
    try:
        store = pyoxigraph.Store.read_only(str(store_dir))
        empty = next(iter(store.quads_for_pattern(None, None, None, None)), None) is None
        del store
    except (OSError, RuntimeError, ValueError) as exc:
        raise StoreError(
            f"the store cannot be opened (corrupt?): {exc}", file=str(store_dir)
        ) from None
    if empty:
        raise StoreError("the store is empty: rebuild with `dipkg build`", file=str(store_dir))


class LocalBackend:
    name = "local"

    def __init__(self, settings: Settings, release: Release) -> None:
        self.settings = settings
        self.release = release

    def check(self) -> None:
        check_store(self.release.store_dir)

    def pool(self) -> QueryPool:
        s = self.settings
        return WorkerPool(
            self.release.store_dir,
            size=s.query_workers,
            timeout=s.query_timeout,
            prefixes=dict(PREFIXES),
            memory_limit=s.worker_memory_mb * 1024 * 1024,
            retire_growth=s.worker_retire_mb * 1024 * 1024,
            sandbox=s.worker_sandbox,
            client_queries=s.client_queries,
            client_queue=s.client_queue,
            spool_threshold=SPOOL_THRESHOLD,  # large results stream from files (spool.py)
            spool_budget=s.spool_mb * 1024 * 1024,
            memory_store=s.memory_store_bytes(),
        )

    def describer(self) -> Describer:
        return Describer.of(self.release)

    async def describe_health(self, pool: QueryPool) -> PoolHealth:
        return PoolHealth(
            alive=int(pool.alive),
            size=int(pool.size),
            stats=dict(pool.stats),
            # the worker processes' (a test's stand-in pool has none)
            network_sandbox=pool.network_sandbox if isinstance(pool, WorkerPool) else None,
            network_filter=pool.network_filter if isinstance(pool, WorkerPool) else None,
            query_store=pool.query_store if isinstance(pool, WorkerPool) else None,
        )


class RemoteBackend:
    name = "remote"

    def __init__(self, settings: Settings, release: Release, url: str) -> None:
        # the remote backend and httpx under it load only when it is chosen: a local
        # `dipkg serve` never needs them (lazy, for memory: tests/test_serve_imports.py)
        from sparql_api.remote.client import BackendClient
        from sparql_api.remote.dialect import Graphs

        self.settings = settings
        self.release = release
        password = settings.sparql_backend_password
        # the URL loses its user:password@ here: nothing after this point can show it
        self.url, credentials = resolve(
            url,
            user=settings.sparql_backend_user,
            password=password.get_secret_value() if password is not None else None,
            password_file=settings.sparql_backend_password_file,
            setting="DIPKG_SPARQL_BACKEND_PASSWORD_FILE",
        )
        self.graphs: Graphs = Graphs.of(release)
        s = settings
        self.client: BackendClient = BackendClient(
            self.url,
            credentials,
            slots=s.query_workers,
            timeout=s.query_timeout,
            max_bytes=s.sparql_backend_max_bytes or max(16 * 1024 * 1024, s.max_rows * 4096),
        )

    def check(self) -> None:
        from sparql_api.remote.client import check_backend  # lazy: loaded when chosen (above)

        check_backend(self.client, self.graphs)

    def pool(self) -> QueryPool:
        from sparql_api.remote.pool import RemotePool  # lazy: loaded when chosen (above)

        return RemotePool(self.client, self.graphs, prefixes=dict(PREFIXES))

    def describer(self) -> Describer:
        from sparql_api.remote.describer import RemoteDescriber  # lazy: loaded when chosen

        release = self.release
        return RemoteDescriber(
            self.client,
            self.graphs,
            named_graphs=release.catalog_graphs,
            published=release.catalog_file,
        )

    async def describe_health(self, pool: QueryPool) -> PoolHealth:
        from sparql_api.remote.pool import probe  # lazy: loaded when chosen (above)

        backend = await probe(self.client, self.graphs)  # first: the pool's `alive` reads it
        return PoolHealth(
            alive=int(pool.alive), size=int(pool.size), stats=dict(pool.stats), backend=backend
        )


def choose(settings: Settings, release: Release) -> LocalBackend | RemoteBackend:
    """The backend the settings ask for: remote when ``sparql_backend`` is set."""
    if settings.sparql_backend:
        problem = http_url_problem(settings.sparql_backend)
        if problem is not None:  # before anything is tried, naming the setting (not a probe)
            raise ConfigError(
                f"the SPARQL backend {redact(settings.sparql_backend)!r} {problem}",
                file="DIPKG_SPARQL_BACKEND (--sparql-backend)",
            )
        return RemoteBackend(settings, release, settings.sparql_backend)
    return LocalBackend(settings, release)
