"""SPARQL 1.1 Protocol: reading a query request, and the service description.

Request forms (https://www.w3.org/TR/sparql11-protocol/#query-operation):

* ``GET /sparql?query=...``
* ``POST /sparql`` with ``application/x-www-form-urlencoded`` (``query=...``), decoded
  exactly once from the raw body, as :func:`urllib.parse.parse_qsl` does (a literal
  ``%41`` in the query text arrives encoded as ``%2541`` and stays ``%41``)
* ``POST /sparql`` with ``application/sparql-query`` (the body is the query, UTF-8)

``default-graph-uri`` and ``named-graph-uri`` (repeatable) set the dataset
(``union-default-graph``, as in ``oxigraph serve``, makes the default graph the
union of all graphs);
``format=`` / ``output=`` pick a result format by name. Updates in any spelling
(``update=``, ``application/sparql-update``) are refused with 403.
"""

from __future__ import annotations

import binascii
import functools
import ipaddress
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import pyoxigraph as ox
from starlette.requests import ClientDisconnect, Request
from starlette.types import Receive

from dipkg.core.release import Release
from sparql_api.errors import (
    QueryError,
    QueryTooLarge,
    UnsupportedMediaType,
    UpdateForbidden,
    quoted,
)
from sparql_api.http import ORIGIN_READ
from sparql_api.negotiation import Offer

FORM = "application/x-www-form-urlencoded"
SPARQL_QUERY = "application/sparql-query"
SPARQL_UPDATE = "application/sparql-update"
FORMAT_PARAMS = ("format", "output")
MAX_FIELDS = 1000


@dataclass
class SparqlRequest:
    query: str
    default_graphs: list[str] = field(default_factory=list)
    named_graphs: list[str] = field(default_factory=list)
    formats: list[str] = field(default_factory=list)  # format= / output= values, in order
    union_default_graph: bool = False  # oxigraph serve's ?union-default-graph


def parse_params(raw: bytes) -> dict[str, list[str]]:
    """``application/x-www-form-urlencoded`` bytes (a body or a query string), decoded once.

    What :func:`urllib.parse.parse_qsl` gives for the bytes read as Latin-1 (one char per
    byte, so nothing is lost; blank values kept, at most :data:`MAX_FIELDS` fields), each
    name and value then decoded as UTF-8, strictly; done on the bytes directly, as this
    runs for every query (tests/endpoint/test_params.py compares the two on any input).
    """
    if raw and raw.count(b"&") >= MAX_FIELDS:  # parse_qsl's max_num_fields, first
        raise QueryError("malformed parameters: Max number of fields exceeded")
    params: dict[str, list[str]] = {}
    for part in raw.split(b"&"):
        if not part:
            continue
        key, _, value = part.partition(b"=")
        if b"+" in key:
            key = key.replace(b"+", b" ")
        if b"%" in key:
            key = _unquote(key)
        if b"+" in value:
            value = value.replace(b"+", b" ")
        if b"%" in value:
            value = _unquote(value)
        try:
            name = key.decode("utf-8")
            text = value.decode("utf-8")
        except UnicodeError:
            raise QueryError("parameters must be UTF-8 (percent-encoded)") from None
        values = params.get(name)
        if values is None:
            params[name] = [text]
        else:
            values.append(text)
    return params


_HEXDIG = "0123456789ABCDEFabcdef"
#: ``%XX`` (any case) to its byte, as urllib.parse.unquote_to_bytes has it
_HEX_BYTE = {(a + b).encode(): bytes.fromhex(a + b) for a in _HEXDIG for b in _HEXDIG}


#: a ``%`` that starts no escape (not followed by two hex digits)
_LONE_PERCENT = re.compile(rb"%(?![0-9A-Fa-f]{2})")


def _unquote(text: bytes) -> bytes:
    """``%XX`` escapes to their bytes; a ``%`` not followed by two hex digits stays.

    When every ``%`` starts an escape and there is no line break, binascii's
    quoted-printable decoder does it in C (a point lookup's 30 escapes: 2 µs, not 8):
    its ``=XX`` is our ``%XX`` once a literal ``=`` is spelt ``=3D``, and without line
    breaks nothing else of its format applies. Otherwise, :func:`_unquote_each`.
    """
    if b"\r" in text or b"\n" in text or _LONE_PERCENT.search(text) is not None:
        return _unquote_each(text)
    return binascii.a2b_qp(text.replace(b"=", b"=3D").replace(b"%", b"="))


def _unquote_each(text: bytes) -> bytes:
    """:func:`_unquote`, escape by escape."""
    bits = text.split(b"%")
    out = [bits[0]]
    for item in bits[1:]:
        byte = _HEX_BYTE.get(item[:2])
        if byte is None:
            out.append(b"%")
            out.append(item)
        else:
            out.append(byte)
            out.append(item[2:])
    return b"".join(out)


def media_type(content_type: str | None) -> tuple[str, dict[str, str]]:
    """A Content-Type's media type and parameters, lower case (("", {}) when absent)."""
    if not content_type:
        return "", {}
    main, *rest = content_type.split(";")
    params = {}
    for item in rest:
        key, _, value = item.partition("=")
        params[key.strip().lower()] = value.strip().strip('"').lower()
    return main.strip().lower(), params


async def read_capped_body(request: Request, limit: int) -> bytes:
    """The request body, read as a stream and refused (413) past ``limit`` bytes."""
    return await read_capped(request.stream(), request.headers.get("content-length"), limit)


async def read_capped(chunks: AsyncIterator[bytes], declared: str | None, limit: int) -> bytes:
    """The body from ``chunks``, refused (413) past ``limit`` bytes, or at once when its
    ``declared`` Content-Length is larger."""
    # (leading zeros cut first: int() refuses a text of over 4,300 digits)
    digits = declared.lstrip("0") if declared and declared.isascii() and declared.isdigit() else ""
    if len(digits) > 18 or (digits and int(digits) > limit):
        raise QueryTooLarge(f"the request body is larger than {limit} bytes")
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise QueryTooLarge(f"the request body is larger than {limit} bytes")
        parts.append(chunk)
    return b"".join(parts)


async def receive_body(receive: Receive) -> AsyncIterator[bytes]:
    """The request body's chunks from a bare ASGI ``receive`` (what ``Request.stream()`` does,
    without a Request): :class:`ClientDisconnect` when the client leaves first."""
    while True:
        message = await receive()
        if message["type"] == "http.request":
            body = message.get("body", b"")
            if body:
                yield body
            if not message.get("more_body", False):
                return
        elif message["type"] == "http.disconnect":
            raise ClientDisconnect()


def _check_graph_iris(iris: list[str], name: str) -> list[str]:
    for iri in iris:
        try:
            ox.NamedNode(iri)
        except ValueError:
            raise QueryError(f"{name} {quoted(iri)!r} is not an absolute IRI") from None
    return iris


async def read_request(request: Request, max_query_bytes: int) -> SparqlRequest | None:
    """The query request, or None for a GET without ``query`` (the service description)."""
    headers = request.headers
    return await parse_request(
        request.method,
        request.scope.get("query_string", b""),
        headers.get("content-type"),
        headers.get("content-length"),
        request.stream(),
        max_query_bytes,
    )


async def parse_request(
    method: str,
    query_string: bytes,
    content_type: str | None,
    content_length: str | None,
    body: AsyncIterator[bytes],
    max_query_bytes: int,
) -> SparqlRequest | None:
    """:func:`read_request` from the request's parts (the bare path, sparql_api/hotpath.py,
    has no Request): its method, raw query string, Content-Type and Content-Length headers
    and its body's chunks (read only for a POST)."""
    url_params = parse_params(query_string)
    if method in ("GET", "HEAD"):
        params = url_params
    else:
        media, ctparams = media_type(content_type)
        charset = ctparams.get("charset", "utf-8")
        if media == SPARQL_UPDATE:
            raise UpdateForbidden("this endpoint is read-only: SPARQL Update is not accepted")
        if media == FORM:
            raw = await read_capped(body, content_length, 3 * max_query_bytes + 64 * 1024)
            params = {**url_params}
            for key, values in parse_params(raw).items():
                # a query (or update) in the URL too is a second one, as in a GET: refused
                # below, never one silently run instead of the other
                params[key] = params.get(key, []) + values
        elif media == SPARQL_QUERY:
            if charset not in ("utf-8", "utf8"):
                raise UnsupportedMediaType(
                    f"{SPARQL_QUERY} must be UTF-8 (got charset={charset})",
                    details={"accepted": [FORM, SPARQL_QUERY]},
                )
            raw = await read_capped(body, content_length, max_query_bytes)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise QueryError("the query is not valid UTF-8") from None
            if "query" in url_params or "update" in url_params:
                raise QueryError(f"an {SPARQL_QUERY} request carries its query in the body only")
            params = {**url_params, "query": [text]}
        elif media == "" and not (content_length or "0").strip("0"):
            params = url_params  # an empty POST: parameters in the URL
        else:
            raise UnsupportedMediaType(
                f"unsupported request Content-Type {media or '(none)'}; "
                f"send {FORM} or {SPARQL_QUERY}",
                details={"accepted": [FORM, SPARQL_QUERY]},
            )
    queries = params.get("query", [])
    updates = params.get("update", [])
    if queries and updates:
        raise QueryError("a request carries either query or update, not both")
    if updates:
        raise UpdateForbidden("this endpoint is read-only: SPARQL Update is not accepted")
    if len(queries) > 1:
        raise QueryError("more than one query parameter")
    if not queries:
        if method in ("GET", "HEAD"):
            return None
        raise QueryError("missing query: send query=... (form) or an application/sparql-query body")
    query = queries[0]
    if len(query.encode("utf-8")) > max_query_bytes:
        raise QueryTooLarge(
            f"the query is longer than the limit of {max_query_bytes} bytes",
            details={"limit_bytes": max_query_bytes},
        )
    if not query.strip():
        raise QueryError("empty query")
    formats = [v for name in FORMAT_PARAMS for v in params.get(name, [])]
    union = [v.strip().lower() for v in params.get("union-default-graph", [])]
    union_default_graph = bool(union) and union[-1] not in ("false", "0", "no")
    if union_default_graph and params.get("default-graph-uri"):
        raise QueryError("union-default-graph and default-graph-uri exclude each other")
    return SparqlRequest(
        query=query,
        default_graphs=_check_graph_iris(params.get("default-graph-uri", []), "default-graph-uri"),
        named_graphs=_check_graph_iris(params.get("named-graph-uri", []), "named-graph-uri"),
        formats=formats,
        union_default_graph=union_default_graph,
    )


# --- where the endpoint is --------------------------------------------------
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$")
_PREFIX = re.compile(r"^(?:/[A-Za-z0-9._~\-]+)*/?$")


def _first(value: str | None) -> str | None:
    if not value:
        return None
    return value.split(",")[0].strip() or None


@functools.lru_cache(maxsize=8)
def _networks(
    trusted: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(t, strict=False) for t in trusted)


def trusted_peer(peer: str | None, trusted: Sequence[str]) -> bool:
    """Whether ``peer`` (the TCP peer's address) is one of the ``trusted`` proxies."""
    if not peer or not trusted:
        return False
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in net for net in _networks(tuple(trusted)))


def forwarded_trusted(request: Request) -> bool:
    """X-Forwarded-* count only from a configured proxy (``Settings.trusted_proxies``):
    from anyone else they are ignored, so a client cannot choose the URLs we write."""
    ctx = getattr(request.app.state, "dipkg", None)
    trusted = ctx.settings.trusted_proxies if ctx is not None else []
    return trusted_peer(request.client.host if request.client else None, trusted)


@functools.lru_cache(maxsize=4096)  # asked on every query, by the same few clients
def client_key(address: str) -> str:
    """The per-client key of an address: itself, or for IPv6 its /64 network (one host
    is given a whole /64 and could rotate through it for unlimited shares)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def client_address(request: Request) -> str:
    """Who is asking, for per-client limits (:func:`client_key`): the TCP peer, or behind a
    trusted proxy the rightmost address of X-Forwarded-For that is not itself a trusted proxy."""
    peer = request.client.host if request.client else ""
    if not forwarded_trusted(request):
        return client_key(peer)
    trusted = request.app.state.dipkg.settings.trusted_proxies
    return client_key(_forwarded_client(peer, request.headers.getlist("x-forwarded-for"), trusted))


def client_of(peer: str, forwarded_for: Sequence[str], trusted: Sequence[str]) -> str:
    """:func:`client_address` from the request's parts (the bare path has no Request): the
    TCP ``peer``, its X-Forwarded-For values and the ``trusted`` proxies."""
    if not trusted_peer(peer, trusted):
        return client_key(peer)
    return client_key(_forwarded_client(peer, forwarded_for, trusted))


def _forwarded_client(peer: str, forwarded_for: Sequence[str], trusted: Sequence[str]) -> str:
    hops = [h.strip() for h in ",".join(forwarded_for).split(",") if h.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # garbled: count it against the proxy
        if not trusted_peer(hop, trusted):
            return hop
    return peer


#: what a Host-derived URL varies by (a 303's Location, the service description)
ORIGIN_VARY = ("Host",)
FORWARDED_VARY = ("X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Prefix")


def origin_vary(request: Request) -> tuple[str, ...]:
    """The request headers an absolute URL built by :func:`endpoint_url` depends on."""
    return ORIGIN_VARY + FORWARDED_VARY if forwarded_trusted(request) else ORIGIN_VARY


def vary_origin(request: Request, *names: str) -> str:
    """A ``Vary`` value: ``names`` plus what :func:`endpoint_url` read (Host; X-Forwarded-*
    from a trusted proxy). Every response whose URLs come from the request carries it."""
    return ", ".join((*names, *origin_vary(request)))


def endpoint_url(request: Request) -> str:
    """The public URL of this request's path: the Host header, or X-Forwarded-Host/Proto/Prefix
    when the peer is a trusted proxy."""
    headers = request.headers
    forwarded = forwarded_trusted(request)
    # the response's Vary names what was read here, whatever the route (sparql_api.http)
    request.scope[ORIGIN_READ] = ORIGIN_VARY + FORWARDED_VARY if forwarded else ORIGIN_VARY
    scheme = (forwarded and _first(headers.get("x-forwarded-proto"))) or request.url.scheme
    if scheme not in ("http", "https"):
        scheme = request.url.scheme
    host = (
        (forwarded and _first(headers.get("x-forwarded-host")))
        or headers.get("host")
        or request.url.netloc
    )
    if not _HOST.match(host or ""):
        host = request.url.netloc if _HOST.match(request.url.netloc) else "localhost"
    prefix = (forwarded and _first(headers.get("x-forwarded-prefix"))) or ""
    if not _PREFIX.match(prefix):
        prefix = ""
    path = request.scope.get("root_path", "") + request.url.path
    return f"{scheme}://{host}{prefix.rstrip('/')}{path}"


# --- service description ----------------------------------------------------
SD = "http://www.w3.org/ns/sparql-service-description#"
VOID = "http://rdfs.org/ns/void#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"
DCTERMS = "http://purl.org/dc/terms/"


def site_root(request: Request) -> str:
    """scheme://host[/prefix] of this request, as the client sees it (no trailing '/')."""
    full = endpoint_url(request)
    path = request.url.path
    return full[: len(full) - len(path)] if path and full.endswith(path) else full.rstrip("/")


def service_description(
    url: str, release: Release, offers: list[Offer], named_graphs: list[str]
) -> list[ox.Triple]:
    """SPARQL 1.1 Service Description of the endpoint at ``url``.

    Read-only: the only supported language is sd:SPARQL11Query (no sd:SPARQL11Update),
    and no sd:feature is claimed (no federation: SERVICE is refused).
    """

    def n(iri: str) -> ox.NamedNode:
        return ox.NamedNode(iri)

    service = n(url)
    dataset = ox.BlankNode("dataset")
    default = ox.BlankNode("defaultGraph")
    triples = [
        ox.Triple(service, n(RDF_TYPE), n(SD + "Service")),
        ox.Triple(service, n(SD + "endpoint"), service),
        ox.Triple(service, n(SD + "supportedLanguage"), n(SD + "SPARQL11Query")),
        ox.Triple(service, n(SD + "defaultDataset"), dataset),
        ox.Triple(dataset, n(RDF_TYPE), n(SD + "Dataset")),
        ox.Triple(dataset, n(SD + "defaultGraph"), default),
        ox.Triple(default, n(RDF_TYPE), n(SD + "Graph")),
        ox.Triple(dataset, n(DCTERMS + "identifier"), ox.Literal(release.build_id)),
    ]
    for offer in offers:
        # a format with no W3C IRI (the XLSX workbook) by its IANA media-type IRI
        iri = offer.iri or (offer.format.iana if offer.format is not None else None)
        if iri:
            triples.append(ox.Triple(service, n(SD + "resultFormat"), n(iri)))
    total = release.manifest.counts.triples
    if total is not None:
        triples.append(
            ox.Triple(default, n(VOID + "triples"), ox.Literal(str(total), datatype=n(XSD_INTEGER)))
        )
    try:
        triples.append(ox.Triple(dataset, n(VOID + "uriSpace"), ox.Literal(release.base_iri)))
    except (KeyError, TypeError):
        pass
    for i, graph in enumerate(named_graphs):
        node = ox.BlankNode(f"namedGraph{i}")
        triples.append(ox.Triple(dataset, n(SD + "namedGraph"), node))
        triples.append(ox.Triple(node, n(RDF_TYPE), n(SD + "NamedGraph")))
        if not graph.startswith("_:"):
            triples.append(ox.Triple(node, n(SD + "name"), n(graph)))
    # group by subject (stable), so Turtle writes one block per resource
    order: dict[object, int] = {}
    for t in triples:
        order.setdefault(t.subject, len(order))
    return sorted(triples, key=lambda t: order[t.subject])
