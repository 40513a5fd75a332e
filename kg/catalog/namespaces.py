"""The namespaces, authority tables and literal helpers every part of the record uses."""

from __future__ import annotations

import re
from dataclasses import dataclass

from dipkg.core.iris import PREFIXES
from kg.terms import IRI, XSD, Literal

RDF = PREFIXES["rdf"]
RDFS = PREFIXES["rdfs"]
SKOS = PREFIXES["skos"]
DCT = PREFIXES["dcterms"]
DCAT = PREFIXES["dcat"]
FOAF = PREFIXES["foaf"]
VOID = PREFIXES["void"]
VCARD = PREFIXES["vcard"]
SPDX = PREFIXES["spdx"]
SPDX_SHA256_HTTPS = "https://spdx.org/rdf/terms#checksumAlgorithm_sha256"
SCHEMA = PREFIXES["schema"]
CSVW = "http://www.w3.org/ns/csvw#"
DCATAP = "http://data.europa.eu/r5r/"
ADMS = "http://www.w3.org/ns/adms#"

AUTHORITY = "http://publications.europa.eu/resource/authority/"
FILE_TYPE = AUTHORITY + "file-type/"
LANGUAGE = AUTHORITY + "language/"
DATA_THEME = AUTHORITY + "data-theme/"
LICENCE_TYPE = "http://purl.org/adms/licencetype/"
PUBLISHER_TYPE = "http://purl.org/adms/publishertype/"
IANA = "https://www.iana.org/assignments/media-types/"
SPARQL_PROTOCOL = "https://www.w3.org/TR/sparql11-protocol/"
SPARQL_SD = "https://www.w3.org/TR/sparql11-service-description/"
CSVW_REC = "https://www.w3.org/TR/tabular-metadata/"

A = IRI(RDF + "type")


def p(ns: str, local: str) -> IRI:
    """The IRI ``ns + local`` (a property or class of namespace ``ns``)."""
    return IRI(ns + local)


def date(value: str) -> Literal:
    return Literal(value, datatype=XSD + "date")


def typed(value: int | str, datatype: str) -> Literal:
    return Literal(str(value), datatype=XSD + datatype)


def slug(file: str) -> str:
    """A file name as an IRI segment: ``dipkg.ttl.gz`` -> ``dipkg-ttl-gz``."""
    return re.sub(r"[^a-z0-9]+", "-", file.lower()).strip("-")


# --- what each dump is --------------------------------------------------------------
@dataclass(frozen=True)
class Format:
    label_zh: str
    label_en: str
    file_type: str  # EU file-type code
    media_type: str  # IANA media type (of the uncompressed bytes)


FORMATS: dict[str, Format] = {
    "Turtle": Format("Turtle", "Turtle", "RDF_TURTLE", "text/turtle"),
    "JSON-LD": Format("JSON-LD", "JSON-LD", "JSON_LD", "application/ld+json"),
    "N-Triples": Format("N-Triples", "N-Triples", "RDF_N_TRIPLES", "application/n-triples"),
    "CSV": Format("CSV", "CSV", "CSV", "text/csv"),
    "CSVW": Format("CSVW 元数据", "CSVW metadata", "JSON_LD", "application/csvm+json"),
    # the source documents, verbatim (kg/build.py _write_sources): distributions of the guides
    "Source": Format("源文件（文本）", "Source document (text)", "TXT", "text/plain"),
    "Source DOCX": Format(
        "源文件（Word）",
        "Source document (Word)",
        "DOCX",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    # the Chinese resource-catalogue record (kg/catalog_cn.py)
    "JSON": Format("JSON", "JSON", "JSON", "application/json"),
    "XLSX": Format(
        "Excel 工作簿",
        "Excel workbook",
        "XLSX",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
}
RDF_FORMATS = ("Turtle", "JSON-LD", "N-Triples")
GZIP = "application/gzip"
