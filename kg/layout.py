"""The layout of a build output folder (``dipkg build --out DIR``).

::

    DIR/current -> releases/<build-id>     switched atomically (symlink rename)
    DIR/releases/<build-id>/
        manifest.json                      counts, checksums, corrections fired
        store/                             Oxigraph on-disk store (RocksDB)
        dumps/                             dipkg.ttl, dipkg.jsonld, dipkg.nt, each also .gz,
                                           SHA256SUMS

A release folder is complete before ``current`` points at it; a build that
fails or is killed leaves ``current`` (and what it points at) untouched. The
web app and ``dipkg query`` read only through :func:`open_release`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kg.errors import StoreError

CURRENT = "current"
RELEASES = "releases"
MANIFEST = "manifest.json"
STORE = "store"
DUMPS = "dumps"
MANIFEST_FORMAT = 1


@dataclass(frozen=True)
class Release:
    root: Path
    manifest: dict[str, Any]

    @property
    def store_dir(self) -> Path:
        return self.root / STORE

    @property
    def dumps_dir(self) -> Path:
        return self.root / DUMPS

    @property
    def build_id(self) -> str:
        return self.manifest["build_id"]

    @property
    def base_iri(self) -> str:
        return self.manifest["base_iri"]


def open_release(data_dir: Path, *, need_store: bool = True) -> Release:
    """The current release of ``data_dir``, or a clear :class:`StoreError`.

    ``need_store=False`` (a server answering from a remote SPARQL backend) does
    not ask for the local store folder; the manifest and dumps are still checked.
    """
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
    root = current.resolve()
    manifest_path = root / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StoreError("the build's manifest is missing", file=str(manifest_path)) from None
    except (OSError, ValueError) as exc:
        raise StoreError(f"the build's manifest is unreadable: {exc}", file=str(manifest_path)) from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise StoreError("the build's manifest has an unknown format", file=str(manifest_path))
    for key in ("build_id", "base_iri", "counts", "dumps"):
        if key not in manifest:
            raise StoreError(f"the build's manifest lacks {key!r}", file=str(manifest_path))
    dumps = manifest["dumps"]
    if not (isinstance(manifest["build_id"], str) and manifest["build_id"]
            and isinstance(manifest["base_iri"], str) and isinstance(manifest["counts"], dict)
            and isinstance(dumps, list)
            and all(isinstance(d, dict) and isinstance(d.get("file"), str) and isinstance(d.get("format"), str)
                    for d in dumps)):
        raise StoreError("the build's manifest is malformed (build_id, base_iri, counts or dumps)",
                         file=str(manifest_path))
    if need_store and not (root / STORE).is_dir():
        raise StoreError("the build's store folder is missing", file=str(root / STORE))
    for entry in dumps:  # the catalogue and /dumps/ promise these exact files
        path = root / DUMPS / str(entry["file"])
        try:
            size = path.stat().st_size
        except OSError:
            raise StoreError("a dump the manifest lists is missing", file=str(path)) from None
        if "bytes" in entry and size != entry["bytes"]:
            raise StoreError(f"a dump has {size} bytes, the manifest says {entry['bytes']}", file=str(path))
    return Release(root=root, manifest=manifest)
