"""The one table of formats: every RDF, result and file format the build writes or the app serves.

Each :class:`Format` says, in one place, what the other tables used to repeat: its name in the
manifest (a dump's ``format``), media type and the other media types that truly describe it,
file extension, the ``?format=`` names, the pyoxigraph ``RdfFormat`` or ``QueryResultsFormat``
that writes it, the rdflib plugin name, labels (en, zh), the EU file-type code and the W3C
format IRI. The build (kg/build.py, kg/catalog/, kg/catalog_cn.py) and the app's content
negotiation (sparql_api/negotiation.py: one offer per format), dumps and catalogue routes
read it; a format nobody registered cannot be written into a release
(:func:`for_dump` names the file).

Names are unique; media types are not (a SPARQL CSV result and a CSV table are both
``text/csv``), nor are keys across kinds (the worker's serialiser key: ``json`` is the SPARQL
results key and plain JSON's).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from pyoxigraph import QueryResultsFormat, RdfFormat

from dipkg.core.errors import StoreError
from dipkg.core.manifest import DumpEntry

#: IANA's media-type register: ``IANA + media_type`` is the type's IRI (dcat:mediaType).
IANA = "https://www.iana.org/assignments/media-types/"
#: The EU file-type authority table: ``FILE_TYPE + code`` (dct:format).
FILE_TYPE = "http://publications.europa.eu/resource/authority/file-type/"
#: The W3C format IRIs (SPARQL 1.1 service descriptions' formats).
W3C = "http://www.w3.org/ns/formats/"


@dataclass(frozen=True)
class Format:
    """One format; see the module's docstring."""

    name: str  # unique; a dump's "format" in the manifest
    media_type: str  # canonical, lower case, without parameters
    extension: str  # without the dot
    label_en: str
    label_zh: str
    key: str = ""  # the serialiser key of the SPARQL worker and the pages ("turtle", "json")
    charset: str | None = "utf-8"  # None: bytes, never labelled with a charset
    aliases: tuple[str, ...] = ()  # other media types that truly describe the body
    names: tuple[str, ...] = ()  # values of ?format= / ?output= that pick it
    read_aliases: tuple[str, ...] = ()  # media types other servers label it with (parsing only)
    w3c: str | None = None  # the W3C format IRI
    file_type: str | None = None  # EU file-type code (the catalogue's dct:format)
    rdf: RdfFormat | None = None  # pyoxigraph's RDF format
    results: QueryResultsFormat | None = None  # pyoxigraph's query-results format
    rdflib: str | None = None  # rdflib's serializer plugin name
    gzip_twin: bool = False  # the build writes a .gz twin of its dump
    prefixes: bool = False  # its serialiser writes prefix declarations (Turtle, TriG, RDF/XML)

    @property
    def iana(self) -> str:
        """The media type's IRI in IANA's register (what dcat:mediaType names)."""
        return IANA + self.media_type

    @property
    def label(self) -> str:
        return self.label_en

    @property
    def is_rdf(self) -> bool:
        return self.rdf is not None

    def content_type(self, media_type: str | None = None) -> str:
        """The Content-Type header of a body in this format (labelled ``media_type``)."""
        mt = media_type or self.media_type
        return f"{mt}; charset={self.charset}" if self.charset else mt


# --- RDF -------------------------------------------------------------------------------------
TURTLE = Format(
    "Turtle",
    "text/turtle",
    "ttl",
    "Turtle",
    "Turtle",
    key="turtle",
    # text/n3 too: N3 is a superset of Turtle, so a Turtle body is N3 (IANA text/n3)
    aliases=("application/x-turtle", "application/turtle", "text/n3"),
    names=("turtle", "ttl", "n3"),
    read_aliases=("application/x-turtle",),
    w3c=W3C + "Turtle",
    file_type="RDF_TURTLE",
    rdf=RdfFormat.TURTLE,
    rdflib="turtle",
    gzip_twin=True,
    prefixes=True,
)
N_TRIPLES = Format(
    "N-Triples",
    "application/n-triples",
    "nt",
    "N-Triples",
    "N-Triples",
    key="ntriples",
    names=("nt", "ntriples", "n-triples"),
    read_aliases=("text/plain", "text/ntriples"),
    w3c=W3C + "N-Triples",
    file_type="RDF_N_TRIPLES",
    rdf=RdfFormat.N_TRIPLES,
    rdflib="nt",
    gzip_twin=True,
)
JSON_LD = Format(
    "JSON-LD",
    "application/ld+json",
    "jsonld",
    "JSON-LD",
    "JSON-LD",
    key="jsonld",
    aliases=("application/json",),
    names=("json-ld", "jsonld", "json"),
    w3c=W3C + "JSON-LD",
    file_type="JSON_LD",
    rdf=RdfFormat.JSON_LD,
    rdflib="json-ld",
    gzip_twin=True,
)
RDF_XML = Format(
    "RDF/XML",
    "application/rdf+xml",
    "rdf",
    "RDF/XML",
    "RDF/XML",
    key="rdfxml",
    aliases=("application/xml",),
    names=("rdf+xml", "rdfxml", "rdf", "xml"),
    w3c=W3C + "RDF_XML",
    file_type="RDF_XML",
    rdf=RdfFormat.RDF_XML,
    rdflib="pretty-xml",
    prefixes=True,
)
N_QUADS = Format(
    "N-Quads",
    "application/n-quads",
    "nq",
    "N-Quads",
    "N-Quads",
    key="nquads",
    names=("nq", "nquads", "n-quads"),
    w3c=W3C + "N-Quads",
    file_type="RDF_N_QUADS",
    rdf=RdfFormat.N_QUADS,
    rdflib="nquads",
)
TRIG = Format(
    "TriG",
    "application/trig",
    "trig",
    "TriG",
    "TriG",
    key="trig",
    names=("trig",),
    w3c=W3C + "TriG",
    file_type="RDF_TRIG",
    rdf=RdfFormat.TRIG,
    rdflib="trig",
    prefixes=True,
)

# --- SPARQL query results ----------------------------------------------------------------------
SPARQL_JSON = Format(
    "SPARQL Results JSON",
    "application/sparql-results+json",
    "srj",
    "SPARQL Results JSON",
    "SPARQL 查询结果（JSON）",
    key="json",
    aliases=("application/json",),
    names=("json", "srj", "sparql-results+json"),
    read_aliases=("application/json",),
    w3c=W3C + "SPARQL_Results_JSON",
    results=QueryResultsFormat.JSON,
)
SPARQL_XML = Format(
    "SPARQL Results XML",
    "application/sparql-results+xml",
    "srx",
    "SPARQL Results XML",
    "SPARQL 查询结果（XML）",
    key="xml",
    aliases=("application/xml",),
    names=("xml", "srx", "sparql-results+xml"),
    read_aliases=("application/xml",),
    w3c=W3C + "SPARQL_Results_XML",
    results=QueryResultsFormat.XML,
)
SPARQL_CSV = Format(
    "SPARQL Results CSV",
    "text/csv",
    "csv",
    "SPARQL Results CSV",
    "SPARQL 查询结果（CSV）",
    key="csv",
    names=("csv",),
    w3c=W3C + "SPARQL_Results_CSV",
    results=QueryResultsFormat.CSV,
)
SPARQL_TSV = Format(
    "SPARQL Results TSV",
    "text/tab-separated-values",
    "tsv",
    "SPARQL Results TSV",
    "SPARQL 查询结果（TSV）",
    key="tsv",
    names=("tsv",),
    w3c=W3C + "SPARQL_Results_TSV",
    results=QueryResultsFormat.TSV,
)

# --- files and pages ---------------------------------------------------------------------------
HTML = Format(
    "HTML",
    "text/html",
    "html",
    "HTML",
    "HTML",
    key="html",
    aliases=("application/xhtml+xml",),
    names=("html",),
    file_type="HTML",
)
JSON = Format("JSON", "application/json", "json", "JSON", "JSON", key="json", file_type="JSON")
CSV = Format("CSV", "text/csv", "csv", "CSV", "CSV", key="csv", file_type="CSV")
CSVW = Format(
    "CSVW",
    "application/csvm+json",
    "json",
    "CSVW metadata",
    "CSVW 元数据",
    file_type="JSON_LD",
)
#: The source documents, verbatim (kg/build.py): distributions of the guides.
SOURCE_TEXT = Format(
    "Source",
    "text/plain",
    "txt",
    "Source document (text)",
    "源文件（文本）",
    file_type="TXT",
)
SOURCE_DOCX = Format(
    "Source DOCX",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "docx",
    "Source document (Word)",
    "源文件（Word）",
    charset=None,
    file_type="DOCX",
)
#: A SELECT or ASK result as an Excel workbook (sparql_api/workbook.py): the worker writes
#: TSV (no ``results`` here: it is no writer of Oxigraph's) and the app makes the workbook.
SPARQL_XLSX = Format(
    "SPARQL Results XLSX",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xlsx",
    "Excel workbook (XLSX)",
    "Excel 工作簿（XLSX）",
    key="xlsx",
    charset=None,
    names=("xlsx", "excel"),
)
XLSX = Format(
    "XLSX",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xlsx",
    "Excel workbook",
    "Excel 工作簿",
    charset=None,
    file_type="XLSX",
)
#: What a ``.gz`` twin is served and described as (its content: the format it compresses).
GZIP = Format("gzip", "application/gzip", "gz", "gzip", "gzip", charset=None, file_type="GZIP")

FORMATS: tuple[Format, ...] = (
    TURTLE,
    N_TRIPLES,
    JSON_LD,
    RDF_XML,
    N_QUADS,
    TRIG,
    SPARQL_JSON,
    SPARQL_XML,
    SPARQL_CSV,
    SPARQL_TSV,
    SPARQL_XLSX,
    HTML,
    JSON,
    CSV,
    CSVW,
    SOURCE_TEXT,
    SOURCE_DOCX,
    XLSX,
    GZIP,
)
BY_NAME: Mapping[str, Format] = {f.name: f for f in FORMATS}
if len(BY_NAME) != len(FORMATS):  # pragma: no cover - a wrong edit of the table above
    raise RuntimeError("two formats share a name in dipkg/core/formats.py")

#: The source documents' formats by file suffix (kg/build.py publishes these only).
SOURCES: Mapping[str, Format] = {"." + f.extension: f for f in (SOURCE_TEXT, SOURCE_DOCX)}


def by_name(name: str) -> Format:
    """The format named ``name`` (a dump's ``format``); KeyError when none is."""
    return BY_NAME[name]


def for_dump(entry: DumpEntry) -> Format:
    """The format of a manifest's dump entry, checked: its ``format`` is registered and its
    ``media_type`` is that format's. A :class:`StoreError` names the file otherwise."""
    name, file = entry.format, entry.file
    fmt = BY_NAME.get(name)
    if fmt is None:
        raise StoreError(
            f"the dump has the format {name!r}, which dipkg/core/formats.py does not know",
            file=file,
            details={"format": name, "known": sorted(BY_NAME)},
        )
    if entry.media_type != fmt.media_type:
        raise StoreError(
            f"the dump says media type {entry.media_type!r}; its format {name} is {fmt.media_type}",
            file=file,
            details={"format": name},
        )
    return fmt


def is_text(media_type: str) -> bool:
    """True when a body of this media type is text (UTF-8): some registered format of that
    canonical type has a charset."""
    return any(f.charset for f in FORMATS if f.media_type == media_type)


def rdf_media_types() -> Iterator[tuple[str, RdfFormat]]:
    """(media type, pyoxigraph format) for reading RDF: canonical types, aliases, read aliases."""
    for f in FORMATS:
        if f.rdf is not None:
            for media in (f.media_type, *f.aliases, *f.read_aliases):
                yield media, f.rdf


def results_media_types() -> Iterator[tuple[str, QueryResultsFormat]]:
    """(media type, pyoxigraph format) for reading SPARQL results."""
    for f in FORMATS:
        if f.results is not None:
            for media in (f.media_type, *f.aliases, *f.read_aliases):
                yield media, f.results
