"""Versions people can compare: two real builds into one folder, the second from changed inputs.

The change set (kg/changes.py) is held to a golden file written by reading the edits
below (tests/golden/changes.json); the release's version, dates and catalogue links
follow it; rebuilding the same inputs gives the same bytes; ``dipkg diff`` prints it.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import rdflib
from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS, XSD

from dipkg.core.errors import ConfigError, StoreError
from dipkg.core.iris import Minter
from dipkg.core.manifest import KindChanges
from dipkg.core.settings import Settings
from kg import changes
from kg.build import BuildResult, build
from kg.guide import load_inputs
from kg.paths import INPUTS_DIR
from tests.conftest import cli_env

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "changes.json"
SOURCE = "sources/guizhou-dip-scenarios-batch1.txt"
DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")
ADMS = rdflib.Namespace("http://www.w3.org/ns/adms#")

# The edits of the second release, each a (before, after) of the source document.
EDITS = (
    ("\t生产工艺优化\n", "\t生产工艺智能优化\n"),  # scenario 1 renamed
    (
        "电力消耗、燃料消耗数据）",
        "电力消耗、燃料消耗、蒸汽消耗数据）",
    ),  # a field added to 1's category 4
    ("分子比、氧化铝浓度数据）", "分子比数据）"),  # the last field of 1's category 1 removed
)


#: A concept the vocabulary drops (with its mapping row) once its one field is removed: the
#: edits of a release that removes a resource the change set does not compare
DROP_CONCEPT = (
    ("vocabulary/concepts.tsv", "alumina-concentration\t氧化铝浓度\tAlumina concentration\t"),
    ("vocabulary/mapping.tsv", "氧化铝浓度\talumina-concentration\t"),
)


def _inputs(
    target: Path,
    date: str,
    edits: tuple[tuple[str, str], ...] = (),
    drop_lines: tuple[tuple[str, str], ...] = (),
) -> Path:
    """A copy of the build's inputs dated ``date``, the source edited by ``edits`` and the
    one line of each (file, start) of ``drop_lines`` removed."""
    shutil.copytree(INPUTS_DIR, target)
    for name, start in drop_lines:
        path = target / name
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [line for line in lines if not line.startswith(start)]
        assert len(kept) == len(lines) - 1, (name, start)
        path.write_text("".join(kept), encoding="utf-8")
    source = target / SOURCE
    text = source.read_text(encoding="utf-8")
    for before, after in edits:
        assert text.count(before) == 1, before
        text = text.replace(before, after)
    source.write_text(text, encoding="utf-8")
    guides = target / "guides.toml"
    text = guides.read_text(encoding="utf-8").replace('date = ""', f'date = "{date}"')
    text = re.sub(r'(?m)^edited = ".*"$', 'edited = ""', text)  # the guide's date alone dates these
    guides.write_text(text, encoding="utf-8")
    if edits:  # the long texts' Chinese follows the source (their English reads the same)
        long = target / "long-translations.tsv"
        table = long.read_text(encoding="utf-8")
        for before, after in edits:
            table = table.replace(before, after)
        long.write_text(table, encoding="utf-8")
        with (target / "translations.tsv").open("a", encoding="utf-8") as out:
            out.write("生产工艺智能优化\tIntelligent production process optimisation\n")
    return target


def _kept(result: BuildResult, folder: Path) -> BuildResult:
    """A copy of a release (without its store) that outlives the build folder's pruning."""
    shutil.copytree(
        result.release, folder / result.release.name, ignore=shutil.ignore_patterns("store")
    )
    return BuildResult(
        manifest=result.manifest, release=folder / result.release.name, seconds=result.seconds
    )


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """One folder, three builds: the inputs of 2026-11-24, the edited inputs of 2026-11-30, and
    the edited inputs again."""
    tmp = tmp_path_factory.mktemp("changes")
    first_inputs = _inputs(tmp / "in1", "2026-11-24")
    second_inputs = _inputs(tmp / "in2", "2026-11-30", EDITS)
    out = tmp / "data"
    first = _kept(build(out, Settings(inputs_dir=first_inputs)), tmp / "kept")
    second = build(out, Settings(inputs_dir=second_inputs))
    again = build(out, Settings(inputs_dir=second_inputs))  # the build folder keeps two releases
    return {"out": out, "first": first, "second": second, "again": again, "inputs": second_inputs}


def _record(result: BuildResult) -> rdflib.Graph:
    graph = rdflib.Graph()
    graph.parse(result.release / "catalog.ttl", format="turtle")
    return graph


def test_the_first_release_follows_none(history) -> None:
    first: BuildResult = history["first"]
    m = first.manifest
    assert (m.release, m.version, m.issued, m.modified, m.previous) == (
        1,
        "1",
        "2026-11-24",
        "2026-11-24",
        None,
    )
    data = json.loads((first.release / "changes.json").read_text(encoding="utf-8"))
    assert data["old"] is None and data["new"] == {
        "build_id": m.build_id,
        "version": "1",
        "modified": "2026-11-24",
    }
    assert data["triples"]["new"] == m.counts.triples
    assert all(
        data[k] == {"added": [], "removed": [], "changed": []}
        for k in ("scenarios", "categories", "fields")
    )


def test_the_change_set_is_the_golden_one(history) -> None:
    """Golden file written by reading EDITS: scenario 1 renamed (its label and its verbatim
    涉及数据 text
    change), 蒸汽消耗 added as 1/4.3, 氧化铝浓度 (1/1.6) removed, and the two categories whose
    dip:hasField links changed."""
    first, second = history["first"], history["second"]
    data = json.loads((second.release / "changes.json").read_text(encoding="utf-8"))
    assert data["old"] == {
        "build_id": first.manifest.build_id,
        "version": "1",
        "modified": "2026-11-24",
    }
    assert data["new"] == {
        "build_id": second.manifest.build_id,
        "version": "2",
        "modified": "2026-11-30",
    }
    assert data["triples"]["old"] == first.manifest.counts.triples
    assert data["triples"]["new"] == second.manifest.counts.triples
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    got = {k: v for k, v in data.items() if k not in ("old", "new", "gone")}
    got["triples"] = {k: data["triples"][k] for k in ("added", "removed")}
    assert got == golden


def _gone(result: BuildResult) -> list[dict[str, object]]:
    return json.loads((result.release / "changes.json").read_text(encoding="utf-8"))["gone"]


def test_what_a_release_removes_stays_gone(history) -> None:
    """The field the second release removed is in its list of what is gone, as the change
    set names it, with the release that removed it; the same data built again keeps the
    list; the first release has none."""
    second, again = history["second"], history["again"]
    data = json.loads((second.release / "changes.json").read_text(encoding="utf-8"))
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert data["gone"] == [
        {**item, "kind": "fields", "removed_in": data["new"]}
        for item in golden["fields"]["removed"]
    ]
    assert data["gone"][0]["removed_in"]["version"] == "2"
    assert _gone(again) == data["gone"]
    assert _gone(history["first"]) == []


def test_the_manifest_records_version_dates_and_changes(history) -> None:
    first, second = history["first"], history["second"]
    m = second.manifest
    assert (m.release, m.version, m.issued, m.modified) == (
        2,
        "2",
        "2026-11-24",
        "2026-11-30",
    )
    assert m.previous is not None and m.previous.to_json() == {
        "build_id": first.manifest.build_id,
        "version": "1",
        "modified": "2026-11-24",
        "release_id": first.manifest.build_id,  # its name in IRIs: the build id, unique
    }
    assert (m.release_id, m.earlier_build_ids) == (m.build_id, (first.manifest.build_id,))
    assert m.changes.file == "changes.json"
    assert m.changes.summary["fields"] == KindChanges(added=1, removed=1, changed=0)
    assert (
        m.changes.sha256
        == __import__("hashlib").sha256((second.release / "changes.json").read_bytes()).hexdigest()
    )


def test_rebuilding_the_same_inputs_is_the_same_release(history) -> None:
    second, again = history["second"], history["again"]
    assert second.release != again.release
    for name in (
        "manifest.json",
        "changes.json",
        "catalog.ttl",
        "dumps/dipkg.nt",
        "dumps/SHA256SUMS",
    ):
        assert (second.release / name).read_bytes() == (again.release / name).read_bytes(), name


def test_same_inputs_in_a_fresh_folder_give_the_same_first_release(history, tmp_path: Path) -> None:
    fresh = build(tmp_path / "data", Settings(inputs_dir=history["inputs"]))
    assert fresh.manifest.release == 1 and fresh.manifest.previous is None
    assert fresh.manifest.build_id == history["second"].manifest.build_id
    again = build(tmp_path / "data2", Settings(inputs_dir=history["inputs"]))
    for name in ("manifest.json", "changes.json", "catalog.ttl"):
        assert (fresh.release / name).read_bytes() == (again.release / name).read_bytes(), name


def test_the_catalogue_links_the_versions(history) -> None:
    first, second = history["first"], history["second"]
    minter = Minter(second.manifest.base_iri)
    record = _record(second)
    dataset = URIRef(minter.dataset())
    previous = URIRef(minter.resource(f"release/{first.manifest.build_id}"))
    assert record.value(dataset, DCAT.version) == Literal("2")
    assert record.value(dataset, DCAT.previousVersion) == previous
    assert record.value(previous, DCAT.version) == Literal("1")
    assert record.value(previous, DCTERMS.modified) == Literal("2026-11-24", datatype=XSD.date)
    assert (previous, rdflib.RDF.type, DCAT.Dataset) not in record  # a harvester must not list it
    assert record.value(dataset, DCTERMS.issued) == Literal("2026-11-24", datatype=XSD.date)
    assert record.value(dataset, DCTERMS.modified) == Literal("2026-11-30", datatype=XSD.date)
    notes = {n.language: str(n) for n in record.objects(dataset, ADMS.versionNotes)}
    assert notes["en"].startswith("Changes since version 1 (build ")
    assert (
        "fields: 1 added, 1 removed, 0 changed" in notes["en"]
        and "数据项新增 1、删除 1、修改 0" in notes["zh"]
    )
    assert notes["en"].endswith(minter.resource("changes"))
    guide = URIRef(minter.guide("guizhou-b1"))
    assert record.value(guide, DCTERMS.issued) == Literal("2026-11-30", datatype=XSD.date)
    # the first release has no previous version and says so
    first_record = _record(first)
    assert first_record.value(dataset, DCAT.previousVersion) is None
    assert (
        "First release"
        in {
            str(n) for n in first_record.objects(dataset, ADMS.versionNotes) if n.language == "en"
        }.pop()
    )


def test_data_that_goes_back_names_a_new_release(history, tmp_path: Path) -> None:
    """A, B, A again, B again (a batch published, withdrawn, published again): the third
    release has the first one's data and build id, but is another release. Each record
    names the release it follows by a name no other release of the line had, so an IRI
    never means "version 1" in one record and "version 3" in the next. Known-bad: naming
    by build id alone, release/{A} was both."""
    a_inputs = _inputs(tmp_path / "a", "2026-11-24")
    b_inputs = history["inputs"]
    out = tmp_path / "data"
    made = [
        _kept(build(out, Settings(inputs_dir=i)), tmp_path / "kept")
        for i in (a_inputs, b_inputs, a_inputs, b_inputs)
    ]
    m = [r.manifest for r in made]
    a, b = m[0].build_id, m[1].build_id
    assert [x.build_id for x in m] == [a, b, a, b] and [x.release for x in m] == [1, 2, 3, 4]
    assert [x.release_id for x in m] == [a, b, f"{a}-3", f"{b}-4"]
    assert m[3].earlier_build_ids == tuple(sorted({a, b}))
    minter = Minter(m[0].base_iri)
    named = []  # (the IRI each record names as its previous version, the version it says)
    for r in made[1:]:
        record = _record(r)
        previous = record.value(URIRef(minter.dataset()), DCAT.previousVersion)
        named.append((str(previous), str(record.value(previous, DCAT.version))))
    assert named == [
        (minter.resource(f"release/{a}"), "1"),
        (minter.resource(f"release/{b}"), "2"),
        (minter.resource(f"release/{a}-3"), "3"),
    ]
    # the last record still names every release before it, each with the one it followed:
    # an IRI a record named keeps dereferencing (known-bad: only the last one was named)
    record, chain = _record(made[3]), []
    release = record.value(URIRef(minter.dataset()), DCAT.previousVersion)
    while release is not None:
        chain.append((str(release), str(record.value(release, DCAT.version))))
        assert (release, rdflib.RDF.type, DCAT.Dataset) not in record
        release = record.value(release, DCAT.previousVersion)
    assert chain == named[::-1]
    assert [e.name for e in m[3].earlier_releases or ()] == [a, b, f"{a}-3"]
    # what is gone follows the data: B removes 1.6 and adds 4.3; A again brings 1.6 back and
    # drops 4.3; B again the reverse (known-bad: a list that only grows)
    field = "https://w3id.org/dipkg/scenario/guizhou-b1-s01/data/"
    gone = [
        [(g["iri"].removeprefix(field), g["removed_in"]["version"]) for g in _gone(r)] for r in made
    ]
    assert gone == [[], [("1.6", "2")], [("4.3", "3")], [("1.6", "4")]]
    again = build(out, Settings(inputs_dir=b_inputs))  # the same data again: the same release
    assert again.manifest.release_id == f"{b}-4" and again.manifest.release == 4
    for name in ("manifest.json", "catalog.ttl"):
        assert (again.release / name).read_bytes() == (made[3].release / name).read_bytes()


def test_a_line_started_anew_still_names_no_release_twice(history, tmp_path: Path) -> None:
    """A, then B whose dump is then damaged, then A again: the history starts anew (release
    1, following none), but the folder's releases had A's build id: the new one is named
    apart from it."""
    out = tmp_path / "data"
    a = build(out, Settings(inputs_dir=_inputs(tmp_path / "a", "2026-11-24")))
    b = build(out, Settings(inputs_dir=history["inputs"]))
    nt = b.release / "dumps" / "dipkg.nt"
    nt.write_bytes(nt.read_bytes()[:5000] + b"<broken")
    again = build(out, Settings(inputs_dir=tmp_path / "a"))
    m = again.manifest
    assert (m.build_id, m.release, m.previous) == (a.manifest.build_id, 1, None)
    assert m.release_id == f"{a.manifest.build_id}-1"


def test_a_release_that_names_no_releases_is_named_by_its_build_id(tmp_path: Path) -> None:
    """A release built before dipkg named releases records neither its name nor the line
    before it: it is named by its build id, and the one it follows is still known."""
    old = changes.ReleaseFolder.of(
        tmp_path, {"build_id": "b2", "release": 2, "previous": {"build_id": "b1"}}
    )
    assert old.name == "b2" and old.line() == ("b1", "b2")
    recorded = changes.ReleaseFolder.of(
        tmp_path,
        {"build_id": "b3", "release_id": "b3-3", "earlier_build_ids": ["b1", "b2"]},
    )
    assert recorded.name == "b3-3" and recorded.line() == ("b1", "b2", "b3")
    # nor the releases before it: the one it follows is all the next release can name
    assert old.releases_to() == (
        {"build_id": "b1", "version": None, "modified": None, "release_id": "b1"},
        {"build_id": "b2", "version": None, "modified": None, "release_id": "b2"},
    )


def test_the_versioned_record_passes_dcat_ap(history) -> None:
    from tests.catalog.dcatap import SHAPES_DIR, load_shapes, validate

    if not SHAPES_DIR.is_dir():
        pytest.skip(f"the DCAT-AP 3.0.1 SHACL shapes are not there ({SHAPES_DIR})")
    results = validate(_record(history["second"]), load_shapes())
    assert [str(r) for r in results if r.severity == "Violation"] == []
    previous = Minter(history["second"].manifest.base_iri).resource(
        f"release/{history['first'].manifest.build_id}"
    )
    assert not [r for r in results if r.focus == previous]


def test_settings_override_only_when_set(history, tmp_path: Path) -> None:
    settings = Settings(
        inputs_dir=history["inputs"],
        catalog={"version": "3.1", "modified": "2027-01-02", "issued": "2025-05-05"},
    )
    result = build(tmp_path / "data", settings)
    assert (result.manifest.version, result.manifest.modified, result.manifest.issued) == (
        "3.1",
        "2027-01-02",
        "2025-05-05",
    )


def test_input_date_is_the_latest_declared() -> None:
    assert changes.input_date(["2026-01-02", None, "2025-12-31"]) == "2026-01-02"
    assert changes.input_date([None, None]) is None  # nothing declared: no date


def test_edited_is_not_older_than_the_last_commit_of_the_inputs() -> None:
    """guides.toml's ``edited`` dates the release; a commit to the inputs or the ontology
    after it means somebody forgot to bump it."""
    from kg.guide import load_inputs
    from kg.paths import INPUTS_DIR, ONTOLOGY_DIR

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    done = subprocess.run(
        ["git", "log", "-1", "--format=%cs", "--", str(INPUTS_DIR), str(ONTOLOGY_DIR)],
        capture_output=True,
        text=True,
        cwd=INPUTS_DIR,
        env={**cli_env(), "TZ": "UTC"},
    )
    if done.returncode != 0 or not done.stdout.strip():
        pytest.skip("the inputs are not in a git work tree")
    last = done.stdout.strip()
    edited = load_inputs(INPUTS_DIR).edited
    assert edited is not None and edited >= last, (
        f"build/guides.toml says edited = {edited!r}, but the inputs were committed on {last}: "
        f'write edited = "{last}" there'
    )


def test_a_bad_guide_date_names_the_file(tmp_path: Path) -> None:
    inputs = _inputs(tmp_path / "in", "30/11/2026")
    with pytest.raises(ConfigError) as info:
        load_inputs(inputs)
    assert "guides.toml" in str(info.value) and "YYYY-MM-DD" in str(info.value)
    good = _inputs(tmp_path / "in2", "2026-11-30")
    assert load_inputs(good).guides[0].date == "2026-11-30"


def test_dipkg_diff_text_and_json(history) -> None:
    first, second, out = history["first"], history["second"], history["out"]
    cmd = [sys.executable, "-m", "dipkg.cli", "diff"]
    # a release folder, a build output folder (its current release), a build id or its prefix
    done = subprocess.run(
        [*cmd, str(first.release), str(out), "--format", "json"],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    recorded = json.loads((second.release / "changes.json").read_text(encoding="utf-8"))
    del recorded["gone"]  # what the line no longer has: the build's, not a comparison's
    assert json.loads(done.stdout) == recorded
    done = subprocess.run(
        [*cmd, str(first.release), second.manifest.build_id[:8], "--data", str(out)],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == (
        f"{first.manifest.build_id}, version 1, 2026-11-24 -> "
        f"{second.manifest.build_id}, version 2, 2026-11-30"
    )
    assert "fields: 1 added, 1 removed, 0 changed" in lines
    assert any(
        line.startswith(
            "  + https://w3id.org/dipkg/scenario/guizhou-b1-s01/data/4.3"
            "  蒸汽消耗 / Steam consumption"
        )
        for line in lines
    )
    assert '        + "生产工艺智能优化"@zh' in lines


def test_dipkg_diff_bad_release_is_one_line(history, tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dipkg.cli",
            "diff",
            "nosuchbuild",
            str(history["out"]),
            "--data",
            str(history["out"]),
        ],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=120,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert (
        done.stderr.strip().count("\n") == 0
        and "error[store]: no release 'nosuchbuild'" in done.stderr
    )
    with pytest.raises(StoreError, match="manifest.json is missing"):
        changes.read_release(tmp_path)


def test_an_unreadable_current_release_starts_a_new_history(history, tmp_path: Path) -> None:
    out = tmp_path / "data"
    first = build(out, Settings(inputs_dir=history["inputs"]))
    nt = first.release / "dumps" / "dipkg.nt"
    nt.write_bytes(nt.read_bytes()[:5000] + b"<broken")  # a truncated dump: known bad
    again = build(out, Settings(inputs_dir=history["inputs"]))
    assert again.manifest.release == 1 and again.manifest.previous is None
    (out / "releases" / again.release.name / "manifest.json").write_text("{", encoding="utf-8")
    assert changes.previous_release(out) is None  # a malformed manifest: no previous release either


@pytest.mark.parametrize(
    "damage", ["{broken", "[]", "\udcff", "{}", '{"summary": {}}', "[" * 100_000]
)
def test_a_damaged_change_set_does_not_stop_a_rebuild(history, tmp_path: Path, damage) -> None:
    """Rebuilding is how a damaged release is repaired: the same data over a release whose
    change set is not the one its manifest records (not JSON, not UTF-8, another shape,
    nested past the parser's stack) builds, with a change set made again."""
    out = tmp_path / "data"
    first = build(out, Settings(inputs_dir=history["inputs"]))
    raw = damage.encode("utf-8", "surrogateescape")
    (first.release / changes.CHANGES_FILE).write_bytes(raw)
    again = build(out, Settings(inputs_dir=history["inputs"]))
    assert again.manifest.build_id == first.manifest.build_id
    made = json.loads((again.release / changes.CHANGES_FILE).read_text(encoding="utf-8"))
    assert isinstance(made, dict) and made["summary"]


def test_no_known_date_states_none(history) -> None:
    """Nothing declared and no git history: no date is published rather than a guessed one."""
    from kg.catalog import release_dates, schema_org_dataset
    from tests.catalog.schema_org_check import check_schema_org_dataset

    manifest = dataclasses.replace(history["second"].manifest, modified=None, issued=None)
    assert manifest.dates == (None, None) == release_dates(manifest)
    doc = schema_org_dataset(manifest, Settings(), Minter(manifest.base_iri))
    assert "dateModified" not in doc and "datePublished" not in doc
    assert check_schema_org_dataset(doc) == []
    doc["dateModified"] = "30/11/2026"  # known bad
    assert check_schema_org_dataset(doc) == ["dateModified: '30/11/2026' is not an ISO 8601 date"]


def test_gone_names_each_kind_once_and_drops_what_came_back() -> None:
    """:func:`kg.changes.gone` on a real store holding two releases: a removed domain is a
    domain (not also a concept, though it is one), a removed guide and concept are theirs; a
    resource the new release still describes is never gone; an earlier removal stays with
    the release that removed it, unless the new release has it again."""
    import pyoxigraph as ox

    base, dip = "https://w3id.org/dipkg/", "https://w3id.org/dipkg/ontology#"
    skos = "http://www.w3.org/2004/02/skos/core#"
    rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    label = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
    store = ox.Store()

    def add(graph: ox.NamedNode, slug: str, *types: str) -> None:
        s = ox.NamedNode(base + slug)
        for t in types:
            store.add(ox.Quad(s, rdf_type, ox.NamedNode(t), graph))
        store.add(ox.Quad(s, label, ox.Literal(slug, language="en"), graph))

    old, new = changes._OLD, changes._NEW
    add(old, "domain/d", dip + "Domain", skos + "Concept")
    add(old, "guide/g", dip + "Guide")
    add(old, "concept/c", skos + "Concept")
    add(old, "concept/kept", skos + "Concept")
    add(new, "concept/kept", skos + "Concept")
    add(new, "concept/back", skos + "Concept")
    earlier_release = {"build_id": "a", "version": "1", "modified": "2026-11-01"}
    earlier = [
        {"iri": base + "concept/back", "label": {"en": "b"}, "removed_in": earlier_release},
        {"iri": base + "scenario/x/data/9", "label": {"en": "9"}, "removed_in": earlier_release},
        # known-bad items of a damaged list: dropped (a relative IRI restarted the history; a
        # bad label was carried into a release the server refused)
        {"iri": "relative/x", "label": {"en": "r"}, "removed_in": earlier_release},
        {"iri": base + "concept/y", "label": "y", "removed_in": earlier_release},
        {"iri": base + "concept/z", "label": {"en": "z"}, "removed_in": "1"},
        "not an item",
    ]
    # a category the change set removes that the new release still has (as a field)
    add(old, "scenario/x/data/2", dip + "DataCategory")
    add(new, "scenario/x/data/2", dip + "DataField")
    empty = {key: {"added": [], "removed": [], "changed": []} for key, *_ in changes.KINDS}
    empty["categories"]["removed"] = [
        {"iri": base + "scenario/x/data/2", "label": {"en": "scenario/x/data/2"}}
    ]
    meta = {"build_id": "c", "version": "3", "modified": "2026-12-01"}
    got = changes.gone(earlier, empty, meta, store)  # type: ignore[arg-type]
    assert [(g["iri"].removeprefix(base), g.get("kind"), g["removed_in"]) for g in got] == [
        ("concept/c", "concepts", meta),
        ("domain/d", "domains", meta),
        ("guide/g", "guides", meta),
        ("scenario/x/data/9", None, earlier_release),
    ]
    assert got[1]["label"] == {"en": "domain/d"}
