"""A release's change set (``changes.json``): its file name, format and what it compares.

The build computes it against the release it follows and writes it (kg/changes.py); the
web app serves it and lists it on ``/changes`` (sparql_api/changes.py). Both import this
module, which imports neither.
"""

from __future__ import annotations

from dipkg.core.iris import DIP, PREFIXES

CHANGES_FILE = "changes.json"
CHANGES_FORMAT = 1

#: what the change set compares, by kind: (key, class IRI, zh, en)
KINDS = (
    ("scenarios", DIP + "Scenario", "场景", "scenarios"),
    ("categories", DIP + "DataCategory", "数据类别", "categories"),
    ("fields", DIP + "DataField", "数据项", "fields"),
)

#: what else has a page of its own (sparql_api/pages/views.py): the change set does not
#: compare these, but one a later release no longer has is in its ``gone`` list as well,
#: so its IRI answers 410 Gone: (kind, class IRI), the first match wins (a domain is also
#: a skos:Concept)
GONE_ALSO = (
    ("domains", DIP + "Domain"),
    ("guides", DIP + "Guide"),
    ("schemes", PREFIXES["skos"] + "ConceptScheme"),
    ("concepts", PREFIXES["skos"] + "Concept"),
)
