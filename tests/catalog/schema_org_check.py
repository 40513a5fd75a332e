"""A structured-data check of a schema.org Dataset (the landing page's JSON-LD), written for
the tests: :func:`check_schema_org_dataset` lists the problems of a document."""

from __future__ import annotations

import re
from typing import Any

_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$")
_LANG = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{1,8})*$")
_SCHEMA_CONTEXTS = (
    "https://schema.org/",
    "https://schema.org",
    "http://schema.org/",
    "http://schema.org",
)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _types(node: Any) -> list[str]:
    return [str(t) for t in _as_list(node.get("@type", []))] if isinstance(node, dict) else []


def check_schema_org_dataset(doc: Any) -> list[str]:
    """Problems of a schema.org Dataset JSON-LD object ([] = it passes).

    The rules are those of schema.org's Dataset type and of Google's Dataset structured
    data guidelines (https://developers.google.com/search/docs/appearance/structured-data/dataset):
    required: name, description (50 to 5000 characters); recommended, and checked
    when present: url, identifier, sameAs (URLs), keywords, license (a URL or a
    CreativeWork), creator (Person or Organization with a name), distribution
    (DataDownload with contentUrl and encodingFormat), isBasedOn, includedInDataCatalog
    (DataCatalog with a name), dates (ISO 8601), version, inLanguage (BCP 47).
    This record also requires what the catalogue promises: license, creator, distribution,
    isBasedOn, url, identifier, keywords, inLanguage, version (dateModified only when the
    release's date is known: kg/changes.py states none rather than guess one).
    """
    problems: list[str] = []
    if not isinstance(doc, dict):
        return ["the document is not a JSON object"]
    if doc.get("@context") not in _SCHEMA_CONTEXTS:
        problems.append("@context: must be https://schema.org/")
    if "Dataset" not in _types(doc):
        problems.append("@type: must be Dataset")

    def text(key: str, required: bool = True) -> str | None:
        value = doc.get(key)
        if value is None:
            if required:
                problems.append(f"{key}: missing")
            return None
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{key}: must be a non-empty text")
            return None
        return value

    def url(value: Any, where: str) -> None:
        if not isinstance(value, str) or not _URL.match(value):
            problems.append(f"{where}: {value!r} is not an absolute http(s) URL")

    text("name")
    description = text("description")
    if description is not None and not 50 <= len(description) <= 5000:
        problems.append(f"description: {len(description)} characters; Google requires 50 to 5000")
    for key in (
        "url",
        "identifier",
        "license",
        "creator",
        "distribution",
        "isBasedOn",
        "keywords",
        "inLanguage",
        "version",
        "includedInDataCatalog",
    ):
        if key not in doc:
            problems.append(f"{key}: missing")
    if "url" in doc:
        url(doc["url"], "url")
    for value in _as_list(doc.get("sameAs", [])):
        url(value, "sameAs")
    for value in _as_list(doc.get("identifier", [])):
        if isinstance(value, dict):
            if "PropertyValue" not in _types(value):
                problems.append("identifier: an object identifier must be a PropertyValue")
        elif not isinstance(value, str) or not value.strip():
            problems.append("identifier: must be a text, a URL or a PropertyValue")
    if "keywords" in doc:
        keywords = _as_list(doc["keywords"])
        if not keywords or not all(isinstance(k, str) and k.strip() for k in keywords):
            problems.append("keywords: must be non-empty texts")
    for value in _as_list(doc.get("license", [])):
        if isinstance(value, dict):
            if "CreativeWork" not in _types(value) or not (value.get("url") or value.get("@id")):
                problems.append("license: a CreativeWork licence needs a url")
            else:
                url(value.get("url") or value.get("@id"), "license")
        else:
            url(value, "license")
    for key in ("creator", "publisher"):
        for agent in _as_list(doc.get(key, [])):
            if not isinstance(agent, dict) or not set(_types(agent)) & {"Person", "Organization"}:
                problems.append(f"{key}: must be a Person or an Organization")
                continue
            if not isinstance(agent.get("name"), str) or not agent["name"].strip():
                problems.append(f"{key}: needs a name")
            if "url" in agent:
                url(agent["url"], f"{key}.url")
    distributions = _as_list(doc.get("distribution", []))
    if "distribution" in doc and not distributions:
        problems.append("distribution: empty")
    for i, item in enumerate(distributions):
        where = f"distribution[{i}]"
        if not isinstance(item, dict) or "DataDownload" not in _types(item):
            problems.append(f"{where}: must be a DataDownload")
            continue
        if "contentUrl" not in item:
            problems.append(f"{where}.contentUrl: missing")
        else:
            url(item["contentUrl"], f"{where}.contentUrl")
        fmt = item.get("encodingFormat")
        if fmt is None:
            problems.append(f"{where}.encodingFormat: missing")
        elif not isinstance(fmt, str) or not (_MEDIA_TYPE.match(fmt) or _URL.match(fmt)):
            problems.append(f"{where}.encodingFormat: {fmt!r} is not a media type or a URL")
        if "sha256" in item and not re.fullmatch(r"[0-9a-f]{64}", str(item["sha256"])):
            problems.append(f"{where}.sha256: not a hex SHA-256")
    for value in _as_list(doc.get("isBasedOn", [])):
        if isinstance(value, dict):
            target = value.get("url") or value.get("@id")
            if not target:
                problems.append("isBasedOn: a CreativeWork source needs a url or @id")
            else:
                url(target, "isBasedOn")
        else:
            url(value, "isBasedOn")
    for catalog in _as_list(doc.get("includedInDataCatalog", [])):
        if not isinstance(catalog, dict) or "DataCatalog" not in _types(catalog):
            problems.append("includedInDataCatalog: must be a DataCatalog")
        elif not isinstance(catalog.get("name"), str) or not catalog["name"].strip():
            problems.append("includedInDataCatalog: needs a name")
    for key in ("dateModified", "datePublished", "dateCreated"):
        if key in doc and not (isinstance(doc[key], str) and _DATE.match(doc[key])):
            problems.append(f"{key}: {doc[key]!r} is not an ISO 8601 date")
    if "version" in doc and not isinstance(doc["version"], str | int | float):
        problems.append("version: must be a text or a number")
    for value in _as_list(doc.get("inLanguage", [])):
        if not isinstance(value, str) or not _LANG.match(value):
            problems.append(f"inLanguage: {value!r} is not a BCP 47 language tag")
    if "isAccessibleForFree" in doc and not isinstance(doc["isAccessibleForFree"], bool):
        problems.append("isAccessibleForFree: must be a boolean")
    return problems
