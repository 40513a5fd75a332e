"""The record's content: distributions of the real files, the data service, languages, IRIs only."""

from __future__ import annotations

import hashlib
from pathlib import Path

import rdflib
from rdflib import RDF, BNode, Literal, URIRef
from rdflib.namespace import DCTERMS as DCT
from rdflib.namespace import FOAF, SKOS, XSD

from dipkg.core.settings import Settings
from kg.build import build

DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")
SPDX = rdflib.Namespace("http://spdx.org/rdf/terms#")
VCARD = rdflib.Namespace("http://www.w3.org/2006/vcard/ns#")
IANA = "https://www.iana.org/assignments/media-types/"
FILE_TYPE = "http://publications.europa.eu/resource/authority/file-type/"


def langs(graph: rdflib.Graph, subject: URIRef, prop: URIRef) -> set[str | None]:
    return {o.language for o in graph.objects(subject, prop) if isinstance(o, Literal)}


def test_no_blank_nodes(record: rdflib.Graph) -> None:
    assert not [t for t in record if isinstance(t[0], BNode) or isinstance(t[2], BNode)]


def test_catalog_dataset_service_chain(record, minter) -> None:
    catalog, dataset, service = (
        URIRef(minter.catalog()),
        URIRef(minter.dataset()),
        URIRef(minter.sparql_service()),
    )
    assert (catalog, RDF.type, DCAT.Catalog) in record
    assert (catalog, DCAT.dataset, dataset) in record
    assert (catalog, DCAT.service, service) in record
    assert (service, RDF.type, DCAT.DataService) in record
    assert (service, DCAT.endpointURL, service) in record
    assert (service, DCAT.servesDataset, dataset) in record
    assert record.value(service, DCAT.endpointDescription) is not None
    via = [
        d
        for d in record.objects(dataset, DCAT.distribution)
        if (d, DCAT.accessService, service) in record
    ]
    assert len(via) == 1


def test_every_dump_is_a_distribution_of_the_real_file(
    record, manifest, minter, release: Path
) -> None:
    dataset = URIRef(minter.dataset())
    distributions = set(record.objects(dataset, DCAT.distribution))
    by_url = {
        record.value(d, DCAT.downloadURL): d
        for d in distributions
        if record.value(d, DCAT.downloadURL)
    }
    assert len(manifest["dumps"]) == 14 and len(by_url) == len(manifest["dumps"]) - 1
    for entry in manifest["dumps"]:  # the source file is a distribution of its guide
        if "guide" in entry:
            (d,) = record.subjects(DCAT.downloadURL, URIRef(minter.dump(entry["file"])))
            assert (URIRef(minter.guide(entry["guide"])), DCAT.distribution, d) in record
            assert record.value(d, DCT.license) is None  # the issuer's terms, not ours
            by_url[URIRef(minter.dump(entry["file"]))] = d
    for entry in manifest["dumps"]:
        d = by_url[URIRef(minter.dump(entry["file"]))]
        path = release / "dumps" / entry["file"]
        data = path.read_bytes()
        assert record.value(d, DCAT.accessURL) == URIRef(minter.dump(entry["file"]))
        size = record.value(d, DCAT.byteSize)
        assert size.datatype == XSD.nonNegativeInteger and int(size) == len(data)
        checksum = record.value(d, SPDX.checksum)
        assert isinstance(checksum, URIRef)
        assert record.value(checksum, SPDX.algorithm) == URIRef(
            "https://spdx.org/rdf/terms#checksumAlgorithm_sha256"
        )
        value = record.value(checksum, SPDX.checksumValue)
        assert value.datatype == XSD.hexBinary and str(value) == hashlib.sha256(data).hexdigest()
        media = str(record.value(d, DCAT.mediaType))
        fmt = str(record.value(d, DCT["format"]))
        assert media.startswith(IANA) and fmt.startswith(FILE_TYPE)
        gz = entry["file"].endswith(".gz")
        assert (record.value(d, DCAT.compressFormat) == URIRef(IANA + "application/gzip")) == gz
        assert (
            media
            == IANA
            + {
                "ttl": "text/turtle",
                "jsonld": "application/ld+json",
                "nt": "application/n-triples",
                "csv": "text/csv",
                "json": "application/csvm+json",
                "cn.json": "application/json",
                "txt": "text/plain",  # the Chinese catalogue record
                "cn.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            }[
                entry["file"].removesuffix(".gz").rsplit("-", 1)[1]
                if "-cn." in entry["file"]
                else entry["file"].removesuffix(".gz").rsplit(".", 1)[1]
            ]
        )
        assert langs(record, d, DCT.title) == {"zh", "en"}


def test_each_distribution_has_its_own_title(record: rdflib.Graph) -> None:
    """dipkg-tables.xlsx was once titled as the Chinese catalogue record's XLSX (both XLSX)."""
    dcat = rdflib.Namespace("http://www.w3.org/ns/dcat#")
    titles: dict[str, dict[str, str]] = {}
    for dist in record.subjects(RDF.type, dcat.Distribution):
        url = str(record.value(dist, dcat.downloadURL))
        titles[url] = {t.language: str(t) for t in record.objects(dist, DCT.title)}
    for lang in ("zh", "en"):
        shown = [t[lang] for t in titles.values()]
        assert len(shown) == len(set(shown)), sorted(shown)
    tables = next(t for url, t in titles.items() if url.endswith("/dipkg-tables.xlsx"))
    assert "tables" in tables["en"] and "数据项表" in tables["zh"], tables
    record_xlsx = next(t for url, t in titles.items() if url.endswith("/dipkg-catalogue-cn.xlsx"))
    assert "resource-catalogue record" in record_xlsx["en"], record_xlsx


def test_languages_titles_keywords_dates(record, minter, manifest) -> None:
    for node in (minter.catalog(), minter.dataset(), minter.sparql_service()):
        assert langs(record, URIRef(node), DCT.title) == {"zh", "en"}
        assert langs(record, URIRef(node), DCT.description) == {"zh", "en"}
    dataset = URIRef(minter.dataset())
    assert langs(record, dataset, DCAT.keyword) == {"zh", "en"}
    for prop in (DCT.issued, DCT.modified):
        assert record.value(dataset, prop).datatype == XSD.date
    assert {str(o) for o in record.objects(dataset, DCT.language)} == {
        "http://publications.europa.eu/resource/authority/language/ZHO",
        "http://publications.europa.eu/resource/authority/language/ENG",
    }
    # no version or date configured: the build's (release 1; the date of the inputs)
    assert str(record.value(dataset, DCAT.version)) == "1"
    assert str(record.value(dataset, DCT.modified)) == manifest["modified"] == manifest["issued"]


def test_every_text_of_our_resources_is_in_both_languages(record, minter) -> None:
    """A query that must return no rows: a resource of ours (below the base; the EU and
    IANA concepts copied in are theirs) with a text in one of zh and en but not the other.
    Known-bad: the SPARQL service's dcat:keyword "SPARQL" was @en only."""
    one_sided = record.query(
        """SELECT DISTINCT ?s ?p WHERE {
            ?s ?p ?text FILTER(STRSTARTS(STR(?s), ?base) && lang(?text) IN ("zh", "en"))
            FILTER NOT EXISTS {
                ?s ?p ?other FILTER(lang(?other) IN ("zh", "en") && lang(?other) != lang(?text))
            }
        }""",
        initBindings={"base": Literal(minter.base)},
    )
    assert [(str(s), str(p)) for s, p in one_sided] == []


def test_publisher_contact_licence_source_themes(record, minter) -> None:
    dataset = URIRef(minter.dataset())
    settings = Settings().catalog
    publisher = record.value(dataset, DCT.publisher)
    assert (publisher, RDF.type, FOAF.Agent) in record and langs(record, publisher, FOAF.name) == {
        "zh",
        "en",
    }
    contact = record.value(dataset, DCAT.contactPoint)
    assert (contact, RDF.type, VCARD.Kind) in record
    assert record.value(contact, VCARD.hasEmail) == URIRef(f"mailto:{settings.contact_email}")
    licence = record.value(dataset, DCT.license)
    assert (
        str(licence) == settings.license_iri and (licence, RDF.type, DCT.LicenseDocument) in record
    )
    assert str(record.value(licence, DCT.title)) == settings.license_title
    assert (
        str(record.value(licence, DCT.identifier)) == settings.license_identifier() == "CC-BY-4.0"
    )
    source = record.value(dataset, DCT.source)
    assert source == URIRef(minter.guide("guizhou-b1"))
    assert "贵州" in str(record.value(source, DCT.title, any=True)) or any(
        "贵州" in str(t) for t in record.objects(source, DCT.title)
    )
    themes = {str(t) for t in record.objects(dataset, DCAT.theme)}
    assert {
        f"http://publications.europa.eu/resource/authority/data-theme/{t}" for t in settings.themes
    } <= themes
    assert {
        minter.domain(k) for k in ("industry", "transport", "culture-tourism", "finance", "other")
    } <= themes
    for theme in themes:
        assert (URIRef(theme), SKOS.inScheme, None) in record
    catalog = URIRef(minter.catalog())
    assert URIRef(minter.scheme("domains")) in set(record.objects(catalog, DCAT.themeTaxonomy))


def test_the_dumps_name_the_publisher_as_the_record_does(record, minter, release: Path) -> None:
    """The ontology's creator is the record's publisher (one IRI): with the shipped settings
    the dumps (and so /publisher, read from the data) and the record give it the same name
    in each language; /catalog.html and /publisher.html said two different Chinese names."""
    publisher = URIRef(minter.resource("publisher"))
    data = rdflib.Graph().parse(release / "dumps" / "dipkg.nt", format="nt")
    assert (URIRef("https://w3id.org/dipkg/ontology"), DCT.creator, publisher) in data
    names = {(n.language, str(n)) for n in data.objects(publisher, FOAF.name)}
    settings = Settings().catalog
    assert names == {("zh", settings.publisher_name_zh), ("en", settings.publisher_name_en)}
    assert names == {(n.language, str(n)) for n in record.objects(publisher, FOAF.name)}


def test_the_record_is_generated_from_the_configuration(tmp_path: Path) -> None:
    settings = Settings(
        base_iri="https://example.org/kg/",
        catalog={
            "version": "9.9.9",
            "modified": "2027-01-02",
            "publisher_name_en": "Example publisher",
            "license_iri": "https://creativecommons.org/publicdomain/zero/1.0/",
            "license_title": "CC0 1.0",
            "license_type": "PublicDomain",
            "themes": ["ECON"],
        },
    )
    result = build(tmp_path / "data", settings)
    record = rdflib.Graph().parse(result.release / "catalog.ttl", format="turtle")
    dataset = URIRef("https://example.org/kg/dataset")
    assert str(record.value(dataset, DCAT.version)) == "9.9.9"
    assert record.value(dataset, DCT.modified) == Literal("2027-01-02", datatype=XSD.date)
    assert (
        str(record.value(dataset, DCT.license))
        == "https://creativecommons.org/publicdomain/zero/1.0/"
    )
    licence = URIRef("https://creativecommons.org/publicdomain/zero/1.0/")
    assert (
        str(record.value(licence, DCT.identifier)) == "CC0-1.0"
    )  # follows the IRI, never the default's
    urls = {str(o) for o in record.objects(None, DCAT.downloadURL)}
    assert urls and all(u.startswith("https://example.org/kg/dumps/") for u in urls)
    assert not [
        s
        for s in record.subjects()
        if str(s).startswith("https://w3id.org/dipkg/") and "ontology" not in str(s)
    ]


def test_deterministic(tmp_path: Path, release: Path) -> None:
    again = build(tmp_path / "data", Settings())
    for name in (
        "catalog.ttl",
        "dumps/dipkg-scenarios.csv",
        "dumps/dipkg-data-items.csv",
        "dumps/dipkg-scenarios.csv-metadata.json",
        "dumps/dipkg-data-items.csv-metadata.json",
        "dumps/dipkg-catalogue-cn.json",
        "dumps/dipkg-catalogue-cn.xlsx",
        "dumps/dipkg-tables.xlsx",
    ):
        assert (again.release / name).read_bytes() == (release / name).read_bytes(), name


def test_an_unshipped_eu_code_is_a_clear_error(build_result, minter, store) -> None:
    import pytest

    from dipkg.core.errors import ConfigError
    from kg import catalog
    from kg.build import Graph

    graph = Graph(Settings(catalog={"themes": ["ECON", "NOPE"]}), lambda message: None)
    with pytest.raises(ConfigError) as info:
        list(catalog.record(graph, build_result.manifest, store))
    assert "data-theme/NOPE" in info.value.message and info.value.file.endswith(
        "eu-vocabularies.ttl"
    )


def test_the_source_documents_issuer_and_date_come_from_guides_toml_only(
    record, minter, inputs_copy, tmp_path
) -> None:
    guide = URIRef(minter.guide("guizhou-b1"))
    assert (
        record.value(guide, DCT.publisher) is None and record.value(guide, DCT.issued) is None
    )  # empty: unsaid
    path = inputs_copy / "guides.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace('issuer_zh = ""', 'issuer_zh = "某发布机关"').replace(
            'date = ""', 'date = "2025-01-02"'
        ),
        encoding="utf-8",
    )
    result = build(tmp_path / "data", Settings(inputs_dir=inputs_copy))
    filled = rdflib.Graph().parse(result.release / "catalog.ttl", format="turtle")
    issuer = filled.value(guide, DCT.publisher)
    assert (
        issuer == URIRef(f"{guide}/issuer")
        and (issuer, FOAF.name, Literal("某发布机关", lang="zh")) in filled
    )
    assert filled.value(guide, DCT.issued) == Literal("2025-01-02", datatype=XSD.date)


def test_a_bad_date_in_guides_toml_is_a_clear_error(inputs_copy) -> None:
    import pytest

    from dipkg.core.errors import ConfigError
    from kg.guide import load_inputs

    path = inputs_copy / "guides.toml"
    path.write_text(
        path.read_text(encoding="utf-8").replace('date = ""', 'date = "2025/1/2"'), encoding="utf-8"
    )
    with pytest.raises(
        ConfigError, match="date '2025/1/2' is not a date written YYYY-MM-DD"
    ) as caught:
        load_inputs(inputs_copy)
    assert "guides.toml" in str(caught.value.file)


def test_a_source_file_that_cannot_be_published_is_a_clear_error(inputs_copy, tmp_path) -> None:
    import pytest

    from dipkg.core.errors import SourceError

    source = inputs_copy / "sources" / "guizhou-dip-scenarios-batch1.txt"
    source.rename(source.with_suffix(".text"))
    path = inputs_copy / "guides.toml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("batch1.txt", "batch1.text"), encoding="utf-8"
    )
    with pytest.raises(SourceError, match="to be published") as caught:
        build(tmp_path / "data", Settings(inputs_dir=inputs_copy))
    assert str(caught.value.file).endswith("batch1.text")
