"""The namespaces, authority tables and literal helpers every part of the record uses."""

from __future__ import annotations

import re

import pyoxigraph as ox

from dipkg.core.iris import PREFIXES
from dipkg.core.terms import IRI, XSD, Literal

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
LANGUAGE = AUTHORITY + "language/"
DATA_THEME = AUTHORITY + "data-theme/"
LICENCE_TYPE = "http://purl.org/adms/licencetype/"
PUBLISHER_TYPE = "http://purl.org/adms/publishertype/"
SPARQL_PROTOCOL = "https://www.w3.org/TR/sparql11-protocol/"
SPARQL_SD = "https://www.w3.org/TR/sparql11-service-description/"
CSVW_REC = "https://www.w3.org/TR/tabular-metadata/"

A = IRI(RDF + "type")


def p(ns: str, local: str) -> IRI:
    """The IRI ``ns + local`` (a property or class of namespace ``ns``)."""
    return IRI(ns + local)


def date(value: str) -> ox.Literal:
    return Literal(value, datatype=XSD + "date")


def typed(value: int | str, datatype: str) -> ox.Literal:
    return Literal(str(value), datatype=XSD + datatype)


def slug(file: str) -> str:
    """A file name as an IRI segment: ``dipkg.ttl.gz`` -> ``dipkg-ttl-gz``."""
    return re.sub(r"[^a-z0-9]+", "-", file.lower()).strip("-")
