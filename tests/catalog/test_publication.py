"""Placeholder publisher and contact: `dipkg build` warns, /health says the release is not
configured for publication; the Chinese record's unfilled elements are warned about too."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dipkg.core.manifest import Publication
from dipkg.core.release import open_release
from dipkg.core.settings import Settings
from sparql_api.app import create_app
from tests.conftest import StandInPool
from tests.test_cli import run

CONFIGURED = {
    "DIPKG_BASE_IRI": "https://kg.bureau.test/",  # its own base: {base}publisher is its own
    "DIPKG_CATALOG__PUBLISHER_NAME_ZH": "某数据局",
    "DIPKG_CATALOG__PUBLISHER_NAME_EN": "Some data bureau",
    "DIPKG_CATALOG__CONTACT_EMAIL": "open-data@bureau.test",
}
CN_FILLED = {
    "DIPKG_CATALOG__CN__CLASS_CODE": "1",
    "DIPKG_CATALOG__CN__ITEM_CODE": "01",
    "DIPKG_CATALOG__CN__HEADING_CODE": "001",
    "DIPKG_CATALOG__CN__SUBHEADING_CODE": "0001",
    "DIPKG_CATALOG__CN__PROVIDER_CODE": "X",
    "DIPKG_CATALOG__CN__SHARING_TYPE": "无条件共享",
    "DIPKG_CATALOG__CN__SHARING_METHOD": "文件下载",
    "DIPKG_CATALOG__CN__OPENING_TYPE": "无条件开放",
    "DIPKG_CATALOG__CN__UPDATE_CYCLE": "不定期",
    "DIPKG_CATALOG__CN__RESOURCE_CODES": json.dumps(
        {
            f: f"A/{i}"
            for i, f in enumerate(
                [
                    "dipkg.ttl",
                    "dipkg.jsonld",
                    "dipkg.nt",
                    "dipkg-scenarios.csv",
                    "dipkg-data-items.csv",
                ]
            )
        }
    ),
}


def test_the_shipped_publisher_and_contact_are_placeholders() -> None:
    assert Settings().catalog.placeholders() == [
        "publisher_name_zh",
        "publisher_name_en",
        "contact_email",
    ]
    configured = Settings(
        catalog={
            "publisher_name_zh": "某数据局",
            "publisher_name_en": "Bureau",
            "contact_email": "open-data@bureau.test",
        }
    )
    assert configured.catalog.placeholders() == []
    other_example = Settings(
        catalog={
            "publisher_name_zh": "某数据局",
            "publisher_name_en": "Bureau",
            "contact_email": "someone@EXAMPLE.com",
        }
    )
    assert other_example.catalog.placeholders() == ["contact_email"]


def test_the_manifest_records_it(manifest: dict) -> None:
    assert manifest["publication"]["placeholders"] == [
        "publisher_name_zh",
        "publisher_name_en",
        "contact_email",
    ]
    assert "共享属性.共享类型" in manifest["publication"]["to_fill"]


@pytest.mark.slow
def test_build_warns_about_placeholders_and_unfilled_elements(tmp_path: Path) -> None:
    done = run("build", "--out", str(tmp_path / "a"))
    assert done.returncode == 0, done.stderr
    assert "warning: not configured for publication" in done.stderr
    assert "dipkg@example.org" in done.stderr and "DIPKG_CATALOG__CONTACT_EMAIL" in done.stderr
    assert "dipkg-catalogue-cn.json" in done.stderr and "共享属性.共享类型" in done.stderr
    done = run("build", "--out", str(tmp_path / "b"), **CONFIGURED, **CN_FILLED)
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr
    manifest = json.loads(
        (tmp_path / "b" / "current" / "manifest.json").read_text(encoding="utf-8")
    )
    assert manifest["publication"] == {"placeholders": [], "to_fill": []}
    # a publisher named at the ontology creator's IRI (the default base) is refused: the
    # data would give one IRI two names
    names = {k: v for k, v in CONFIGURED.items() if k != "DIPKG_BASE_IRI"}
    done = run("build", "--out", str(tmp_path / "c"), **names, **CN_FILLED)
    assert done.returncode != 0 and done.stderr.count("\n") == 1, done.stderr
    assert "error[config]" in done.stderr and "DIPKG_CATALOG__PUBLISHER_IRI" in done.stderr
    assert not (tmp_path / "c" / "current").exists()
    # the publisher's page names the configured publisher, and no one else
    release = open_release(tmp_path / "b")
    with TestClient(create_app(Settings(), release, pool=StandInPool())) as client:
        r = client.get("/publisher", headers={"Accept": "application/n-triples"})
    assert r.status_code == 200
    names = {line for line in r.text.splitlines() if "/name>" in line}
    assert len(names) == 2 and all("某数据局" in n or "Some data bureau" in n for n in names)


@pytest.fixture(scope="module")
def client(built_data: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(), open_release(built_data), pool=StandInPool())) as c:
        yield c


def test_health_says_not_configured_for_publication(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["publication"] == (
        "not configured for publication: placeholder catalog.publisher_name_zh, "
        "catalog.publisher_name_en, catalog.contact_email"
    )


def test_publication_state() -> None:
    assert Publication(placeholders=(), to_fill=("更新周期",)).state() == "configured"
    assert Publication(placeholders=("contact_email",), to_fill=()).state() == (
        "not configured for publication: placeholder catalog.contact_email"
    )
