"""The record's distributions: one per dump file (with its checksum), the SPARQL endpoint,
and the media types and standards they name."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from dipkg.core import dump_titles, formats
from dipkg.core.catalog_cn import SCHEMA_URL_PATH
from dipkg.core.formats import FILE_TYPE, GZIP
from dipkg.core.iris import ONTOLOGY_IRI
from dipkg.core.manifest import DumpEntry
from dipkg.core.terms import IRI, XSD, Block, Literal, Term, en, zh
from kg.catalog.context import Context
from kg.catalog.namespaces import (
    CSVW_REC,
    DCAT,
    DCT,
    LANGUAGE,
    RDFS,
    SPARQL_PROTOCOL,
    SPDX,
    SPDX_SHA256_HTTPS,
    A,
    p,
    slug,
    typed,
)


def distribution_title(entry: DumpEntry) -> tuple[str, str]:
    """The distribution's title (zh, en), from its dump entry in the manifest (the titles
    the downloads page shows too: :mod:`dipkg.core.dump_titles`)."""
    return dump_titles.title(entry)


def distribution_blocks(ctx: Context, iri: IRI, entry: DumpEntry) -> Iterator[Block]:
    """A dump file's distribution and its checksum."""
    fmt = formats.for_dump(entry)
    title_zh, title_en = distribution_title(entry)
    url = IRI(ctx.m.dump(entry.file))
    checksum = IRI(ctx.m.checksum(slug(entry.file)))
    gz = entry.encoding == "gzip"
    description_en = f"{title_en}: {entry.file}, {entry.bytes} bytes, SHA-256 {entry.sha256}."
    description_zh = f"{title_zh}：{entry.file}，{entry.bytes} 字节，SHA-256 {entry.sha256}。"
    assert fmt.file_type is not None, fmt  # every dump format has its EU file type
    pairs: list[tuple[IRI, Term]] = [
        (A, p(DCAT, "Distribution")),
        (p(DCT, "title"), en(title_en)),
        (p(DCT, "title"), zh(title_zh)),
        (p(DCT, "description"), en(description_en)),
        (p(DCT, "description"), zh(description_zh)),
        (p(DCAT, "accessURL"), url),
        (p(DCAT, "downloadURL"), url),
        (p(DCAT, "mediaType"), IRI(fmt.iana)),
        (p(DCT, "format"), ctx.eu.concept(FILE_TYPE + fmt.file_type, "file type")),
    ]
    if gz:
        pairs.append((p(DCAT, "compressFormat"), IRI(GZIP.iana)))
    pairs += [
        (p(DCAT, "byteSize"), typed(entry.bytes, "nonNegativeInteger")),
        (p(SPDX, "checksum"), checksum),
        # a source document is not ours to license: its terms are its issuer's
        *([] if entry.is_source else [(p(DCT, "license"), ctx.license)]),
        *(
            ctx.languages()
            if not entry.is_source
            else [(p(DCT, "language"), ctx.eu.concept(LANGUAGE + "ZHO", "language"))]
        ),
        ctx.availability(),
        *ctx.dates(),
    ]
    if fmt.is_rdf:
        pairs.append((p(DCT, "conformsTo"), IRI(ONTOLOGY_IRI)))
    elif entry.format == "CSV":
        pairs.append((p(DCT, "conformsTo"), IRI(ctx.m.dump(f"{entry.file}-metadata.json"))))
    elif entry.format == "CSVW":
        pairs.append((p(DCT, "conformsTo"), IRI(CSVW_REC)))
    elif entry.format == "JSON":  # the Chinese record: its JSON Schema, served by the app
        pairs.append((p(DCT, "conformsTo"), IRI(ctx.m.resource(SCHEMA_URL_PATH))))
    yield iri, pairs
    yield (
        checksum,
        [
            (A, p(SPDX, "Checksum")),
            (p(SPDX, "algorithm"), IRI(SPDX_SHA256_HTTPS)),
            (p(SPDX, "checksumValue"), Literal(entry.sha256, datatype=XSD + "hexBinary")),
        ],
    )


def sparql_distribution_block(ctx: Context, iri: IRI) -> Block:
    return iri, [
        (A, p(DCAT, "Distribution")),
        (p(DCT, "title"), en("SPARQL endpoint")),
        (p(DCT, "title"), zh("SPARQL 查询服务")),
        (
            p(DCT, "description"),
            en("The whole graph, queried live through the SPARQL 1.1 protocol (read-only)."),
        ),
        (p(DCT, "description"), zh("通过 SPARQL 1.1 协议在线查询整个知识图谱（只读）。")),
        (p(DCAT, "accessURL"), ctx.service),
        (p(DCAT, "accessService"), ctx.service),
        (p(DCT, "format"), ctx.eu.concept(FILE_TYPE + "SPARQLQ", "file type")),
        (p(DCT, "license"), ctx.license),
        *ctx.languages(),
        ctx.availability(),
        (p(DCT, "conformsTo"), IRI(SPARQL_PROTOCOL)),
    ]


def checksum_algorithm_block() -> Block:
    """DCAT-AP 3.0.1's :ChecksumAlgorithmRestriction wants an algorithm IRI matching
    ^https://spdx.org/rdf/terms *and* of class spdx:ChecksumAlgorithm (http namespace),
    so the record uses the https form portals' validators accept and states that it is
    the same as SPDX's own term (docs/catalogue.md, "spdx:algorithm")."""
    return (
        IRI(SPDX_SHA256_HTTPS),
        [
            (A, p(SPDX, "ChecksumAlgorithm")),
            (p(RDFS, "label"), Literal("SHA-256")),
            (IRI("http://www.w3.org/2002/07/owl#sameAs"), p(SPDX, "checksumAlgorithm_sha256")),
        ],
    )


def media_type_blocks(dumps: Sequence[DumpEntry]) -> Iterator[Block]:
    used = {formats.by_name(d.format) for d in dumps}
    if any(d.encoding == "gzip" for d in dumps):
        used.add(GZIP)
    for fmt in sorted(used, key=lambda f: f.media_type):
        yield IRI(fmt.iana), [(A, p(DCT, "MediaType")), (p(RDFS, "label"), Literal(fmt.media_type))]


def standard_blocks(ctx: Context) -> Iterator[Block]:
    standards = [
        (ONTOLOGY_IRI, "dipkg ontology", "dipkg 本体"),
        (SPARQL_PROTOCOL, "SPARQL 1.1 Protocol", "SPARQL 1.1 协议"),
        (CSVW_REC, "Metadata Vocabulary for Tabular Data (CSVW)", "表格数据元数据词汇（CSVW）"),
    ]
    for d in ctx.manifest.dumps:
        if d.format == "CSV":
            standards.append(
                (
                    ctx.m.dump(f"{d.file}-metadata.json"),
                    f"CSVW metadata of {d.file}",
                    f"{d.file} 的 CSVW 元数据",
                )
            )
        elif d.format == "JSON":
            standards.append(
                (
                    ctx.m.resource(SCHEMA_URL_PATH),
                    "JSON Schema of the Chinese resource-catalogue record",
                    "政务信息资源目录记录的 JSON Schema",
                )
            )
    for iri, title_en, title_zh in standards:
        yield (
            IRI(iri),
            [
                (A, p(DCT, "Standard")),
                (p(DCT, "title"), en(title_en)),
                (p(DCT, "title"), zh(title_zh)),
            ],
        )
