"""The landing page's schema.org Dataset and the structured-data check written for it."""

from __future__ import annotations

import copy
import json

import pytest

from dipkg.core.settings import Settings
from kg.catalog import schema_org_dataset
from tests.catalog.schema_org_check import check_schema_org_dataset


@pytest.fixture(scope="module")
def doc(build_result, minter) -> dict:
    return schema_org_dataset(build_result.manifest, Settings(), minter)


def test_the_dataset_passes(doc: dict) -> None:
    assert check_schema_org_dataset(doc) == []
    json.dumps(doc)  # plain JSON


def test_it_says_what_the_catalogue_says(doc: dict, manifest, minter) -> None:
    settings = Settings().catalog
    assert doc["@type"] == "Dataset" and doc["name"] == settings.title_en
    assert doc["license"] == settings.license_iri
    assert doc["creator"]["name"] == settings.publisher_name_en
    assert doc["isBasedOn"][0]["@id"] == minter.guide("guizhou-b1")
    assert doc["includedInDataCatalog"]["@id"] == minter.catalog()
    urls = {d["contentUrl"] for d in doc["distribution"]}
    assert urls == {
        minter.dump(d["file"]) for d in manifest["dumps"] if "guide" not in d
    }  # sources: the guide's
    assert all(d["encodingFormat"] for d in doc["distribution"])
    assert (
        doc["dateModified"] == manifest["modified"] and doc["version"] == manifest["version"] == "1"
    )
    assert doc["datePublished"] == manifest["issued"]


def test_deterministic(build_result, minter) -> None:
    a = schema_org_dataset(build_result.manifest, Settings(), minter)
    b = schema_org_dataset(build_result.manifest, Settings(), minter)
    assert json.dumps(a, sort_keys=False) == json.dumps(b, sort_keys=False)


@pytest.mark.parametrize(
    "change, problem",
    [
        (lambda d: d.pop("name"), "name: missing"),
        (lambda d: d.update(description="too short"), "description: 9 characters"),
        (lambda d: d.update({"@type": "CreativeWork"}), "@type: must be Dataset"),
        (lambda d: d.update({"@context": "https://example.org/"}), "@context"),
        (lambda d: d.pop("license"), "license: missing"),
        (lambda d: d.update(license="CC BY"), "license: 'CC BY' is not an absolute http(s) URL"),
        (
            lambda d: d.update(creator={"@type": "Thing", "name": "x"}),
            "creator: must be a Person or an Organization",
        ),
        (lambda d: d["distribution"][0].pop("contentUrl"), "distribution[0].contentUrl: missing"),
        (
            lambda d: d["distribution"][1].update(encodingFormat="turtle"),
            "distribution[1].encodingFormat",
        ),
        (
            lambda d: d["distribution"][0].update({"@type": "Dataset"}),
            "distribution[0]: must be a DataDownload",
        ),
        (lambda d: d.update(url="/relative"), "url: '/relative' is not an absolute http(s) URL"),
        (lambda d: d.update(dateModified="24/11/2026"), "dateModified"),
        (lambda d: d.update(inLanguage=["zh", "Chinese language"]), "inLanguage"),
        (lambda d: d.pop("isBasedOn"), "isBasedOn: missing"),
        (
            lambda d: d.update(includedInDataCatalog={"@type": "DataCatalog"}),
            "includedInDataCatalog: needs a name",
        ),
        (lambda d: d.update(keywords=[""]), "keywords"),
    ],
)
def test_known_bad_documents_fail(doc: dict, change, problem: str) -> None:
    bad = copy.deepcopy(doc)
    change(bad)
    problems = check_schema_org_dataset(bad)
    assert any(p.startswith(problem) for p in problems), problems


def test_not_an_object() -> None:
    assert check_schema_org_dataset([]) == ["the document is not a JSON object"]
    assert "name: missing" in check_schema_org_dataset(
        {"@context": "https://schema.org/", "@type": "Dataset"}
    )
