"""Range headers on the dumps (sparql_api/dumps.py): any text gives a range inside the
file, "ignore" or "unsatisfiable", never an error (a 500)."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from sparql_api.dumps import parse_range

SIZE = 1000


@given(
    st.one_of(
        st.text(max_size=60),
        st.builds(
            lambda a, b: f"bytes={a}-{b}",
            st.from_regex(r"[0-9]{0,30}", fullmatch=True),
            st.from_regex(r"[0-9]{0,30}", fullmatch=True),
        ),
    ),
    st.integers(min_value=0, max_value=5000),
)
@example("bytes=-" + "9" * 5000, SIZE)  # int() of over 4,300 digits raised: a 500
@example("bytes=" + "9" * 5000 + "-", SIZE)
@example("bytes=0-" + "9" * 5000, SIZE)
@example("bytes=" + "0" * 5000 + "5-9", SIZE)
@example("bytes=\u0665-\u0669", SIZE)  # Arabic-Indic digits are not HTTP's
def test_any_range_header_is_read_without_error(header: str, size: int) -> None:
    got = parse_range(header, size)
    if isinstance(got, tuple):
        start, end = got
        assert 0 <= start <= end < size
    else:
        assert got in (None, "unsatisfiable")


def test_ranges_read_as_rfc_9110_says() -> None:
    assert parse_range("bytes=0-99", SIZE) == (0, 99)
    assert parse_range("bytes=900-", SIZE) == (900, 999)
    assert parse_range("bytes=-100", SIZE) == (900, 999)
    assert parse_range("bytes=0005-0009", SIZE) == (5, 9)
    assert parse_range("bytes=-" + "9" * 5000, SIZE) == (0, 999)  # more than the file
    assert parse_range("bytes=0-" + "9" * 5000, SIZE) == (0, 999)
    assert parse_range("bytes=" + "9" * 5000 + "-", SIZE) == "unsatisfiable"
    assert parse_range("bytes=1000-", SIZE) == "unsatisfiable"
    assert parse_range("bytes=9-5", SIZE) is None
    assert parse_range("bytes=\u0665-\u0669", SIZE) is None
    assert parse_range("bytes=0-1,5-9", SIZE) is None
