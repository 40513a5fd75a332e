"""The release's ``manifest.json`` as a typed model: the one contract between build and server.

The build (kg/build.py) makes a :class:`Manifest` and writes :meth:`Manifest.to_json`;
the server and the CLI read it back with :meth:`Manifest.from_json` (through
:func:`dipkg.core.release.read_release`) and use attributes, never dict keys.

``from_json`` checks every key it types and raises one :class:`StoreError` naming
the manifest file and the bad key (``details["key"]``, e.g. ``dumps[3].bytes``):
``the build's manifest lacks 'build_id'`` for a missing top-level key, ``the build's
manifest is malformed: 'dumps[3].bytes' must be an integer`` for a wrong one (or
``... must be there`` for a missing part of an entry).
``to_json`` gives back exactly the object the build wrote (same keys, same nulls),
so ``json.dumps(m.to_json(), ensure_ascii=False, indent=2, sort_keys=True)`` is
byte-identical for the same inputs.

Why one module of this size: it is the schema of one file, one dataclass per part and
the one reader that checks them; split, the parts of the contract would drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from dipkg.core.errors import StoreError

#: ``manifest.json``'s "format"; a release of another format is refused. 2: a release
#: carries what the pages show (``site``: schema.org, questions, ontology, heading)
FORMAT = 2

Json = dict[str, Any]
_T = TypeVar("_T")


class _Reader:
    """Typed reads of one JSON object, each failure a StoreError naming the file and key."""

    def __init__(self, obj: Mapping[str, Any], file: str | None, where: str = "") -> None:
        self.obj = obj
        self.file = file
        self.where = where

    def key(self, name: str | int) -> str:
        if isinstance(name, int):
            return f"{self.where}[{name}]"
        return f"{self.where}.{name}" if self.where else name

    def lacks(self, name: str) -> StoreError:
        key = self.key(name)
        if self.where:  # a part of an entry
            return self.bad(key, "there")
        return StoreError(
            f"the build's manifest lacks {key!r}", file=self.file, details={"key": key}
        )

    def bad(self, key: str, what: str) -> StoreError:
        return StoreError(
            f"the build's manifest is malformed: {key!r} must be {what}",
            file=self.file,
            details={"key": key},
        )

    def _get(self, name: str, required: bool) -> Any:
        if name not in self.obj:
            if required:
                raise self.lacks(name)
            return None
        return self.obj[name]

    def text(self, name: str, *, nonempty: bool = False) -> str:
        value = self._get(name, True)
        if not isinstance(value, str) or (nonempty and not value):
            raise self.bad(self.key(name), "a non-empty string" if nonempty else "a string")
        return value

    def opt_text(self, name: str, *, required: bool = True) -> str | None:
        value = self._get(name, required)
        if value is not None and not isinstance(value, str):
            raise self.bad(self.key(name), "a string or null")
        return value

    def integer(self, name: str) -> int:
        value = self._get(name, True)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.bad(self.key(name), "an integer")
        return value

    def opt_integer(self, name: str, *, required: bool = True) -> int | None:
        value = self._get(name, required)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise self.bad(self.key(name), "an integer or null")
        return value

    def opt_sub(self, name: str) -> _Reader | None:
        """A key that must be there, holding an object or null."""
        value = self._get(name, True)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.bad(self.key(name), "an object or null")
        return _Reader(value, self.file, self.key(name))

    def sub(self, name: str) -> _Reader:
        value = self._get(name, True)
        if not isinstance(value, dict):
            raise self.bad(self.key(name), "an object")
        return _Reader(value, self.file, self.key(name))

    def list_of(self, name: str) -> list[Any]:
        value = self._get(name, True)
        if not isinstance(value, list):
            raise self.bad(self.key(name), "a list")
        return value

    def strs(self, name: str) -> tuple[str, ...]:
        items = self.list_of(name)
        for i, item in enumerate(items):
            if not isinstance(item, str):
                raise self.bad(f"{self.key(name)}[{i}]", "a string")
        return tuple(items)

    def objs(self, name: str) -> list[_Reader]:
        out = []
        for i, item in enumerate(self.list_of(name)):
            key = f"{self.key(name)}[{i}]"
            if not isinstance(item, dict):
                raise self.bad(key, "an object")
            out.append(_Reader(item, self.file, key))
        return out


# --- parts ---------------------------------------------------------------------------
#: the optional keys of a dumps entry: stated by some kinds of file only
_DUMP_OPTIONAL = ("triples", "rows", "guide")


@dataclass(frozen=True)
class DumpEntry:
    """One file in ``dumps/`` (a graph dump, a table, a source document, the Chinese record)."""

    file: str
    format: str
    media_type: str
    encoding: str | None  # "gzip" or None
    bytes: int
    sha256: str
    triples: int | None = None  # an RDF dump: the graph's triples
    rows: int | None = None  # a table: its rows (stated, maybe null, by tables only)
    guide: str | None = None  # a source document: the guide it is the source of
    #: which of triples/rows/guide the entry states even when null (kept for to_json)
    stated: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    @property
    def is_source(self) -> bool:
        """A guide's source file: a distribution of that guide, not of the dataset."""
        return self.guide is not None

    @classmethod
    def from_json(cls, obj: Mapping[str, Any], *, file: str | None = None) -> DumpEntry:
        return cls._read(_Reader(obj, file))

    @classmethod
    def _read(cls, r: _Reader) -> DumpEntry:
        return cls(
            file=r.text("file", nonempty=True),
            format=r.text("format"),
            media_type=r.text("media_type"),
            encoding=r.opt_text("encoding"),
            bytes=r.integer("bytes"),
            sha256=r.text("sha256"),
            triples=r.opt_integer("triples", required=False),
            rows=r.opt_integer("rows", required=False),
            guide=r.opt_text("guide", required=False),
            stated=frozenset(k for k in _DUMP_OPTIONAL if k in r.obj),
        )

    def to_json(self) -> Json:
        out: Json = {
            "file": self.file,
            "format": self.format,
            "media_type": self.media_type,
            "encoding": self.encoding,
            "bytes": self.bytes,
            "sha256": self.sha256,
        }
        for key, value in (("triples", self.triples), ("rows", self.rows), ("guide", self.guide)):
            if value is not None or key in self.stated:
                out[key] = value
        return out


@dataclass(frozen=True)
class PreviousRelease:
    """The release this one follows (as kg/changes.py names it)."""

    build_id: str
    version: str | None
    modified: str | None
    #: its name in IRIs (``{base}release/{release_id}``, :attr:`Manifest.release_id`);
    #: None: not recorded (a release built before dipkg named them), its build id
    release_id: str | None = None

    @classmethod
    def _read(cls, r: _Reader) -> PreviousRelease:
        return cls(
            build_id=r.text("build_id", nonempty=True),
            version=r.opt_text("version"),
            modified=r.opt_text("modified"),
            release_id=r.opt_text("release_id", required=False),
        )

    @property
    def name(self) -> str:
        """Its name in IRIs: the recorded one, else its build id."""
        return self.release_id or self.build_id

    def to_json(self) -> Json:
        out: Json = {"build_id": self.build_id, "version": self.version, "modified": self.modified}
        if self.release_id is not None:
            out["release_id"] = self.release_id
        return out


@dataclass(frozen=True)
class TripleChanges:
    old: int
    new: int
    added: int
    removed: int

    @classmethod
    def _read(cls, r: _Reader) -> TripleChanges:
        return cls(
            old=r.integer("old"),
            new=r.integer("new"),
            added=r.integer("added"),
            removed=r.integer("removed"),
        )

    def to_json(self) -> Json:
        return {"old": self.old, "new": self.new, "added": self.added, "removed": self.removed}


@dataclass(frozen=True)
class KindChanges:
    added: int
    removed: int
    changed: int

    @classmethod
    def _read(cls, r: _Reader) -> KindChanges:
        return cls(
            added=r.integer("added"), removed=r.integer("removed"), changed=r.integer("changed")
        )

    def to_json(self) -> Json:
        return {"added": self.added, "removed": self.removed, "changed": self.changed}


@dataclass(frozen=True)
class Changes:
    """``changes.json`` (what changed since the previous release), summed up."""

    file: str
    sha256: str
    triples: TripleChanges
    summary: Mapping[str, KindChanges]  # per kind (scenarios, categories, ...)

    @classmethod
    def _read(cls, r: _Reader) -> Changes:
        summary = r.sub("summary")
        return cls(
            file=r.text("file", nonempty=True),
            sha256=r.text("sha256"),
            triples=TripleChanges._read(r.sub("triples")),
            summary={k: KindChanges._read(summary.sub(k)) for k in summary.obj},
        )

    def to_json(self) -> Json:
        return {
            "file": self.file,
            "sha256": self.sha256,
            "triples": self.triples.to_json(),
            "summary": {k: v.to_json() for k, v in self.summary.items()},
        }

    def summary_json(self) -> Json:
        """The ``{"triples": ..., "summary": ...}`` that kg.changes.summary_text words."""
        return {"triples": self.triples.to_json(), "summary": self.to_json()["summary"]}


@dataclass(frozen=True)
class MapEntry:
    """``map.json``, the map of shared data (dipkg/core/datamap.py)."""

    file: str
    kinds: int
    cells: int
    sha256: str

    @classmethod
    def _read(cls, r: _Reader) -> MapEntry:
        return cls(
            file=r.text("file", nonempty=True),
            kinds=r.integer("kinds"),
            cells=r.integer("cells"),
            sha256=r.text("sha256"),
        )

    def to_json(self) -> Json:
        return {"file": self.file, "kinds": self.kinds, "cells": self.cells, "sha256": self.sha256}


@dataclass(frozen=True)
class Counts:
    guides: int
    domains: int
    scenarios: int
    categories: int
    fields: int
    triples: int
    unmapped_items: int

    @classmethod
    def _read(cls, r: _Reader) -> Counts:
        return cls(
            guides=r.integer("guides"),
            domains=r.integer("domains"),
            scenarios=r.integer("scenarios"),
            categories=r.integer("categories"),
            fields=r.integer("fields"),
            triples=r.integer("triples"),
            unmapped_items=r.integer("unmapped_items"),
        )

    def to_json(self) -> Json:
        return {
            "guides": self.guides,
            "domains": self.domains,
            "scenarios": self.scenarios,
            "categories": self.categories,
            "fields": self.fields,
            "triples": self.triples,
            "unmapped_items": self.unmapped_items,
        }


@dataclass(frozen=True)
class Correction:
    """A correction of the inputs (build/corrections) and how often it fired."""

    guide: str
    scenario: int
    match: str
    reason: str
    fired: int

    @classmethod
    def _read(cls, r: _Reader) -> Correction:
        return cls(
            guide=r.text("guide"),
            scenario=r.integer("scenario"),
            match=r.text("match"),
            reason=r.text("reason"),
            fired=r.integer("fired"),
        )

    def to_json(self) -> Json:
        return {
            "guide": self.guide,
            "scenario": self.scenario,
            "match": self.match,
            "reason": self.reason,
            "fired": self.fired,
        }


@dataclass(frozen=True)
class CatalogEntry:
    """``catalog.ttl``, the catalogue record, and the named graph it is loaded into."""

    file: str
    graph: str

    @classmethod
    def _read(cls, r: _Reader) -> CatalogEntry:
        return cls(file=r.text("file", nonempty=True), graph=r.text("graph", nonempty=True))

    def to_json(self) -> Json:
        return {"file": self.file, "graph": self.graph}


@dataclass(frozen=True)
class Publication:
    """What is not ready to publish: catalogue settings still at their shipped
    placeholders, and the Chinese record's elements left to fill in."""

    placeholders: tuple[str, ...]
    to_fill: tuple[str, ...]

    @classmethod
    def _read(cls, r: _Reader) -> Publication:
        return cls(placeholders=r.strs("placeholders"), to_fill=r.strs("to_fill"))

    def to_json(self) -> Json:
        return {"placeholders": list(self.placeholders), "to_fill": list(self.to_fill)}

    def state(self) -> str:
        """/health's ``publication``."""
        if self.placeholders:
            return "not configured for publication: placeholder " + ", ".join(
                f"catalog.{k}" for k in self.placeholders
            )
        return "configured"


@dataclass(frozen=True)
class SearchEntry:
    """The search index (kg/search.py)."""

    file: str
    bytes: int
    sha256: str
    format: int

    @classmethod
    def _read(cls, r: _Reader) -> SearchEntry:
        return cls(
            file=r.text("file", nonempty=True),
            bytes=r.integer("bytes"),
            sha256=r.text("sha256"),
            format=r.integer("format"),
        )

    def to_json(self) -> Json:
        return {
            "file": self.file,
            "bytes": self.bytes,
            "sha256": self.sha256,
            "format": self.format,
        }


def _tuple(readers: Sequence[_Reader], read: Callable[[_Reader], _T]) -> tuple[_T, ...]:
    return tuple(read(r) for r in readers)


@dataclass(frozen=True)
class SiteFile:
    """A file of the release the web app shows (outside ``dumps/``), and its SHA-256."""

    file: str  # relative to the release folder, "/"-separated
    sha256: str

    @classmethod
    def _read(cls, r: _Reader) -> SiteFile:
        file = r.text("file", nonempty=True)
        if file.startswith("/") or ".." in file.split("/"):
            raise r.bad(r.key("file"), "a path inside the release")
        return cls(file=file, sha256=r.text("sha256"))

    def to_json(self) -> Json:
        return {"file": self.file, "sha256": self.sha256}


@dataclass(frozen=True)
class Licence:
    iri: str
    title: str

    @classmethod
    def _read(cls, r: _Reader) -> Licence:
        return cls(iri=r.text("iri", nonempty=True), title=r.text("title"))

    def to_json(self) -> Json:
        return {"iri": self.iri, "title": self.title}


@dataclass(frozen=True)
class Publisher:
    iri: str
    name_zh: str
    name_en: str
    homepage: str

    @classmethod
    def _read(cls, r: _Reader) -> Publisher:
        return cls(
            iri=r.text("iri", nonempty=True),
            name_zh=r.text("name_zh"),
            name_en=r.text("name_en"),
            homepage=r.text("homepage"),
        )

    def name(self, lang: str) -> str:
        return (self.name_en if lang == "en" else self.name_zh) or self.name_zh or self.name_en

    def to_json(self) -> Json:
        return {
            "iri": self.iri,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "homepage": self.homepage,
        }


@dataclass(frozen=True)
class Heading:
    """The dataset's title and description in both languages, as the build's settings
    gave them: the landing page's heading and lede."""

    title_zh: str
    title_en: str
    description_zh: str
    description_en: str

    @classmethod
    def _read(cls, r: _Reader) -> Heading:
        return cls(
            title_zh=r.text("title_zh"),
            title_en=r.text("title_en"),
            description_zh=r.text("description_zh"),
            description_en=r.text("description_en"),
        )

    def title(self, lang: str) -> str:
        return self.title_zh if lang == "zh" else self.title_en

    def to_json(self) -> Json:
        return {
            "title_zh": self.title_zh,
            "title_en": self.title_en,
            "description_zh": self.description_zh,
            "description_en": self.description_en,
        }


@dataclass(frozen=True)
class Site:
    """What the web app shows that the build decides, written into the release so the
    server never reads the source tree or the serve-time settings for it: the landing
    page's schema.org Dataset and heading, the example questions, the ontology files and
    JSON-LD context, and the licence and publisher of the catalogue record."""

    schema_org: SiteFile
    queries: SiteFile
    ontology: tuple[SiteFile, ...]
    license: Licence
    publisher: Publisher
    heading: Heading
    #: the paths of the release's pages, for the sitemap (dipkg/core/sitemap.py); None in a
    #: release built before dipkg wrote it (its sitemap then lists the site's own pages)
    pages: SiteFile | None = None

    @classmethod
    def _read(cls, r: _Reader) -> Site:
        pages = r.opt_sub("pages") if "pages" in r.obj else None
        return cls(
            schema_org=SiteFile._read(r.sub("schema_org")),
            queries=SiteFile._read(r.sub("queries")),
            ontology=_tuple(r.objs("ontology"), SiteFile._read),
            license=Licence._read(r.sub("license")),
            publisher=Publisher._read(r.sub("publisher")),
            heading=Heading._read(r.sub("heading")),
            pages=SiteFile._read(pages) if pages is not None else None,
        )

    def to_json(self) -> Json:
        out: Json = {
            "schema_org": self.schema_org.to_json(),
            "queries": self.queries.to_json(),
            "ontology": [f.to_json() for f in self.ontology],
            "license": self.license.to_json(),
            "publisher": self.publisher.to_json(),
            "heading": self.heading.to_json(),
        }
        if self.pages is not None:
            out["pages"] = self.pages.to_json()
        return out

    @property
    def files(self) -> tuple[SiteFile, ...]:
        pages = (self.pages,) if self.pages is not None else ()
        return (self.schema_org, self.queries, *self.ontology, *pages)


# --- the manifest --------------------------------------------------------------------
@dataclass(frozen=True)
class Manifest:
    """``manifest.json`` of one release (see the module docstring)."""

    build_id: str
    dipkg_version: str
    base_iri: str
    modified: str | None  # the release date (ISO); None: not known
    issued: str | None  # the first release's date
    version: str | None
    release: int  # 1, 2, ...: this release's number in the line of releases
    previous: PreviousRelease | None
    changes: Changes
    map: MapEntry
    sources: tuple[str, ...]
    counts: Counts
    dumps: tuple[DumpEntry, ...]
    corrections: tuple[Correction, ...]
    catalog: CatalogEntry
    publication: Publication
    search: SearchEntry
    #: None only while the build is still writing it (from_json requires it)
    site: Site | None = None
    format: int = FORMAT
    #: this release's name in IRIs (``{base}release/{release_id}``, how the next release's
    #: record names it as ``dcat:previousVersion``): its build id, unless an earlier
    #: release of its line had that build id (the data went back to what it was), then
    #: ``{build_id}-{release}``; None: not recorded (built before dipkg named releases)
    release_id: str | None = None
    #: the build ids of the releases before this one in its line (sorted; what makes
    #: ``release_id`` unique); None: not recorded
    earlier_build_ids: tuple[str, ...] | None = None
    #: the releases before this one in its line, oldest first, the last being
    #: :attr:`previous`: the record names each (``{base}release/{name}``, with the one it
    #: followed), so every release IRI a record ever named still dereferences; None: not
    #: recorded (built before dipkg kept them: only ``previous`` is known)
    earlier_releases: tuple[PreviousRelease, ...] | None = None

    @classmethod
    def from_json(cls, obj: object, *, file: str | None = None) -> Manifest:
        """The manifest ``obj`` (parsed JSON) read from ``file``, checked; else a StoreError
        naming ``file`` and the bad key."""
        found = obj.get("format") if isinstance(obj, dict) else None
        if isinstance(obj, dict) and type(found) is int and 1 <= found < FORMAT:
            raise StoreError(  # an older dipkg wrote it: what is missing is named by the format
                f"the build's manifest has format {found} "
                f"(dipkg {obj.get('dipkg_version') or '?'}); this dipkg reads format {FORMAT}: "
                "rebuild it with `dipkg build`",
                file=file,
                details={"key": "format"},
            )
        if not isinstance(obj, dict) or found != FORMAT:
            raise StoreError("the build's manifest has an unknown format", file=file)
        r = _Reader(obj, file)
        # the keys every reader has always needed first, in the order they were checked
        for key in ("build_id", "base_iri", "counts", "dumps"):
            if key not in obj:
                raise r.lacks(key)
        previous = r.opt_sub("previous")
        return cls(
            build_id=r.text("build_id", nonempty=True),
            base_iri=r.text("base_iri", nonempty=True),
            counts=Counts._read(r.sub("counts")),
            dumps=_tuple(r.objs("dumps"), DumpEntry._read),
            dipkg_version=r.text("dipkg_version"),
            modified=r.opt_text("modified"),
            issued=r.opt_text("issued"),
            version=r.opt_text("version"),
            release=r.integer("release"),
            previous=PreviousRelease._read(previous) if previous is not None else None,
            changes=Changes._read(r.sub("changes")),
            map=MapEntry._read(r.sub("map")),
            sources=r.strs("sources"),
            corrections=_tuple(r.objs("corrections"), Correction._read),
            catalog=CatalogEntry._read(r.sub("catalog")),
            publication=Publication._read(r.sub("publication")),
            search=SearchEntry._read(r.sub("search")),
            site=Site._read(r.sub("site")),
            release_id=r.opt_text("release_id", required=False),
            earlier_build_ids=(r.strs("earlier_build_ids") if "earlier_build_ids" in obj else None),
            earlier_releases=(
                _tuple(r.objs("earlier_releases"), PreviousRelease._read)
                if "earlier_releases" in obj
                else None
            ),
        )

    def to_json(self) -> Json:
        """The JSON object the build writes (``json.dumps(..., sort_keys=True, indent=2)``)."""
        return {
            "format": self.format,
            "build_id": self.build_id,
            "dipkg_version": self.dipkg_version,
            "base_iri": self.base_iri,
            "modified": self.modified,
            "issued": self.issued,
            "version": self.version,
            "release": self.release,
            "previous": self.previous.to_json() if self.previous is not None else None,
            "changes": self.changes.to_json(),
            "map": self.map.to_json(),
            "sources": list(self.sources),
            "counts": self.counts.to_json(),
            "dumps": [d.to_json() for d in self.dumps],
            "corrections": [c.to_json() for c in self.corrections],
            "catalog": self.catalog.to_json(),
            "publication": self.publication.to_json(),
            "search": self.search.to_json(),
            **({"site": self.site.to_json()} if self.site is not None else {}),
            **({"release_id": self.release_id} if self.release_id is not None else {}),
            **(
                {"earlier_build_ids": list(self.earlier_build_ids)}
                if self.earlier_build_ids is not None
                else {}
            ),
            **(
                {"earlier_releases": [e.to_json() for e in self.earlier_releases]}
                if self.earlier_releases is not None
                else {}
            ),
        }

    # --- typed reads -----------------------------------------------------------------
    @property
    def dates(self) -> tuple[str | None, str | None]:
        """(issued, modified) of the release (None: not known, not published)."""
        modified = self.modified or None
        return self.issued or modified, modified

    @property
    def dataset_dumps(self) -> tuple[DumpEntry, ...]:
        """The dataset's distributions: every dump but the guides' source files."""
        return tuple(d for d in self.dumps if not d.is_source)

    @property
    def source_dumps(self) -> tuple[DumpEntry, ...]:
        return tuple(d for d in self.dumps if d.is_source)

    def dump(self, file: str) -> DumpEntry | None:
        return next((d for d in self.dumps if d.file == file), None)

    @property
    def dump_files(self) -> frozenset[str]:
        return frozenset(d.file for d in self.dumps)
