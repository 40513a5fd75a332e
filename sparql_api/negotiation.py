"""Content negotiation: one table of offers, an Accept parser, a choice.

Generic: :func:`negotiate` takes any sequence of :class:`Offer` (the first is the
default) and an ``Accept`` header, and returns a :class:`Choice` or raises
:class:`~sparql_api.errors.NotAcceptable` listing the offered media types. The
linked-data pages reuse it with their own offers.

Rules (RFC 9110 §12.5.1): each offer takes the q-value of the most specific media
range that matches it (``type/subtype;params`` > ``type/subtype`` > ``type/*`` >
``*/*``); q=0 excludes; the highest q wins, then the more specific match, then
the server's order. A range's ``charset`` must be utf-8 (or absent) to match;
other media-type parameters (e.g. a JSON-LD ``profile``) do not prevent a match.
An absent or empty ``Accept`` means the default.

An offer can also be labelled with an alias media type that truly describes its
body (SPARQL JSON *is* ``application/json``) when the client names the alias
explicitly (wildcards select canonical types only); the response is then
labelled with the alias the client asked for, never with a type the body is not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from dipkg.core import formats
from dipkg.core.formats import Format
from sparql_api.errors import NotAcceptable, quoted


@dataclass(frozen=True)
class Offer:
    """One variant the server can produce."""

    media_type: str  # canonical, lower case, without parameters
    key: str  # short format key, e.g. "json", "turtle" (what the worker serialises)
    extension: str  # file extension without the dot
    charset: str | None = "utf-8"
    aliases: tuple[str, ...] = ()  # other media types that truly describe the body
    names: tuple[str, ...] = ()  # values of ?format= / ?output= that pick this offer
    iri: str | None = None  # the W3C format IRI (http://www.w3.org/ns/formats/...)
    label: str = ""
    format: Format | None = None  # its entry in dipkg/core/formats.py

    @classmethod
    def of(cls, fmt: Format) -> Offer:
        """The offer of a registered format: its media type, key, extension, aliases,
        ``?format=`` names, W3C IRI, label and charset."""
        return cls(
            fmt.media_type,
            fmt.key,
            fmt.extension,
            charset=fmt.charset,
            aliases=fmt.aliases,
            names=fmt.names,
            iri=fmt.w3c,
            label=fmt.label,
            format=fmt,
        )

    def content_type(self, media_type: str | None = None) -> str:
        mt = media_type or self.media_type
        return f"{mt}; charset={self.charset}" if self.charset else mt


@dataclass(frozen=True)
class Choice:
    offer: Offer
    media_type: str  # the label used: the canonical type or one of its aliases

    @property
    def content_type(self) -> str:
        return self.offer.content_type(self.media_type)

    @property
    def key(self) -> str:
        return self.offer.key


# --- the one table of offers: one per format of the registry (dipkg/core/formats.py) ---------
SPARQL_JSON = Offer.of(formats.SPARQL_JSON)
SPARQL_XML = Offer.of(formats.SPARQL_XML)
SPARQL_CSV = Offer.of(formats.SPARQL_CSV)
SPARQL_TSV = Offer.of(formats.SPARQL_TSV)
SPARQL_XLSX = Offer.of(formats.SPARQL_XLSX)
TURTLE = Offer.of(formats.TURTLE)
N_TRIPLES = Offer.of(formats.N_TRIPLES)
JSON_LD = Offer.of(formats.JSON_LD)
RDF_XML = Offer.of(formats.RDF_XML)
N_QUADS = Offer.of(formats.N_QUADS)
TRIG = Offer.of(formats.TRIG)
HTML = Offer.of(formats.HTML)
JSON = Offer.of(formats.JSON)

#: SELECT and ASK results; the first is the default (the workbook, made by the app from the
#: worker's TSV, last: a client taking anything gets a text format)
RESULT_OFFERS: tuple[Offer, ...] = (SPARQL_JSON, SPARQL_XML, SPARQL_CSV, SPARQL_TSV, SPARQL_XLSX)
#: CONSTRUCT and DESCRIBE results (graphs); the first is the default.
GRAPH_OFFERS: tuple[Offer, ...] = (TURTLE, N_TRIPLES, JSON_LD, RDF_XML)
# a dereferenceable resource: a page for people, its description for machines
RESOURCE_OFFERS: tuple[Offer, ...] = (HTML, TURTLE, JSON_LD, N_TRIPLES, RDF_XML)
# an error: the HTML error page for people, the JSON error shape otherwise
ERROR_OFFERS: tuple[Offer, ...] = (HTML, JSON)
#: Only offered when the store has named graphs.
DATASET_OFFERS: tuple[Offer, ...] = (N_QUADS, TRIG)


_GRAPH_AND_DATASET_OFFERS = GRAPH_OFFERS + DATASET_OFFERS


def graph_offers(named_graphs: bool) -> tuple[Offer, ...]:
    """The graph offers, with the dataset ones when the store has named graphs (the same
    tuple every time, so :func:`negotiate`'s memo knows it)."""
    return _GRAPH_AND_DATASET_OFFERS if named_graphs else GRAPH_OFFERS


def query_offers(kind: str | None, named_graphs: bool) -> tuple[Offer, ...]:
    """What /sparql offers for a query of this kind (``guard.Checked.kind``): "table"
    (SELECT, ASK) the result offers, "graph" (CONSTRUCT, DESCRIBE) the graph offers; none
    for a form the guard cannot tell (the parser refuses it whatever the format)."""
    if kind == "table":
        return RESULT_OFFERS
    if kind == "graph":
        return graph_offers(named_graphs)
    return ()


# --- Accept parsing -----------------------------------------------------------
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_RANGE = re.compile(rf"^\s*({_TOKEN})/({_TOKEN})\s*$")
_QVALUE = re.compile(r"^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$")


@dataclass(frozen=True)
class MediaRange:
    type: str
    subtype: str
    params: tuple[tuple[str, str], ...] = ()
    q: float = 1.0

    @property
    def specificity(self) -> int:
        if self.type == "*":
            return 0
        if self.subtype == "*":
            return 1
        return 3 if self.params else 2

    def matches(self, media_type: str, charset: str | None) -> bool:
        mtype, _, msub = media_type.partition("/")
        if self.type != "*" and self.type != mtype:
            return False
        if self.subtype != "*" and self.subtype != msub:
            return False
        for name, value in self.params:
            if name == "charset" and value.lower() != (charset or "utf-8"):
                return False
        return True


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    """Split on ``separator`` where it stands outside double quotes."""
    parts, buf, quoted = [], [], False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == separator and not quoted:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    parts.append("".join(buf))
    return parts


def _split_params(text: str) -> list[str]:
    return _split_outside_quotes(text, ";")


def _split_ranges(header: str) -> list[str]:
    return _split_outside_quotes(header, ",")


def parse_accept(header: str | None) -> list[MediaRange]:
    """The media ranges of an Accept header; malformed entries are skipped."""
    if not header:
        return []
    ranges: list[MediaRange] = []
    for item in _split_ranges(header):
        if not item.strip():
            continue
        first, *rest = _split_params(item)
        match = _RANGE.match(first)
        if not match:
            continue
        mtype, msub = match.group(1).lower(), match.group(2).lower()
        if mtype == "*" and msub != "*":
            continue
        q = 1.0
        params: list[tuple[str, str]] = []
        ok = True
        for raw in rest:
            name, eq, value = raw.partition("=")
            name = name.strip().lower()
            value = value.strip().strip('"')
            if not name:
                continue
            if name == "q":
                if not eq or not _QVALUE.match(value):
                    ok = False
                    break
                q = float(value)
                break  # what follows q are accept-extensions, not media-type parameters
            params.append((name, value))
        if ok:
            ranges.append(MediaRange(mtype, msub, tuple(params), q))
    return ranges


@dataclass(order=True)
class _Score:
    q: float
    specificity: int
    preference: int  # higher is better: -index in the offers
    label_pref: int = field(default=0)


def _score(offer: Offer, ranges: Sequence[MediaRange], index: int) -> tuple[_Score, str] | None:
    best: tuple[_Score, str] | None = None
    labels = (offer.media_type, *offer.aliases)
    for label_index, label in enumerate(labels):
        matching = [
            r
            for r in ranges
            if r.matches(label, offer.charset) and (label_index == 0 or r.specificity >= 2)
        ]  # aliases: only when named
        if not matching:
            continue
        top = max(r.specificity for r in matching)
        # several ranges of the same specificity: the first one listed wins (RFC leaves it open)
        q = next(r.q for r in matching if r.specificity == top)
        score = _Score(q, top, -index, -label_index)
        if best is None or score > best[0]:
            best = (score, label)
    return best


#: negotiate's choices by (Accept, id of the offers tuple), the tuple kept in the value (so
#: its id cannot be reused while the entry lives); oldest out past MEMO_SIZE entries
_CHOSEN: dict[tuple[str, int], tuple[tuple[Offer, ...], Choice]] = {}
MEMO_SIZE = 256
#: longer Accept headers are not remembered (at most MEMO_SIZE * MEMO_ACCEPT chars held)
MEMO_ACCEPT = 1024


def negotiate(accept: str | None, offers: Sequence[Offer]) -> Choice:
    """The offer the client prefers, or :class:`NotAcceptable` listing ``offers``.

    A client sends the same Accept on every request: the choice for a tuple of offers is
    remembered per distinct header (a refusal is not: it is worked out, and raised, anew)."""
    if accept and type(offers) is tuple and len(accept) <= MEMO_ACCEPT:
        key = (accept, id(offers))
        hit = _CHOSEN.get(key)
        if hit is not None and hit[0] is offers:
            return hit[1]
        choice = _negotiate(accept, offers)
        _CHOSEN[key] = (offers, choice)
        while len(_CHOSEN) > MEMO_SIZE:
            try:
                del _CHOSEN[next(iter(_CHOSEN))]
            except (KeyError, RuntimeError, StopIteration):
                pass  # a route in a worker thread changed the memo at the same time: again
        return choice
    return _negotiate(accept, offers)


def _negotiate(accept: str | None, offers: Sequence[Offer]) -> Choice:
    if not offers:
        raise ValueError("negotiate() needs at least one offer")
    ranges = parse_accept(accept)
    if not ranges:
        return Choice(offers[0], offers[0].media_type)
    best: tuple[_Score, str, Offer] | None = None
    for index, offer in enumerate(offers):
        scored = _score(offer, ranges, index)
        if scored is None or scored[0].q <= 0:
            continue
        if best is None or scored[0] > best[0]:
            best = (scored[0], scored[1], offer)
    if best is None:
        raise not_acceptable(
            offers,
            f"none of the offered media types is acceptable (Accept: {quoted(accept or '')})",
        )
    return Choice(best[2], best[1])


def by_name(names: Iterable[str], offers: Sequence[Offer]) -> Choice | None:
    """The first offer named by a ``format=`` / ``output=`` value (a name or a media type).

    None when ``names`` is empty; :class:`NotAcceptable` when none of them fits.
    """
    names = [n.strip().lower() for n in names if n and n.strip()]
    if not names:
        return None
    for name in names:
        media = name.split(";", 1)[0].strip()
        for offer in offers:
            if name in offer.names or media == offer.media_type:
                return Choice(offer, offer.media_type)
            if media in offer.aliases:
                return Choice(offer, media)
    shown = quoted(", ".join(names))
    raise not_acceptable(offers, f"format {shown} is not offered for this query")


def not_acceptable(offers: Sequence[Offer], message: str) -> NotAcceptable:
    return NotAcceptable(
        message,
        details={
            "offered": [o.media_type for o in offers],
            "formats": {o.media_type: list(o.names) for o in offers},
        },
    )


def wants_html(accept: str | None) -> bool:
    """True when the client names HTML itself and prefers it to JSON: browsers do; curl,
    httpx and SPARQL clients sending ``*/*`` get the JSON error shape, not a page."""
    if not accept or not any(t in accept.lower() for t in ("text/html", "application/xhtml+xml")):
        return False
    try:
        return negotiate(accept, ERROR_OFFERS).offer is HTML
    except NotAcceptable:
        return False
