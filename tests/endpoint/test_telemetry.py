"""FastAPI's OpenTelemetry wrapper is asked once whether it has a provider (sparql_api/app.py
_App.__call__), not on every request; with one, every request still goes through it."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.telemetry._asgi import NativeTelemetry
from fastapi.testclient import TestClient

from dipkg.core.release import open_release
from dipkg.core.settings import Settings
from sparql_api.app import create_app
from tests.conftest import StandInPool

PATHS = ["/health", "/sparql", "/scenario/guizhou-b1-s01", "/nowhere"]  # no query: no pool


def _serve(built_data: Path, monkeypatch: pytest.MonkeyPatch, configured: bool) -> dict:
    seen = {"asked": 0, "wrapped": 0}
    wrap = NativeTelemetry.__call__

    def enabled(self: NativeTelemetry) -> bool:
        seen["asked"] += 1
        return configured

    async def wrapped(self: NativeTelemetry, **kw: object) -> None:
        seen["wrapped"] += 1
        await wrap(self, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(NativeTelemetry, "enabled", enabled)
    monkeypatch.setattr(NativeTelemetry, "__call__", wrapped)
    app = create_app(Settings(), open_release(built_data), pool=StandInPool())
    with TestClient(app) as client:
        for _ in range(3):
            for path in PATHS:
                r = client.get(path, follow_redirects=False)
                assert r.status_code < 500, (path, r.status_code, r.text[:200])
    return seen


def test_without_a_provider_it_is_asked_once(
    built_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = _serve(built_data, monkeypatch, configured=False)
    assert seen == {"asked": 1, "wrapped": 0}, seen


def test_with_a_provider_every_request_goes_through_it(
    built_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The known-good case beside it: configured, the wrapper sees all 12 requests."""
    seen = _serve(built_data, monkeypatch, configured=True)
    assert seen["wrapped"] == 3 * len(PATHS), seen
