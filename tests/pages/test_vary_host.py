"""Every response built from the request's origin says so in ``Vary``.

Pages, their JSON twins, redirects and error pages put absolute URLs under the site's
root as the request names it (``Host``; ``X-Forwarded-Host`` from a trusted proxy). A
shared cache in front that did not key on those headers would serve one client's links
to everyone; ``Vary`` tells it to (found in a security review: the landing page, the
map, the dumps' index, the changes, search and match answered ``Host: evil.example`` with
its links and ``Vary: Accept, Accept-Language``). Rather than a list of routes to keep
in step, each response is probed: where the probe's host shows, Vary must name its header.
"""

from __future__ import annotations

import httpx
import pytest

from tests.pages.conftest import BROWSER_ACCEPT

PATHS = [
    "/",
    "/?lang=en",
    "/catalog",
    "/catalog.html",
    "/.well-known/void",
    "/changes",
    "/changes.json",
    "/map",
    "/map.json",
    "/map.svg",
    "/dumps",
    "/dumps/",
    "/dumps/index.json",
    "/search?q=温度",
    "/search.json?q=温度",
    "/search?q=",
    "/search?q=x&kind=nothing",
    "/match?fields=温度",
    "/match.json?fields=温度",
    "/query",
    "/sparql",
    "/sitemap.xml",
    "/robots.txt",
    "/ontology",
    "/scenario/guizhou-b1-s01",
    "/scenario/guizhou-b1-s01.html",
    "/scenario/guizhou-b1-s01.jsonld",
    "/domain/finance.html",
    "/concept/temperature.html",
    "/scheme/data-kinds",
    "/no/such/page",
]
ACCEPTS = [BROWSER_ACCEPT, "application/json", "*/*"]
#: the probe's header, and the Vary name it must bring (the site trusts 127.0.0.1 as a proxy)
PROBES = [("Host", "probe-host.example"), ("X-Forwarded-Host", "probe-fwd.example")]


@pytest.mark.parametrize("path", PATHS)
def test_a_response_that_shows_the_requests_origin_varies_on_it(http: httpx.Client, path):
    shown = 0
    for accept in ACCEPTS:
        for header, probe in PROBES:
            r = http.get(path, headers={"Accept": accept, header: probe})
            seen = probe in r.text or any(probe in v for v in r.headers.values())
            if not seen:
                continue
            shown += 1
            vary = {v.strip().lower() for v in r.headers.get("vary", "").split(",")}
            assert header.lower() in vary, (path, accept, r.status_code, r.headers.get("vary"))
    if path in ("/", "/map", "/dumps/", "/scenario/guizhou-b1-s01"):
        assert shown, f"{path}: the probe never showed: the test tests nothing"
