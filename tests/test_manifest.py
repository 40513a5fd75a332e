"""The release's manifest as a typed model (dipkg/core/manifest.py): it reads back what
the build wrote, byte for byte, and each malformed manifest gets one StoreError naming
the file and the bad key (a known-bad example per rule), also through read_release."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dipkg import __version__
from dipkg.core.errors import StoreError
from dipkg.core.manifest import Manifest
from dipkg.core.release import MANIFEST, read_release


@pytest.fixture(scope="module")
def written(build_result) -> tuple[Path, str]:
    path = build_result.release / MANIFEST
    return path, path.read_text(encoding="utf-8")


def test_to_json_gives_back_the_bytes_the_build_wrote(written) -> None:
    path, text = written
    manifest = Manifest.from_json(json.loads(text), file=str(path))
    again = json.dumps(manifest.to_json(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    assert again == text
    # the typed reads agree with the JSON
    raw = json.loads(text)
    assert manifest.counts.triples == raw["counts"]["triples"] > 0
    assert [d.file for d in manifest.dumps] == [d["file"] for d in raw["dumps"]]
    assert manifest.dump("dipkg.nt") is not None and manifest.dump("nothing") is None
    assert all(not d.is_source for d in manifest.dataset_dumps)
    assert [d.guide for d in manifest.source_dumps] == ["guizhou-b1"]
    # a table states rows even when it has none to count ("rows": null stays)
    xlsx = next(d for d in raw["dumps"] if d["format"] == "XLSX" and "rows" in d)
    assert Manifest.from_json(raw).dump(xlsx["file"]).to_json() == xlsx


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set (or with value ``...``, delete) the key at a dotted path like ``dumps.0.bytes``."""

    def change(m: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = m
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        key: Any = int(last) if last.isdigit() else last
        if value is ...:
            del target[key]
        else:
            target[key] = value

    return change


# (how the manifest is broken; the message; the key named)
BAD: dict[str, tuple[Callable[[dict[str, Any]], Any], str, str | None]] = {
    "a list, not an object": (lambda m: [1, 2], "has an unknown format", None),
    "another format": (_set("format", 99), "has an unknown format", None),
    "an older format (a release from before site/)": (
        _set("format", 1),
        f"has format 1 (dipkg {__version__}); this dipkg reads format 2: rebuild it with "
        "`dipkg build`",
        "format",
    ),
    "no format": (_set("format", ...), "has an unknown format", None),
    "no build_id": (_set("build_id", ...), "lacks 'build_id'", "build_id"),
    "no base_iri": (_set("base_iri", ...), "lacks 'base_iri'", "base_iri"),
    "no counts": (_set("counts", ...), "lacks 'counts'", "counts"),
    "no dumps": (_set("dumps", ...), "lacks 'dumps'", "dumps"),
    "no search": (_set("search", ...), "lacks 'search'", "search"),
    "no site": (_set("site", ...), "lacks 'site'", "site"),
    "a site file outside the release": (
        _set("site.queries.file", "../../etc/passwd"),
        "'site.queries.file' must be a path inside the release",
        "site.queries.file",
    ),
    "an absolute site file": (
        _set("site.ontology.2.file", "/etc/passwd"),
        "'site.ontology[2].file' must be a path inside the release",
        "site.ontology[2].file",
    ),
    "the licence without an IRI": (
        _set("site.license.iri", ...),
        "'site.license.iri' must be there",
        "site.license.iri",
    ),
    "no site.heading": (_set("site.heading", ...), "'site.heading' must be there", "site.heading"),
    "the landing heading without a title": (
        _set("site.heading.title_en", ...),
        "'site.heading.title_en' must be there",
        "site.heading.title_en",
    ),
    "build_id a number": (_set("build_id", 5), "'build_id' must be a non-empty string", "build_id"),
    "build_id empty": (_set("build_id", ""), "'build_id' must be a non-empty string", "build_id"),
    "counts a list": (_set("counts", []), "'counts' must be an object", "counts"),
    "counts.triples a string": (
        _set("counts.triples", "12"),
        "'counts.triples' must be an integer",
        "counts.triples",
    ),
    "counts.triples true": (
        _set("counts.triples", True),
        "'counts.triples' must be an integer",
        "counts.triples",
    ),
    "counts without fields": (_set("counts.fields", ...), "'counts.fields' must be there", None),
    "dumps a string": (_set("dumps", "dipkg.ttl"), "'dumps' must be a list", "dumps"),
    "a dump not an object": (_set("dumps.3", "dipkg.ttl"), "'dumps[3]' must be an object", None),
    "a dump without format": (
        _set("dumps.0.format", ...),
        "'dumps[0].format' must be there",
        "dumps[0].format",
    ),
    "a dump's bytes a string": (
        _set("dumps.2.bytes", "9"),
        "'dumps[2].bytes' must be an integer",
        "dumps[2].bytes",
    ),
    "a dump's encoding a number": (
        _set("dumps.1.encoding", 1),
        "'dumps[1].encoding' must be a string or null",
        "dumps[1].encoding",
    ),
    "a dump's rows a string": (
        _set("dumps.6.rows", "3"),
        "'dumps[6].rows' must be an integer or null",
        "dumps[6].rows",
    ),
    "previous a list": (_set("previous", []), "'previous' must be an object or null", "previous"),
    "modified a number": (_set("modified", 2026), "'modified' must be a string or null", None),
    "a source not a string": (_set("sources.0", 1), "'sources[0]' must be a string", None),
    "a correction's fired a string": (
        _set("corrections.0.fired", "1"),
        "'corrections[0].fired' must be an integer",
        None,
    ),
    "the changes' summary not an object": (
        _set("changes.summary.scenarios", 0),
        "'changes.summary.scenarios' must be an object",
        None,
    ),
    "publication placeholders a string": (
        _set("publication.placeholders", "publisher"),
        "'publication.placeholders' must be a list",
        None,
    ),
    "the catalog graph empty": (
        _set("catalog.graph", ""),
        "'catalog.graph' must be a non-empty string",
        None,
    ),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_a_malformed_manifest_is_one_error_naming_the_file_and_key(written, case) -> None:
    path, text = written
    how, message, key = BAD[case]
    broken = json.loads(text)
    replaced = how(broken)
    if replaced is not None:
        broken = replaced
    with pytest.raises(StoreError) as caught:
        Manifest.from_json(broken, file=str(path))
    assert message in caught.value.message
    assert caught.value.file == str(path)
    assert caught.value.message.startswith("the build's manifest ")
    if key is not None:
        assert caught.value.details["key"] == key
    # the good manifest passes the same reader (the check above can fail)
    Manifest.from_json(json.loads(text), file=str(path))


def test_read_release_names_the_manifest_and_the_key(build_result, tmp_path) -> None:
    root = tmp_path / "release"
    for folder in ("dumps", "site", "ontology"):
        shutil.copytree(build_result.release / folder, root / folder)
    (root / "store").mkdir()
    good = json.loads((build_result.release / MANIFEST).read_text(encoding="utf-8"))
    (root / MANIFEST).write_text(json.dumps(good), encoding="utf-8")
    assert read_release(root).build_id == good["build_id"]  # the known-good copy reads
    bad = copy.deepcopy(good)
    bad["dumps"][4]["sha256"] = None
    (root / MANIFEST).write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(StoreError) as caught:
        read_release(root)
    assert caught.value.file == str(root / MANIFEST)
    assert caught.value.message == (
        "the build's manifest is malformed: 'dumps[4].sha256' must be a string"
    )
    # a file of the pages (schema.org, questions, ontology) missing from the release
    (root / MANIFEST).write_text(json.dumps(good), encoding="utf-8")
    (root / "site" / "schema-org.jsonld").unlink()
    with pytest.raises(StoreError) as caught:
        read_release(root)
    assert caught.value.message == "a file the manifest lists is missing"
    assert caught.value.file == str(root / "site" / "schema-org.jsonld")


def test_release_reads_what_the_pages_show_and_checks_it(build_result, tmp_path) -> None:
    root = tmp_path / "release"
    for folder in ("dumps", "site", "ontology"):
        shutil.copytree(build_result.release / folder, root / folder)
    (root / "store").mkdir()
    shutil.copy(build_result.release / MANIFEST, root / MANIFEST)
    release = read_release(root)
    assert release.schema_org()["@type"] == "Dataset"
    assert release.queries()[0].titles["zh"] and release.queries()[0].query
    assert "@vocab" in release.context() or "dip" in release.context()
    assert (release.ontology_dir / "dipkg.ttl").is_file()
    assert release.license == build_result.manifest.site.license
    # known-bad: a file changed after the build no longer matches its SHA-256
    (root / "site" / "queries.json").write_text("[]\n", encoding="utf-8")
    with pytest.raises(StoreError) as caught:
        read_release(root).queries()
    assert caught.value.message == (
        "a file of the release does not match its SHA-256 in the manifest"
    )
    assert caught.value.file == str(root / "site" / "queries.json")
