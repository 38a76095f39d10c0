from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.postgres import PostgresServer

#: The store's backends; tests marked `every_backend` run on each of them.
BACKENDS = ("sqlite", "postgresql")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames and metafunc.definition.get_closest_marker(
        "every_backend"
    ):
        metafunc.parametrize("backend", BACKENDS)


@pytest.fixture
def backend() -> str:
    """The store's backend for this test: SQLite unless the test is `every_backend`."""
    return "sqlite"


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
