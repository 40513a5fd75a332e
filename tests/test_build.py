"""The build's outputs: store and dumps agree, rebuilds are byte-identical, failures replace
nothing."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pyoxigraph
import pytest
import rdflib
from rdflib.compare import isomorphic

from dipkg.core.errors import SourceError, StoreError
from dipkg.core.release import claim, open_release
from dipkg.core.settings import Settings
from kg.build import build

DUMP_FORMATS = {"dipkg.ttl": "turtle", "dipkg.nt": "nt", "dipkg.jsonld": "json-ld"}


def store_graph(release: Path) -> rdflib.Graph:
    store = pyoxigraph.Store.read_only(str(release / "store"))
    data = store.dump(format=pyoxigraph.RdfFormat.N_TRIPLES, from_graph=pyoxigraph.DefaultGraph())
    return rdflib.Graph().parse(data=data.decode("utf-8"), format="nt")


@pytest.fixture(scope="module")
def store_rdf(build_result) -> rdflib.Graph:
    return store_graph(build_result.release)


@pytest.mark.parametrize("name", [*DUMP_FORMATS, *(f"{n}.gz" for n in DUMP_FORMATS)])
def test_every_dump_is_isomorphic_to_the_store(build_result, store_rdf, name):
    path = build_result.release / "dumps" / name
    raw = path.read_bytes()
    if name.endswith(".gz"):
        raw = gzip.decompress(raw)
    parsed = rdflib.Graph().parse(
        data=raw.decode("utf-8"), format=DUMP_FORMATS[name.removesuffix(".gz")]
    )
    assert len(parsed) == len(store_rdf) == build_result.manifest.counts.triples
    assert isomorphic(parsed, store_rdf)


def test_rebuild_is_byte_identical(build_result, tmp_path, settings):
    again = build(tmp_path / "again", settings)
    first, second = build_result.release, again.release
    names = sorted(p.name for p in (first / "dumps").iterdir())
    assert names == sorted(p.name for p in (second / "dumps").iterdir())
    for name in names:
        assert (first / "dumps" / name).read_bytes() == (second / "dumps" / name).read_bytes(), name
    assert (first / "manifest.json").read_bytes() == (second / "manifest.json").read_bytes()
    assert (first / "catalog.ttl").read_bytes() == (second / "catalog.ttl").read_bytes()
    assert (first / "map.json").read_bytes() == (second / "map.json").read_bytes()


def test_the_inputs_folders_place_changes_no_byte(build_result, inputs_copy, tmp_path):
    # the Turtle header and the manifest named the source by its path (build/sources/... in a
    # checkout, .../site-packages/kg/_inputs/... in a wheel install): checksums and build id
    # differed
    from tests.conftest import cli_env

    moved = tmp_path / "elsewhere" / "deeper" / "inputs"
    moved.parent.mkdir(parents=True)
    inputs_copy.rename(moved)
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "dipkg.cli", "build", "--out", str(out), "--quiet"],
        capture_output=True,
        text=True,
        env=cli_env(DIPKG_INPUTS_DIR=str(moved)),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    first, second = build_result.release, open_release(out).root
    assert second.name == first.name == build_result.manifest.build_id  # the same build id
    for name in sorted(p.name for p in (first / "dumps").iterdir()):
        assert (first / "dumps" / name).read_bytes() == (second / "dumps" / name).read_bytes(), name
    assert (first / "manifest.json").read_bytes() == (second / "manifest.json").read_bytes()
    assert (first / "catalog.ttl").read_bytes() == (second / "catalog.ttl").read_bytes()
    header = (second / "dumps" / "dipkg.ttl").read_text(encoding="utf-8").split("\n", 3)[1]
    version = build_result.manifest.dipkg_version
    assert header == f"# Built by dipkg {version} from sources/guizhou-dip-scenarios-batch1.txt"
    assert build_result.manifest.sources == ("sources/guizhou-dip-scenarios-batch1.txt",)


def test_checksums_and_manifest_describe_the_files(build_result):
    dumps = build_result.release / "dumps"
    sums = dict(
        reversed(line.split("  ")) for line in (dumps / "SHA256SUMS").read_text().splitlines()
    )
    for entry in build_result.manifest.dumps:
        data = (dumps / entry.file).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry.sha256 == sums[entry.file]
        assert len(data) == entry.bytes
    for name in DUMP_FORMATS:
        assert gzip.decompress((dumps / f"{name}.gz").read_bytes()) == (dumps / name).read_bytes()


def test_the_release_carries_what_the_pages_show(build_result, settings):
    """schema.org, the example questions, the ontology and the licence and publisher are
    written by the build (manifest "site", each file with its SHA-256), from the build's
    settings and inputs: the web app reads them from the release, not the source tree."""
    from dipkg.core.iris import Minter
    from kg.catalog import publisher_iri, schema_org_dataset
    from kg.paths import ONTOLOGY_DIR
    from kg.queries import load_queries

    site = build_result.manifest.site
    release = build_result.release
    for f in site.files:
        assert hashlib.sha256((release / f.file).read_bytes()).hexdigest() == f.sha256, f.file
    written = json.loads((release / site.schema_org.file).read_text(encoding="utf-8"))
    minter = Minter(settings.base_iri)
    assert written == schema_org_dataset(build_result.manifest, settings, minter)
    questions = json.loads((release / site.queries.file).read_text(encoding="utf-8"))
    assert questions == [q.to_dict() for q in load_queries()] and len(questions) >= 5
    assert [f.file for f in site.ontology] == [
        "ontology/dipkg.ttl",
        "ontology/shapes.ttl",
        "ontology/context.jsonld",
    ]
    for f in site.ontology:
        assert (release / f.file).read_bytes() == (ONTOLOGY_DIR / Path(f.file).name).read_bytes()
    assert (site.license.iri, site.license.title) == (
        settings.catalog.license_iri,
        settings.catalog.license_title,
    )
    assert site.publisher.iri == publisher_iri(settings, minter)
    # none of it is a dump: dumps/ and SHA256SUMS (hence the build id) are as before
    sums = (release / "dumps" / "SHA256SUMS").read_text(encoding="utf-8")
    assert "schema-org" not in sums and "queries" not in sums and "context" not in sums


def test_manifest_counts(build_result):
    counts = build_result.manifest.counts
    assert counts.scenarios == 23
    assert counts.domains == 5
    assert counts.categories == 126
    assert counts.fields == 453
    assert all(c.fired == 1 for c in build_result.manifest.corrections)


def test_jsonld_dump_is_compacted_with_the_project_context(build_result):
    doc = json.loads((build_result.release / "dumps" / "dipkg.jsonld").read_text(encoding="utf-8"))
    assert doc["@context"]["label"] == {"@id": "rdfs:label", "@container": "@language"}
    scenario = next(n for n in doc["@graph"] if n["id"].endswith("/scenario/guizhou-b1-s01"))
    assert scenario["type"] == "Scenario"
    assert scenario["label"] == {"zh": "生产工艺优化", "en": scenario["label"]["en"]}
    assert scenario["number"] == 1
    assert scenario["domain"].endswith("/domain/industry")


def _language_terms(context: dict) -> dict[str, str]:
    """term -> compact IRI of every property the context maps to a language map."""
    return {
        t: d["@id"]
        for t, d in context.items()
        if isinstance(d, dict) and d.get("@container") == "@language"
    }


def _expand(iri: str, context: dict) -> str:
    prefix, sep, local = iri.partition(":")
    return context[prefix] + local if sep and isinstance(context.get(prefix), str) else iri


def _language_maps(doc: dict, terms: dict[str, str]) -> dict[tuple[str, str], dict[str, list[str]]]:
    """(subject, term) -> language map, lists sorted (blank nodes left out: their ids differ)."""
    out = {}
    for node in doc["@graph"]:
        if node["id"].startswith("_:"):
            continue
        for term in terms:
            if term in node:
                out[(_expand(node["id"], doc["@context"]), term)] = {
                    lang: sorted(v if isinstance(v, list) else [v])
                    for lang, v in node[term].items()
                }
    return out


def test_jsonld_language_maps_hold_every_value_and_agree_with_rdflib(build_result):
    # 8 concepts with two altLabels in one language had them outside the altLabel map
    dumps = build_result.release / "dumps"
    ours = json.loads((dumps / "dipkg.jsonld").read_text(encoding="utf-8"))
    context = ours["@context"]
    terms = _language_terms(context)
    assert {"label", "prefLabel", "altLabel"} <= set(terms)
    full = {
        context[prefix] + local for prefix, local in (iri.split(":", 1) for iri in terms.values())
    }
    for node in ours["@graph"]:
        for key in node:
            assert _expand(key, context) not in full, (
                f"{node['id']}: {key} is outside its language map"
            )
    two = [
        n
        for n in ours["@graph"]
        if any(isinstance(v, list) for v in n.get("altLabel", {}).values())
    ]
    assert len(two) >= 8
    # the reference: rdflib's own JSON-LD compaction of the N-Triples dump with the same context
    graph = rdflib.Graph().parse(dumps / "dipkg.nt", format="nt")
    reference = json.loads(graph.serialize(format="json-ld", context=context, auto_compact=True))
    reference["@context"] = context
    assert _language_maps(ours, terms) == _language_maps(reference, terms)
    # and expanding our dump gives the graph back
    assert isomorphic(rdflib.Graph().parse(data=json.dumps(ours), format="json-ld"), graph)


def test_turtle_dump_is_readable(build_result):
    text = (build_result.release / "dumps" / "dipkg.ttl").read_text(encoding="utf-8")
    assert "@prefix dip: <https://w3id.org/dipkg/ontology#> ." in text
    assert '    rdfs:label "生产工艺优化"@zh, ' in text
    assert "[bookmark" not in text


def test_every_label_has_an_english_twin(store_rdf):
    rows = store_rdf.query(
        """SELECT ?s ?zh WHERE { ?s rdfs:label ?zh FILTER(lang(?zh) = "zh")
           FILTER NOT EXISTS { ?s rdfs:label ?en FILTER(lang(?en) = "en") } }"""
    )
    assert list(rows) == []


def test_every_category_and_field_is_traceable_to_its_scenario(store_rdf):
    rows = store_rdf.query(
        """PREFIX dip: <https://w3id.org/dipkg/ontology#>
           SELECT ?item WHERE { { ?item a dip:DataCategory } UNION { ?item a dip:DataField }
           FILTER NOT EXISTS { ?item dip:scenario/dip:sourceLine ?line } }"""
    )
    assert list(rows) == []


def test_resource_iris_are_ascii_and_below_the_base(store_rdf, settings):
    for node in set(store_rdf.subjects()):
        assert str(node).isascii()
    pattern = re.compile(
        re.escape(settings.base_iri) + r"scenario/guizhou-b1-s\d\d(/data/\d+(\.\d+)*)?$"
    )
    scenarios = [s for s in set(store_rdf.subjects()) if "/scenario/" in str(s)]
    assert len(scenarios) == 23 + 126 + 453
    assert all(pattern.match(str(s)) for s in scenarios)


def test_base_iri_is_configurable(tmp_path):
    result = build(tmp_path / "d", Settings(base_iri="http://data.example.org/kg/"))
    text = (result.release / "dumps" / "dipkg.nt").read_text(encoding="utf-8")
    assert "<http://data.example.org/kg/scenario/guizhou-b1-s01>" in text
    assert "w3id.org/dipkg/scenario" not in text


def test_a_new_batch_never_renumbers_batch_one(build_result, inputs_copy, tmp_path, store_rdf):
    source = (inputs_copy / "sources" / "guizhou-dip-scenarios-batch1.txt").read_text(
        encoding="utf-8"
    )
    blocks = source.split("\n\n")
    header = blocks[: blocks.index(next(b for b in blocks if b.startswith("\t1\n")))]
    # batch 2: rows 20 and 21 of batch 1, renumbered 1 and 2 (the first one names its domain)
    row20 = next(b for b in blocks if b.startswith("\t20\n")).replace(
        "\t20\n\t\n", "\t1\n\t其他领域\n", 1
    )
    row21 = next(b for b in blocks if b.startswith("\t21\n")).replace("\t21\n", "\t2\n", 1)
    batch2 = "\n\n".join([*header, row20, row21]).replace("第一批", "第二批") + "\n"
    (inputs_copy / "sources" / "batch2.txt").write_text(batch2, encoding="utf-8")
    with (inputs_copy / "guides.toml").open("a", encoding="utf-8") as out:
        out.write(
            '\n[[guide]]\nid = "guizhou-b2"\nsource = "sources/batch2.txt"\n'
            'title_zh = "第二批贵州省数据知识产权应用场景指引"\n'
            'title_en = "Second batch"\nprovince_zh = "贵州省"\n'
            'province_en = "Guizhou Province"\nbatch = 2\n'
        )
    long = inputs_copy / "long-translations.tsv"  # the same texts, so the same English
    rows = [
        r
        for r in long.read_text(encoding="utf-8").splitlines()
        if r.startswith(("guizhou-b1-s20\t", "guizhou-b1-s21\t"))
    ]
    with long.open("a", encoding="utf-8") as out:
        out.writelines(
            r.replace("guizhou-b1-s20", "guizhou-b2-s01").replace(
                "guizhou-b1-s21", "guizhou-b2-s02"
            )
            + "\n"
            for r in rows
        )
    result = build(tmp_path / "two", Settings(inputs_dir=inputs_copy))
    assert result.manifest.counts.scenarios == 25
    both = store_graph(result.release)
    for triple in store_rdf:
        if "/guizhou-b1-" in str(triple[0]):
            assert triple in both, triple
    assert (rdflib.URIRef("https://w3id.org/dipkg/scenario/guizhou-b2-s02"), None, None) in both


def test_failed_build_replaces_nothing(inputs_copy, tmp_path):
    out = tmp_path / "data"
    good = build(out, Settings(inputs_dir=inputs_copy))
    before = open_release(out)
    source = inputs_copy / "sources" / "guizhou-dip-scenarios-batch1.txt"
    source.write_text(
        source.read_text(encoding="utf-8").replace("\t交通领域\n", "\t航天领域\n", 1),
        encoding="utf-8",
    )
    with pytest.raises(SourceError, match="unknown domain"):
        build(out, Settings(inputs_dir=inputs_copy))
    after = open_release(out)
    assert after.root == before.root == good.release
    assert after.manifest == before.manifest
    assert [p.name for p in out.iterdir() if p.name.startswith(".staging")] == []


def test_a_failed_write_names_the_file_and_replaces_nothing(inputs_copy, tmp_path):
    """An OSError while writing names its file, relative to the output folder: "No such
    file or directory" alone sent a CI failure's reader looking through every file."""
    out = tmp_path / "data"
    out.mkdir()
    (out / "releases").write_text("not a folder\n", encoding="utf-8")
    with pytest.raises(StoreError, match=r"writing the build failed: File exists \(releases\)"):
        build(out, Settings(inputs_dir=inputs_copy))
    assert sorted(p.name for p in out.iterdir() if not p.name.endswith(".lock")) == ["releases"]


def test_the_message_names_files_as_the_output_folder_shows_them(tmp_path):
    """A file of the release being written is named without its staging folder (gone by the
    time the message is read); ``current`` as ``current`` (a link, not followed); a name that
    is no path (a file descriptor's number) is left out, not a TypeError in the handler."""
    from kg.build import _which

    out = tmp_path / "data"
    (out / "releases" / "r1").mkdir(parents=True)
    (out / "current").symlink_to("releases/r1")
    staged = out / ".staging-12-34" / "store" / "000022.sst"
    gone = OSError(2, "No such file or directory", str(staged))
    assert _which(gone, out) == " (store/000022.sst)"
    moved = OSError(21, "Is a directory", str(out / ".current.9"), None, str(out / "current"))
    assert _which(moved, out) == " (.current.9 → current)"
    assert _which(OSError(9, "Bad file descriptor", 987), out) == ""
    elsewhere = OSError(2, "No such file or directory", str(tmp_path / "inputs" / "x.txt"))
    assert _which(elsewhere, out) == f" ({tmp_path / 'inputs' / 'x.txt'})"


def test_a_file_gone_between_listing_and_syncing_is_passed_over(tmp_path):
    """RocksDB deletes obsolete files in the background; one listed by the walk and gone
    before its open failed a CI build. Here a name that opens to nothing (a link to a file
    that is not there) stands for it; the rest are synced."""
    from kg.build import _fsync_tree

    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "kept.sst").write_bytes(b"x")
    (tmp_path / "store" / "000022.sst").symlink_to(tmp_path / "deleted.sst")
    _fsync_tree(tmp_path)  # no FileNotFoundError


def test_rebuild_switches_current_and_keeps_one_previous(inputs_copy, tmp_path):
    out = tmp_path / "data"
    releases = [build(out, Settings(inputs_dir=inputs_copy)).release for _ in range(3)]
    assert open_release(out).root == releases[-1]
    assert sorted(p.name for p in (out / "releases").iterdir()) == sorted(
        r.name for r in releases[1:]
    )
    shutil.rmtree(out)


def test_pruning_keeps_a_release_a_server_holds_until_it_lets_go(inputs_copy, tmp_path):
    """Retention: the new release, the one before it, and every release some process holds
    a lease on (dipkg.core.release.Lease). The lease is held by another process, as a server's is;
    when that process dies its lock dies with it and the next build prunes the release."""
    out = tmp_path / "data"
    settings = Settings(inputs_dir=inputs_copy)
    held = build(out, settings).release
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from dipkg.core.release import Lease; Lease(sys.argv[1]); "
            "print('held', flush=True); time.sleep(120)",
            str(held),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        middle = build(out, settings).release
        newest = build(out, settings).release
        # without the lease `held` would be gone now (see the test above): it is the third newest
        assert {p.name for p in (out / "releases").iterdir()} == {
            held.name,
            middle.name,
            newest.name,
        }
        assert claim(held) is None  # the build's own check: a held release cannot be claimed
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
    fd = claim(held)  # the lock died with its process
    assert fd is not None
    os.close(fd)
    last = build(out, settings).release
    assert {p.name for p in (out / "releases").iterdir()} == {newest.name, last.name}
    assert [p.name for p in out.iterdir() if p.name.startswith(".pruning")] == []
    shutil.rmtree(out)


def test_a_label_without_english_fails_the_build_and_replaces_nothing(inputs_copy, tmp_path):
    out = tmp_path / "data"
    before = build(out, Settings(inputs_dir=inputs_copy)).release
    table = inputs_copy / "translations.tsv"
    table.write_text(
        "\n".join(
            line
            for line in table.read_text(encoding="utf-8").split("\n")
            if not line.startswith("氧化铝浓度\t")
        ),
        encoding="utf-8",
    )
    with pytest.raises(
        SourceError, match="no English label for 1 Chinese labels: 氧化铝浓度"
    ) as caught:
        build(out, Settings(inputs_dir=inputs_copy))
    assert caught.value.file.endswith("translations.tsv")
    assert open_release(out).root == before
    assert [p.name for p in out.iterdir() if p.name.startswith(".staging")] == []


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("batch = 1", 'batch = "two"'), "guide 'guizhou-b1': batch should be a whole number"),
        (("batch = 1", "batch = 2.5"), "guide 'guizhou-b1': batch should be a whole number"),
        (("batch = 1", "batch = [1]"), "guide 'guizhou-b1': batch should be a whole number"),
        (
            ('source = "sources/guizhou-dip-scenarios-batch1.txt"', "source = 3"),
            "guide 'guizhou-b1': source should be a string (got 3)",
        ),
        (('province_en = "Guizhou Province"', 'province_en = ["x"]'), "province_en should be"),
        (('issuer_zh = ""', "issuer_zh = {a = 1}"), "guide 'guizhou-b1': issuer_zh should be"),
        (('other = "其他领域"', "other = 5"), "domain 'other': its label should be a string"),
        (('title_en = "Guidance', 'titel_en = "Guidance'), "guide 'guizhou-b1' lacks 'title_en'"),
        # a key the build does not read: its value was left out in silence
        (
            ('issuer_zh = ""', 'isuer_zh = "贵州省数据局"'),
            "guide 'guizhou-b1': no such key 'isuer_zh'; did you mean 'issuer_zh'?",
        ),
        (('edited = "', 'edtied = "'), "the guides file: no such key 'edtied'; did you mean"),
    ],
)
def test_a_mistyped_guide_value_names_the_guide_and_key(inputs_copy, tmp_path, edit, message):
    """docs/adding-a-batch.md step 2 has people write a [[guide]]: a value of the wrong type
    was an `error[internal]: TypeError …` (or an int() message naming nothing), or was taken
    silently (batch = 2.5 became 2, a table became its Python repr in the catalogue)."""
    from tests.conftest import cli_env

    guides = inputs_copy / "guides.toml"
    old, new = edit
    text = guides.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    guides.write_text(text.replace(old, new), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "dipkg.cli", "build", "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
        env=cli_env(DIPKG_INPUTS_DIR=str(inputs_copy)),
    )
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"{guides}: error[config]: "), lines[0]
    assert message in lines[0], lines[0]
    assert not (tmp_path / "out" / "current").exists()


def test_a_build_under_another_base_iri_replaces_nothing(tmp_path):
    """docs/deploy.md's release command, run without the service's settings file: the build
    took the default base and replaced every IRI the service published (23 scenarios removed,
    23 added). It is refused, and the release served stays current."""
    from tests.conftest import cli_env

    out = tmp_path / "data"
    first = build(out, Settings(base_iri="https://data.example.org/"))
    done = subprocess.run(
        [sys.executable, "-m", "dipkg.cli", "build", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        env=cli_env(),
    )
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"{out / 'current'}: error[config]: base_iri is "), lines[0]
    assert "'https://data.example.org/'" in lines[0] and "DIPKG_CONFIG" in lines[0]
    assert (out / "current").resolve() == first.release
    assert [p.name for p in (out / "releases").iterdir()] == [first.release.name]
