"""dipkg: a knowledge-graph and linked-data publisher for data-IP application scenarios.

Three layers, each importing only the ones below it (docs/architecture.md):

- :mod:`dipkg.core`  the contract between the build and the web app: the release
  layout and its manifest, IRIs and prefixes, settings, errors, credentials;
- :mod:`kg` (the build) and :mod:`sparql_api` (the web app), which never import
  each other;
- :mod:`dipkg.cli`, the ``dipkg`` command, above both.

This module holds the version, defined once (pyproject reads it).
"""

__version__ = "0.1.0"
