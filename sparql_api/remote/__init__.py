"""The remote backend: queries and page lookups go to an external SPARQL endpoint.

``dipkg serve --data DIR --sparql-backend URL`` (setting ``sparql_backend``) serves
the same API from any SPARQL 1.1 query endpoint (Oxigraph, Virtuoso, GraphDB,
QLever...) that holds the graph ``dipkg publish`` loaded: the data in the named
graph ``{base}graph/data``, the catalogue record in ``{base}graph/catalog``
(see docs/remote-backend.md). DIR still gives the manifest, dumps and catalogue.

* :class:`RemotePool` has the shape of :class:`~sparql_api.workers.WorkerPool`
  (``start``/``stop``/``run(job) -> Reply``/``alive``/``size``/``info``/``stats``),
  so the endpoint's route does not know which backend it talks to. The guard,
  the size limit, negotiation and the response cache run in the route, before
  this module is reached. Here: the dataset (the data graph becomes the default
  graph), the time limit (a client-side deadline on the whole HTTP exchange, and
  the backend's own timeout parameter where it has one), the row cap, and the
  re-serialisation: the backend is always asked for SPARQL JSON (SELECT, ASK)
  or N-Triples (CONSTRUCT, DESCRIBE), parsed with pyoxigraph and written by the
  same code as the local workers (:mod:`sparql_api.results`), so every format
  and the truncation signal are the local mode's, byte for byte.
* :class:`RemoteDescriber` has the shape of :class:`~sparql_api.describe.Describer`:
  its bounded lookups become small SPARQL queries over HTTP (blank-node closures
  in one CONSTRUCT, because blank-node labels do not survive between requests).

Backend failures are :class:`BackendError` (502: an error or a malformed answer)
or :class:`BackendUnavailable` (503: unreachable), in the one JSON error shape.

The package, by concept:

- :mod:`.errors`: the backend's failures as the endpoint's errors (502, 503, 504, 400)
- :mod:`.dialect`: what is sent: the published graphs, the dataset parameters, the remote
  mode's extra guard (no Virtuoso pragmas or built-ins) and each server's timeout parameter
- :mod:`.answers`: what comes back: media types, hardened parsing (no DTD, repaired
  blank-node labels), status to error, and the row cap over a cut stream
- :mod:`.client`: :class:`~.client.BackendClient`, the one bounded way to talk to it
- :mod:`.pool`: :class:`~.pool.RemotePool`, the ``WorkerPool`` look-alike
- :mod:`.describer`: :class:`~.describer.RemoteDescriber`, the pages' lookups over SPARQL
"""
