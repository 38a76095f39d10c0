"""Sessions: `nox` runs the tests, the linters and the conformance suite against two
dispatchers on PostgreSQL; `nox -s tests`, `nox -s lint`, `nox -s conformance_postgres`."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "conformance_postgres"]
nox.options.reuse_existing_virtualenvs = True

#: The conformance suite's self-tests: the suite run against deliberately broken dispatchers.
SELF_TESTS = "tests/conformance"


@nox.session(python="3.11")
def tests(session: nox.Session) -> None:
    """Run the test suite (the admin's browser tests need Chromium, the store's tests
    PostgreSQL's server, the receiving kit's RQ tests Redis's server, the CMA client's
    tests Node and npm: installed from Debian's packages if missing; then the client
    itself, from tests/cma_client's lockfile)."""
    session.install("-e", ".[test]")
    _chromium(session)
    _postgresql(session)
    _redis(session)
    _node(session)
    session.run(
        "npm", "ci", "--prefix", "tests/cma_client", "--no-audit", "--no-fund", external=True
    )
    if session.posargs:
        session.run("pytest", *session.posargs)
        return
    session.run("pytest", "--ignore", SELF_TESTS)
    # Every test that uses a store, again on PostgreSQL (those marked every_backend
    # already ran on both).
    session.run("pytest", "--ignore", SELF_TESTS, "--store", "postgresql")
    # Each self-test runs the conformance suite against a broken dispatcher; they
    # mostly wait (deadlines, retry gaps, requests that never come), so eight at a time.
    session.run("pytest", SELF_TESTS, "-n", "8", "--dist", "worksteal")


def _chromium(session: nox.Session) -> None:
    """Debian's Chromium where apt-get can install it (as root), else Playwright's own."""
    import os

    if os.environ.get("CHROMIUM") or os.path.exists("/usr/bin/chromium"):
        return
    if _can_apt_get():
        _apt_get_install(session, "chromium")
    else:
        session.run("playwright", "install", "chromium")


def _postgresql(session: nox.Session) -> None:
    """Debian's postgresql package (tests/postgres.py starts servers from its binaries)."""
    import glob
    import os

    if os.environ.get("PG_BIN") or glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        return
    if not _can_apt_get():
        session.error("the tests need PostgreSQL's server: apt-get install postgresql")
    _apt_get_install(session, "postgresql")


def _redis(session: nox.Session) -> None:
    """Debian's redis-server (tests/endpoint starts throwaway servers from it)."""
    import os
    import shutil

    if shutil.which("redis-server") or os.path.exists("/usr/bin/redis-server"):
        return
    if not _can_apt_get():
        session.error("the tests need Redis's server: apt-get install redis-server")
    _apt_get_install(session, "redis-server")


def _node(session: nox.Session) -> None:
    """Debian's nodejs and npm (tests/reference/test_cma_client.py runs DatoCMS's
    JavaScript client, which `npm ci` installs)."""
    import shutil

    if shutil.which("node") and shutil.which("npm"):
        return
    if not _can_apt_get():
        session.error("the tests need Node.js and npm: apt-get install nodejs npm")
    _apt_get_install(session, "nodejs", "npm")


def _can_apt_get() -> bool:
    import os
    import shutil

    return bool(shutil.which("apt-get")) and hasattr(os, "geteuid") and os.geteuid() == 0


def _apt_get_install(session: nox.Session, *packages: str) -> None:
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    session.run("apt-get", "update", "-qq", external=True, env=env)
    session.run(
        "apt-get",
        "install",
        "-y",
        "-qq",
        "--no-install-recommends",
        *packages,
        external=True,
        env=env,
    )


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff format --check, ruff check and mypy --strict."""
    session.install("-e", ".[test]", "ruff", "mypy", "types-PyYAML", "nox")
    session.run("ruff", "format", "--check", ".")
    session.run("ruff", "check", ".")
    session.run("mypy")


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """The benchmark: starts Redis on loopback, runs `python -m bench`, stops it.

    Not among the default sessions; `nox -s bench -- --quick` runs a tenth of it.
    """
    import shutil
    import socket
    import subprocess
    import tempfile

    # The rivals of scenario 8 (Celery on a gevent pool, RQ's SimpleWorker) come with it.
    session.install(
        "-e",
        ".",
        "aiohttp",
        "httptools",
        "uvloop",
        "rq",
        "requests",
        "redis",
        "sniffio",
        "celery[redis]>=5.4",
        "gevent>=24",
    )
    server = shutil.which("redis-server")
    if server is None:
        session.run("apt-get", "update", external=True)
        session.run("apt-get", "install", "-y", "redis-server", external=True)
        server = shutil.which("redis-server") or "/usr/bin/redis-server"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as folder:
        redis = subprocess.Popen(
            # Durable as the dispatcher's stores are: every write is fsynced before
            # Redis answers, so a job or a recorded attempt survives a crash.
            [
                server,
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--dir",
                folder,
            ],
            stdout=subprocess.DEVNULL,
        )
        try:
            session.run(
                "python",
                "-m",
                "bench",
                *session.posargs,
                env={"REDIS_URL": f"redis://127.0.0.1:{port}/0"},
            )
        finally:
            redis.terminate()
            redis.wait(10)


@nox.session(python="3.11")
def conformance(session: nox.Session) -> None:
    """Run the conformance suite against the bundled reference dispatcher (SQLite)."""
    import tempfile

    session.install("-e", ".")
    with tempfile.TemporaryDirectory() as scratch:
        _conformance(session, f"{scratch}/conformance.db", processes=1)


@nox.session(python="3.11")
def conformance_postgres(session: nox.Session) -> None:
    """Run the conformance suite against two dispatcher processes on one PostgreSQL: the
    suite talks to the first, both deliver. The server is a throwaway one (tests/postgres.py)."""
    import subprocess

    session.install("-e", ".")
    _postgresql(session)
    server = subprocess.Popen(
        [f"{session.bin}/python", "-m", "tests.postgres"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        if not url.startswith("postgresql://"):
            session.error("PostgreSQL did not start")
        _conformance(session, url, processes=2)
    finally:
        server.terminate()
        server.wait(30)


def _conformance(session: nox.Session, db: str, *, processes: int) -> None:
    """Start `processes` dispatchers on `db` and run the suite against the first."""
    import socket
    import subprocess
    import time
    import urllib.error
    import urllib.request

    token = "conformance"
    servers: list[subprocess.Popen[bytes]] = []
    urls = []
    try:
        for _ in range(processes):
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            urls.append(f"http://127.0.0.1:{port}")
            # A shrunk retry schedule (contract §8: the schedule is data).
            servers.append(
                subprocess.Popen(
                    [
                        f"{session.bin}/webhooks-dispatcher",
                        "serve",
                        "--port",
                        str(port),
                        "--db",
                        db,
                        "--api-token",
                        token,
                        "--retry-scale",
                        "0.0001",
                    ]
                )
            )
        for url, server in zip(urls, servers, strict=True):
            deadline = time.monotonic() + 20
            while True:
                try:
                    urllib.request.urlopen(f"{url}/webhooks", timeout=1)
                except urllib.error.HTTPError:
                    break  # 401: it is up
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        session.error("the reference dispatcher did not start")
                    time.sleep(0.1)
        session.run(
            "webhooks-conformance",
            "--target",
            urls[0],
            "--token",
            token,
            "--retry-scale",
            "0.0001",
            "--strict",  # the reference passes every SHOULD case too
            *session.posargs,
        )
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(20)
