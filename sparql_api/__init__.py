"""dipkg's web app: a read-only SPARQL 1.1 endpoint over the built store.

Modules (one concept each):

* :mod:`sparql_api.app`          the app factory ``create_app(settings, release)``
* :mod:`sparql_api.state`        the one state every route shares (``AppContext``) and its hooks
* :mod:`sparql_api.backends`     the one place that chooses where queries and lookups run
* :mod:`sparql_api.remote`       the remote backend: an external SPARQL endpoint
* :mod:`sparql_api.workers`      the local backend: a pool of killable worker processes
* :mod:`sparql_api.workers_child` a worker process's side (light: no asyncio, no web app)
* :mod:`sparql_api.zygote`       the fork server that starts the workers (as light)
* :mod:`sparql_api.results`      evaluation and serialisation (runs inside a worker)
* :mod:`sparql_api.workbook`     a SELECT or ASK result as an Excel workbook (made by the app)
* :mod:`sparql_api.endpoint`     the routes ``/sparql`` and ``/health``
* :mod:`sparql_api.protocol`     SPARQL 1.1 Protocol request parsing, service description
* :mod:`sparql_api.guard`        refuses SERVICE and updates before execution
* :mod:`sparql_api.syntax`       readable SPARQL syntax errors
* :mod:`sparql_api.negotiation`  the table of offers and the Accept parser
* :mod:`sparql_api.http`         CORS, HEAD, gzip and validators shared by every route
* :mod:`sparql_api.cache`        a byte-bounded LRU of finished responses
* :mod:`sparql_api.fastpath`     repeat GETs answered from finished responses, before routing
* :mod:`sparql_api.ui`           the query UI, static files, and the wiring of the page routers
* :mod:`sparql_api.pages`        dereferenceable IRIs and the pages for people
* :mod:`sparql_api.describe`     the RDF description of one resource, from the store
* :mod:`sparql_api.catalog_routes` ``/catalog`` and ``/.well-known/void``
* :mod:`sparql_api.catalog_record` the catalogue record parsed and serialised (rdflib), on first use
* :mod:`sparql_api.dumps`        ``/dumps/``: the release's files
* :mod:`sparql_api.changes`      ``/changes``: what changed since the previous release
* :mod:`sparql_api.datamap`      ``/map``: the map of shared data
* :mod:`sparql_api.find`         ``/search`` and ``/match``
* :mod:`sparql_api.sitemap`      ``/sitemap.xml``: every page, for crawlers
* :mod:`sparql_api.charts`       small server-drawn SVG pictures of the pages
* :mod:`sparql_api.i18n`         Chinese and English: language choice and interface strings
* :mod:`sparql_api.errors`       the endpoint's error classes (dipkg.core.errors shape)
* :mod:`sparql_api.live`         ``dipkg serve`` follows ``DIR/current`` without a restart
* :mod:`sparql_api.server`       ``run()`` for ``dipkg serve``
* :mod:`sparql_api.connections`  connection limits of ``dipkg serve`` (uvicorn protocol)
* :mod:`sparql_api.logs`         the server's logs and access log
* :mod:`sparql_api.query`        ``dipkg query``: one query through the same guard and workers

The build never imports this package.
"""
