"""Shared fixtures: one real build per test session, in a temporary folder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from dipkg.core.settings import Settings
from kg.build import BuildResult, build
from kg.paths import INPUTS_DIR

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"

if TYPE_CHECKING:  # annotations only: most tests never load the web app
    from sparql_api.results import Job
    from sparql_api.workers import Reply


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def build_result(tmp_path_factory: pytest.TempPathFactory, settings: Settings) -> BuildResult:
    """The project's real build, done once per session."""
    return build(tmp_path_factory.mktemp("build") / "data", settings)


@pytest.fixture(scope="session")
def built_data(build_result: BuildResult) -> Path:
    """A build output folder (``dipkg build --out DIR``): DIR/current -> releases/<id>."""
    return build_result.release.parent.parent


@pytest.fixture()
def inputs_copy(tmp_path: Path) -> Path:
    """A private copy of the build inputs, to break on purpose."""
    target = tmp_path / "inputs"
    shutil.copytree(INPUTS_DIR, target)
    return target


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("DIPKG_")}
    env.update(extra)
    return env


class StandInPool:
    """A query pool (sparql_api.backends.QueryPool) for app tests that never query: one
    worker alive, no named graph; running a query is a test failure."""

    size = 1
    alive = 1

    def __init__(self) -> None:
        self.info: dict[str, Any] = {}
        self.stats: dict[str, int] = {}

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def run(self, job: Job, client: str | None = None) -> Reply:
        raise AssertionError("this test's app must not run a query")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On several processes (`make test`: pytest-xdist, each file whole on one, with
    --no-loadscope-reorder), the files that hold a slow test first, each file's tests in
    their order: the long files start first and the short ones fill in around them,
    instead of a long one running alone at the end. In one process: the order as
    collected."""
    if not hasattr(config, "workerinput"):  # (an xdist worker's collection only)
        return
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow)
