"""A release's change set (``changes.json``): its file name, format and what it compares.

The build computes it against the release it follows and writes it (kg/changes.py); the
web app serves it and lists it on ``/changes`` (sparql_api/changes.py). Both import this
module, which imports neither.
"""

from __future__ import annotations

from dipkg.core.iris import DIP

CHANGES_FILE = "changes.json"
CHANGES_FORMAT = 1

#: what the change set compares, by kind: (key, class IRI, zh, en)
KINDS = (
    ("scenarios", DIP + "Scenario", "场景", "scenarios"),
    ("categories", DIP + "DataCategory", "数据类别", "categories"),
    ("fields", DIP + "DataField", "数据项", "fields"),
)
