"""CKAN harvesting (ckanext-dcat, profile ``euro_dcat_ap_3``).

* ``test_ckanext_dcat_*`` run ckanext-dcat's real RDFParser on the record, in a separate
  interpreter named by ``DIPKG_CKAN_PYTHON`` (a venv with ckan and ckanext-dcat; see
  docs/catalogue.md for why it cannot be the project's venv). Skipped when it is not set.
* ``test_rule_*`` check, without CKAN, the mapping rules that parser applies (read from
  ckanext-dcat 2.4.4's profiles/base.py and euro_dcat_ap_base.py).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import rdflib
from rdflib import RDF, RDFS, Literal, URIRef
from rdflib.namespace import DCTERMS as DCT

from dipkg.core.settings import Settings
from kg.guide import load_inputs
from kg.paths import INPUTS_DIR

DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")
HERE = Path(__file__).resolve().parent


def munge_title_to_name(title: str) -> str:
    """CKAN's ckan.lib.munge.munge_title_to_name, for ASCII-folding purposes (no accents here)."""
    name = re.sub("[ .:/]", "-", title)
    name = re.sub("[^a-zA-Z0-9-_]", "", name).lower()
    name = re.sub("-+", "-", name).strip("-")
    return name[:100] if len(name) >= 2 else name.ljust(2, "_")


def ckan_pick(graph: rdflib.Graph, subject, predicate, locale: str) -> str:
    """ckanext-dcat RDFProfile._object_value: the literal whose language equals the
    portal's ckan.locale_default exactly, else the first one rdflib yields."""
    fallback = ""
    for o in graph.objects(subject, predicate):
        if isinstance(o, Literal):
            if o.language and o.language == locale:
                return str(o)
            if fallback == "":
                fallback = str(o)
        elif (o, RDFS.label, None) in graph:
            return str(next(graph.objects(o, RDFS.label)))
        else:
            return str(o)
    return fallback


# -- the rules, without CKAN ------------------------------------------------------------------
@pytest.mark.parametrize("locale", ["en", "zh_Hans_CN", "zh_Hant_TW", "fr"])
def test_rule_title_gives_a_useful_name(record, minter, locale: str) -> None:
    dataset = URIRef(minter.dataset())
    title = ckan_pick(record, dataset, DCT.title, locale)
    assert title == Settings().catalog.title_en  # CKAN's Chinese locales never equal a BCP 47 tag
    name = munge_title_to_name(title)
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]{9,}", name), name
    assert ckan_pick(record, dataset, DCT.description, locale) == Settings().catalog.description_en


def test_rule_a_zh_locale_would_pick_chinese(record, minter) -> None:
    """Only a portal configured with the bare locale 'zh' matches @zh: its name is then useless."""
    title = ckan_pick(record, URIRef(minter.dataset()), DCT.title, "zh")
    assert title == Settings().catalog.title_zh and munge_title_to_name(title) == "__"


def ours(manifest: dict) -> list[dict]:
    """The dumps that are distributions of the knowledge graph (not a guide's source file)."""
    return [d for d in manifest["dumps"] if "guide" not in d]


def test_rule_every_distribution_is_a_resource_with_a_url_and_the_licence(
    record, minter, manifest
) -> None:
    dataset = URIRef(minter.dataset())
    distributions = list(record.objects(dataset, DCAT.distribution))
    assert len(distributions) == len(ours(manifest)) + 1
    for d in distributions:
        url = record.value(d, DCAT.downloadURL) or record.value(d, DCAT.accessURL)
        assert isinstance(url, URIRef) and str(url).startswith("https://")
        assert ckan_pick(record, d, DCT.license, "en") == Settings().catalog.license_iri
        assert ckan_pick(record, d, DCT.title, "en")


def test_the_docs_count_the_resources_a_harvest_gives(record, minter) -> None:
    """docs/catalogue.md tells a portal operator how many resources the dataset arrives
    with: one per distribution (files and the SPARQL endpoint), as the rule above."""
    distributions = list(record.objects(URIRef(minter.dataset()), DCAT.distribution))
    docs = (HERE.parents[1] / "docs" / "catalogue.md").read_text(encoding="utf-8")
    stated = re.search(r"\*\*Resources\*\*: (\d+) — the (\w+) files", docs)
    assert stated is not None, "docs/catalogue.md no longer counts the harvested resources"
    words = "zero one two three four five six seven eight nine ten eleven twelve thirteen"
    files = words.split().index(stated.group(2)) if stated.group(2) in words.split() else -1
    assert (int(stated.group(1)), files) == (len(distributions), len(distributions) - 1)


def test_rule_the_sparql_service_is_an_access_service(record, minter) -> None:
    service = URIRef(minter.sparql_service())
    via = [
        d
        for d in record.objects(URIRef(minter.dataset()), DCAT.distribution)
        if (d, DCAT.accessService, service) in record
    ]
    assert len(via) == 1
    assert (service, RDF.type, DCAT.DataService) in record
    assert record.value(service, DCAT.endpointURL) == service


def test_rule_which_datasets_a_harvest_creates(record, minter) -> None:
    """Every dcat:Dataset becomes a CKAN dataset: the knowledge graph, and the source document
    (typed dcat:Dataset because DCAT-AP 3 gives dct:source that range; no resources)."""
    datasets = set(record.subjects(RDF.type, DCAT.Dataset))
    assert datasets == {URIRef(minter.dataset()), URIRef(minter.guide("guizhou-b1"))}


#: CKAN 2.12's default licence register entry for CC BY (ckan/model/license.py,
#: LicenseCreativeCommonsAttribution): ckanext-dcat matches a licence by this URL, else this title.
CKAN_CC_BY = (
    "cc-by",
    "http://www.opendefinition.org/licenses/cc-by",
    "Creative Commons Attribution",
)


def test_rule_the_licence_title_is_the_one_ckans_register_knows(record, minter) -> None:
    """ckanext-dcat's RDFProfile._license: the first distribution licence whose IRI or dct:title is
    in the register. The default register knows CC BY by another URL, so the title must match."""
    licence = URIRef(Settings().catalog.license_iri)
    assert str(licence) == "https://creativecommons.org/licenses/by/4.0/"  # the canonical IRI stays
    assert ckan_pick(record, licence, DCT.title, "en") == CKAN_CC_BY[2]
    assert (
        ckan_pick(record, licence, DCT.title, "zh_Hans_CN") == CKAN_CC_BY[2]
    )  # one title: no locale picks another
    assert (
        str(record.value(licence, DCT.identifier)) == "CC-BY-4.0"
    )  # the version, for people and SPDX


# -- the real parser ----------------------------------------------------------------------------
def run_ckan(release: Path, locale: str, licenses: Path | None = None) -> list[dict]:
    python = os.environ.get("DIPKG_CKAN_PYTHON")
    if not python:
        message = (
            "set DIPKG_CKAN_PYTHON to a Python with ckan and ckanext-dcat"
            " (docs/catalogue.md; `make test` does)"
        )
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the CKAN harvest test: {message}")
        pytest.skip(message)
    if not Path(python).exists():
        pytest.fail(f"DIPKG_CKAN_PYTHON={python} does not exist")
    proc = subprocess.run(
        [
            python,
            str(HERE / "ckan_parse.py"),
            str(release / "catalog.ttl"),
            locale,
            *([str(licenses)] if licenses else []),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


@pytest.fixture(scope="module", params=["en", "zh_Hans_CN"])
def harvested(request, release: Path, minter) -> tuple[str, dict, list[dict]]:
    datasets = run_ckan(release, request.param)
    ours = [d for d in datasets if {"key": "uri", "value": minter.dataset()} in d.get("extras", [])]
    assert len(ours) == 1, [d.get("title") for d in datasets]
    return request.param, ours[0], datasets


@pytest.mark.slow
def test_ckanext_dcat_title_description_name(harvested, manifest) -> None:
    _, dataset, _ = harvested
    settings = Settings().catalog
    assert dataset["title"] == settings.title_en
    assert dataset["notes"] == settings.description_en
    assert dataset["name"] == munge_title_to_name(settings.title_en)
    assert dataset["version"] == manifest["version"] == "1"
    tags = {t["name"] for t in dataset["tags"]}
    assert set(settings.keywords_en) <= tags and set(settings.keywords_zh) <= tags


@pytest.mark.slow
def test_ckanext_dcat_resources_licence_access_service(harvested, manifest, minter) -> None:
    _, dataset, _ = harvested
    resources = dataset["resources"]
    assert len(resources) == len(ours(manifest)) + 1
    urls = {r["url"] for r in resources}
    assert {minter.dump(d["file"]) for d in ours(manifest)} | {minter.sparql_service()} == urls
    by_url = {r["url"]: r for r in resources}
    for d in ours(manifest):
        r = by_url[minter.dump(d["file"])]
        assert r["hash"] == d["sha256"] and int(r["size"]) == d["bytes"]
        assert r["license"] == Settings().catalog.license_iri
        assert r["download_url"] == r["url"]
    sparql = by_url[minter.sparql_service()]
    services = json.loads(sparql["access_services"])
    assert len(services) == 1
    assert services[0]["endpoint_url"] == [minter.sparql_service()]
    assert services[0]["serves_dataset"] == [minter.dataset()]
    extras = {e["key"]: e["value"] for e in dataset["extras"]}
    assert extras["publisher_uri"] == minter.resource("publisher")
    assert extras["contact_email"] == Settings().catalog.contact_email
    assert minter.guide("guizhou-b1") in json.loads(extras["source"])


@pytest.mark.slow
def test_ckanext_dcat_other_datasets(harvested, minter, manifest) -> None:
    """The source document is a dataset whose resource is the verbatim source file, with its
    checksum."""
    _, _, datasets = harvested
    others = [
        d for d in datasets if {"key": "uri", "value": minter.dataset()} not in d.get("extras", [])
    ]
    guides = load_inputs(INPUTS_DIR).guides
    assert [d["title"] for d in others] == [g.title_en for g in guides]
    for dataset, guide in zip(others, guides, strict=True):
        (source,) = [d for d in manifest["dumps"] if d.get("guide") == guide.id]
        (resource,) = dataset["resources"]
        assert resource["url"] == minter.dump(source["file"]) == resource["download_url"]
        assert resource["hash"] == source["sha256"] and int(resource["size"]) == source["bytes"]
        assert resource["mimetype"] == "text/plain"
        assert not resource.get("license")  # the issuer's terms: not stated, not ours


@pytest.mark.slow
def test_ckanext_dcat_dataset_licence_under_the_default_register(harvested) -> None:
    """Not "License not specified": stock CKAN shows CC BY; each resource keeps the 4.0 IRI."""
    _, dataset, _ = harvested
    assert dataset["license_id"] == CKAN_CC_BY[0]
    assert {r["license"] for r in dataset["resources"]} == {Settings().catalog.license_iri}


@pytest.mark.slow
def test_ckanext_dcat_dataset_licence_under_a_portal_register(
    release: Path, minter, tmp_path: Path
) -> None:
    """The portal-side option (docs/catalogue.md): a licence register
    (licenses_group_url) that lists
    CC BY 4.0 by its canonical IRI gets the exact licence, matched by IRI before any title."""
    register = tmp_path / "licenses.json"
    register.write_text(
        json.dumps(
            [
                {
                    "id": "CC-BY-4.0",
                    "title": "Creative Commons Attribution 4.0 International",
                    "url": "https://creativecommons.org/licenses/by/4.0/",
                    "od_conformance": "approved",
                },
                {
                    "id": "cc-by",
                    "title": "Creative Commons Attribution",
                    "url": "http://www.opendefinition.org/licenses/cc-by",
                },
            ]
        ),
        encoding="utf-8",
    )
    datasets = run_ckan(release, "en", register)
    (ours,) = [
        d for d in datasets if {"key": "uri", "value": minter.dataset()} in d.get("extras", [])
    ]
    assert ours["license_id"] == "CC-BY-4.0"
    # and a known-bad register, which knows the licence by neither IRI nor title, leaves it empty
    register.write_text(
        json.dumps(
            [
                {
                    "id": "odc-by",
                    "title": "Open Data Commons Attribution License",
                    "url": "http://www.opendefinition.org/licenses/odc-by",
                }
            ]
        ),
        encoding="utf-8",
    )
    (ours,) = [
        d
        for d in run_ckan(release, "en", register)
        if {"key": "uri", "value": minter.dataset()} in d.get("extras", [])
    ]
    assert ours["license_id"] == ""


@pytest.fixture(scope="module")
def versioned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, dict]:
    """A second release (edited inputs) whose record links its previous version."""
    from kg.build import build
    from tests.test_changes import EDITS, _inputs

    tmp = tmp_path_factory.mktemp("ckan-versions")
    first = build(tmp / "data", Settings(inputs_dir=_inputs(tmp / "in1", "2026-11-24")))
    second = build(tmp / "data", Settings(inputs_dir=_inputs(tmp / "in2", "2026-11-30", EDITS)))
    return second.release, first.manifest.to_json(), second.manifest.to_json()


@pytest.mark.slow
def test_ckanext_dcat_harvests_the_versioned_record(versioned) -> None:
    """The previous version is linked, not harvested as a dataset of its own; the version and
    its notes reach CKAN."""
    release, first, second = versioned
    from dipkg.core.iris import Minter

    minter = Minter(second["base_iri"])
    datasets = run_ckan(release, "en")
    assert len(datasets) == 2, [d.get("title") for d in datasets]
    ours = [d for d in datasets if {"key": "uri", "value": minter.dataset()} in d.get("extras", [])]
    assert len(ours) == 1
    assert ours[0]["version"] == "2"
    text = json.dumps(ours[0], ensure_ascii=False)
    assert "Changes since version 1" in text and "2026-11-30" in text
