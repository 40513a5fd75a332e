"""dipkg/core/credentials.py: the one redaction helper and where passwords come from."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dipkg.core.credentials import Credentials, CredentialsError, redact, resolve, scrub
from tests.conftest import cli_env


@pytest.mark.parametrize(
    "url, shown",
    [
        ("http://admin:s3cret@host:7878/store", "http://host:7878/store"),
        ("https://admin:p%40ss@host/q?x=1", "https://host/q?…"),  # a token may ride in the query
        ("https://host/sparql?key=s3cret#f", "https://host/sparql?…"),
        ("http://admin@host/store", "http://host/store"),
        ("http://host/store", "http://host/store"),
        ("http://a:b@host:99999/store", "http://host:99999/store"),  # a bad port: still redacted
        # a password's unencoded '/', '?' or '#' ends the authority early: the password is in
        # the path, query or fragment, before an '@' (found in review: shown whole)
        ("http://admin:s3/cret@host/store", "http://…@host/store"),
        ("http://admin:s3#cret@host/store", "http://…@host/store"),
        ("http://admin:s3?cret@host/store?x=1", "http://…@host/store?…"),
        ("http://admin:123/abc@host:7878/store", "http://…@host:7878/store"),
        ("http://admin:p@s/s@host/q", "http://…@host/q"),
    ],
)
def test_redact(url, shown):
    assert redact(url) == shown


CUT_SHORT = [  # (URL, its password): a password with an unencoded '/', '?' or '#'
    ("http://admin:s3/cret@127.0.0.1:9/query", "s3/cret"),
    ("http://admin:s3#cret@127.0.0.1:9/query", "s3#cret"),
    ("http://admin:s3?cret@127.0.0.1:9/query", "s3?cret"),
    ("http://admin:987/abc@127.0.0.1:9/query", "987/abc"),
    ("http://admin:987?abc@127.0.0.1:9/query", "987?abc"),
    ("http://admin:987#abc@127.0.0.1:9/query", "987#abc"),
]


@pytest.mark.parametrize(
    "url",
    [
        "http://kg.example.org/sparql?default-graph-uri=mailto:a@b.org",
        "http://127.0.0.1:7878/query?default-graph-uri=mailto:a@b.org",
        "https://user:pw@kg.example.org/query",
    ],
)
def test_an_at_sign_in_the_query_of_a_real_host_is_the_urls_own(url):
    """RFC 3986 allows '@' in a query: only an '@' that may end a cut-short password (in
    the path, or after a bare name that is a user's) is refused."""
    from dipkg.core.credentials import http_url_problem

    assert http_url_problem(url) is None
    assert "pw" not in redact(url)


@pytest.mark.parametrize("url, password", CUT_SHORT)
def test_a_url_whose_password_cuts_its_authority_short_is_refused_unshown(url, password):
    """Never sent a request (its host would be the user name, the password in its path) and
    never shown: not even the password's first part, which urlsplit reads as a port."""
    with pytest.raises(CredentialsError) as refused:
        resolve(url)
    message = str(refused.value)
    assert "percent-encode" in message and "127.0.0.1:9/query" in message
    for part in (password, password[:2], password[-3:], "admin"):
        assert part not in message, (part, message)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dipkg.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=cli_env(),
    )


@pytest.mark.parametrize("url, password", CUT_SHORT[:2])
def test_serve_and_publish_never_show_a_password_that_cuts_the_url_short(
    built_data: Path, url: str, password: str
) -> None:
    """`dipkg serve --sparql-backend` said `error[internal]: InvalidURL: Invalid port: 's3'`
    and `dipkg publish --to` showed the whole password: one line each now, exit 1, no part
    of the password."""
    from tests.endpoint.conftest import free_port

    serve = _cli(
        "serve", "--data", str(built_data), "--port", str(free_port()), "--sparql-backend", url
    )
    publish = _cli("publish", "--to", url.replace("/query", "/store"), "--data", str(built_data))
    # serve names the setting (its URL is checked before credentials are resolved)
    for done, code in ((serve, "DIPKG_SPARQL_BACKEND"), (publish, "error[publish]")):
        err = done.stderr.strip()
        assert done.returncode == 1 and code in err and "Traceback" not in err, err
        assert len(err.splitlines()) == 1 and "percent-encode" in err, err
        for part in (password, password[:2], "cret", "admin"):
            assert part not in err + done.stdout, (part, err)


def test_scrub_removes_echoed_headers_urls_and_the_password():
    creds = Credentials("admin", "s3cret")
    text = (
        "POST /query HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YWRtaW46czNjcmV0\r\n"
        "Cookie: sid=42\r\n"
        "see http://admin:s3cret@host/q and the word s3cret, Bearer abcdefghij"
    )
    out = scrub(text, creds)
    for secret in ("s3cret", "YWRtaW46czNjcmV0", "sid=42", "abcdefghij", "admin:"):
        assert secret not in out, out
    assert "Authorization: [redacted]" in out and "http://host/q" in out


def test_resolve_prefers_the_file_then_the_setting_then_the_url(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("from-file\n")
    assert resolve("http://u:from-url@h/q") == ("http://h/q", Credentials("u", "from-url"))
    assert resolve("http://u:from-url@h/q", password="from-env")[1] == Credentials("u", "from-env")
    assert resolve("http://h/q", user="v", password="e", password_file=secret)[1] == Credentials(
        "v", "from-file"
    )
    assert resolve("http://h/q") == ("http://h/q", None)
    assert "from-file" not in repr(resolve("http://h/q", user="v", password_file=secret))


def test_a_password_without_a_user_or_a_missing_file_is_an_error(tmp_path):
    with pytest.raises(CredentialsError, match="no user name"):
        resolve("http://h/q", password="x")
    with pytest.raises(CredentialsError, match="cannot read the password file"):
        resolve("http://h/q", user="u", password_file=tmp_path / "missing")


@pytest.mark.parametrize("cut", range(1, 11))
def test_a_backend_error_cut_inside_the_password_shows_no_part_of_it(cut: int) -> None:
    """The backend's error text was cut at 2,000 bytes before it was scrubbed: a password the
    cut split was not found, and its start was shown (here behind an indented page's spaces,
    which collapse, so the cut fell inside the 500 characters shown)."""
    from sparql_api.remote.answers import _message

    creds = Credentials("admin", "s3cret-pass")
    head = "<html><body><pre>login refused for admin, password "
    body = (head + " " * (2000 - len(head) - cut) + "s3cret-pass; try again</pre>").encode()
    shown = _message(401, body, creds)
    assert "login refused" in shown, shown
    for n in range(3, len(creds.password) + 1):
        assert creds.password[:n] not in shown, shown
