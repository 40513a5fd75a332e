"""Dereferenceable IRIs and the pages for people.

Every resource IRI below the release's base is served at the same path on this
server (the base maps to the server root: the Host header, or X-Forwarded-Host/
Proto/Prefix from a trusted proxy, ``Settings.trusted_proxies``).
The ontology (``https://w3id.org/dipkg/ontology`` and its hash terms) is served
at ``/ontology`` whatever the base.

The IRI names the thing (a scenario, a field), not a web page, so it answers
**303 See Other** to a document chosen by content negotiation::

    GET /scenario/guizhou-b1-s01           -> 303 /scenario/guizhou-b1-s01.html  (browsers)
    Accept: text/turtle                    -> 303 /scenario/guizhou-b1-s01.ttl
    GET /scenario/guizhou-b1-s01.jsonld    -> 200 application/ld+json

Documents: ``.html``, ``.ttl``, ``.jsonld`` (compacted with the project context),
``.nt``, ``.rdf``. ``Vary: Accept`` on every negotiated response (the 303 too),
``Vary: Accept-Language`` on pages; 406 (JSON, listing the offers) when nothing
fits; a 404 page (HTML for browsers, the JSON error otherwise) for unknown IRIs.
Rendered responses are cached (bounded LRU) with an ETag from build, path,
variant and language; Last-Modified is the manifest's ``modified``.

The package, by concept:

- :mod:`.links`: where things are (resource IRI <-> path on this server, file extensions)
- :mod:`.documents`: a resource's description serialised as Turtle, JSON-LD, N-Triples, RDF/XML
- :mod:`.model`: the view model of a page (values, statements, labels by language)
- :mod:`.views`: a resource's view and the parts its kind of page shows (:class:`~.views.Pages`)
- :mod:`.lookups`: the SPARQL lookups those parts make (scenario trees, uses of a kind, ...)
- :mod:`.site`: what every page route shares (:class:`~.site.PageContext`: templates, cache,
  headers)
- :mod:`.routes`: the landing page and the resource catch-all
"""
