"""``dipkg build``: inputs -> validated graph -> dumps and an Oxigraph store,
switched in atomically.

Steps: read the guides (with corrections) -> RDF blocks (+ the ontology) ->
N-Triples, Turtle, JSON-LD (+ gzip, SHA-256) -> on-disk store -> SHACL
validation on that store (kg/validate.py) -> change set and the map of shared
data (``map.json``, dipkg/core/datamap.py) -> manifest -> rename the finished
release folder into place and point ``current`` at it with an atomic symlink replace.
Until that last step nothing the server or a user reads has changed;
a failure or a kill at any point leaves
the previous release in place. Then old releases are pruned, except the one
before and any a running server holds (:func:`_prune`); a running server moves
to the new release by itself (sparql_api/live.py). Same inputs give byte-identical dumps and
manifest (no clocks, no random names inside them).

Why one module of this size: it is the build's one sequence, each step a call into the
module that does it; what remains here is the order, the staging folder and the switch.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph

from dipkg import __version__
from dipkg.core import datamap, formats, sitemap
from dipkg.core.errors import (
    ConfigError,
    CorrectionError,
    DipkgError,
    SourceError,
    StoreError,
)
from dipkg.core.jsonld import write_jsonld
from dipkg.core.manifest import (
    CatalogEntry,
    Changes,
    Correction,
    Counts,
    DumpEntry,
    Heading,
    KindChanges,
    Licence,
    Manifest,
    MapEntry,
    PreviousRelease,
    Publication,
    Publisher,
    SearchEntry,
    Site,
    SiteFile,
    TripleChanges,
)
from dipkg.core.release import (
    CURRENT,
    DUMPS,
    MANIFEST,
    NT_DUMP,
    ONTOLOGY,
    ONTOLOGY_FILES,
    QUERIES_FILE,
    RELEASES,
    SCHEMA_ORG_FILE,
    STORE,
    claim,
)
from dipkg.core.serialize import sha256_file
from dipkg.core.settings import Settings, get_settings
from kg import catalog, catalog_cn, changes, search, validate
from kg.graph import Graph, Log
from kg.guide import GuideConfig
from kg.model import DataCategory, DataField, Guide
from kg.paths import INPUTS_DIR, ONTOLOGY_DIR, display
from kg.queries import QUERIES_DIR, load_queries
from kg.serialize import gzip_file, write_ntriples, write_turtle

KEEP_RELEASES = 2
CATALOG_FILE = "catalog.ttl"

# (file name, format) of the RDF dumps (dipkg/core/formats.py); each gets its .gz twin.
DUMP_FORMATS = (
    ("dipkg.ttl", formats.TURTLE),
    ("dipkg.jsonld", formats.JSON_LD),
    (NT_DUMP, formats.N_TRIPLES),
)


@dataclass
class BuildResult:
    manifest: Manifest
    release: Path
    seconds: float
    index_seconds: float = 0.0  # of which writing the search index


def _count(guides: list[tuple[GuideConfig, Guide]]) -> dict[str, int]:
    categories = fields = 0

    def walk(item: DataCategory | DataField) -> None:
        nonlocal categories, fields
        if isinstance(item, DataField):
            fields += 1
            return
        categories += 1
        for child in item.children:
            walk(child)

    scenarios = 0
    domains: set[str] = set()
    for _, guide in guides:
        for scenario in guide.scenarios:
            scenarios += 1
            domains.add(scenario.domain)
            for category in scenario.categories:
                walk(category)
    return {
        "guides": len(guides),
        "domains": len(domains),
        "scenarios": scenarios,
        "categories": categories,
        "fields": fields,
    }


def _write_dumps(graph: Graph, dumps: Path, log: Log) -> list[DumpEntry]:
    dumps.mkdir(parents=True)
    log("writing dumps")
    with (dumps / NT_DUMP).open("w", encoding="utf-8", newline="\n") as out:
        triples = write_ntriples(graph.blocks(), out)
    graph.check_translations()  # the first full pass has met every label
    header = (
        "dipkg: data intellectual property application scenarios knowledge graph\n"
        f"Built by dipkg {__version__} from {', '.join(graph.source_names)}"
    )
    with (dumps / "dipkg.ttl").open("w", encoding="utf-8", newline="\n") as out:
        write_turtle(graph.blocks(), out, header=header)
    with (dumps / "dipkg.jsonld").open("w", encoding="utf-8", newline="\n") as out:
        write_jsonld(graph.blocks(), out, graph.context)
    entries = []
    for name, fmt in DUMP_FORMATS:
        path = dumps / name
        files: list[tuple[Path, str | None]] = [(path, None)]
        if fmt.gzip_twin:
            gzip_file(path, dumps / f"{name}.{formats.GZIP.extension}")
            files.append((dumps / f"{name}.{formats.GZIP.extension}", "gzip"))
        for file, encoding in files:
            entries.append(
                DumpEntry(
                    file=file.name,
                    format=fmt.name,
                    media_type=fmt.media_type,
                    encoding=encoding,
                    bytes=file.stat().st_size,
                    sha256=sha256_file(file),
                    triples=triples,
                )
            )
    return entries


#: source file suffix -> its format (dipkg/core/formats.py)
SOURCE_FORMATS = formats.SOURCES


def _write_sources(graph: Graph, dumps: Path) -> list[DumpEntry]:
    """Each guide's source file, byte for byte: the distribution of the source document's
    dataset."""
    entries = []
    for config, _ in graph.guides:
        suffix = config.source.suffix.lower()
        if suffix not in SOURCE_FORMATS:
            raise SourceError(
                f"a source file must be one of {', '.join(SOURCE_FORMATS)} to be published",
                file=display(config.source),
            )
        fmt = SOURCE_FORMATS[suffix]
        name = f"source-{config.id}{suffix}"
        shutil.copyfile(config.source, dumps / name)
        entries.append(
            DumpEntry(
                file=name,
                format=fmt.name,
                media_type=fmt.media_type,
                encoding=None,
                bytes=(dumps / name).stat().st_size,
                sha256=sha256_file(dumps / name),
                guide=config.id,
            )
        )
    return entries


def _write_sums(dumps: Path, entries: list[DumpEntry]) -> None:
    with (dumps / "SHA256SUMS").open("w", encoding="utf-8", newline="\n") as out:
        for entry in sorted(entries, key=lambda e: e.file):
            out.write(f"{entry.sha256}  {entry.file}\n")


def _write_text(root: Path, name: str, text: str) -> SiteFile:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")
    return SiteFile(file=name, sha256=sha256_file(path))


def _write_site(graph: Graph, manifest: Manifest, root: Path, pages: list[str]) -> Site:
    """What the web app shows that the build decides, into the release (manifest "site"):
    the schema.org Dataset (the landing page's JSON-LD), the example questions, the
    ontology files (with the JSON-LD context), the licence and publisher, all from
    this build's settings and inputs, so the pages agree with the catalogue record, and
    the paths of the release's ``pages`` (the sitemap's)."""
    settings = graph.settings
    doc = catalog.schema_org_dataset(manifest, settings, graph.minter, graph.inputs)
    schema_org = _write_text(
        root, SCHEMA_ORG_FILE, json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    )
    own = (settings.inputs_dir or INPUTS_DIR) / QUERIES_DIR
    questions = load_queries(own if own.is_dir() else INPUTS_DIR / QUERIES_DIR)
    queries = _write_text(
        root,
        QUERIES_FILE,
        json.dumps([q.to_dict() for q in questions], ensure_ascii=False, indent=2) + "\n",
    )
    ontology = []
    for name in ONTOLOGY_FILES:
        (root / ONTOLOGY).mkdir(exist_ok=True)
        shutil.copyfile(ONTOLOGY_DIR / name, root / ONTOLOGY / name)
        ontology.append(
            SiteFile(file=f"{ONTOLOGY}/{name}", sha256=sha256_file(root / ONTOLOGY / name))
        )
    s = settings.catalog
    return Site(
        pages=_write_text(root, sitemap.PAGES_FILE, sitemap.to_text(pages)),
        schema_org=schema_org,
        queries=queries,
        ontology=tuple(ontology),
        license=Licence(iri=s.license_iri, title=s.license_title),
        publisher=Publisher(
            iri=catalog.publisher_iri(settings, graph.minter),
            name_zh=s.publisher_name_zh,
            name_en=s.publisher_name_en,
            homepage=catalog.publisher_homepage(settings, graph.minter),
        ),
        heading=Heading(
            title_zh=s.title_zh,
            title_en=s.title_en,
            description_zh=s.description_zh,
            description_en=s.description_en,
        ),
    )


def _load_store(nt: Path, target: Path, log: Log) -> pyoxigraph.Store:
    log("loading the Oxigraph store")
    store = pyoxigraph.Store(str(target))
    store.bulk_load(path=str(nt), format=pyoxigraph.RdfFormat.N_TRIPLES)
    return store


def _which(exc: OSError, out_dir: Path) -> str:
    """The file an OSError names, relative to the output folder where it lies under it
    (a file of the release being written without its staging folder, which is gone by
    then): "No such file or directory" alone does not say which of a build's files."""
    names = [n for n in (exc.filename, exc.filename2) if isinstance(n, (str, bytes))]
    if not names or exc.strerror is None:
        return ""
    root = os.path.abspath(out_dir)
    shown = []
    for name in names:
        path = os.path.abspath(os.fsdecode(name))  # (no symlink followed: current is current)
        if os.path.commonpath([root, path]) != root:
            shown.append(path)
            continue
        relative = Path(os.path.relpath(path, root))
        if relative.parts and relative.parts[0].startswith(".staging-"):
            relative = Path(*relative.parts[1:]) if len(relative.parts) > 1 else relative
        shown.append(str(relative))
    return " (" + " → ".join(shown) + ")"


def _fsync_tree(root: Path) -> None:
    """fsync every file and folder under ``root``. A file listed and gone before it is opened
    is passed over: RocksDB deletes a compaction's obsolete files in the background, and
    CI saw one ``.sst`` go between the listing and the open ("No such file or directory":
    the build failed); a deleted file has nothing to sync, its folder's fsync records it."""
    for folder, _, files in os.walk(root):
        for name in files:
            try:
                handle = open(os.path.join(folder, name), "rb")  # noqa: SIM115
            except FileNotFoundError:
                continue
            with handle:
                os.fsync(handle.fileno())
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _switch(out_dir: Path, staged: Path, build_id: str) -> Path:
    releases = out_dir / RELEASES
    releases.mkdir(exist_ok=True)
    name = build_id
    suffix = 1
    while (releases / name).exists():
        suffix += 1
        name = f"{build_id}.{suffix}"
    release = releases / name
    os.rename(staged, release)
    link = out_dir / f".{CURRENT}.{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        link.unlink()
    os.symlink(os.path.join(RELEASES, name), link)
    os.replace(link, out_dir / CURRENT)  # the atomic switch
    fd = os.open(out_dir, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return release


def _prune(out_dir: Path, keep: Path) -> None:
    """Retention: keep the new release, the newest one before it, and every release a
    running server holds (a :class:`~dipkg.core.release.Lease`); delete the rest.

    A release is deleted only under an exclusive lock (:func:`~dipkg.core.release.claim`), which
    fails while any server holds its shared one. It is first renamed out of
    ``releases/`` (one step: it is there whole or gone), then removed.
    """
    others = sorted(
        (
            p
            for p in (out_dir / RELEASES).iterdir()
            if p != keep and p.is_dir() and not p.is_symlink()
        ),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in others[KEEP_RELEASES - 1 :]:
        fd = claim(old)
        if fd is None:  # a server still serves it (or finishes requests on it)
            continue
        try:
            trash = out_dir / f".pruning-{os.getpid()}-{old.name}"
            try:
                os.rename(old, trash)
            except OSError:
                continue
            shutil.rmtree(trash, ignore_errors=True)
        finally:
            os.close(fd)


def _pid_alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_staging(out_dir: Path) -> None:
    """Staging and pruning folders and switch links left by builds that were killed (their process
    is gone)."""
    for stale in (*out_dir.glob(".staging-*"), *out_dir.glob(".pruning-*")):
        if not _pid_alive(stale.name.split("-")[1]):
            shutil.rmtree(stale, ignore_errors=True)
    for link in out_dir.glob(f".{CURRENT}.*"):
        if not _pid_alive(link.name.rsplit(".", 1)[1]):
            with contextlib.suppress(OSError):
                link.unlink()


#: the output folder's build lock (:func:`_one_build_at_a_time`); never deleted, so that two
#: builds cannot each lock a file of that name
BUILD_LOCK = ".build.lock"


@contextlib.contextmanager
def _one_build_at_a_time(out_dir: Path, log: Log) -> Iterator[bool]:
    """Hold the output folder's build lock (an exclusive ``flock`` on ``DIR/.build.lock``) from
    reading the previous release to pruning: two builds into one folder would each read the
    same ``current`` and publish the same release number with change sets against it, the
    second switched in over the first. A second build waits for the first, as cargo waits
    for its build folder, and then follows the first's release; it yields whether it
    waited (its inputs are then read again: the last build to get the lock publishes the
    inputs as they are then). The kernel drops the lock when a build dies.

    Made with the umask's mode, and opened read-write where it may be (NFS wants that for
    an exclusive lock), else read-only (a local ``flock`` needs no write access): another
    user of a group-writable folder can lock a file the first one made."""
    path = out_dir / BUILD_LOCK
    try:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except PermissionError:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise StoreError(
            f"cannot lock the output folder: {exc.strerror or exc}", file=str(out_dir)
        ) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            waited = False
        except BlockingIOError:
            log(f"waiting for another build into {out_dir} to end")
            fcntl.flock(fd, fcntl.LOCK_EX)
            waited = True
    except OSError as exc:  # (a file system without flock)
        os.close(fd)
        raise StoreError(
            f"cannot lock the output folder: {exc.strerror or exc}", file=str(out_dir)
        ) from None
    try:
        yield waited
    finally:
        os.close(fd)


def build(out_dir: Path, settings: Settings | None = None, log: Log | None = None) -> BuildResult:
    """Build the graph into ``out_dir`` (see dipkg/core/release.py); raise :class:`DipkgError` on
    bad input."""
    settings = settings or get_settings()
    log = log or (lambda message: None)
    started = time.perf_counter()
    graph = Graph(settings, log)
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"cannot create the output folder: {exc.strerror}", file=str(out_dir)
        ) from None
    with _one_build_at_a_time(out_dir, log) as waited:
        if waited:  # the inputs may have changed meanwhile: the newest are published
            graph = Graph(settings, log)
        return _build_locked(out_dir, settings, graph, log, started)


def _build_locked(
    out_dir: Path, settings: Settings, graph: Graph, log: Log, started: float
) -> BuildResult:
    """:func:`build`'s steps from the output folder on, under its build lock."""
    _remove_stale_staging(out_dir)
    previous = changes.previous_release(out_dir)  # what `current` points at before this build
    if previous is not None and previous.base_iri not in (None, settings.base_iri):
        # existing IRIs never change: a build run without the service's settings (its
        # DIPKG_CONFIG) would otherwise replace every IRI the release serves
        raise ConfigError(
            f"base_iri is {settings.base_iri!r}, but the release this build follows "
            f"({previous.build_id}) mints its IRIs under {previous.base_iri!r}: existing IRIs "
            "never change; build with that base (DIPKG_BASE_IRI, or the settings file the "
            "server uses: DIPKG_CONFIG), or into a new folder",
            file=str(out_dir / CURRENT),
        )
    staged = out_dir / f".staging-{os.getpid()}-{time.monotonic_ns()}"
    try:
        staged.mkdir()
        dumps = _write_dumps(graph, staged / DUMPS, log)
        dumps += catalog.write_tables(graph, staged / DUMPS)
        dumps += _write_sources(graph, staged / DUMPS)
        # the record is a dump: it can state only the dates the inputs give (no release yet)
        cn_entries, to_fill = catalog_cn.write(
            settings,
            graph.minter,
            dumps,
            staged / DUMPS,
            dates=catalog_cn.ReleaseDates.of(settings, graph.inputs),
        )
        dumps += cn_entries
        _write_sums(staged / DUMPS, dumps)
        nt = staged / DUMPS / NT_DUMP
        store = _load_store(nt, staged / STORE, log)
        log("validating with SHACL")
        validate.check_store(store, graph.shapes, ONTOLOGY_DIR / "shapes.ttl", graph.source_file)
        triples = len(store)
        if triples != dumps[0].triples:
            raise StoreError(f"the store holds {triples} triples, the dumps {dumps[0].triples}")
        digest = hashlib.sha256()
        for entry in dumps:
            digest.update(f"{entry.file}:{entry.sha256}\n".encode())
        build_id = digest.hexdigest()[:16]
        counts = Counts(
            **_count(graph.guides),
            triples=triples,
            unmapped_items=len(graph.emitter.unmapped),
        )
        fired = tuple(
            Correction(
                guide=c.guide, scenario=c.number, match=c.match, reason=c.reason, fired=c.fired
            )
            for c in graph.inputs.corrections
        )
        unfired = [c for c in graph.inputs.corrections if c.fired == 0]
        if unfired:
            raise CorrectionError(
                f"correction never applied: {unfired[0].describe()}",
                file=unfired[0].file,
                line=unfired[0].line,
            )
        log("comparing with the previous release")
        history = changes.history(
            previous,
            build_id,
            nt,
            date=changes.input_date([graph.inputs.edited, *(g.date for g in graph.inputs.guides)]),
            version=settings.catalog.version,
            issued=settings.catalog.issued,
            modified=settings.catalog.modified,
        )
        changes_text = changes.to_json(history.changes)
        (staged / changes.CHANGES_FILE).write_text(changes_text, encoding="utf-8", newline="\n")
        log("drawing the map of shared data")
        shared = datamap.compute(store)
        map_text = datamap.to_json(shared)
        (staged / datamap.MAP_FILE).write_text(map_text, encoding="utf-8", newline="\n")
        log("writing the search index")
        index_started = time.perf_counter()
        search.build_index(store, settings.base_iri, staged / search.INDEX_FILE)
        index_seconds = time.perf_counter() - index_started
        manifest = Manifest(
            build_id=build_id,
            dipkg_version=__version__,
            base_iri=settings.base_iri,
            modified=history.modified,
            issued=history.issued,
            version=history.version,
            release=history.release,
            previous=(
                PreviousRelease(**history.previous) if history.previous is not None else None
            ),
            release_id=history.release_id,
            earlier_build_ids=history.earlier_build_ids,
            earlier_releases=tuple(PreviousRelease(**r) for r in history.earlier_releases),
            changes=Changes(
                file=changes.CHANGES_FILE,
                summary={k: KindChanges(**v) for k, v in history.changes["summary"].items()},
                triples=TripleChanges(**history.changes["triples"]),
                sha256=hashlib.sha256(changes_text.encode("utf-8")).hexdigest(),
            ),
            map=MapEntry(
                file=datamap.MAP_FILE,
                kinds=sum(len(g["kinds"]) for g in shared["groups"]),
                cells=len(shared["cells"]),
                sha256=hashlib.sha256(map_text.encode("utf-8")).hexdigest(),
            ),
            sources=tuple(graph.source_names),
            counts=counts,
            dumps=tuple(dumps),
            corrections=fired,
            catalog=CatalogEntry(file=CATALOG_FILE, graph=graph.minter.graph("catalog")),
            # the catalogue settings still at the shipped placeholders (publisher, contact) and
            # the Chinese record's elements left to fill in: `dipkg build` warns, /health tells
            publication=Publication(
                placeholders=tuple(settings.catalog.placeholders()), to_fill=tuple(to_fill)
            ),
            search=SearchEntry(
                file=search.INDEX_FILE,
                bytes=(staged / search.INDEX_FILE).stat().st_size,
                sha256=sha256_file(staged / search.INDEX_FILE),
                format=search.INDEX_FORMAT,
            ),
        )
        log("writing the catalogue record")
        record = list(catalog.record(graph, manifest, store))
        with (staged / CATALOG_FILE).open("w", encoding="utf-8", newline="\n") as out:
            write_turtle(record, out, header="dipkg catalogue record (DCAT-AP 3, VoID)")
        named = pyoxigraph.NamedNode(graph.minter.graph("catalog"))
        store.extend(pyoxigraph.Quad(s, p, o, named) for s, pairs in record for p, o in pairs)
        store.flush()
        store.optimize()
        pages = sitemap.page_paths(store, settings.base_iri)
        del store
        log("writing what the pages show")
        manifest = dataclasses.replace(manifest, site=_write_site(graph, manifest, staged, pages))
        (staged / MANIFEST).write_text(
            json.dumps(manifest.to_json(), ensure_ascii=False, indent=2, sort_keys=True) + "\n",
            encoding="utf-8",
        )
        _fsync_tree(staged)
        log("switching the new release in")
        release = _switch(out_dir, staged, build_id)
    except DipkgError:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    except OSError as exc:
        shutil.rmtree(staged, ignore_errors=True)
        raise StoreError(
            f"writing the build failed: {exc.strerror or exc}{_which(exc, out_dir)}",
            file=str(out_dir),
        ) from None
    except sqlite3.OperationalError as exc:  # the search index's: a full disk, "disk I/O error"
        shutil.rmtree(staged, ignore_errors=True)
        raise StoreError(
            f"writing the build failed: the search index: {exc}", file=str(out_dir)
        ) from None
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    _prune(out_dir, release)
    return BuildResult(
        manifest=manifest,
        release=release,
        seconds=time.perf_counter() - started,
        index_seconds=index_seconds,
    )
