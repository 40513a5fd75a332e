"""The schema.org Dataset of the knowledge graph (the landing page's JSON-LD): what the
catalogue record says, in the terms search engines read (Google's Dataset guidelines)."""

from __future__ import annotations

from typing import Any

from dipkg.core import formats
from dipkg.core.iris import Minter
from dipkg.core.manifest import Manifest
from dipkg.core.settings import Settings
from kg.catalog.context import publisher_homepage, publisher_iri, release_dates
from kg.catalog.distributions import distribution_title
from kg.catalog.namespaces import slug
from kg.guide import Inputs, load_inputs
from kg.paths import INPUTS_DIR


def schema_org_dataset(
    manifest: Manifest, settings: Settings, minter: Minter, inputs: Inputs | None = None
) -> dict[str, Any]:
    """The schema.org Dataset of this knowledge graph, as a JSON-LD object (deterministic).

    ``inputs``: the build's (``graph.inputs``); None reads them from the inputs folder (the
    landing page's serve-time call, until the build writes the document into the release).
    """
    s = settings.catalog
    issued, modified = release_dates(manifest)
    if inputs is None:
        inputs = load_inputs(settings.inputs_dir or INPUTS_DIR)
    publisher = {
        "@type": "Organization",
        "@id": publisher_iri(settings, minter),
        "name": s.publisher_name_en,
        "alternateName": s.publisher_name_zh,
        "url": publisher_homepage(settings, minter),
        "email": s.contact_email,
    }
    distribution = []
    for entry in manifest.dataset_dumps:  # a source file is its guide's, not this dataset's
        title_zh, title_en = distribution_title(entry)
        item: dict[str, Any] = {
            "@type": "DataDownload",
            "@id": minter.distribution(slug(entry.file)),
            "name": title_en,
            "contentUrl": minter.dump(entry.file),
            "encodingFormat": formats.by_name(entry.format).media_type,
            "contentSize": f"{entry.bytes} B",
            "sha256": entry.sha256,
        }
        if entry.encoding == "gzip":
            item["description"] = f"{item['encodingFormat']}, gzip-compressed"
            item["encodingFormat"] = formats.GZIP.media_type
        distribution.append(item)
    return {
        "@context": "https://schema.org/",
        "@type": "Dataset",
        "@id": minter.dataset(),
        "name": s.title_en,
        "alternateName": s.title_zh,
        "description": f"{s.description_en}\n\n{s.description_zh}",
        "url": minter.base,
        "identifier": minter.dataset(),
        "sameAs": minter.dataset(),
        "keywords": [*s.keywords_en, *s.keywords_zh],
        "inLanguage": ["zh", "en"],
        "license": s.license_iri,
        "isAccessibleForFree": True,
        "creator": publisher,
        "publisher": publisher,
        **({"datePublished": issued} if issued else {}),
        **({"dateModified": modified} if modified else {}),
        **({"version": manifest.version} if manifest.version else {}),
        "isBasedOn": [
            {
                "@type": "CreativeWork",
                "@id": minter.guide(g.id),
                "url": minter.guide(g.id),
                "name": g.title_zh,
                "alternateName": g.title_en,
                "inLanguage": "zh",
            }
            for g in inputs.guides
        ],
        "spatialCoverage": [
            {"@type": "Place", "name": g.province_en, "alternateName": g.province_zh}
            for g in inputs.guides
        ],
        "distribution": distribution,
        "includedInDataCatalog": {
            "@type": "DataCatalog",
            "@id": minter.catalog(),
            "name": s.catalog_title_en,
            "url": minter.catalog(),
        },
    }
