"""dipkg knowledge-graph build: the source document -> RDF -> Oxigraph store and dumps.

This package imports :mod:`dipkg.core` (the release contract) and never the web app
(:mod:`sparql_api`); the ``dipkg`` command (:mod:`dipkg.cli`) sits above both.
"""
