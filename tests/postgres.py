"""A throwaway PostgreSQL server for tests, benchmarks and nox sessions.

`with PostgresServer() as server:` runs `initdb` into a fresh temporary directory, starts
`postgres` on 127.0.0.1 (a free port; its Unix socket in that directory) with settings that
trade durability for speed, and on exit stops it and removes the directory.
`python -m tests.postgres` does the same from a shell: it prints the server's URL on one line
and serves until SIGTERM or SIGINT.

The binaries are Debian's `postgresql` package (`/usr/lib/postgresql/<version>/bin`, the
newest), `$PG_BIN`, or `initdb` on PATH. PostgreSQL refuses to run as root, so as root the
server runs as the `postgres` system user that Debian's package creates.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import functools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType, TracebackType
from urllib.parse import quote

__all__ = ["PostgresServer", "PostgresUnavailable", "find_bindir", "main"]

#: The superuser `initdb -U` creates; the URLs log in as it (trust auth, no password).
SUPERUSER = "postgres"

#: Debian's layout: one directory per major version, each with its own `bin`.
DEBIAN_ROOT = Path("/usr/lib/postgresql")

INSTALL_HINT = (
    "install Debian's postgresql package: apt-get install postgresql "
    "(or set PG_BIN to a directory holding initdb and postgres)"
)

#: Speed over durability: the data is thrown away anyway. `settings=` overrides any of them
#: (a benchmark measuring commits wants `fsync=on`, `synchronous_commit=on`).
TEST_SETTINGS: Mapping[str, str] = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "wal_level": "minimal",  # no WAL for replicas; `max_wal_senders` must be 0 with it
    "max_wal_senders": "0",
    "jit": "off",  # compiling a plan costs more than running a test's small queries
}

#: How often the start polls `postmaster.pid` for readiness (pg_ctl polls every 100 ms).
POLL_SECONDS = 0.005

#: tmpfs, where there is room: initdb makes ~1000 files, which ext4 on a VM makes slowly
#: (measured on a 2-CPU VM: initdb 1.2 s in /tmp, 0.5 s in /dev/shm, another load running).
SHM = Path("/dev/shm")

#: The room /dev/shm must have for the server to live there: the cluster is 40 MB, each
#: database 8 MB, and WAL may grow to max_wal_size (1 GB) between checkpoints.
SHM_MIN_FREE = 2 << 30

#: The temporary directories' prefix, and the file in each naming the process that owns it.
PREFIX = "postgres-test-"
OWNER_FILE = "owner.pid"

#: Attempts at a free port: another process can take the one we picked before postgres binds.
PORT_ATTEMPTS = 5


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL binaries were found, or the server would not start (the message says why)."""


def find_bindir() -> Path:
    """The directory holding `initdb` and `postgres`: `$PG_BIN`, Debian's newest, or PATH's."""
    explicit = os.environ.get("PG_BIN")
    if explicit:
        bindir = Path(explicit)
        if not _has_server(bindir):
            raise PostgresUnavailable(f"PG_BIN={explicit} holds no initdb and postgres")
        return bindir
    debian = [path for path in DEBIAN_ROOT.glob("*/bin") if _has_server(path)]
    debian.sort(key=lambda path: _version_key(path.parent.name))
    if debian:
        return debian[-1]
    initdb = shutil.which("initdb")
    if initdb is not None:
        bindir = Path(initdb).resolve().parent  # Homebrew's /opt/homebrew/bin is symlinks
        if _has_server(bindir):
            return bindir
    raise PostgresUnavailable(f"no PostgreSQL server binaries found: {INSTALL_HINT}")


def _has_server(bindir: Path) -> bool:
    return all(os.access(bindir / name, os.X_OK) for name in ("initdb", "postgres"))


def _version_key(name: str) -> tuple[int, ...]:
    """`15` -> (15,), `9.6` -> (9, 6); a name that is no version sorts first."""
    try:
        return tuple(int(part) for part in name.split("."))
    except ValueError:
        return ()


def _default_base() -> Path | None:
    """/dev/shm when it has room and $TMPDIR is not set; else None (tempfile's choice)."""
    if os.environ.get("TMPDIR") or not os.access(SHM, os.W_OK | os.X_OK):
        return None
    stats = os.statvfs(SHM)
    return SHM if stats.f_bavail * stats.f_frsize >= SHM_MIN_FREE else None


def _sweep(base: Path) -> None:
    """Remove directories left by processes killed outright (SIGKILL, or SIGTERM's default).

    Their postmaster stopped with them (the parent-death signal), but the directory stays:
    40 MB, in RAM on /dev/shm. Only a directory whose owner and postmaster are both gone
    is removed; one still being set up has no owner file yet and is left alone.
    """
    for directory in base.glob(f"{PREFIX}*"):
        postmaster = directory / "data" / "postmaster.pid"
        try:
            pids = [int((directory / OWNER_FILE).read_text().split()[0])]
            if postmaster.exists():
                pids.append(int(postmaster.read_text().split()[0]))
        except (OSError, ValueError, IndexError):
            continue  # no owner file yet, another user's, or half-written
        if pids[0] != os.getpid() and not any(map(_alive, pids)):
            shutil.rmtree(directory, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@functools.cache
def _pdeathsig_prefix() -> tuple[str, ...]:
    """`setpriv --pdeathsig QUIT --` where it works: the postmaster stops if we are killed.

    SIGKILL, or SIGTERM with Python's default handler, skips `finally` and atexit; the
    kernel's parent-death signal still reaches the postmaster (QUIT: immediate shutdown).
    """
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return ()
    prefix = (setpriv, "--pdeathsig", "QUIT", "--")
    try:
        subprocess.run([*prefix, "true"], check=True, capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ()  # util-linux before 2.33 has no --pdeathsig
    return prefix


class PostgresServer:
    """A PostgreSQL server in a temporary directory, for the length of a `with` block.

    `settings` are `postgres -c` options over `TEST_SETTINGS`. The temporary directory is
    made in `base`: by default /dev/shm when it has 2 GiB free and $TMPDIR is unset, else
    the system's temporary directory (a benchmark of disk writes passes `base`). Auth is
    `trust` for the Unix socket (in a directory only its owner can enter) and for 127.0.0.1:
    any local user may connect over loopback, acceptable for a throwaway server.
    """

    def __init__(
        self,
        *,
        bindir: Path | None = None,
        settings: Mapping[str, str] | None = None,
        base: Path | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.bindir = bindir
        self.base = base
        self.settings = {**TEST_SETTINGS, **(settings or {})}
        self.timeout = timeout
        self._port: int | None = None
        self._directory: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._owner: pwd.struct_passwd | None = None

    # -- what the tests use ---------------------------------------------------------------

    @property
    def port(self) -> int:
        """The TCP port on 127.0.0.1 (still readable once the server has stopped)."""
        if self._port is None:
            raise RuntimeError("the server was never started: use `with PostgresServer():`")
        return self._port

    @property
    def directory(self) -> Path:
        """The temporary directory: `data/`, `postgres.log` and the Unix socket."""
        if self._directory is None:
            raise RuntimeError("the server was never started: use `with PostgresServer():`")
        return self._directory

    @property
    def url(self) -> str:
        """`postgresql://postgres@127.0.0.1:<port>/postgres`, the maintenance database."""
        return self.database_url("postgres")

    @property
    def log_file(self) -> Path:
        """The server's log (stdout and stderr); removed with the directory."""
        return self.directory / "postgres.log"

    def database_url(self, name: str) -> str:
        """The URL of database `name` on this server."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{quote(name, safe='')}"

    def create_database(self, name: str | None = None) -> str:
        """Create a database (named `test_<random>` when `name` is None); return its URL."""
        import psycopg  # here, so starting a server (python -m tests.postgres) needs no psycopg
        from psycopg import sql

        name = name or f"test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.database_url(name)

    # -- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """initdb, then start postgres and wait until it accepts connections."""
        if self._directory is not None:
            raise RuntimeError("a PostgresServer starts once")
        bindir = self.bindir or find_bindir()
        if os.geteuid() == 0:
            try:
                self._owner = pwd.getpwnam(SUPERUSER)
            except KeyError:
                raise PostgresUnavailable(
                    "PostgreSQL refuses to run as root, and there is no `postgres` user "
                    f"to run it as: {INSTALL_HINT}"
                ) from None
        base = self.base or _default_base()
        _sweep(base or Path(tempfile.gettempdir()))
        self._directory = Path(tempfile.mkdtemp(prefix=PREFIX, dir=base))
        atexit.register(self.stop)
        try:
            (self._directory / OWNER_FILE).write_text(f"{os.getpid()}\n")
            if self._owner is not None:
                os.chown(self._directory, self._owner.pw_uid, self._owner.pw_gid)
            self._initdb(bindir)
            self._start_postgres(bindir)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server (immediate shutdown: nothing is kept) and remove its directory."""
        atexit.unregister(self.stop)
        process, self._process = self._process, None
        try:
            if process is not None:
                _stop_postmaster(process)
        finally:
            if self._directory is not None:
                shutil.rmtree(self._directory, ignore_errors=True)

    def _identity(self) -> tuple[int | None, int | None, list[int] | None]:
        """Popen's user, group and extra_groups: as root, the `postgres` user's (no runuser:
        one process fewer, and the postmaster is our child to signal and wait for)."""
        if self._owner is None:
            return None, None, None
        return self._owner.pw_uid, self._owner.pw_gid, []

    def _initdb(self, bindir: Path) -> None:
        command = [
            str(bindir / "initdb"),
            "--pgdata",
            str(self.directory / "data"),
            "--username",
            SUPERUSER,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--locale",
            "C",  # the same sort order on every machine, and no locale to be installed
            "--no-sync",  # fsync of 40 MB the test throws away; a third of initdb's time
        ]
        user, group, extra_groups = self._identity()
        result = subprocess.run(
            command,
            cwd=self.directory,  # root's cwd may be closed to the postgres user
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            check=False,
            user=user,
            group=group,
            extra_groups=extra_groups,
        )
        if result.returncode != 0:
            output = result.stdout.decode(errors="replace")
            raise PostgresUnavailable(f"initdb failed (exit {result.returncode}):\n{_tail(output)}")

    def _start_postgres(self, bindir: Path) -> None:
        # The postmaster's parent-death signal is tied to the thread that forks it: only
        # the main thread lives as long as the process.
        prefix = (
            _pdeathsig_prefix() if threading.current_thread() is threading.main_thread() else ()
        )
        user, group, extra_groups = self._identity()
        for _attempt in range(PORT_ATTEMPTS):
            self._port = _free_port()
            settings = {
                **self.settings,
                "listen_addresses": "127.0.0.1",
                "port": str(self._port),
                "unix_socket_directories": str(self.directory),
            }
            command = [*prefix, str(bindir / "postgres"), "-D", str(self.directory / "data")]
            for name, value in settings.items():
                command += ["-c", f"{name}={value}"]
            with self.log_file.open("ab") as log:
                offset = log.tell()
                self._process = subprocess.Popen(
                    command,
                    cwd=self.directory,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # the terminal's Ctrl-C is ours to pass on, or not
                    user=user,
                    group=group,
                    extra_groups=extra_groups,
                )
            if self._wait_until_ready(self._process):
                return
            self._process.wait()
            log_text = self.log_file.read_bytes()[offset:].decode(errors="replace")
            if "Address already in use" not in log_text:
                raise PostgresUnavailable(
                    f"postgres exited (status {self._process.returncode}) before accepting "
                    f"connections; its log (removed with its directory) ends:\n{_tail(log_text)}"
                )
        raise PostgresUnavailable(f"postgres found no free port in {PORT_ATTEMPTS} attempts")

    def _wait_until_ready(self, process: subprocess.Popen[bytes]) -> bool:
        """True once postmaster.pid says `ready` (as pg_ctl -w checks); False if it exited."""
        pid_file = self.directory / "data" / "postmaster.pid"
        deadline = time.monotonic() + self.timeout
        while process.poll() is None:
            with contextlib.suppress(FileNotFoundError):
                lines = pid_file.read_text().splitlines()
                # Line 8 is the postmaster's status (PostgreSQL 10 and later).
                if len(lines) >= 8 and lines[7].strip() == "ready":
                    return True
            if time.monotonic() > deadline:
                _stop_postmaster(process)
                log_text = self.log_file.read_text(errors="replace")
                raise PostgresUnavailable(
                    f"postgres did not accept connections within {self.timeout} s; "
                    f"its log (removed with its directory) ends:\n{_tail(log_text)}"
                )
            time.sleep(POLL_SECONDS)
        return False


def _stop_postmaster(process: subprocess.Popen[bytes]) -> None:
    """SIGQUIT (pg_ctl stop -m immediate); SIGKILL to its process group if that hangs."""
    if process.poll() is None:
        process.send_signal(signal.SIGQUIT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            # start_new_session: the group is the postmaster and its backends, nothing else.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGTERM or SIGINT; the URL is stdout's one line (for nox and benchmarks)."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.postgres",
        description="Start a throwaway PostgreSQL server, print its URL, stop on SIGTERM/SIGINT.",
    )
    parser.add_argument(
        "-c",
        dest="settings",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a server setting over the test defaults, e.g. -c fsync=on (repeatable)",
    )
    args = parser.parse_args(argv)
    settings: dict[str, str] = {}
    for setting in args.settings:
        name, equals, value = setting.partition("=")
        if not equals or not name:
            parser.error(f"-c {setting}: expected NAME=VALUE")
        settings[name] = value

    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    # Installed before the start: a signal during it stops the server once it is up.
    signals = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
    previous = {signum: signal.signal(signum, stop) for signum in signals}
    try:
        with PostgresServer(settings=settings) as server:
            print(server.url, flush=True)
            print(f"tests.postgres: serving from {server.directory}", file=sys.stderr, flush=True)
            stopping.wait()
    except PostgresUnavailable as error:
        print(f"tests.postgres: {error}", file=sys.stderr)
        return 1
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
