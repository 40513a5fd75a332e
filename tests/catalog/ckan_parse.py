"""Run ckanext-dcat's RDF parser (profile euro_dcat_ap_3) on a catalogue record, no CKAN site.

Usage: python ckan_parse.py RECORD.ttl LOCALE [LICENSES.json]  ->  JSON on stdout: the dataset
dicts CKAN's DCAT harvester would create, each with the ``name`` its harvester derives from the
title. LICENSES.json, when given, is the portal's licence register (CKAN's ``licenses_group_url``);
without it CKAN's default register applies.
Runs in an interpreter that has ckan and ckanext-dcat installed (see docs/catalogue.md);
the project's own venv deliberately does not.
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    path, locale = sys.argv[1], sys.argv[2]
    from ckantoolkit import config

    config["ckan.locale_default"] = locale
    if len(sys.argv) > 3:
        config["licenses_group_url"] = "file://" + sys.argv[3]
    from ckan.lib.munge import munge_title_to_name
    from ckanext.dcat.processors import RDFParser

    parser = RDFParser(profiles=["euro_dcat_ap_3"])
    with open(path, encoding="utf-8") as handle:
        parser.parse(handle.read(), _format="turtle")
    datasets = []
    for dataset in parser.datasets():
        dataset["name"] = munge_title_to_name(dataset["title"])
        datasets.append(dataset)
    json.dump(datasets, sys.stdout, ensure_ascii=False, default=str)


if __name__ == "__main__":
    main()
