"""Versions people can compare: what changed between two releases, and the dates of a release.

* :func:`diff` compares two release folders by IRI: the scenarios, data categories
  and data fields added, removed and changed (same IRI, different statements: a
  label, a text, a position, a link), with their zh/en labels, and the triple
  counts. It reads the releases' N-Triples dumps (read-only) into an in-memory
  Oxigraph store and asks SPARQL; the answer is a plain JSON-able dict,
  deterministic (sorted by IRI in document order).
* :func:`history` is what ``dipkg build`` records in a new release: its release
  number and version, its dates, the release it follows (what ``DIR/current``
  pointed to before the build) and the change set against it (``changes.json``).
  A build whose data equals the current release's (same build id) is the same
  version: it keeps that release's number, dates and change set, so rebuilding
  the same inputs gives the same bytes.
* :func:`input_date` is the date of the inputs: the latest of the dates they declare
  (``edited`` and each guide's ``date`` in guides.toml). No clock is read, nor git.

Why one module of ~430 lines: comparing releases and dating them read the same
release folders and must agree; the change set's file format is dipkg/core/changeset.py.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from dipkg.core.changeset import CHANGES_FILE, CHANGES_FORMAT, GONE_ALSO, KINDS
from dipkg.core.errors import StoreError
from dipkg.core.iris import DIP, PREFIXES, curie, document_order
from dipkg.core.release import CURRENT, DUMPS, MANIFEST, NT_DUMP, RELEASES
from dipkg.core.serialize import term_json

RDF_TYPE = PREFIXES["rdf"] + "type"
RDFS_LABEL = PREFIXES["rdfs"] + "label"

_OLD = ox.NamedNode("urn:dipkg:diff:old")
_NEW = ox.NamedNode("urn:dipkg:diff:new")


# --- releases ------------------------------------------------------------------------
def _named(release: dict[str, Any]) -> bool:
    """Whether a recorded release (a manifest's ``previous`` or ``earlier_releases`` item)
    has its build id."""
    return isinstance(release.get("build_id"), str)


@dataclass(frozen=True)
class ReleaseFolder:
    """One release folder (``DIR/releases/<build-id>``), read-only: its manifest and dumps."""

    root: Path
    build_id: str
    version: str | None = None
    modified: str | None = None
    issued: str | None = None
    release: int | None = None  # its number in the line of releases (None: not numbered)
    previous: dict[str, Any] | None = None  # how it names the release it follows
    changes_sha256: str | None = None  # its change set's digest, as its manifest records it
    release_id: str | None = None  # its name in IRIs, as its manifest records it
    earlier_build_ids: tuple[str, ...] | None = None  # of the releases before it, recorded
    base_iri: str | None = None  # the base its IRIs were minted under
    #: the releases before it in its line, oldest first, as its manifest records them (how
    #: a change set names a release, with its release_id); None: not recorded
    earlier_releases: tuple[dict[str, Any], ...] | None = None

    @classmethod
    def of(cls, root: Path, manifest: dict[str, Any]) -> ReleaseFolder:
        """Read leniently (any release, also one written by an older dipkg): a key of
        the wrong type counts as absent; only ``build_id`` is required."""

        def text(key: str) -> str | None:
            value = manifest.get(key)
            return value if isinstance(value, str) else None

        number = manifest.get("release")
        previous = manifest.get("previous")
        changes = manifest.get("changes")
        digest = changes.get("sha256") if isinstance(changes, dict) else None
        earlier = manifest.get("earlier_build_ids")
        releases = manifest.get("earlier_releases")
        return cls(
            root=root,
            build_id=str(manifest["build_id"]),
            version=text("version"),
            modified=text("modified"),
            issued=text("issued"),
            release=number if isinstance(number, int) and not isinstance(number, bool) else None,
            previous=previous if isinstance(previous, dict) else None,
            changes_sha256=digest if isinstance(digest, str) else None,
            release_id=text("release_id"),
            earlier_build_ids=(
                tuple(earlier)
                if isinstance(earlier, list) and all(isinstance(b, str) for b in earlier)
                else None
            ),
            base_iri=text("base_iri"),
            earlier_releases=(
                tuple(releases)
                if isinstance(releases, list)
                and all(isinstance(r, dict) and _named(r) for r in releases)
                else None
            ),
        )

    @property
    def nt(self) -> Path:
        return self.root / DUMPS / NT_DUMP

    def describe(self) -> dict[str, Any]:
        """How a change set names this release."""
        return {"build_id": self.build_id, "version": self.version, "modified": self.modified}

    @property
    def name(self) -> str:
        """Its name in IRIs: the recorded one, else its build id (a release built before
        dipkg named releases was named by its build id)."""
        return self.release_id or self.build_id

    def releases_before(self) -> tuple[dict[str, Any], ...]:
        """The releases before it in its line, oldest first, as far as they are known (an
        older release records none but the one it follows)."""
        known = self.earlier_releases
        if known is None:
            known = (self.previous,) if self.previous is not None else ()

        def text(release: dict[str, Any], key: str) -> str | None:
            value = release.get(key)
            return value if isinstance(value, str) else None

        return tuple(
            {
                "build_id": str(r["build_id"]),
                "version": text(r, "version"),
                "modified": text(r, "modified"),
                "release_id": text(r, "release_id") or str(r["build_id"]),
            }
            for r in known
            if _named(r)
        )

    def releases_to(self) -> tuple[dict[str, Any], ...]:
        """The releases of its line up to and including it, oldest first: what the release
        that follows it records as ``earlier_releases``."""
        return (*self.releases_before(), {**self.describe(), "release_id": self.name})

    def line(self) -> tuple[str, ...]:
        """The build ids of its line up to and including it, as far as they are known (an
        older release records none before it but the one it follows)."""
        earlier = set(self.earlier_build_ids or ())
        if self.earlier_build_ids is None and self.previous is not None:
            earlier.add(str(self.previous.get("build_id")))
        return tuple(sorted(earlier | {self.build_id}))


def read_release(root: Path) -> ReleaseFolder:
    """A release folder, or one clear :class:`StoreError` naming what is wrong."""
    root = Path(root)
    path = root / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StoreError(
            "not a release folder: its manifest.json is missing", file=str(path)
        ) from None
    except (OSError, ValueError) as exc:
        raise StoreError(f"the release's manifest is unreadable: {exc}", file=str(path)) from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("build_id"), str):
        raise StoreError("the release's manifest is malformed (no build_id)", file=str(path))
    if not (root / DUMPS / NT_DUMP).is_file():
        raise StoreError("the release has no N-Triples dump", file=str(root / DUMPS / NT_DUMP))
    return ReleaseFolder.of(root.resolve(), manifest)


def resolve(spec: str, data_dir: Path) -> ReleaseFolder:
    """``spec`` is a release folder, a build output folder (its ``current``), or a build id
    (or a unique prefix of one) under ``data_dir/releases``."""
    path = Path(spec)
    if (path / MANIFEST).is_file():
        return read_release(path)
    if (path / CURRENT).exists():
        return read_release((path / CURRENT).resolve())
    releases = Path(data_dir) / RELEASES
    if "/" not in spec and spec and releases.is_dir():
        names = sorted(p.name for p in releases.iterdir() if p.name.startswith(spec))
        ids = sorted({n.split(".")[0] for n in names})
        if len(ids) == 1:  # <id> and <id>.2 (a rebuild of the same data) are the same release
            current = (
                (Path(data_dir) / CURRENT).resolve().name
                if (Path(data_dir) / CURRENT).exists()
                else ""
            )
            name = current if current in names else max(names, key=lambda n: (len(n), n))
            return read_release(releases / name)
        if len(ids) > 1:
            raise StoreError(
                f"build id {spec!r} is ambiguous: {', '.join(ids)}", file=str(releases)
            )
    raise StoreError(
        f"no release {spec!r}: give a release folder, a build output folder or a build id in "
        f"{releases}",
        file=spec,
    )


def previous_release(out_dir: Path) -> ReleaseFolder | None:
    """The release ``out_dir/current`` points at (before a build switches it), if any and readable
    (a broken one is no previous release: the new build starts a new history)."""
    current = Path(out_dir) / CURRENT
    if not current.exists():
        return None
    try:
        return read_release(current.resolve())
    except StoreError:
        return None  # a broken current release: this build starts a new history


# --- the diff ------------------------------------------------------------------------
def _entities(store: ox.Store, graph: ox.NamedNode, cls: str) -> dict[str, dict[str, set[Any]]]:
    out: dict[str, dict[str, set[Any]]] = {}
    query = f"SELECT ?s ?p ?o WHERE {{ GRAPH <{graph.value}> {{ ?s a <{cls}> ; ?p ?o }} }}"
    for row in store.query(query):
        s, p, o = row[0], row[1], row[2]
        if isinstance(s, ox.NamedNode):
            out.setdefault(s.value, {}).setdefault(p.value, set()).add(o)
    return out


def _labels(pairs: dict[str, set[Any]]) -> dict[str, str]:
    labels = {}
    for lit in sorted(pairs.get(RDFS_LABEL, ()), key=str):
        if isinstance(lit, ox.Literal) and lit.language in ("zh", "en"):
            labels.setdefault(lit.language, lit.value)
    return dict(sorted(labels.items(), key=lambda kv: kv[0] != "zh"))


def _item(iri: str, pairs: dict[str, set[Any]]) -> dict[str, Any]:
    item: dict[str, Any] = {"iri": iri, "label": _labels(pairs)}
    scenario = sorted(
        o.value for o in pairs.get(DIP + "scenario", ()) if isinstance(o, ox.NamedNode)
    )
    if scenario:
        item["scenario"] = scenario[0]
    return item


def _changed(old: dict[str, set[Any]], new: dict[str, set[Any]]) -> list[dict[str, Any]]:
    out = []
    for p in sorted(set(old) | set(new)):
        removed, added = (
            old.get(p, set()) - new.get(p, set()),
            new.get(p, set()) - old.get(p, set()),
        )
        if removed or added:
            out.append(
                {
                    "property": p,
                    "removed": [term_json(t) for t in sorted(removed, key=str)],
                    "added": [term_json(t) for t in sorted(added, key=str)],
                }
            )
    return out


def _line_digests(path: Path) -> set[bytes]:
    with path.open("rb") as handle:
        return {
            hashlib.blake2b(line.rstrip(b"\r\n"), digest_size=12).digest()
            for line in handle
            if line.strip()
        }


def diff(
    old: ReleaseFolder,
    new: ReleaseFolder,
    *,
    new_meta: dict[str, Any] | None = None,
    gone_before: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The change set from ``old`` to ``new`` (see the module docstring); ``new_meta`` names
    the new release when it is not final yet (the build). With ``gone_before`` (what ``old``
    recorded as gone: the build) it also says what is gone after ``new`` (:func:`gone`)."""
    store = ox.Store()
    store.bulk_load(path=str(old.nt), format=ox.RdfFormat.N_TRIPLES, to_graph=_OLD)
    store.bulk_load(path=str(new.nt), format=ox.RdfFormat.N_TRIPLES, to_graph=_NEW)
    # triples: the dumps are written deterministically (one triple a line, blank nodes
    # labelled in order), so equal lines are equal triples
    old_lines, new_lines = _line_digests(old.nt), _line_digests(new.nt)
    out: dict[str, Any] = {
        "format": CHANGES_FORMAT,
        "old": old.describe(),
        "new": new_meta or new.describe(),
        "triples": {
            "old": len(old_lines),
            "new": len(new_lines),
            "added": len(new_lines - old_lines),
            "removed": len(old_lines - new_lines),
        },
        "summary": {},
    }
    for key, cls, _, _ in KINDS:
        before, after = _entities(store, _OLD, cls), _entities(store, _NEW, cls)
        added = [_item(i, after[i]) for i in sorted(set(after) - set(before), key=document_order)]
        removed = [
            _item(i, before[i]) for i in sorted(set(before) - set(after), key=document_order)
        ]
        changed = []
        for i in sorted(set(before) & set(after), key=document_order):
            if before[i] != after[i]:
                changed.append({**_item(i, after[i]), "changes": _changed(before[i], after[i])})
        out[key] = {"added": added, "removed": removed, "changed": changed}
        out["summary"][key] = {
            "added": len(added),
            "removed": len(removed),
            "changed": len(changed),
        }
    if gone_before is not None:
        out["gone"] = gone(gone_before, out, new_meta or out["new"], store)
    return out


def first_release(new_meta: dict[str, Any], triples: int) -> dict[str, Any]:
    """The change set of a release that follows no other."""
    return {
        "format": CHANGES_FORMAT,
        "old": None,
        "new": new_meta,
        "triples": {"old": 0, "new": triples, "added": triples, "removed": 0},
        "summary": {key: {"added": 0, "removed": 0, "changed": 0} for key, *_ in KINDS},
        **{key: {"added": [], "removed": [], "changed": []} for key, *_ in KINDS},
        "gone": [],
    }


def to_json(changes: dict[str, Any]) -> str:
    return json.dumps(changes, ensure_ascii=False, indent=2) + "\n"


# --- words ---------------------------------------------------------------------------
def summary_text(changes: dict[str, Any], lang: str) -> str:
    """One sentence: what changed (the catalogue's adms:versionNotes)."""
    new = changes["new"]
    old = changes.get("old")
    t = changes["triples"]
    if old is None:
        if lang == "zh":
            return f"首个发布版本（版本 {new.get('version')}）：{t['new']} 个三元组。"
        return f"First release (version {new.get('version')}): {t['new']} triples."
    parts = []
    for key, _, zh_name, en_name in KINDS:
        s = changes["summary"][key]
        if lang == "zh":
            parts.append(f"{zh_name}新增 {s['added']}、删除 {s['removed']}、修改 {s['changed']}")
        else:
            parts.append(
                f"{en_name}: {s['added']} added, {s['removed']} removed, {s['changed']} changed"
            )
    if lang == "zh":
        return (
            f"相对版本 {old.get('version')}（构建 {old['build_id']}）的变化："
            + "；".join(parts)
            + f"；三元组 {t['old']} → {t['new']}（新增 {t['added']}，删除 {t['removed']}）。"
        )
    return (
        f"Changes since version {old.get('version')} (build {old['build_id']}): "
        + "; ".join(parts)
        + f"; triples {t['old']} -> {t['new']} (+{t['added']} -{t['removed']})."
    )


def _curie(iri: str) -> str:
    return curie(iri, turtle=True) or f"<{iri}>"


def term_text(term: dict[str, str]) -> str:
    if term["type"] == "uri":
        return _curie(term["value"])
    if term["type"] == "bnode":
        return "_:" + term["value"]
    text = json.dumps(term["value"], ensure_ascii=False)
    if "xml:lang" in term:
        return f"{text}@{term['xml:lang']}"
    if "datatype" in term:
        return f"{text}^^{_curie(term['datatype'])}"
    return text


def _named(release: dict[str, Any] | None) -> str:
    if release is None:
        return "(no previous release)"
    bits = [release["build_id"]]
    if release.get("version"):
        bits.append(f"version {release['version']}")
    if release.get("modified"):
        bits.append(str(release["modified"]))
    return ", ".join(bits)


def render_text(changes: dict[str, Any]) -> str:
    """The change set for people on a terminal."""
    t = changes["triples"]
    lines = [
        f"{_named(changes.get('old'))} -> {_named(changes['new'])}",
        f"triples: {t['old']} -> {t['new']} (+{t['added']} -{t['removed']})",
    ]
    for key, *_ in KINDS:
        s = changes["summary"][key]
        lines.append(f"{key}: {s['added']} added, {s['removed']} removed, {s['changed']} changed")
        for mark, group in (("+", "added"), ("-", "removed"), ("~", "changed")):
            for item in changes[key][group]:
                label = " / ".join(item["label"].values())
                lines.append(f"  {mark} {item['iri']}  {label}".rstrip())
                for change in item.get("changes", []):
                    lines.append(f"      {_curie(change['property'])}")
                    lines.extend(f"        - {term_text(v)}" for v in change["removed"])
                    lines.extend(f"        + {term_text(v)}" for v in change["added"])
    return "\n".join(lines) + "\n"


# --- dates and versions --------------------------------------------------------------
def input_date(declared: Iterable[str | None]) -> str | None:
    """The date of the inputs: the latest of the dates they declare (``edited`` and each
    guide's ``date`` in guides.toml); None when none is declared (then no date is published).
    Only the inputs' own text counts, so a checkout, a copy and a wheel agree."""
    dates = [d for d in declared if d]
    return max(dates) if dates else None


@dataclass(frozen=True)
class History:
    release: int  # 1, 2, ...: this release's place in the folder's history
    version: str
    issued: str | None
    modified: str | None
    previous: dict[str, Any] | None  # how the change set names the release this one follows
    changes: dict[str, Any]
    release_id: str  # this release's name in IRIs (Manifest.release_id)
    earlier_build_ids: tuple[str, ...]  # of the releases before it in its line
    earlier_releases: tuple[dict[str, Any], ...]  # the releases before it, oldest first


def _recorded_changes(release: ReleaseFolder) -> dict[str, Any] | None:
    """The change set ``release``'s manifest records, if its file still has that digest
    (a damaged one, as a repair may find it, is none: its text may be anything, JSON
    nested past the parser's stack included)."""
    try:
        raw = (release.root / CHANGES_FILE).read_bytes()
    except OSError:
        return None
    if hashlib.sha256(raw).hexdigest() != release.changes_sha256:
        return None
    try:
        found = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return found if isinstance(found, dict) else None


def _gone_also(store: ox.Store, taken: set[str]) -> list[dict[str, Any]]:
    """The resources of the kinds :data:`GONE_ALSO` names that the old release has and the
    new one does not describe at all (none of ``taken``: the change set's own)."""
    out: list[dict[str, Any]] = []
    for key, cls in GONE_ALSO:
        query = (
            f"SELECT ?s ?l WHERE {{ GRAPH <{_OLD.value}> {{ ?s a <{cls}> "
            f"OPTIONAL {{ ?s <{RDFS_LABEL}> ?l }} }} "
            f"FILTER NOT EXISTS {{ GRAPH <{_NEW.value}> {{ ?s ?p ?o }} }} }}"
        )
        found: dict[str, dict[str, set[Any]]] = {}
        for row in store.query(query):
            s, label = row[0], row[1]
            if isinstance(s, ox.NamedNode) and s.value not in taken:
                found.setdefault(s.value, {}).setdefault(RDFS_LABEL, set())
                if label is not None:
                    found[s.value][RDFS_LABEL].add(label)
        for iri in sorted(found, key=document_order):
            taken.add(iri)
            out.append({"iri": iri, "label": _labels(found[iri]), "kind": key})
    return out


def gone(
    earlier: list[dict[str, Any]], changes: dict[str, Any], meta: dict[str, Any], store: ox.Store
) -> list[dict[str, Any]]:
    """What the releases of a line published and the new one does not: the ``earlier``
    release's list (``changes.json`` ``gone``) without what the new release has again, and
    what it removes (the scenarios, categories and fields of the change set, and the domains,
    guides, schemes and concepts of :data:`GONE_ALSO`: ``store`` holds both dumps), each
    marked with the release that removed it (``meta``: its build id, version and date). In
    document order by IRI: the new release answers 410 for each (sparql_api/pages/site.py),
    so an IRI once published never just stops answering."""
    out = {
        item["iri"]: item
        for item in earlier
        if _carried(item) and not _described(store, item["iri"])
    }
    removed = [{**item, "kind": key} for key, *_ in KINDS for item in changes[key]["removed"]]
    removed += _gone_also(store, {item["iri"] for item in removed})
    for item in removed:
        # (one the change set removes as a category may be published still, as a field)
        if not _described(store, item["iri"]):
            out[item["iri"]] = {**item, "removed_in": dict(meta)}
    return [out[iri] for iri in sorted(out, key=document_order)]


def _carried(item: object) -> bool:
    """Whether an item of an earlier release's ``gone`` list is one the server reads (what
    :meth:`dipkg.core.release.Release.gone` checks) with an IRI: else it is dropped, not
    carried into a release the server would refuse, nor the cause of a new history."""
    if not (
        isinstance(item, dict)
        and isinstance(item.get("iri"), str)
        and isinstance(item.get("removed_in"), dict)
        and isinstance(item.get("label"), dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in item["label"].items())
    ):
        return False
    try:
        ox.NamedNode(item["iri"])
    except ValueError:
        return False
    return True


def _described(store: ox.Store, iri: str) -> bool:
    """Whether the new release (``store``'s graph of it) has a statement about ``iri``."""
    return next(store.quads_for_pattern(ox.NamedNode(iri), None, None, _NEW), None) is not None


def history(
    previous: ReleaseFolder | None,
    build_id: str,
    nt: Path,
    *,
    date: str | None,
    version: str = "",
    issued: str = "",
    modified: str = "",
) -> History:
    """The version, dates and change set of a new release whose N-Triples dump is ``nt``.

    ``version``, ``issued``, ``modified``: the settings (``""`` = derive them). The
    release date is ``modified`` or else ``date`` (the inputs' date); ``issued`` is
    the first release's date, carried from release to release.
    """
    if previous is not None and previous.build_id == build_id and previous.release is not None:
        # the same data again: the same version, dates and change set (only the very one
        # its manifest records: a damaged one is made again below)
        inherited = _recorded_changes(previous)
        if inherited is not None:
            return History(
                release=previous.release,
                version=version or str(previous.version),
                issued=issued or previous.issued,
                modified=modified or previous.modified,
                previous=previous.previous,
                changes=inherited,
                release_id=previous.name,
                earlier_build_ids=tuple(b for b in previous.line() if b != build_id)
                if previous.earlier_build_ids is None
                else previous.earlier_build_ids,
                earlier_releases=previous.releases_before(),
            )
    number = previous.release + 1 if previous is not None and previous.release is not None else 1
    this_modified = modified or date
    this_version = version or str(number)
    meta = {"build_id": build_id, "version": this_version, "modified": this_modified}
    # the build ids the folder's releases had, kept when the history starts anew below: a
    # restarted line's release is still not named as an earlier one was
    earlier = previous.line() if previous is not None else ()
    changes = None
    if previous is not None:
        try:
            recorded = _recorded_changes(previous)
            was_gone = recorded.get("gone") if recorded is not None else None
            changes = diff(
                previous,
                ReleaseFolder(nt.parent.parent, build_id),
                new_meta=meta,
                gone_before=was_gone if isinstance(was_gone, list) else [],
            )
        except (SyntaxError, OSError, ValueError):
            # a current release whose dump cannot be read: this build starts a new history
            previous, number = None, 1
            this_version = version or "1"
            meta["version"] = this_version
    if changes is None:
        changes = first_release(meta, len(_line_digests(nt)))
    this_issued = (
        issued
        or (previous.issued if previous is not None and previous.release else None)
        or this_modified
    )
    # a release's name in IRIs is its build id, unless the data went back to what an
    # earlier release of the line had: then that name is taken, and its number tells them
    # apart (the next release's record names this one dcat:previousVersion)
    return History(
        release=number,
        version=this_version,
        issued=this_issued,
        modified=this_modified,
        previous=(
            {**previous.describe(), "release_id": previous.name} if previous is not None else None
        ),
        changes=changes,
        release_id=f"{build_id}-{number}" if build_id in earlier else build_id,
        earlier_build_ids=earlier,
        earlier_releases=previous.releases_to() if previous is not None else (),
    )
