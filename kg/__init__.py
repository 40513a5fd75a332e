"""dipkg knowledge-graph build: the source document -> RDF -> Oxigraph store and dumps.

This package never imports the web app (:mod:`sparql_api`).
"""

__version__ = "0.1.0"
