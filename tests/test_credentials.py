"""dipkg/core/credentials.py: the one redaction helper and where passwords come from."""

from __future__ import annotations

import pytest

from dipkg.core.credentials import Credentials, CredentialsError, redact, resolve, scrub


@pytest.mark.parametrize(
    "url, shown",
    [
        ("http://admin:s3cret@host:7878/store", "http://host:7878/store"),
        ("https://admin:p%40ss@host/q?x=1", "https://host/q?…"),  # a token may ride in the query
        ("https://host/sparql?key=s3cret#f", "https://host/sparql?…"),
        ("http://admin@host/store", "http://host/store"),
        ("http://host/store", "http://host/store"),
        ("http://a:b@host:99999/store", "http://host:99999/store"),  # a bad port: still redacted
    ],
)
def test_redact(url, shown):
    assert redact(url) == shown


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
