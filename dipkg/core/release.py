"""The layout of a build output folder (``dipkg build --out DIR``).

::

    DIR/current -> releases/<build-id>     switched atomically (symlink rename)
    DIR/releases/<build-id>/
        manifest.json                      counts, checksums, corrections fired
        store/                             Oxigraph on-disk store (RocksDB)
        dumps/                             dipkg.ttl, dipkg.jsonld, dipkg.nt, each also .gz,
                                           SHA256SUMS
        site/                              schema-org.jsonld, queries.json: what the pages
                                           show, as the build decided it (manifest "site")
        ontology/                          dipkg.ttl, shapes.ttl, context.jsonld

A release folder is complete before ``current`` points at it; a build that
fails or is killed leaves ``current`` (and what it points at) untouched. The
web app and ``dipkg query`` read only through :func:`open_release`.

A running server holds a :class:`Lease` on every release it serves (a shared
``flock`` on the release folder); the build never prunes a release it cannot
lock exclusively (:func:`claim`). The kernel drops a lock when its process dies,
so a killed server never pins a release.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from dipkg.core import sitemap
from dipkg.core.errors import StoreError
from dipkg.core.manifest import Licence, Manifest, Publisher, Site, SiteFile

CURRENT = "current"
RELEASES = "releases"
MANIFEST = "manifest.json"
STORE = "store"
DUMPS = "dumps"
#: the N-Triples dump: what the store is loaded from, publish sends and diff compares
NT_DUMP = "dipkg.nt"
#: what the web app shows that the build decides (manifest "site")
SITE = "site"
SCHEMA_ORG_FILE = "site/schema-org.jsonld"
QUERIES_FILE = "site/queries.json"
ONTOLOGY = "ontology"
#: the ontology's files the release carries (``ontology/``), as the source tree names them
CONTEXT_FILE = "context.jsonld"
ONTOLOGY_FILES = ("dipkg.ttl", "shapes.ttl", CONTEXT_FILE)


@dataclass(frozen=True)
class Question:
    """An example question of the query page (``site/queries.json``, from build/queries)."""

    id: str
    titles: Mapping[str, str]  # language -> text
    descriptions: Mapping[str, str]
    query: str


@dataclass(frozen=True)
class Release:
    """One release folder, checked (:func:`read_release`), read through typed accessors."""

    root: Path
    manifest: Manifest

    @property
    def store_dir(self) -> Path:
        return self.root / STORE

    @property
    def dumps_dir(self) -> Path:
        return self.root / DUMPS

    @property
    def build_id(self) -> str:
        """The data's identity: a digest of the dumps (the same data, the same id)."""
        return self.manifest.build_id

    @cached_property
    def tag(self) -> str:
        """The whole release's identity, for validators (ETags) of what the pages show: a
        digest of the manifest, which holds the build id and the SHA-256 of every other
        file (site, map, change set, search index) and the site texts. A rebuild that
        changes only the example questions or the heading keeps the build id, not the tag."""
        text = json.dumps(self.manifest.to_json(), ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    @cached_property
    def answers_tag(self) -> str:
        """The identity of what the store answers, for validators of SPARQL answers: the
        build id (the data) and the catalogue record loaded beside it (``catalog.ttl``),
        which names the release's version and the one before. The same data built again
        after other data has the build id of the first and another record; a release that
        differs only in what the pages show has the same tag (``tag`` names those)."""
        digest = hashlib.sha256(f"{self.build_id}\n".encode())
        try:
            digest.update(self.catalog_file.read_bytes())
        except OSError:  # (no record to read: then every file of the release names it)
            digest.update(self.tag.encode())
        return digest.hexdigest()[:16]

    @property
    def base_iri(self) -> str:
        return self.manifest.base_iri

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    @property
    def catalog_file(self) -> Path:
        """The catalogue record as published (``catalog.ttl``), loaded into ``catalog_graphs``."""
        return self.root / self.manifest.catalog.file

    @property
    def catalog_graphs(self) -> list[str]:
        """The named graphs beside the data (the catalogue record's)."""
        return [self.manifest.catalog.graph]

    # --- what the pages show, as the build wrote it (manifest "site") ----------------
    @property
    def site(self) -> Site:
        site = self.manifest.site
        if site is None:  # read_release refuses such a manifest; a hand-made Release may not
            raise StoreError("the build's manifest lacks 'site'", file=str(self.manifest_path))
        return site

    @property
    def license(self) -> Licence:
        """The catalogue record's licence (the page footer's)."""
        return self.site.license

    @property
    def publisher(self) -> Publisher:
        return self.site.publisher

    @property
    def ontology_dir(self) -> Path:
        """The ontology's files as the build used them (dipkg.ttl, shapes.ttl, context.jsonld)."""
        return self.root / ONTOLOGY

    def read_text(self, file: SiteFile) -> str:
        """A file of the release the manifest lists, checked against its SHA-256."""
        path = self.root / file.file
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise StoreError(
                f"a file of the release is unreadable: {exc.strerror}", file=str(path)
            ) from None
        if hashlib.sha256(data).hexdigest() != file.sha256:
            raise StoreError(
                "a file of the release does not match its SHA-256 in the manifest",
                file=str(path),
            )
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise StoreError("a file of the release is not UTF-8", file=str(path)) from None

    def _json(self, file: SiteFile) -> Any:
        try:
            return json.loads(self.read_text(file))
        except ValueError as exc:
            raise StoreError(
                f"a file of the release is not JSON: {exc}", file=str(self.root / file.file)
            ) from None

    def schema_org(self) -> dict[str, Any]:
        """The landing page's schema.org Dataset (JSON-LD), as the build wrote it."""
        doc = self._json(self.site.schema_org)
        if not isinstance(doc, dict):
            raise StoreError(
                "the schema.org file is not a JSON object",
                file=str(self.root / self.site.schema_org.file),
            )
        return doc

    def page_paths(self) -> list[str]:
        """The paths of the release's pages under its base IRI, in document order, as the
        build listed them for the sitemap (dipkg/core/sitemap.py); none for a release built
        before the list."""
        file = self.site.pages
        if file is None:
            return []
        paths = self.read_text(file).splitlines()
        for i, path in enumerate(paths, 1):
            if not sitemap.safe(path):
                raise StoreError(
                    f"line {i} of the release's list of pages is no path of a page",
                    file=str(self.root / file.file),
                )
        return paths

    def queries(self) -> tuple[Question, ...]:
        """The example questions of the query page, in their order."""
        file = self.site.queries
        items = self._json(file)
        out = []
        for i, item in enumerate(items if isinstance(items, list) else [None]):
            if not (
                isinstance(item, dict)
                and isinstance(item.get("id"), str)
                and isinstance(item.get("query"), str)
                and _text_map(item.get("title"))
                and _text_map(item.get("description"))
            ):
                raise StoreError(
                    f"the example questions are malformed (item {i})",
                    file=str(self.root / file.file),
                )
            out.append(
                Question(
                    id=item["id"],
                    titles=dict(item["title"]),
                    descriptions=dict(item["description"]),
                    query=item["query"],
                )
            )
        return tuple(out)

    def gone(self) -> dict[str, dict[str, Any]]:
        """What earlier releases of its line published and this one does not (its change
        set's ``gone``, kg/changes.py): IRI -> the item (labels, kind, ``removed_in``: the
        release that removed it). Empty for a release built before dipkg kept the list."""
        changes = self.manifest.changes
        path = str(self.root / changes.file)
        doc = self._json(SiteFile(file=changes.file, sha256=changes.sha256))
        items = doc.get("gone", []) if isinstance(doc, dict) else None
        if not isinstance(items, list):
            raise StoreError("the change set's list of removed resources is malformed", file=path)
        out: dict[str, dict[str, Any]] = {}
        for i, item in enumerate(items):
            if not (
                isinstance(item, dict)
                and isinstance(item.get("iri"), str)
                and isinstance(item.get("removed_in"), dict)
                and _text_map(item.get("label"))
            ):
                raise StoreError(f"the change set's removed resource {i} is malformed", file=path)
            out[item["iri"]] = item
        return out

    def context(self) -> dict[str, Any]:
        """The JSON-LD ``@context`` of the dumps and pages (ontology/context.jsonld)."""
        file = next((f for f in self.site.ontology if f.file == f"{ONTOLOGY}/{CONTEXT_FILE}"), None)
        if file is None:
            raise StoreError(
                f"the build's manifest lists no {ONTOLOGY}/{CONTEXT_FILE}",
                file=str(self.manifest_path),
            )
        doc = self._json(file)
        if not (isinstance(doc, dict) and isinstance(doc.get("@context"), dict)):
            raise StoreError("the JSON-LD context has no @context", file=str(self.root / file.file))
        context: dict[str, Any] = doc["@context"]
        return context


def _text_map(value: object) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


class Lease:
    """A shared lock on a release folder: while it is held, no build prunes the release.

    Any number of servers may hold one; :func:`claim` (the build's pruning) fails
    while any is held. ``close()`` lets go (and so does the process's death).
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        try:
            fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as exc:
            raise StoreError(
                f"the release folder cannot be opened: {exc.strerror}", file=str(self.root)
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:  # a build's exclusive claim: it is removing the release
            os.close(fd)
            raise StoreError(
                "the release is being removed by a build", file=str(self.root)
            ) from None
        except OSError as exc:  # (a file system without flock: ENOLCK, EOPNOTSUPP)
            os.close(fd)
            raise StoreError(
                f"the release folder cannot be locked: {exc.strerror or exc}", file=str(self.root)
            ) from None
        self._fd: int | None = fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def claim(root: Path) -> int | None:
    """An exclusive lock on the release folder ``root`` (its fd, for ``os.close``), or
    None when a server holds a :class:`Lease` on it (or it is no folder)."""
    try:
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def current_target(data_dir: Path) -> Path:
    """The release folder ``data_dir/current`` points at (absolute), or a clear
    :class:`StoreError`."""
    data_dir = Path(data_dir)
    if not data_dir.exists():
        raise StoreError(
            f"no built data at {data_dir}: run `dipkg build --out {data_dir}` first",
            file=str(data_dir),
        )
    current = data_dir / CURRENT
    if not current.exists():
        raise StoreError(
            f"{data_dir} holds no complete build ({CURRENT} is missing): "
            f"run `dipkg build --out {data_dir}`",
            file=str(data_dir),
        )
    return current.resolve()


def hold_current(data_dir: Path, *, need_store: bool = True) -> tuple[Release, Lease]:
    """:func:`open_release` with a :class:`Lease` on it (:func:`hold_release`): for a
    command that reads the release for a while (a query, an upload)."""
    return hold_release(current_target(data_dir), need_store=need_store)


def open_release(data_dir: Path, *, need_store: bool = True) -> Release:
    """The current release of ``data_dir``, or a clear :class:`StoreError`.

    ``need_store=False`` (a server answering from a remote SPARQL backend) does
    not ask for the local store folder; the manifest and dumps are still checked.
    """
    return read_release(current_target(data_dir), need_store=need_store)


def hold_release(root: Path, *, need_store: bool = True) -> tuple[Release, Lease]:
    """The release folder ``root`` with a :class:`Lease` on it, taken before it is checked
    (so a build cannot remove it in between); a clear :class:`StoreError` otherwise."""
    try:
        lease = Lease(root)
    except StoreError:
        read_release(root, need_store=need_store)  # its error says more when ``root`` is no release
        raise
    try:
        return read_release(root, need_store=need_store), lease
    except BaseException:
        lease.close()
        raise


def read_release(root: Path, *, need_store: bool = True) -> Release:
    """The release in the folder ``root``, checked (manifest, store folder, dumps)."""
    root = Path(root)
    manifest_path = root / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StoreError("the build's manifest is missing", file=str(manifest_path)) from None
    except (OSError, ValueError) as exc:
        raise StoreError(
            f"the build's manifest is unreadable: {exc}", file=str(manifest_path)
        ) from None
    checked = Manifest.from_json(manifest, file=str(manifest_path))
    if need_store and not (root / STORE).is_dir():
        raise StoreError("the build's store folder is missing", file=str(root / STORE))
    for entry in checked.dumps:  # the catalogue and /dumps/ promise these exact files
        path = root / DUMPS / entry.file
        try:
            size = path.stat().st_size
        except OSError:
            raise StoreError("a dump the manifest lists is missing", file=str(path)) from None
        if size != entry.bytes:
            raise StoreError(
                f"a dump has {size} bytes, the manifest says {entry.bytes}", file=str(path)
            )
    site = checked.site
    assert site is not None  # from_json requires it
    for file in site.files:  # what the pages show: schema.org, questions, ontology
        if not (root / file.file).is_file():
            raise StoreError("a file the manifest lists is missing", file=str(root / file.file))
    return Release(root=root, manifest=checked)
