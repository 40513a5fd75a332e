"""Credentials for the HTTP services dipkg talks to (the remote SPARQL backend,
``dipkg publish``'s target), and the one redaction helper for every place a URL
or a remote answer is shown (``/health``, error bodies, log lines, CLI errors).

A password may come, from best to worst: a file (``..._password_file``: nothing in
``ps`` or the environment), an environment variable (``DIPKG_..._PASSWORD``), or
the URL's ``user:password@`` (still accepted, but visible in ``ps``). The URL is
stripped of its user information before anything else sees it.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from dipkg.core.errors import DipkgError


class CredentialsError(DipkgError):
    code = "credentials"
    status = 500


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str = ""

    def __repr__(self) -> str:  # never the password, whatever prints this
        return f"Credentials(user={self.user!r}, password=***)"

    def secrets(self) -> list[str]:
        """Strings that must never appear in a message (the password, its basic-auth form)."""
        out = []
        if self.password:
            out.append(self.password)
            out.append(base64.b64encode(f"{self.user}:{self.password}".encode()).decode())
        return out


def without_userinfo(url: str) -> str:
    """``url`` without its ``user:password@`` part: the URL to send requests to."""
    try:
        parts = urlsplit(url)
        if parts.username is None and parts.password is None:
            return url
        host = parts.netloc.rpartition("@")[2]
    except ValueError:  # not even a URL: hide anything that looks like user information
        return re.sub(r"//[^/@]*@", "//", url)
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


#: what to do when a URL's user information is cut short (:func:`authority_problem`)
ENCODE_HINT = (
    "percent-encode a '/', '?', '#' or '@' of its user name or password (%2F, %3F, %23, %40)"
)


def _after_authority(url: str) -> str:
    """What follows the authority of ``url`` as :func:`urllib.parse.urlsplit` reads it."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return ""
    return rest[len(urlsplit(url).netloc) :]


def authority_problem(url: str) -> str | None:
    """Why ``url``'s host cannot be told from its user information, or None.

    A password's unencoded '/', '?' or '#' ends the authority early (RFC 3986): the host
    read is then the user name, the port the password's start, and the rest of the
    password is in the path, the query or the fragment, before an '@'. Such a URL is
    never sent a request (it would go to a host named after the user, the password in
    its path) nor shown as it is."""
    hint = f"; {ENCODE_HINT}" if "@" in url else ""
    try:
        urlsplit(url).port  # noqa: B018 - raises ValueError on a port out of range or not a number
        after = _after_authority(url)
    except ValueError:
        return "its port is not a number from 0 to 65535" + hint
    if _cut_short(url, after):
        return "it has an '@' after its host" + hint
    return None


def _cut_short(url: str, after: str) -> bool:
    """Whether an '@' after the authority (``after``) may end a password that an unencoded
    '/', '?' or '#' cut short: one in the path, or one in the query or fragment while the
    "host" is a bare name (a user's, as in ``http://admin:987?abc@host/``). An '@' in the
    query of an ordinary host (``?default-graph-uri=mailto:a@b.org``) is the URL's own."""
    path, _, rest = after.partition("?") if "?" in after.split("#", 1)[0] else after.partition("#")
    if "@" in path:
        return True
    if "@" not in rest:
        return False
    host = urlsplit(url).hostname or ""
    return "." not in host and ":" not in host and host != "localhost"


def redact(url: str) -> str:
    """``url`` as shown in messages, /health and logs: no ``user:password@``, and its query
    string hidden (an access token often rides there). When an '@' follows the authority
    (a password's unencoded '/', '?' or '#' cut it short: :func:`authority_problem`), all
    before the last '@' is hidden too: it may hold the password."""
    try:
        after = _after_authority(url)
        # an '@' in the query of a host with a port may still end a password that a '?' cut
        # short (``admin:987?abc@host``): hidden too, whatever the URL means
        cut = _cut_short(url, after) or ("@" in after and urlsplit(url).port is not None)
    except ValueError:
        cut = True
    if cut and "://" in url and "@" in url:
        scheme, _, rest = url.partition("://")
        return redact(f"{scheme}://{rest.rpartition('@')[2]}").replace("://", "://…@", 1)
    clean = without_userinfo(url)
    try:
        parts = urlsplit(clean)
    except ValueError:
        return clean.split("?", 1)[0]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "…" if parts.query else "", ""))


NOT_HTTP = "must be an http(s) URL"


def http_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be an HTTP service's URL (not http(s), not a URL, no host, a bad
    port), said without the URL; None when it can. The one check of the remote backend's
    URL and of ``dipkg publish``'s targets, before anything is sent. :data:`NOT_HTTP` when
    the scheme is wrong, so a caller can say what kind of URL it wanted."""
    if not url.lower().startswith(("http://", "https://")):
        return NOT_HTTP
    problem = authority_problem(url)  # (not urlsplit's message: it quotes the port)
    if problem is not None:
        return f"is not a valid URL: {problem}"
    parts = urlsplit(url)
    if not parts.hostname:
        return "has no host"
    if any(c.isspace() for c in url):
        return "is not a valid URL: it holds white space"
    return None


_HEADER_SECRETS = re.compile(
    r"(?i)\b(authorization|proxy-authorization|cookie|set-cookie|x-api-key)\s*[:=][^\r\n]*"
)
_SCHEME_TOKENS = re.compile(r"(?i)\b(basic|bearer|digest)\s+[A-Za-z0-9+/=._~-]{6,}")


def scrub(text: str, credentials: Credentials | None = None) -> str:
    """``text`` (a remote answer, an exception message) with credentials removed:
    URLs' user information, authentication headers echoed back (the rest of their line),
    and the password itself. Scrub before joining lines, or more than the header goes."""
    text = re.sub(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]*@", r"\1", text)
    text = _HEADER_SECRETS.sub(lambda m: f"{m.group(1)}: [redacted]", text)
    text = _SCHEME_TOKENS.sub(lambda m: f"{m.group(1)} [redacted]", text)
    for secret in credentials.secrets() if credentials else []:
        text = text.replace(secret, "[redacted]")
    return text


def read_password_file(path: Path, setting: str) -> str:
    try:
        return path.read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise CredentialsError(
            f"{setting}: cannot read the password file {path}: {type(exc).__name__}", file=str(path)
        ) from None


def resolve(
    url: str,
    *,
    user: str | None = None,
    password: str | None = None,
    password_file: Path | None = None,
    setting: str = "password_file",
) -> tuple[str, Credentials | None]:
    """The URL without user information, and the credentials to send (None: anonymous).

    The user is ``user`` or the URL's; the password comes from ``password_file``,
    else ``password``, else the URL."""
    problem = authority_problem(url)
    if problem is not None:
        raise CredentialsError(f"{redact(url)} is not a usable URL: {problem}")
    try:
        parts = urlsplit(url)
        url_user = unquote(parts.username) if parts.username is not None else None
        url_password = unquote(parts.password) if parts.password is not None else None
    except ValueError:
        return without_userinfo(url), None  # the caller reports the bad URL (shown redacted)
    name = user or url_user
    secret = read_password_file(password_file, setting) if password_file else password
    if secret is None:
        secret = url_password
    clean = without_userinfo(url)
    if name is None:
        if secret:
            raise CredentialsError(
                f"a password is configured for {redact(url)} but no user name "
                "(give the user in the URL, user@host, or in the user setting)"
            )
        return clean, None
    return clean, Credentials(name, secret or "")
