"""protocol.parse_params (every query's parameters, read without urllib.parse) against
what urllib.parse.parse_qsl gave for the same bytes: the same parameters, the same error."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparql_api import protocol
from sparql_api.errors import QueryError


def by_urllib(raw: bytes) -> dict[str, list[str]]:
    """parse_params as it was, through parse_qsl (the reference)."""
    try:
        pairs = parse_qsl(
            raw.decode("latin-1"),
            keep_blank_values=True,
            encoding="latin-1",
            errors="strict",
            max_num_fields=protocol.MAX_FIELDS,
        )
    except ValueError as exc:
        raise QueryError(f"malformed parameters: {exc}") from None
    params: dict[str, list[str]] = {}
    for key, value in pairs:
        try:
            name = key.encode("latin-1").decode("utf-8")
            text = value.encode("latin-1").decode("utf-8")
        except UnicodeError:
            raise QueryError("parameters must be UTF-8 (percent-encoded)") from None
        params.setdefault(name, []).append(text)
    return params


def outcome(parse, raw: bytes) -> tuple[str, object]:  # type: ignore[no-untyped-def]
    try:
        return "ok", list(parse(raw).items())  # the order of the names too
    except QueryError as err:
        return "error", (type(err), str(err), err.status, err.code)


#: bytes a query string is made of, the ones that mean something weighted up
PIECES = st.sampled_from(
    [b"&", b"=", b"+", b"%", b"%2", b"%20", b"%3f", b"%3F", b"%C3%A9", b"%e9", b"%zz", b"%%",
     b"query", b"format", b"a", b"\xc3\xa9", b"\xe9", b"\xff", b"%FF", b"%E4%B8%AD", b" "]
)  # fmt: skip
RAW = st.one_of(
    st.binary(max_size=80),
    st.lists(st.one_of(PIECES, st.binary(max_size=3)), max_size=30).map(b"".join),
)


@settings(max_examples=3000, deadline=None)
@given(raw=RAW)
def test_the_same_parameters_and_errors_as_parse_qsl(raw: bytes) -> None:
    assert outcome(protocol.parse_params, raw) == outcome(by_urllib, raw)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"&",
        b"query=SELECT%20%3Fs%20WHERE%20%7B%7D&format=json&format=xml",
        b"query=a+b%2Bc&=x&y&y=&%=%&%4=%4g",
        b"query=%C3%A9&n%C3%A4me=1",
        b"query=%E9",  # Latin-1, not UTF-8: the one error
        b"q\xe9=1",
        b"a=1&" * 999 + b"a=1",  # 1000 fields: allowed
        b"a=1&" * 1000 + b"a=1",  # 1001: refused first
        b"&" * 1000,
        b"&" * 999,
        b"a=%ZZ&" * 1000 + b"\xff",
    ],
)
def test_the_edges_as_parse_qsl(raw: bytes) -> None:
    assert outcome(protocol.parse_params, raw) == outcome(by_urllib, raw)


def test_the_comparison_catches_a_difference() -> None:
    """Known-bad: a parser that forgets '+' is a space is told apart."""

    def no_plus(raw: bytes) -> dict[str, list[str]]:
        return protocol.parse_params(raw.replace(b"+", b"%2B"))

    assert outcome(no_plus, b"query=a+b") != outcome(by_urllib, b"query=a+b")
    assert outcome(protocol.parse_params, b"query=a+b") == ("ok", [("query", ["a b"])])


# --- the escapes alone: _unquote against urllib.parse.unquote_to_bytes ---------------


@settings(max_examples=3000, deadline=None)
@given(raw=RAW)
def test_escapes_decode_as_urllib_does(raw: bytes) -> None:
    from urllib.parse import unquote_to_bytes

    assert protocol._unquote(raw) == unquote_to_bytes(raw)
    assert protocol._unquote_each(raw) == unquote_to_bytes(raw)


def test_every_escape_and_every_byte_around_it() -> None:
    """``%`` and any two bytes, with a literal ``=``, a line break or a valid escape
    beside it, so that both ways of decoding (binascii's and escape by escape) are taken."""
    from urllib.parse import unquote_to_bytes

    fast = 0
    for a in range(256):
        for b in range(256):
            pair = bytes((a, b))
            for raw in (
                b"%" + pair,
                b"x=%" + pair + b"%41=",
                pair + b"%3d%" + pair,
                b"%" + pair + b"\n",
            ):
                assert protocol._unquote(raw) == unquote_to_bytes(raw), raw
                fast += b"\n" not in raw and protocol._LONE_PERCENT.search(raw) is None
    assert fast == 3 * 22 * 22  # the C way, for every valid escape without a line break


def test_the_escape_comparison_catches_a_difference() -> None:
    """Known-bad: quoted-printable decoding without a literal ``=`` spelt ``=3D`` is told
    apart (``=41`` would become ``A``)."""
    import binascii
    from urllib.parse import unquote_to_bytes

    raw = b"a=41%20b"
    assert binascii.a2b_qp(raw.replace(b"%", b"=")) != unquote_to_bytes(raw)
    assert protocol._unquote(raw) == unquote_to_bytes(raw) == b"a=41 b"
