from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.postgres import PostgresServer

#: The store's backends; tests marked `every_backend` run on each of them.
BACKENDS = ("sqlite", "postgresql")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--store",
        choices=BACKENDS,
        default="sqlite",
        help="the store backend of tests not marked every_backend (default sqlite)",
    )


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    """Whatever a test's servers configure in `logging` (a CLI run in-process installs a
    handler and a level) is taken out again, so that no later test logs through it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    access = logging.getLogger("uvicorn.access").disabled
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("uvicorn.access").disabled = access


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With `--store postgresql`, run only the tests that use a store and are not already
    run on every backend: the rest would run exactly as they do on SQLite."""
    if config.getoption("--store") == "sqlite":
        return
    chosen: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        uses_store = "backend" in getattr(item, "fixturenames", ())
        both = item.get_closest_marker("every_backend") is not None
        pinned = "backend" in getattr(getattr(item, "callspec", None), "params", {})
        (chosen if uses_store and not both and not pinned else dropped).append(item)
    config.hook.pytest_deselected(items=dropped)
    items[:] = chosen


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames and metafunc.definition.get_closest_marker(
        "every_backend"
    ):
        metafunc.parametrize("backend", BACKENDS)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The store's backend for this test: `--store` (SQLite by default) unless the test
    is `every_backend`."""
    value: str = request.config.getoption("--store")
    return value


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole run, started by the tests themselves."""
    with PostgresServer() as server:
        yield server


NewDatabase = Callable[..., str]


@pytest.fixture
def new_db(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> NewDatabase:
    """`new_db(name)`: the `--db` value of a database of the test's backend, empty at
    first; the same name gives the same database within one test."""
    made: dict[str, str] = {}

    def make(name: str = "webhooks.db") -> str:
        if name not in made:
            if backend == "sqlite":
                made[name] = str(tmp_path / name)
            else:
                server: PostgresServer = request.getfixturevalue("postgres_server")
                made[name] = server.create_database()
        return made[name]

    return make
