"""The "what changed" page and its JSON twin on a real server, over a folder with two releases
(the second from edited inputs: tests/test_changes.py), and the first release's page."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import rdflib

from dipkg.core.settings import Settings
from kg.build import build
from tests.endpoint.conftest import server_in
from tests.test_changes import DROP_CONCEPT, EDITS, _inputs

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture(scope="module")
def two(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[httpx.Client, dict, dict, Path]]:
    tmp = tmp_path_factory.mktemp("changes-site")
    out = tmp / "data"
    first = build(out, Settings(inputs_dir=_inputs(tmp / "in1", "2026-11-24")))
    second = build(
        out, Settings(inputs_dir=_inputs(tmp / "in2", "2026-11-30", EDITS, DROP_CONCEPT))
    )
    with (
        server_in(out, tmp, DIPKG_QUERY_WORKERS="1") as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        yield client, first.manifest.to_json(), second.manifest.to_json(), second.release


def test_the_json_twin_is_the_release_file(two) -> None:
    client, _, second, release = two
    r = client.get("/changes.json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert r.content == (release / "changes.json").read_bytes()
    assert r.headers["x-dipkg-build"] == second["build_id"]
    again = client.get("/changes.json", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304
    negotiated = client.get("/changes", headers={"Accept": "application/json"})
    assert negotiated.status_code == 200 and negotiated.content == r.content
    assert "Accept" in negotiated.headers["vary"]
    assert client.get("/changes", headers={"Accept": "text/csv"}).status_code == 406


def test_the_page_lists_what_changed(two) -> None:
    client, first, second, _ = two
    r = client.get("/changes?lang=en", headers={"Accept": BROWSER})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert (
        '<link rel="alternate" type="application/json" href="' in html and '/changes.json"' in html
    )
    assert f"Version 2 · 2026-11-30 · Build <code>{second['build_id']}</code>" in html
    assert f"Version 1 · 2026-11-24 · Build <code>{first['build_id']}</code>" in html
    assert 'Data fields <span class="muted">(added 1 · removed 1 · changed 0)</span>' in html
    base = "https://w3id.org/dipkg/scenario/guizhou-b1-s01"
    rows = {iri: kind for kind, iri in re.findall(r'<tr class="(\w+)" data-iri="([^"]+)"', html)}
    assert rows == {
        base: "changed",
        f"{base}/data/1": "changed",
        f"{base}/data/4": "changed",
        f"{base}/data/4.3": "added",
        f"{base}/data/1.6": "removed",
    }
    assert (
        '/scenario/guizhou-b1-s01/data/4.3?lang=en">Steam consumption</a>' in html
    )  # still there: linked
    assert "/data/1.6?lang=en" not in html  # gone: named, never linked
    assert '<del><span lang="zh">生产工艺优化</span></del>' in html
    assert '<ins><span lang="zh">生产工艺智能优化</span></ins>' in html
    zh = client.get("/changes", headers={"Accept": BROWSER, "Accept-Language": "zh"}).text
    assert '数据项 <span class="muted">(新增 1 · 删除 1 · 修改 0)</span>' in zh


def test_landing_dumps_and_footer_link_the_changes_and_date(two) -> None:
    client, _, second, _ = two
    landing = client.get("/?lang=en", headers={"Accept": BROWSER}).text
    assert re.search(
        r'id="changes-card"><h3><a href="[^"]*/changes\?lang=en">What changed</a>', landing
    )
    assert "Version 2 · 2026-11-30." in landing
    assert '<time datetime="2026-11-30">2026-11-30</time>' in landing  # the footer
    dumps = client.get("/dumps/?lang=en", headers={"Accept": BROWSER}).text
    assert re.search(r'<a id="changes-link" href="[^"]*/changes\?lang=en">What changed</a>', dumps)
    assert '<td class="date">2026-11-30</td>' in dumps
    assert client.get("/dumps/index.json").json()["modified"] == "2026-11-30"
    schema = json.loads(
        re.search(r'<script type="application/ld\+json">\s*(.*?)</script>', landing, re.S).group(1)
    )
    assert (schema["dateModified"], schema["datePublished"], schema["version"]) == (
        "2026-11-30",
        "2026-11-24",
        "2",
    )


def test_the_previous_version_dereferences(two) -> None:
    client, first, _, _ = two
    r = client.get(f"/release/{first['build_id']}", headers={"Accept": "text/turtle"})
    assert r.status_code == 303
    g = rdflib.Graph().parse(data=client.get(r.headers["location"]).text, format="turtle")
    subject = rdflib.URIRef(f"https://w3id.org/dipkg/release/{first['build_id']}")
    assert g.value(subject, rdflib.URIRef("http://www.w3.org/ns/dcat#version")) == rdflib.Literal(
        "1"
    )
    dataset = rdflib.Graph().parse(data=client.get("/dataset.ttl").text, format="turtle")
    assert (None, rdflib.URIRef("http://www.w3.org/ns/dcat#previousVersion"), subject) in dataset


def test_every_earlier_release_still_dereferences(two, tmp_path: Path) -> None:
    """A third build from other inputs: the first release, which the second's record named,
    is still described (known-bad: 404 once it was no longer the previous one), in each
    format, with the release it was followed by pointing at it."""
    import shutil

    _, first, second, release = two
    out = tmp_path / "data"
    shutil.copytree(release.parent.parent, out, symlinks=True)
    third = build(out, Settings(inputs_dir=_inputs(tmp_path / "in3", "2026-12-01", EDITS[:1])))
    assert third.manifest.release == 3
    dcat = rdflib.Namespace("http://www.w3.org/ns/dcat#")
    iri = "https://w3id.org/dipkg/release/"
    with (
        server_in(out, tmp_path, DIPKG_QUERY_WORKERS="1") as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        for build_id, version in ((first["build_id"], "1"), (second["build_id"], "2")):
            for accept, fmt in (("text/turtle", "turtle"), ("application/ld+json", "json-ld")):
                r = client.get(f"/release/{build_id}", headers={"Accept": accept})
                assert r.status_code == 303, (build_id, accept)
                g = rdflib.Graph().parse(data=client.get(r.headers["location"]).text, format=fmt)
                assert g.value(rdflib.URIRef(iri + build_id), dcat.version) == rdflib.Literal(
                    version
                )
            page = client.get(f"/release/{build_id}", headers={"Accept": BROWSER})
            assert page.status_code == 303
            assert client.get(page.headers["location"]).status_code == 200
        second_ttl = client.get(f"/release/{second['build_id']}.ttl").text
        g = rdflib.Graph().parse(data=second_ttl, format="turtle")
        assert g.value(rdflib.URIRef(iri + second["build_id"]), dcat.previousVersion) == (
            rdflib.URIRef(iri + first["build_id"])
        )


def test_a_first_release_says_so(http) -> None:
    """The session's build: the first release of its folder."""
    html = http.get("/changes?lang=en", headers={"Accept": BROWSER}).text
    assert 'id="first-release"' in html and "none (first release)" in html
    data = http.get("/changes.json").json()
    assert data["old"] is None and data["new"]["version"] == "1"


def test_a_corrupt_change_set_is_one_line(two, tmp_path: Path) -> None:
    import shutil
    import subprocess
    import sys

    from tests.conftest import cli_env
    from tests.endpoint.conftest import free_port

    _, _, _, release = two
    out = tmp_path / "data"
    shutil.copytree(release.parent.parent, out, symlinks=True)
    (out / "releases" / release.name / "changes.json").write_text(
        '{"old"', encoding="utf-8"
    )  # known bad
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dipkg.cli",
            "serve",
            "--data",
            str(out),
            "--port",
            str(free_port()),
        ],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=60,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    # (its digest is checked first, as the pages read what is gone from it)
    assert done.stderr.strip().endswith(
        "changes.json: error[store]: a file of the release does not match its SHA-256 in the "
        "manifest"
    )


GONE = "/scenario/guizhou-b1-s01/data/1.6"  # the field the second release removed


def test_a_removed_resource_is_gone_not_missing(two) -> None:
    """An IRI the first release published and the second removed answers 410 Gone, naming
    the release that removed it: its page for people, the error shape for machines, and
    its documents too. Known-bad beside it: an address never published stays 404."""
    client, _, second, _ = two
    page = client.get(GONE, headers={"Accept": BROWSER, "Accept-Language": "en"})
    assert page.status_code == 410 and page.headers["content-type"].startswith("text/html")
    assert "<h1>Alumina concentration</h1>" in page.text
    assert "removed in release 2 (2026-11-30)" in page.text
    assert f"<code>https://w3id.org/dipkg{GONE}</code>" in page.text
    zh = client.get(GONE, headers={"Accept": BROWSER, "Accept-Language": "zh"})
    assert zh.status_code == 410 and "<h1>氧化铝浓度</h1>" in zh.text and "第 2 版" in zh.text
    data = client.get(GONE, headers={"Accept": "text/turtle"})
    assert data.status_code == 410 and data.json()["error"] == "gone"
    assert data.json()["details"]["removed_in"] == {
        "build_id": second["build_id"],
        "version": "2",
        "modified": "2026-11-30",
    }
    for document in (GONE + ".ttl", GONE + ".html", GONE + ".jsonld"):
        assert client.get(document).status_code == 410, document
    never = client.get("/scenario/guizhou-b1-s01/data/9.9", headers={"Accept": BROWSER})
    assert never.status_code == 404
    kept = client.get("/scenario/guizhou-b1-s01/data/4.3", headers={"Accept": "text/turtle"})
    assert kept.status_code == 303


def test_a_removed_concept_is_gone_too(two) -> None:
    """A concept the vocabulary dropped has a page no longer, though the change set does
    not compare concepts: it is in the release's list of what is gone, as a concept, and
    answers 410 like a removed field. Its scheme, still published, does not list it."""
    client, _, second, release = two
    gone = json.loads((release / "changes.json").read_text(encoding="utf-8"))["gone"]
    concept = "https://w3id.org/dipkg/concept/alumina-concentration"
    assert [(g["iri"], g["kind"]) for g in gone] == [
        (concept, "concepts"),
        ("https://w3id.org/dipkg" + GONE, "fields"),
    ]
    assert gone[0]["label"] == {"zh": "氧化铝浓度", "en": "Alumina concentration"}
    page = client.get("/concept/alumina-concentration", headers={"Accept": BROWSER})
    assert page.status_code == 410 and "<h1>氧化铝浓度</h1>" in page.text
    data = client.get("/concept/alumina-concentration.ttl")
    assert data.status_code == 410 and data.json()["details"]["iri"] == concept
    scheme = client.get("/scheme/data-kinds.ttl")
    assert scheme.status_code == 200 and b"alumina-concentration" not in scheme.content
    assert client.get("/concept/alumina-purity.ttl").status_code == 200  # its sibling stays


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_gone_page_reads_well(two, page, lang) -> None:
    """The 410 page in headless Chromium: its language, no script error, no serious or
    critical accessibility violation (axe-core, as every other page: tests/pages/test_axe.py)."""
    from tests.pages.test_axe import axe_source, serious, url_of

    client = two[0]
    response = page.goto(url_of(str(client.base_url).rstrip("/"), GONE, lang))
    assert response is not None and response.status == 410
    assert page.evaluate("document.documentElement.lang") == ("en" if lang == "en" else "zh-Hans")
    assert page.inner_text("h1") == ("Alumina concentration" if lang == "en" else "氧化铝浓度")
    assert serious(page, axe_source()) == [] and not page.js_errors
