"""The release's list of pages for crawlers (``site/pages.txt``) and its sitemap's limits.

The build writes the list (:func:`page_paths`: every resource of the release that has a
page of its own, by its path under the base IRI, in document order); the web app serves it
as ``/sitemap.xml`` (sparql_api/sitemap.py), each path under the site's own root, which only
a request knows. Both import this module, which imports neither.
"""

from __future__ import annotations

import pyoxigraph as ox

from dipkg.core.iris import DIP, PREFIXES, document_order

PAGES_FILE = "site/pages.txt"

#: the classes whose resources have a page (sparql_api/pages/views.py RESOURCE_KINDS;
#: tests/pages/test_sitemap.py holds the two to the same list)
PAGE_TYPES = (
    PREFIXES["owl"] + "Ontology",
    DIP + "Scenario",
    DIP + "Domain",
    DIP + "DataCategory",
    DIP + "DataField",
    DIP + "Guide",
    PREFIXES["skos"] + "ConceptScheme",
    PREFIXES["skos"] + "Concept",
)

#: the pages of the site itself, before the resources (paths under the site's root)
SITE_PAGES = ("", "catalog.html", "changes", "map", "dumps/")

#: at most this many URLs in one sitemap file (sitemaps.org: 50,000 and 50 MB); a longer
#: list is served in parts under a sitemap index
MAX_URLS = 50_000


def page_paths(store: ox.Store, base: str) -> list[str]:
    """The paths under ``base`` of the resources of ``store``'s default graph that have a
    page (:data:`PAGE_TYPES`), each once, in document order (s02 before s10)."""
    values = " ".join(f"<{t}>" for t in PAGE_TYPES)
    query = f"SELECT DISTINCT ?s WHERE {{ VALUES ?t {{ {values} }} ?s a ?t }}"
    rows = store.query(query)
    assert isinstance(rows, ox.QuerySolutions)
    found = {
        row[0].value[len(base) :]
        for row in rows
        if isinstance(row[0], ox.NamedNode) and row[0].value.startswith(base)
    }
    return sorted((p for p in found if safe(p)), key=document_order)


def safe(path: str) -> bool:
    """A path the list can hold as one line and a URL as it is: printable ASCII without
    spaces, quotes, angle brackets or a fragment (IRIs minted here always are)."""
    return bool(path) and all(0x21 <= ord(c) <= 0x7E and c not in "\"'<>#&\\" for c in path)


def to_text(paths: list[str]) -> str:
    return "".join(p + "\n" for p in paths)
