"""Where things are: the resource IRI a server path stands for, and the link on this
server of an IRI (the release's base maps to the server root; ontology terms to /ontology)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from dipkg.core import iris
from dipkg.core.iris import DIP, ONTOLOGY_IRI
from sparql_api.negotiation import RESOURCE_OFFERS, Offer

#: The HTML page of a resource; with the graph offers of the endpoint's table.
BY_EXTENSION = {o.extension: o for o in RESOURCE_OFFERS}


def twin_links(path: str, offer: Offer) -> str:
    """The ``Link`` header of a document: its twins in the other formats (RFC 8288
    ``rel="alternate"``, what a page's ``<link rel="alternate">`` say), so a client that
    reads headers finds them from any of the documents (relative to the document's own
    URL, so they hold behind any proxy and prefix)."""
    name = quote(path.rsplit("/", 1)[-1], safe=".-_~")
    return ", ".join(
        f'<{name}.{o.extension}>; rel="alternate"; type="{o.media_type}"'
        for o in RESOURCE_OFFERS
        if o is not offer
    )


# --- where things are ---------------------------------------------------------
@dataclass
class Linker:
    """Maps IRIs to links on this server (base -> root; ontology terms -> /ontology#Term)."""

    base: str
    root: str
    lang: str | None = None  # set: links carry ?lang= (the visible switch remembers nothing)

    def href(self, iri: str) -> str:
        if iri == ONTOLOGY_IRI:
            return self.with_lang(self.root + "/ontology")
        if iri.startswith(DIP):
            return self.with_lang(self.root + "/ontology") + "#" + iri[len(DIP) :]
        if iri.startswith(self.base):
            return self.with_lang(self.root + "/" + iri[len(self.base) :])
        return iri

    def local(self, iri: str) -> bool:
        return iri == ONTOLOGY_IRI or iri.startswith(DIP) or iri.startswith(self.base)

    def with_lang(self, url: str) -> str:
        return f"{url}?{urlencode({'lang': self.lang})}" if self.lang else url

    def path(self, path: str) -> str:
        return self.with_lang(self.root + path)


def iri_for_path(path: str, base: str) -> str:
    """The resource IRI a server path stands for (path without leading '/')."""
    if path == "ontology":
        return ONTOLOGY_IRI
    if path.startswith("ontology/"):  # its version IRI, also served whatever the base
        return ONTOLOGY_IRI + path[len("ontology") :]
    return base + path


def split_extension(path: str) -> tuple[str, Offer | None]:
    stem, dot, ext = path.rpartition(".")
    if dot and ext in BY_EXTENSION and stem and "/" not in ext:
        return stem, BY_EXTENSION[ext]
    return path, None


def curie(iri: str) -> str:
    """What a page shows for an IRI without a label: its ``prefix:local`` (the display
    rule of :func:`dipkg.core.iris.curie`), else the IRI itself."""
    return iris.curie(iri, turtle=False) or iri


def local_path(path: str) -> str:
    """``path`` as an absolute-path reference that cannot leave the site: one leading '/',
    percent-encoded (no '\\', no scheme-relative '//host')."""
    return "/" + quote(path.lstrip("/\\"), safe="/-._~!$'()*+,;=:@")
