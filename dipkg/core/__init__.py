"""The contract between the build (:mod:`kg`) and the web app (:mod:`sparql_api`).

Both sides import this package; it imports neither of them.
"""
