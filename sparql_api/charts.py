"""Small server-drawn SVG pictures of the pages, and the words and colours they share
with the map of shared data (sparql_api/datamap.py).

* :func:`domain_bars`: the landing page's domain overview (scenarios per domain).
* :func:`kind_scenarios` + :func:`kind_bars`: on a data kind's concept page, the
  scenarios using the kind (or a narrower one), by number of fields.

Inline SVG, no JavaScript; every bar links to its page; ``<title>`` and aria labels
in the page's language; the fonts list starts with WenQuanYi Zen Hei so Chinese
renders wherever that font is installed.
"""

from __future__ import annotations

import unicodedata
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox
from markupsafe import Markup

from sparql_api import i18n

FONT = "'WenQuanYi Zen Hei', 'Noto Sans CJK SC', 'Noto Sans', system-ui, sans-serif"
INK, MUTED, LINE, WASH, ACCENT = "#1f2328", "#57606a", "#d0d7de", "#f6f8fa", "#0b5e66"
#: (lowest count, fill, text colour): light to dark; each text colour meets 4.5:1 on its fill
SHADES = (
    (1, "#c6e6e8", INK),
    (2, "#7fc3c8", INK),
    (3, "#1f8a93", "#ffffff"),
    (5, "#0b4f56", "#ffffff"),
)


def w(key: str, lang: str, **values: Any) -> str:
    """A word of the map and the small pictures (``chart.`` keys of :data:`i18n.STRINGS`);
    a count of one takes the key's ``_one`` form where there is one ("1 field", not "1
    fields")."""
    if values.get("n") == 1 and f"chart.{key}_one" in i18n.STRINGS:
        key += "_one"
    return i18n.t(f"chart.{key}", lang).format(**values)


def text_width(text: str, size: float) -> float:
    """A rough width of ``text`` at font size ``size`` (wide CJK characters count one em)."""
    return sum(size if unicodedata.east_asian_width(ch) in "WF" else size * 0.58 for ch in text)


def fit(text: str, size: float, width: float) -> str:
    if text_width(text, size) <= width:
        return text
    while text and text_width(text + "…", size) > width:
        text = text[:-1]
    return text + "…"


def a(x: str) -> str:
    return quoteattr(x)


# --- small pictures ---------------------------------------------------------------------------
def bars(items: list[dict[str, Any]], lang: str, title: str, *, ident: str, unit: str) -> Markup:
    """A small horizontal bar chart (label, bar, number per item; each a link) as inline SVG."""
    if not items:
        return Markup("")
    size, bar_h, gap, bar_w = 13, 16, 6, 220
    label_w = int(
        min(320, max(text_width(item["label"], size) for item in items) + 14)
    )  # the longest, within reason
    top = max(item["value"] for item in items) or 1
    height = len(items) * (bar_h + gap)
    width = label_w + bar_w + 60
    out = [
        f'<svg class="bars" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="group" '
        f'aria-labelledby="{ident}-title" font-family={a(FONT)} font-size="{size}">',
        f'<title id="{ident}-title">{escape(title)}</title>',
    ]
    for i, item in enumerate(items):
        y = i * (bar_h + gap)
        length = max(2.0, bar_w * item["value"] / top)
        tip = item["label"] + ("：" if lang == "zh" else ": ") + w(unit, lang, n=item["value"])
        out.append(
            f"<a href={a(item['href'])} aria-label={a(tip)}><title>{escape(tip)}</title>"
            f'<text x="0" y="{y + bar_h - 3}" '
            f'fill="{ACCENT}">{escape(fit(item["label"], size, label_w - 8))}</text> '
            f'<rect x="{label_w}" y="{y}" width="{length:.1f}" height="{bar_h}" rx="2" '
            f'fill="{ACCENT}"/>'
            f'<text x="{label_w + length + 6:.1f}" y="{y + bar_h - 3}" '
            f'fill="{INK}">{item["value"]}</text></a>'
        )
    out.append("</svg>")
    return Markup("\n".join(out))


def domain_bars(domains: list[dict[str, Any]], lang: str) -> Markup:
    """The landing page's domain overview: scenarios per domain (``Pages.domains``)."""
    items = [
        {"label": d["label"], "href": d["href"], "value": len(d["scenarios"])} for d in domains
    ]
    return bars(items, lang, w("domain_bars", lang), ident="domain-bars", unit="n_scenarios")


def kind_scenarios(describer: Any, kind: str, link: Any, lang: str) -> list[dict[str, Any]]:
    """The scenarios whose fields are of ``kind`` or a narrower kind, with how many (most first)."""
    rows = describer.select(
        """SELECT ?kind ?s ?n ?zh ?en (COUNT(DISTINCT ?f) AS ?c) WHERE {
        ?f a dip:DataField ; dip:scenario ?s ; dip:dataKind/skos:broader* ?kind . ?s dip:number ?n .
        OPTIONAL { ?s rdfs:label ?zh FILTER(lang(?zh)="zh") }
        OPTIONAL { ?s rdfs:label ?en FILTER(lang(?en)="en") }
    } GROUP BY ?kind ?s ?n ?zh ?en ORDER BY DESC(?c) ?n ?s LIMIT 200""",
        substitutions={"kind": ox.NamedNode(kind)},
    )
    out = []
    for r in rows:
        labels = {code: r[code].value for code in ("zh", "en") if r.get(code) is not None}
        out.append(
            {
                "label": f"{r['n'].value}. {i18n.pick(labels, lang)}",
                "href": link.href(r["s"].value),
                "value": int(r["c"].value),
            }
        )
    return out


def kind_bars(items: list[dict[str, Any]], lang: str) -> Markup:
    return bars(items, lang, w("kind_bars", lang), ident="kind-bars", unit="n_fields")
