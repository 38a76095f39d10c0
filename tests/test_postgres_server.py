"""tests.postgres: the throwaway server starts, serves fresh databases and leaves nothing behind."""

from __future__ import annotations

import select
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.postgres import PostgresServer, PostgresUnavailable

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def server() -> Iterator[PostgresServer]:
    with PostgresServer() as running:
        yield running


def refused(port: int) -> bool:
    """True when nothing listens on 127.0.0.1:`port`."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


def test_the_server_accepts_the_superuser_over_loopback(server: PostgresServer) -> None:
    assert server.url == f"postgresql://postgres@127.0.0.1:{server.port}/postgres"
    assert (server.directory / "data" / "PG_VERSION").is_file()
    with psycopg.connect(server.url) as connection:
        row = connection.execute("SELECT current_user, current_setting('fsync')").fetchone()
    assert row == ("postgres", "off")


def test_create_database_gives_distinct_usable_databases(server: PostgresServer) -> None:
    first, second = server.create_database(), server.create_database()
    assert first != second
    names = set()
    for url in (first, second):
        with psycopg.connect(url) as connection:
            assert connection.execute("SELECT 1").fetchone() == (1,)
            names.add(connection.info.dbname)
    assert len(names) == 2
    assert server.create_database("named") == server.url.removesuffix("/postgres") + "/named"


def test_the_server_is_gone_after_the_with_block() -> None:
    with PostgresServer() as server:
        port, directory = server.port, server.directory
        assert not refused(port)
    assert refused(port)
    assert not directory.exists()


def test_missing_binaries_say_how_to_install_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PG_BIN", str(tmp_path))
    with pytest.raises(PostgresUnavailable, match="holds no initdb"), PostgresServer():
        pass
    monkeypatch.delenv("PG_BIN")
    monkeypatch.setattr("tests.postgres.DEBIAN_ROOT", tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PostgresUnavailable, match="apt-get install postgresql"), PostgresServer():
        pass


def test_python_m_serves_until_sigterm() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.postgres"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 60)
        assert ready, "no URL within 60 s"
        url = process.stdout.readline().decode().strip()
        with psycopg.connect(url) as connection:
            assert connection.execute("SELECT 1").fetchone() == (1,)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
        assert process.returncode == 0, stderr.decode()
        assert refused(int(url.rsplit(":", 1)[1].split("/")[0]))
        directory = Path(stderr.decode().split("serving from ", 1)[1].split()[0])
        assert not directory.exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
