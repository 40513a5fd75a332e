"""/dumps/: the listing (HTML, JSON) and the exact bytes of the build, with Range, ETag, HEAD."""

from __future__ import annotations

import hashlib

import httpx
import psutil
import pytest

from dipkg.core.release import Release
from tests.pages.conftest import BROWSER_ACCEPT


def manifest_files(release: Release) -> list[str]:
    return [d.file for d in release.manifest.dumps]


def test_every_dump_is_byte_identical(http: httpx.Client, release: Release):
    names = manifest_files(release) + ["SHA256SUMS"]
    assert {"dipkg.ttl", "dipkg.jsonld", "dipkg.nt", "dipkg.ttl.gz", "dipkg-tables.xlsx"} <= set(
        names
    )
    for name in names:
        expected = (release.dumps_dir / name).read_bytes()
        r = http.get(f"/dumps/{name}", headers={"Accept-Encoding": "gzip"})
        assert r.status_code == 200, name
        assert r.content == expected, name
        assert int(r.headers["content-length"]) == len(expected)
        assert "content-encoding" not in r.headers, name
        assert r.headers["etag"] == f'"{hashlib.sha256(expected).hexdigest()}"'
        assert r.headers["last-modified"] and r.headers["accept-ranges"] == "bytes"


def test_types_and_gzip_files(http: httpx.Client, release: Release):
    for entry in release.manifest.dumps:
        r = http.head(f"/dumps/{entry.file}")
        ctype = r.headers["content-type"].split(";")[0]
        if entry.encoding == "gzip":
            assert ctype == "application/gzip"
        else:
            assert ctype == entry.media_type
    import gzip

    body = http.get("/dumps/dipkg.nt.gz").content
    assert gzip.decompress(body) == (release.dumps_dir / "dipkg.nt").read_bytes()


def test_head_has_the_length_and_no_body(http: httpx.Client, release: Release):
    r = http.head("/dumps/dipkg.ttl")
    assert r.status_code == 200 and r.content == b""
    assert int(r.headers["content-length"]) == (release.dumps_dir / "dipkg.ttl").stat().st_size


def test_head_does_not_read_the_file(http: httpx.Client, release: Release, site):
    """A HEAD is answered from the file's size: the server reads none of it (a crawler's
    probe of a large dump costs no disk). Measured by the server process's own reads."""
    name = "dipkg.nt"
    size = (release.dumps_dir / name).stat().st_size
    assert size > 1_000_000
    server = psutil.Process(site.proc.pid)
    http.head(f"/dumps/{name}")  # (anything read once per process, read now)
    before = server.io_counters().read_chars
    for _ in range(5):
        assert http.head(f"/dumps/{name}").headers["content-length"] == str(size)
    assert server.io_counters().read_chars - before < size // 4
    before = server.io_counters().read_chars
    assert len(http.get(f"/dumps/{name}").content) == size  # (the measure sees a GET's reads)
    assert server.io_counters().read_chars - before >= size


def test_etag_and_last_modified_give_304(http: httpx.Client):
    r = http.get("/dumps/dipkg.jsonld")
    assert (
        http.get("/dumps/dipkg.jsonld", headers={"If-None-Match": r.headers["etag"]}).status_code
        == 304
    )
    assert (
        http.get(
            "/dumps/dipkg.jsonld", headers={"If-Modified-Since": r.headers["last-modified"]}
        ).status_code
        == 304
    )
    assert http.get("/dumps/dipkg.jsonld", headers={"If-None-Match": '"other"'}).status_code == 200


@pytest.mark.parametrize(
    "header,start,end",
    [
        ("bytes=0-99", 0, 99),
        ("bytes=100-", 100, None),
        ("bytes=-10", None, None),
        ("bytes=5-5", 5, 5),
        ("bytes=0-999999999", 0, None),
    ],
)
def test_ranges(http: httpx.Client, release: Release, header, start, end):
    data = (release.dumps_dir / "dipkg.ttl").read_bytes()
    size = len(data)
    r = http.get("/dumps/dipkg.ttl", headers={"Range": header})
    assert r.status_code == 206
    if header == "bytes=-10":
        start, end = size - 10, size - 1
    end = size - 1 if end is None else end
    assert r.content == data[start : end + 1]
    assert r.headers["content-range"] == f"bytes {start}-{end}/{size}"
    assert int(r.headers["content-length"]) == end - start + 1


def test_a_page_elsewhere_can_read_a_ranges_headers(http: httpx.Client, release: Release):
    """CORS: a script on another origin resuming a download must read Content-Range (the
    total size) and Accept-Ranges, which are not CORS-safelisted: they must be exposed."""
    size = (release.dumps_dir / "dipkg.ttl").stat().st_size
    r = http.get(
        "/dumps/dipkg.ttl", headers={"Range": "bytes=0-9", "Origin": "https://portal.example"}
    )
    assert r.status_code == 206 and r.headers["content-range"] == f"bytes 0-9/{size}"
    assert r.headers["access-control-allow-origin"] == "*"
    exposed = {h.strip().lower() for h in r.headers["access-control-expose-headers"].split(",")}
    assert {"content-range", "accept-ranges", "etag", "last-modified"} <= exposed


def test_unsatisfiable_and_ignored_ranges(http: httpx.Client, release: Release):
    size = (release.dumps_dir / "dipkg.ttl").stat().st_size
    r = http.get("/dumps/dipkg.ttl", headers={"Range": f"bytes={size}-"})
    assert r.status_code == 416 and r.headers["content-range"] == f"bytes */{size}"
    assert http.get("/dumps/dipkg.ttl", headers={"Range": "bytes=-0"}).status_code == 416
    for ignored in ("bytes=9-3", "lines=1-2", "bytes=0-1,5-6"):
        r = http.get("/dumps/dipkg.ttl", headers={"Range": ignored})
        assert r.status_code == 200 and len(r.content) == size
    tag = http.head("/dumps/dipkg.ttl").headers["etag"]
    assert (
        http.get("/dumps/dipkg.ttl", headers={"Range": "bytes=0-9", "If-Range": tag}).status_code
        == 206
    )
    assert (
        http.get(
            "/dumps/dipkg.ttl", headers={"Range": "bytes=0-9", "If-Range": '"stale"'}
        ).status_code
        == 200
    )


def test_only_listed_files_are_served(http: httpx.Client):
    for path in (
        "/dumps/manifest.json",
        "/dumps/..%2Fmanifest.json",
        "/dumps/%2E%2E/manifest.json",
        "/dumps/nope.ttl",
        "/dumps/.hidden",
    ):
        assert http.get(path).status_code == 404, path


def test_listing_json(http: httpx.Client, release: Release, site):
    for r in (
        http.get("/dumps/", headers={"Accept": "application/json"}),
        http.get("/dumps/index.json"),
    ):
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
        body = r.json()
        assert body["build_id"] == release.build_id
        listed = {d["file"]: d for d in body["dumps"]}
        for entry in release.manifest.dumps:
            d = listed[entry.file]
            assert d["bytes"] == entry.bytes and d["sha256"] == entry.sha256
            assert d["url"] == f"{site.url}/dumps/{entry.file}" and d["format"] == entry.format
        # its ETag and date are honoured, as the HTML listing's are (known-bad: always 200)
        json_accept = {"Accept": "application/json"}
        for condition in (
            {"If-None-Match": r.headers["etag"]},
            {"If-Modified-Since": r.headers["last-modified"]},
        ):
            for path in ("/dumps/", "/dumps/index.json"):
                again = http.get(path, headers={**json_accept, **condition})
                assert again.status_code == 304 and again.content == b"", (path, condition)
                assert again.headers["etag"] == r.headers["etag"]
        stale = http.get("/dumps/index.json", headers={"If-None-Match": '"stale"'})
        assert stale.status_code == 200 and stale.json() == body
    assert http.get("/dumps/", headers={"Accept": "image/png"}).status_code == 406


def test_listing_html(http: httpx.Client, release: Release):
    r = http.get("/dumps/", headers={"Accept": BROWSER_ACCEPT})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    for entry in release.manifest.dumps:
        assert entry.file in r.text and entry.sha256 in r.text
    assert release.manifest.modified and release.manifest.modified in r.text
    assert http.get("/dumps").status_code == 301


def test_each_file_says_what_it_is_as_the_catalogue_does(http: httpx.Client, release: Release):
    """The listing names each file as the catalogue record titles its distribution (both
    from dipkg/core/dump_titles.py: checked here against the record as published), and
    the Chinese page names formats in Chinese (it showed "Source" and "SHA-256 checksums",
    and two workbooks only as "XLSX": found in a UX review)."""
    import rdflib

    record = rdflib.Graph().parse(release.catalog_file, format="turtle")
    dcat, dct = rdflib.Namespace("http://www.w3.org/ns/dcat#"), rdflib.DCTERMS
    titled = {
        str(url).rsplit("/", 1)[1]: {t.language: str(t) for t in record.objects(d, dct.title)}
        for d, url in record.subject_objects(dcat.downloadURL)
    }
    listed = {d["file"]: d["title"] for d in http.get("/dumps/index.json").json()["dumps"]}
    assert set(titled) <= set(listed) and len(titled) >= 10
    for name, title in titled.items():
        assert listed[name] == title, name
    assert listed["SHA256SUMS"]["en"].startswith("SHA-256 checksums")
    zh = http.get("/dumps/", params={"lang": "zh"}, headers={"Accept": BROWSER_ACCEPT}).text
    body = zh.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    for english in ("<td>Source<br>", "<td>SHA-256 checksums<br>", "<td>XLSX<br>"):
        assert english not in body
    assert "场景表与数据项表（XLSX 工作簿）" in body and "源文件（文本）" in body
