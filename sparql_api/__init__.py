"""dipkg's web app: a read-only SPARQL 1.1 endpoint over the built store.

Modules (one concept each):

* :mod:`sparql_api.app`          the app factory ``create_app(settings, release)``
* :mod:`sparql_api.protocol`     SPARQL 1.1 Protocol request parsing, service description
* :mod:`sparql_api.negotiation`  the table of offers and the Accept parser
* :mod:`sparql_api.guard`        refuses SERVICE and updates before execution
* :mod:`sparql_api.workers`      the pool of killable worker processes
* :mod:`sparql_api.workers_child` a worker process's side (light: no asyncio, no web app)
* :mod:`sparql_api.results`      evaluation and serialisation (runs inside a worker)
* :mod:`sparql_api.errors`       the endpoint's error classes (dipkg.core.errors shape)
* :mod:`sparql_api.server`       ``run()`` for ``dipkg serve``
* :mod:`sparql_api.query`        ``dipkg query``: one query through the same guard and workers

The build never imports this package.
"""
