"""One error shape for the whole project.

Every expected failure (bad source line, failed validation, malformed query, a
store that cannot be opened...) is a :class:`DipkgError`. The CLI prints it as
one line ``file:line:column: error[code]: message`` and exits 1 (for a cell of
a .docx table: ``file:table T:row R:column C: error[code]: message``); the web
app returns ``to_dict()`` as its JSON body. Nothing else should reach a user.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any


def closest(word: str, known: Iterable[str]) -> str | None:
    """The known name ``word`` was probably meant to be (a mistyped key), or None: the one
    "did you mean" of the settings and of build/guides.toml."""
    found = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return found[0] if found else None


class DipkgError(Exception):
    """An expected failure with a place (file, line, column; or file, table, row, column) where
    known."""

    code = "error"
    status = 500  # HTTP status when the web app reports it

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        status: int | None = None,
        details: dict[str, Any] | None = None,
        table: int | None = None,
        row: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.table = table  # a .docx table (1-based); then row and column name its cell
        self.row = row
        if status is not None:
            self.status = status
        self.details = details or {}

    @property
    def location(self) -> str:
        if self.table is not None:
            cell = [
                f"{name} {value}"
                for name, value in (
                    ("table", self.table),
                    ("row", self.row),
                    ("column", self.column),
                )
                if value is not None
            ]
            return ":".join([self.file or "", *cell] if self.file else cell)
        parts = [p for p in (self.file, self.line, self.column) if p is not None]
        return ":".join(str(p) for p in parts)

    def __str__(self) -> str:
        loc = self.location
        prefix = f"{loc}: " if loc else ""
        return f"{prefix}error[{self.code}]: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "status": self.status, "message": self.message}
        for key in ("file", "line", "table", "row", "column"):
            value = getattr(self, key)
            if value is not None:
                body[key] = value
        if self.details:
            body["details"] = self.details
        return body


class SourceError(DipkgError):
    """The source document (or a curated input table) is malformed."""

    code = "source"
    status = 422


class CorrectionError(DipkgError):
    """A curated correction is malformed or no longer matches anything."""

    code = "correction"
    status = 422


class ValidationError(DipkgError):
    """The built graph violates the SHACL shapes."""

    code = "validation"
    status = 422


class ShapeError(DipkgError):
    """The SHACL shapes use a construct the build's compiler (kg/shacl.py) does not support."""

    code = "shapes"
    status = 500


class ConfigError(DipkgError):
    """A setting or an option has a value that cannot work: its place is the ``DIPKG_``
    variable, the option, or the file (dipkg.toml) it came from."""

    code = "config"
    status = 500


class StoreError(DipkgError):
    """The built store or dumps are missing, empty or corrupt."""

    code = "store"
    status = 503
