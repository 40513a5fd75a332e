"""The job frame between the pool and a worker (sparql_api/workers_child.py): the query
travels as the frame's body, its other fields as a JSON header encoded once per kind."""

from __future__ import annotations

import io
import json
import struct

from hypothesis import given
from hypothesis import strategies as st

from sparql_api.results import Job
from sparql_api.workers_child import _read_raw, decode_job, encode_job

texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=200)
iris = st.lists(st.text(st.characters(blacklist_categories=("Cs",)), max_size=30), max_size=3)
jobs = st.builds(
    Job,
    query=texts,
    table_format=st.sampled_from([None, "json", "xml", "csv", "tsv"]),
    graph_format=st.sampled_from([None, "turtle", "nt", "jsonld"]),
    max_rows=st.integers(0, 2**31),
    default_graph=st.none() | iris,
    named_graphs=st.none() | iris,
    union_default_graph=st.booleans(),
    max_bytes=st.integers(0, 2**40),
)


def _through_the_socket(frames: bytes) -> list[Job]:
    stream, read = io.BytesIO(frames), []
    while (frame := _read_raw(stream)) is not None:
        read.append(Job(**decode_job(*frame)))
    return read


@given(st.lists(jobs, min_size=1, max_size=5))
def test_jobs_arrive_as_they_were_sent(sent: list[Job]) -> None:
    frames = b"".join(encode_job(job) for job in sent)
    assert _through_the_socket(frames) == sent
    # and again: the heads now come from the memo, the same bytes
    assert b"".join(encode_job(job) for job in sent) == frames


def test_the_query_is_the_body_as_utf8_and_the_rest_the_header() -> None:
    job = Job('SELECT * { ?s ?p "温度\\"}\n" }', "json", None, 10_000)
    frame = encode_job(job)
    (hlen,) = struct.unpack_from(">I", frame)
    header = json.loads(frame[4 : 4 + hlen])
    assert "query" not in header and header["table_format"] == "json"
    (blen,) = struct.unpack_from(">Q", frame, 4 + hlen)
    assert frame[4 + hlen + 8 :] == job.query.encode("utf-8") and blen == len(job.query.encode())


def test_two_queries_of_one_kind_share_the_head_not_the_body() -> None:
    one, two = Job("ASK {}", "json", None, 5), Job("ASK { ?s ?p ?o }", "json", None, 5)
    first, second = encode_job(one), encode_job(two)
    (hlen,) = struct.unpack_from(">I", first)
    assert first[: 4 + hlen] == second[: 4 + hlen] and first != second
    assert _through_the_socket(first + second) == [one, two]


def test_a_truncated_frame_is_the_end_of_the_stream() -> None:
    frame = encode_job(Job("ASK {}", "json", None, 5))
    for cut in (1, 5, len(frame) - 1):
        assert _read_raw(io.BytesIO(frame[:cut])) is None
