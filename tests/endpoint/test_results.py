"""The worker's serialisation (sparql_api.results) against pyoxigraph's own writers."""

from __future__ import annotations

import json
from pathlib import Path

import pyoxigraph as ox
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dipkg.core.release import open_release
from sparql_api.errors import (
    NotAcceptable,
    QueryEvaluationError,
    QuerySyntaxError,
    ResultTooLarge,
)
from sparql_api.results import RESULT_FORMATS, Job, evaluate

QUERIES = [
    "SELECT * WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o LIMIT 300",
    "SELECT ?s ?l WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?l }"
    " ORDER BY ?s ?l LIMIT 300",
    "SELECT ?x ?y WHERE { OPTIONAL { ?x a ?y } } LIMIT 5",
    "SELECT ?a ?b ?c ?d ?e WHERE { VALUES (?a ?b ?c ?d) "
    '{ ("x"@en--rtl 1 "2"^^<http://e/dt> "plain") '
    '(UNDEF 1.5 true "é\\n\\"q\\"") } BIND(TRIPLE(<http://a>, <http://b>, "o"@fr) AS ?e) }',
    "SELECT * WHERE { } ",
]


@pytest.fixture(scope="module")
def store(endpoint_data: Path) -> ox.Store:
    """The release's graph in memory, as the workers evaluate it (sparql_api/zygote.py's
    copy): these tests are about serialising, and on disk each sort took a second."""
    disk = ox.Store.read_only(str(open_release(endpoint_data).store_dir))
    memory = ox.Store()
    memory.bulk_extend(disk.quads_for_pattern(None, None, None, None))
    return memory


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv"])
def test_select_matches_pyoxigraph(store: ox.Store, query: str, fmt: str) -> None:
    ours = evaluate(store, Job(query, fmt, None, 100_000))
    native = store.query(query).serialize(format=RESULT_FORMATS[fmt])
    assert not ours.truncated
    if fmt == "json":
        assert json.loads(ours.body) == json.loads(native)
    else:
        assert ours.body == native


def test_row_cap_note(store: ox.Store) -> None:
    out = evaluate(store, Job("SELECT * WHERE { ?s ?p ?o }", "json", None, 10))
    doc = json.loads(out.body)
    assert (
        out.truncated and out.rows == 10 and doc["truncated"] is True and "10 rows" in doc["note"]
    )
    assert len(doc["results"]["bindings"]) == 10
    exact = evaluate(store, Job("SELECT * WHERE { ?s ?p ?o } LIMIT 10", "json", None, 10))
    assert not exact.truncated and "truncated" not in json.loads(exact.body)


def test_graph_cap(store: ox.Store) -> None:
    out = evaluate(store, Job("CONSTRUCT WHERE { ?s ?p ?o }", None, "ntriples", 25))
    assert out.truncated and out.rows == 25 and out.body.count(b"\n") == 25


def test_errors(store: ox.Store) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        evaluate(store, Job("SELECT * WHERE {\n ?s ?p }", "json", None, 10))
    assert info.value.line == 2
    with pytest.raises(NotAcceptable):
        evaluate(store, Job("CONSTRUCT WHERE { ?s ?p ?o }", "json", None, 10))
    with pytest.raises(NotAcceptable):
        evaluate(store, Job("ASK {}", None, "turtle", 10))
    with pytest.raises(QueryEvaluationError):
        evaluate(store, Job("ASK {}", "json", None, 10, default_graph=["not an iri"]))


@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv"])
def test_the_row_cap_keeps_the_first_rows_in_every_format(store: ox.Store, fmt: str) -> None:
    query = "SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o"
    out = evaluate(store, Job(query + " LIMIT 300", fmt, None, 7))
    native = store.query(query + " LIMIT 7").serialize(format=RESULT_FORMATS[fmt])
    assert out.truncated and out.rows == 7
    if fmt == "json":
        doc = json.loads(out.body)
        assert doc.pop("truncated") is True and "7 rows" in doc.pop("note")
        assert doc == json.loads(native)
    else:
        assert out.body == native
    # not cut: the same rows, no signal
    whole = evaluate(store, Job(query + " LIMIT 7", fmt, None, 7))
    assert not whole.truncated and whole.rows == 7


@pytest.mark.parametrize("size", [1, 2, 3, 5, 64])
def test_the_tsv_sink_cuts_at_a_row_wherever_the_chunks_end(size: int) -> None:
    from sparql_api.results import _Full, _TsvSink

    tsv = b"?a\t?b\n" + b"".join(b'"r%d"\t<http://e/%d>\n' % (i, i) for i in range(20))
    for cap, cut in ((5, True), (20, False), (25, False)):
        sink = _TsvSink(cap, 1 << 20, 1 << 20)
        try:
            for i in range(0, len(tsv), size):
                sink.write(tsv[i : i + size])
        except _Full:
            pass
        lines = sink.body().split(b"\n")
        assert (sink.truncated, sink.seen - 1) == (cut, min(cap, 20)), (cap, size)
        assert len(lines) == min(cap, 20) + 2 and lines[-1] == b""  # header, rows, nothing after
        assert sink.body() == b"\n".join(tsv.split(b"\n")[: min(cap, 20) + 1]) + b"\n"


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 64])
@pytest.mark.parametrize("bad", ["\x07", "\ufffe", "\uffff"])
def test_the_xml_sink_finds_a_character_split_between_writes(size: int, bad: str) -> None:
    """U+FFFE is three bytes (``EF BF BE``): a writer's chunk can end inside it. Each
    offset of it against the chunk boundary, and characters that share bytes with it
    (U+FFFD ``EF BF BD``, U+FEFF, U+3FFF) pass."""
    from sparql_api.results import _LimitSink

    good = "<literal>a\ufffd\ufeff\u3fff\U0001ffff\r</literal>".encode()
    sink = _LimitSink(1 << 20, fmt="xml")
    for i in range(0, len(good), size):
        sink.write(good[i : i + size])
    assert sink.body() == good.replace(b"\r", b"&#13;")
    for at in range(size + 1):
        body = b"x" * at + f"<literal>{bad}</literal>".encode()
        sink = _LimitSink(1 << 20, fmt="rdfxml")
        with pytest.raises(NotAcceptable) as refused:
            for i in range(0, len(body), size):
                sink.write(body[i : i + size])
        assert refused.value.details["character"] == f"U+{ord(bad):04X}"


@pytest.mark.parametrize("cap", [7, 300])
@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv"])
def test_native_and_term_by_term_writers_agree_byte_for_byte(
    store: ox.Store, fmt: str, cap: int
) -> None:
    # the remote mode writes a backend's solutions term by term; local and remote answers
    # to the same query must be the same bytes, truncation signal included
    from sparql_api.results import _solutions_terms

    query = "SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o LIMIT 100"
    native = evaluate(store, Job(query, fmt, None, cap))
    terms = _solutions_terms(store.query(query), Job(query, fmt, None, cap))
    assert (
        (native.rows, native.truncated)
        == (terms.rows, terms.truncated)
        == (min(cap, 100), cap < 100)
    )
    assert native.body == terms.body


def _failing_reader(message: str) -> object:
    def parse(*args: object, **kwargs: object) -> object:
        raise MemoryError(message)

    return parse


BUFFER_LIMIT = "Reached the buffer maximal size of 16777216"


#: SPARQL JSON whose rows its text cannot tell (a row without a value): written the TSV way
EMPTY_ROW_FIRST = 'SELECT ?x ?s WHERE { {} UNION { VALUES ?s { <http://e/a> "b" "c,{" } } }'


def test_the_readers_16_mib_limit_takes_the_term_by_term_way(
    store: ox.Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sparql_api import results

    query = "SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o LIMIT 5"
    expected = evaluate(store, Job(EMPTY_ROW_FIRST, "json", None, 100)).body
    monkeypatch.setattr(results.ox, "parse_query_results", _failing_reader(BUFFER_LIMIT))
    # evaluated again
    assert evaluate(store, Job(EMPTY_ROW_FIRST, "json", None, 100)).body == expected
    with pytest.raises(ResultTooLarge, match="16 MiB"):
        evaluate(store, Job(query, "xml", None, 100))
    with pytest.raises(ResultTooLarge, match="16 MiB"):
        results._solutions_terms(store.query(query), Job(query, "xml", None, 100))


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_worker_out_of_memory_is_not_taken_for_the_readers_limit(
    store: ox.Store, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    # a plain MemoryError (the worker at its RLIMIT_DATA) must reach the worker's loop,
    # which answers 503 and retires; not rerun the query nor blame the 16 MiB limit
    from sparql_api import results

    query = "SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o LIMIT 5"
    monkeypatch.setattr(results.ox, "parse_query_results", _failing_reader(""))
    with pytest.raises(MemoryError):  # (JSON reads TSV back only for an empty row)
        evaluate(store, Job(EMPTY_ROW_FIRST if fmt == "json" else query, fmt, None, 100))
    with pytest.raises(MemoryError):
        results._solutions_terms(store.query(query), Job(query, "xml", None, 100))


@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv"])
def test_the_too_large_message_gives_a_row_only_for_tsv(store: ox.Store, fmt: str) -> None:
    # the row is counted in the capped TSV, which the other formats are written from:
    # a JSON/XML/CSV body goes over at another row, so none is named for them
    query = "SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o LIMIT 300"
    with pytest.raises(ResultTooLarge) as info:
        evaluate(store, Job(query, fmt, None, 1000, max_bytes=2000))
    assert "2,000 bytes" in info.value.message
    assert ("at row" in info.value.message) == (fmt == "tsv"), info.value.message


# --- SPARQL JSON's rows counted from its text (sparql_api.results._JsonRows) ---------------

#: literal text with what a row counter could mistake for structure
TRICKY = st.text(st.sampled_from(list('{}[],:"\\ \n\tab\u00e9温')), max_size=12)


def _graph(values: list[str]) -> ox.Store:
    graph = ox.Store()
    for i, value in enumerate(values):
        graph.add(
            ox.Quad(
                ox.NamedNode(f"http://e/s{i:03d}"), ox.NamedNode("http://e/p"), ox.Literal(value)
            )
        )
    return graph


ROWS_QUERY = "SELECT ?s ?o WHERE { ?s <http://e/p> ?o } ORDER BY ?s"


def _fed(graph: ox.Store, query: str, cap: int, size: int) -> tuple[int, bool, bytes] | None:
    """(rows, truncated, body) of Oxigraph's SPARQL JSON fed to the counter in writes of
    ``size`` bytes; None when the counter says it cannot tell."""
    from sparql_api.results import _Ambiguous, _Full, _JsonRows, _truncation_members

    native = graph.query(query).serialize(format=ox.QueryResultsFormat.JSON)
    sink = _JsonRows(cap, 1 << 20)
    try:
        try:
            for start in range(0, len(native), size):
                sink.write(native[start : start + size])
        except _Full:
            pass
    except _Ambiguous:
        assert b"{}" in native  # an empty row, or a string's text
        return None
    sink.finish()
    if sink.truncated:
        sink.keep(b"]}" + _truncation_members(Job(query, "json", None, cap)))
    return sink.rows, sink.truncated, sink.body()


def _reference(graph: ox.Store, query: str, cap: int) -> tuple[int, bool, bytes]:
    from sparql_api.results import _solutions_terms

    out = _solutions_terms(graph.query(query), Job(query, "json", None, cap))
    return out.rows, out.truncated, out.body


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(st.lists(TRICKY, max_size=12), st.integers(0, 14), st.integers(1, 300))
@example(["a,{", "b[{", "c"], 1, 1000)  # a string ending as a row begins
@example(["x,{", "b"], 5, 7)
@example(["{", "[{", "a:{", ",{"], 2, 3)
def test_json_rows_are_counted_and_cut_wherever_the_writes_end(
    values: list[str], cap: int, size: int
) -> None:
    """Oxigraph's SPARQL JSON fed to the counter in writes of any size: the rows, the cut
    and the bytes are the term-by-term writer's (the reference the remote mode uses), or
    the counter says it cannot tell (``{}`` in the text) and never guesses."""
    graph = _graph(values)
    fed = _fed(graph, ROWS_QUERY, cap, size)
    if fed is not None:
        assert fed == _reference(graph, ROWS_QUERY, cap)


NAMES_QUERY = (
    'SELECT ?type ?subject ?t WHERE { VALUES (?type ?subject) { ("a,{" "b") ("c" "[{") '
    '(<http://e/x> "d") } BIND(<<( <http://a> <http://b> "x,{"@en )>> AS ?t) }'
)


@pytest.mark.parametrize("size", [1, 3, 7, 10, 11, 64, 4096])
@pytest.mark.parametrize("cap", [0, 1, 2, 3, 4])
def test_json_rows_with_names_and_triple_terms_that_look_like_terms(cap: int, size: int) -> None:
    """Variables named ``type`` and ``subject`` (a row's first member can read as a
    term's or a triple term's), triple terms, and strings ending in ``{``."""
    graph = ox.Store()
    assert _fed(graph, NAMES_QUERY, cap, size) == _reference(graph, NAMES_QUERY, cap)


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(st.lists(TRICKY, max_size=8), st.integers(0, 10))
def test_json_answers_are_the_term_by_term_writers(values: list[str], cap: int) -> None:
    """Through evaluate(), whichever way the rows were counted (an ambiguous text is
    evaluated again the TSV way), with and without empty rows."""
    from sparql_api.results import _solutions_terms

    graph = _graph(values)
    for query in (ROWS_QUERY, "SELECT ?x ?s ?o WHERE { {} UNION { ?s <http://e/p> ?o } }"):
        ours = evaluate(graph, Job(query, "json", None, cap))
        theirs = _solutions_terms(graph.query(query), Job(query, "json", None, cap))
        assert (ours.rows, ours.truncated, ours.body) == (
            theirs.rows,
            theirs.truncated,
            theirs.body,
        )
