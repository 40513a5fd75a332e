"""``dipkg serve`` follows ``DIR/current``: a new build is served without a restart.

The server's ASGI app holds a :class:`LiveApp` in front of one complete web app per
release, a :class:`Generation` (``create_app(settings, release)``: its worker
pool, response caches, ETag and Last-Modified, pages, dumps and catalogue all
belong to that release and were made from it). Each request is handed, once,
to the generation that is current when it arrives and is answered by it alone:
no response mixes two releases, whatever switches while it runs. (A query request is
bound the same way by the query lane in front, sparql_api/lane.py, which takes
``current`` once and counts itself among its requests in flight.)

A watcher looks where ``current`` points every ``Settings.reload_interval``
seconds, and at once on SIGHUP. When the target changed it opens the new
release under a lease (:class:`dipkg.core.release.Lease`), checks its store (or the
remote SPARQL backend), builds its app and starts its worker pool, all while
the old release keeps answering; then it switches with one assignment. The old
generation finishes the requests it has (a query keeps its worker to the end);
then its workers stop, its store is closed and its lease let go, so the next
build may prune it. A release that cannot be opened is not switched to: the old
one keeps serving, the reason is logged in one line, and the target is tried
again when ``current`` changes or on SIGHUP.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from pathlib import Path
from typing import Any

from dipkg.core.errors import DipkgError
from dipkg.core.release import Lease, Release, current_target, hold_release
from dipkg.core.settings import Settings
from sparql_api import catalog_routes
from sparql_api.app import create_app
from sparql_api.backends import choose

Scope = dict[str, Any]
log = logging.getLogger("uvicorn.error")  # the server's log (uvicorn prints it)


def _stamped(send: Any, stamp: tuple[bytes, bytes]) -> Any:
    """``send`` that names the release on every answer (``X-Dipkg-Build``, README "Every
    response comes wholly from one release"): the routes that set it keep theirs; the
    others (the catalogue record, search, /health, static files, errors) get it here."""

    async def stamped(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers") or ())
            if not any(name.lower() == stamp[0] for name, _ in headers):
                message = {**message, "headers": [*headers, stamp]}
        await send(message)

    return stamped


class Generation:
    """One release being served: its web app, its lease and the requests in flight on it."""

    def __init__(self, release: Release, lease: Lease, app: Any) -> None:
        self.release = release
        self.lease = lease
        self.app = app
        #: ``X-Dipkg-Build``: the header naming the release an answer came from
        self.stamp = (b"x-dipkg-build", release.build_id.encode("ascii"))
        self.inflight = 0
        self._idle: asyncio.Event | None = None
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def build_id(self) -> str:
        return self.release.build_id

    def enter(self) -> None:
        self.inflight += 1
        if self._idle is not None:
            self._idle.clear()

    def leave(self) -> None:
        self.inflight -= 1
        if self.inflight == 0 and self._idle is not None:
            self._idle.set()

    async def drained(self) -> None:
        """Return once no request is in flight on this release."""
        if self._idle is None:
            self._idle = asyncio.Event()
        while self.inflight:
            self._idle.clear()
            await self._idle.wait()

    async def start(self) -> None:
        """Run the app's startup (its worker pool starts) in a task that lives until
        :meth:`stop`."""
        loop = asyncio.get_running_loop()
        started: asyncio.Future[None] = loop.create_future()
        stop = self._stop = asyncio.Event()
        self._idle = asyncio.Event()
        if self.inflight == 0:
            self._idle.set()

        async def lifespan() -> None:
            try:
                async with self.app.router.lifespan_context(self.app):
                    started.set_result(None)
                    await stop.wait()
            except BaseException as exc:
                if not started.done():
                    started.set_exception(exc)
                    return
                raise

        self._task = loop.create_task(lifespan(), name=f"dipkg-release-{self.build_id}")
        await started

    async def stop(self) -> None:
        """Run the app's shutdown: its worker pool stops."""
        task, self._task = self._task, None
        if task is None or self._stop is None:
            return
        self._stop.set()
        try:
            await task
        except Exception:  # noqa: BLE001
            log.exception("stopping the app of release %s", self.build_id)

    def close(self) -> None:
        """Close the store the pages read and let go of the lease (after :meth:`stop`)."""
        ctx = self.app.state.dipkg
        describer, ctx.describer = ctx.describer, None
        if describer is not None:
            with contextlib.suppress(Exception):
                describer.close()
        self.lease.close()


def prepare(settings: Settings, root: Path) -> Generation:
    """The release folder ``root``, leased, checked and with its app made (blocking: run it
    off the event loop). A clear :class:`DipkgError` when it cannot be served."""
    release, lease = hold_release(root, need_store=settings.sparql_backend is None)
    try:
        choose(settings, release).check()  # the local store, or the remote SPARQL backend
        app = create_app(settings, release)
        catalog_routes.check(release)  # a release without its catalogue record is refused
    except BaseException:
        lease.close()
        raise
    return Generation(release, lease, app)


def settle_heap() -> None:
    """Keep what the server holds for good out of the cycle collector's rounds.

    After start-up the web process holds hundreds of thousands of objects it keeps for
    its life (modules, the release's app, its routes and models) that Python's cycle
    collector would otherwise walk again and again as requests allocate: about a tenth
    of the web process's time on a cold query (bench/PROFILE.md, "The collector").
    They are collected once, then frozen (:func:`gc.freeze`). Called again once a
    retired release is let go: thawed first, so that the old app's reference cycles are
    freed, then the survivors frozen again. Only ``dipkg serve`` asks for it
    (:attr:`LiveApp.settle_heap`): a process that makes many apps (the tests) would
    keep each one's cycles."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


class LiveApp:
    """The release binding of ``dipkg serve`` (inside the access log and the query lane,
    sparql_api/server.py): the current release's app, switched when ``current`` moves."""

    def __init__(self, settings: Settings, data_dir: Path, first: Generation) -> None:
        self.settings = settings
        self.data_dir = Path(data_dir)
        self.current = first
        self.switches = 0
        self._retiring: set[asyncio.Task[None]] = set()
        self._watcher: asyncio.Task[None] | None = None
        self._hup: asyncio.Event | None = None
        self._on_sighup = False
        self._refused: Path | None = None
        self._problem: str | None = None
        #: ``dipkg serve``: :func:`settle_heap` after start-up and after each switch
        self.settle_heap = False

    @classmethod
    def open(cls, settings: Settings, data_dir: Path) -> LiveApp:
        """Serve ``data_dir``'s current release (blocking; before the server starts).
        A missing, empty or corrupt release raises one clear :class:`DipkgError`."""
        return cls(settings, data_dir, prepare(settings, current_target(data_dir)))

    @property
    def release(self) -> Release:
        return self.current.release

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        generation = self.current  # taken once: the whole answer comes from this release
        generation.enter()
        try:
            await generation.app(scope, receive, _stamped(send, generation.stamp))
        finally:
            generation.leave()

    # lifecycle -----------------------------------------------------------------
    async def _lifespan(self, receive: Any, send: Any) -> None:
        await receive()  # lifespan.startup
        try:
            await self.startup()
        except BaseException as exc:
            await send({"type": "lifespan.startup.failed", "message": str(exc)})
            raise
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        await self.shutdown()
        await send({"type": "lifespan.shutdown.complete"})

    async def startup(self) -> None:
        await self.current.start()
        loop = asyncio.get_running_loop()
        self._hup = asyncio.Event()
        try:
            loop.add_signal_handler(signal.SIGHUP, self._hup.set)
            self._on_sighup = True
        except (
            NotImplementedError,
            RuntimeError,
            ValueError,
            AttributeError,
        ):  # not the main thread
            self._on_sighup = False
        self._watcher = loop.create_task(self._watch(), name="dipkg-watch-current")
        if self.settle_heap:
            settle_heap()

    async def shutdown(self) -> None:
        if self._on_sighup:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            self._on_sighup = False
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        retiring = list(self._retiring)
        for task in retiring:
            task.cancel()
        await asyncio.gather(*retiring, return_exceptions=True)
        await self.current.stop()
        self.current.close()

    def reload(self) -> None:
        """Look at ``current`` now (what SIGHUP does); call on the event loop."""
        if self._hup is not None:
            self._hup.set()

    # following current -----------------------------------------------------------
    async def _watch(self) -> None:
        assert self._hup is not None
        interval = self.settings.reload_interval
        while True:
            if interval > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._hup.wait(), interval)
            else:
                await self._hup.wait()
            forced = self._hup.is_set()
            self._hup.clear()
            try:
                await self.refresh(force=forced)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001  (keep watching whatever happened)
                log.exception("while following %s", self.data_dir / "current")

    def _report(self, problem: str | None) -> None:
        if problem is not None and problem != self._problem:
            log.error("%s", problem)
        self._problem = problem

    async def refresh(self, *, force: bool = False) -> bool:
        """Switch to the release ``current`` points at if that changed; True when switched."""
        serving = self.current.release
        try:
            target = current_target(self.data_dir)
        except DipkgError as err:  # current removed or dangling: keep serving what we have
            self._report(f"still serving release {serving.build_id}: {err}")
            return False
        if target == serving.root:
            self._refused = None
            self._report(None)
            return False
        if target == self._refused and not force:
            return False
        generation: Generation | None = None
        try:
            generation = await asyncio.to_thread(prepare, self.settings, target)
            await generation.start()
        except Exception as exc:  # noqa: BLE001  (any failure: the old release keeps serving)
            if generation is not None:
                await generation.stop()
                generation.close()
            self._refused = target
            reason = str(exc) if isinstance(exc, DipkgError) else f"{type(exc).__name__}: {exc}"
            self._report(
                f"still serving release {serving.build_id}: not switching to {target.name}: "
                f"{reason}"
            )
            return False
        except BaseException:
            if generation is not None:
                await generation.stop()
                generation.close()
            raise
        old, self.current = self.current, generation
        self.switches += 1
        self._refused = None
        self._report(None)
        log.info("serving release %s (was %s)", generation.build_id, old.build_id)
        task = asyncio.get_running_loop().create_task(
            self._retire(old), name=f"dipkg-retire-{old.build_id}"
        )
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)
        return True

    async def _retire(self, old: Generation) -> None:
        """Let ``old`` finish its requests, then stop its workers and let go of its release."""
        try:
            await old.drained()
        finally:
            await old.stop()
            old.close()
            # its app's reference cycles: free its caches and files now
            if self.settle_heap:
                settle_heap()
            else:
                gc.collect()
