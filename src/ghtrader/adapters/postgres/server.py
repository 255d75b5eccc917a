"""Embedded PostgreSQL: one server per data directory, run from the binaries of the ``pgserver`` wheel.

Nothing happens at import. :meth:`EmbeddedPostgres.start` initialises the data directory when
it is new (``initdb``, C locale, UTF-8, trust auth on the Unix socket only), starts the server
with ``pg_ctl`` (no TCP listener unless ``port``-over-TCP is asked for) and creates the
database; :meth:`EmbeddedPostgres.stop` stops it again, but only if this object started it: a
server found already running on the same data directory (another ghTrader process started it)
is attached to and left running.

Why not ``pgserver.get_server``: it registers ``atexit`` hooks, keeps a process-wide instance
cache (a stopped server cannot be restarted in the same process) and, as root, widens the
permissions of every folder up to ``/`` including the runtime dir. We only borrow its binaries.

Running as root: PostgreSQL refuses to run as root, so initdb / pg_ctl run as an unprivileged
system user (``run_as_user``, created with ``useradd --system`` when missing) that owns the
data directory. Each ancestor folder of the data directory gets the "others may traverse"
bit (``o+x``, never read) so that user can reach it, and the bundled binaries and libraries
are made world-readable where they are not. Nothing of this happens when not root.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Self
from urllib.parse import quote

import psycopg
from psycopg import sql

__all__ = ["DEFAULT_SETTINGS", "EmbeddedPostgres", "EmbeddedPostgresError", "pg_binaries_dir"]

#: Server settings applied on every start (``settings`` passed to the constructor override them).
#: A research box with no replica: ``wal_level=minimal`` lets a table created or truncated in the
#: writing transaction skip the WAL (it is synced at commit instead; raw ticks stay durable),
#: and derived tables are UNLOGGED. ``max_wal_size`` bounds pg_wal on disk (4GB: 4.3 GB of pg_wal
#: after a make run; 256MB: 257 MB; 96MB: 97 MB); bulk tick loads then checkpoint more often, which
#: cost nothing measurable (make run 145.6 s at 96MB against 159.6 s at 256MB).
DEFAULT_SETTINGS: Mapping[str, str] = {
    "max_connections": "100",
    "shared_buffers": "256MB",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_wal_size": "96MB",
    "min_wal_size": "32MB",
    "checkpoint_completion_target": "0.9",
    # a dataset read locks one partition per series-day it spans (a year: ~250 per table)
    "max_locks_per_transaction": "256",
    "work_mem": "32MB",
    "maintenance_work_mem": "256MB",
    "timezone": "UTC",
    "log_timezone": "UTC",
}

_SUPERUSER = "postgres"
_CONF_NAME = "ghtrader.conf"
_LOG_NAME = "postgres.log"
_MAX_SOCKET_PATH = 100  # sockaddr_un.sun_path is 108 bytes on Linux; keep a margin


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be initialised, started or stopped (message says why)."""


def pg_binaries_dir() -> Path:
    """Folder of the PostgreSQL executables shipped in the ``pgserver`` wheel (not imported)."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError("the 'pgserver' package is not installed: pip install pgserver")
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (bin_dir / "postgres").exists():
        raise EmbeddedPostgresError(f"no PostgreSQL binaries under {bin_dir}")
    return bin_dir


class EmbeddedPostgres:
    """A PostgreSQL server owned by ghTrader, living in ``data_dir``.

    ``url`` (a libpq URI over the Unix socket) is valid after :meth:`start`. ``port`` names the
    socket file and, when ``listen_tcp`` is set, the TCP port on 127.0.0.1. Thread-safe; start
    and stop also hold a file lock so two processes never initialise or start one directory at
    the same time.
    """

    def __init__(
        self,
        data_dir: Path | str,
        *,
        database: str = "ghtrader",
        port: int = 5432,
        listen_tcp: bool = False,
        settings: Mapping[str, str] | None = None,
        run_as_user: str = "ghtrader-pg",
        timeout_s: float = 60.0,
    ) -> None:
        self._data_dir = Path(data_dir).expanduser().resolve()
        self._database = database
        self._port = int(port)
        self._listen_tcp = listen_tcp
        self._settings = {**DEFAULT_SETTINGS, **(settings or {})}
        self._run_as_user = run_as_user
        self._timeout_s = timeout_s
        self._url: str | None = None
        self._started_here = False
        self._lock = threading.Lock()

    # --- public --------------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self._data_dir

    @property
    def url(self) -> str:
        """Connection URI of the running server; raises before :meth:`start`."""
        if self._url is None:
            raise EmbeddedPostgresError(f"embedded PostgreSQL in {self._data_dir} is not started: call start()")
        return self._url

    @property
    def started_here(self) -> bool:
        """True when this object started the server (so :meth:`stop` will stop it)."""
        return self._started_here

    def is_running(self) -> bool:
        """Whether a server process is running on ``data_dir`` (started by anyone)."""
        if not (self._data_dir / "PG_VERSION").exists():
            return False
        return self._pg_ctl(["status"], check=False).returncode == 0

    def start(self) -> str:
        """Initialise (first time), start or attach, create the database; returns :attr:`url`."""
        with self._lock, self._file_lock():
            if self._url is not None and self.is_running():
                return self._url
            user = self._service_user()
            if user is not None:
                self._grant_access(user)
            if not (self._data_dir / "PG_VERSION").exists():
                self._initdb(user)
            if self._pg_ctl(["status"], check=False).returncode == 0:
                self._started_here = False
            else:
                self._write_conf(user)
                self._pg_ctl(["start", "-w", "-t", str(int(self._timeout_s)), "-l", str(self._data_dir / _LOG_NAME)])
                self._started_here = True
            self._url = self._url_from_pidfile(self._database)
            self._ensure_database()
            return self._url

    def stop(self, *, force: bool = False) -> None:
        """Stop the server if this object started it (or ``force``); otherwise just detach."""
        with self._lock, self._file_lock():
            if (self._started_here or force) and self.is_running():
                self._pg_ctl(["stop", "-w", "-m", "fast", "-t", str(int(self._timeout_s))])
                short = self._short_socket_dir()
                if short is not None:
                    with contextlib.suppress(OSError):  # not empty: something else lives there
                        short.rmdir()
            self._started_here = False
            self._url = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"EmbeddedPostgres(data_dir={str(self._data_dir)!r}, url={self._url!r})"

    # --- lifecycle steps -------------------------------------------------------------------
    def _initdb(self, user: pwd.struct_passwd | None) -> None:
        d = self._data_dir
        if d.exists() and any(d.iterdir()):
            raise EmbeddedPostgresError(
                f"{d} is not empty and holds no PostgreSQL cluster (no PG_VERSION): "
                "point the data dir at an empty or missing folder"
            )
        d.mkdir(mode=0o700, parents=True, exist_ok=True)
        d.chmod(0o700)
        if user is not None:
            os.chown(d, user.pw_uid, user.pw_gid)
        self._run(
            "initdb",
            ["-D", str(d), "-U", _SUPERUSER, "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-instructions"],
        )
        conf = d / "postgresql.conf"
        with conf.open("a", encoding="utf-8") as fh:
            fh.write(f"\n# ghTrader: settings rewritten on every start\ninclude_if_exists '{_CONF_NAME}'\n")

    def _write_conf(self, user: pwd.struct_passwd | None) -> None:
        socket_dir = self._socket_dir(user)
        values = {
            **self._settings,
            "port": str(self._port),
            "listen_addresses": "127.0.0.1" if self._listen_tcp else "",
            "unix_socket_directories": str(socket_dir),
        }
        lines = [f"{key} = '{str(value).replace(chr(39), chr(39) * 2)}'" for key, value in values.items()]
        path = self._data_dir / _CONF_NAME
        path.write_text(
            "# written by ghtrader EmbeddedPostgres.start(); edits are overwritten\n" + "\n".join(lines) + "\n"
        )
        if user is not None:
            os.chown(path, user.pw_uid, user.pw_gid)

    def _short_socket_dir(self) -> Path | None:
        """A folder under the temp dir for the socket when ``data_dir`` is too deep for one."""
        if len(str(self._data_dir / f".s.PGSQL.{self._port}")) <= _MAX_SOCKET_PATH:
            return None
        digest = hashlib.sha256(str(self._data_dir).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"ghtrader-pg-{digest}"

    def _socket_dir(self, user: pwd.struct_passwd | None) -> Path:
        short = self._short_socket_dir()
        if short is None:
            return self._data_dir
        short.mkdir(mode=0o700, exist_ok=True)
        if user is not None:
            os.chown(short, user.pw_uid, user.pw_gid)
        return short

    def _url_from_pidfile(self, database: str) -> str:
        # postmaster.pid lines: pid, data dir, start time, port, first socket dir, listen address, ...
        lines = (self._data_dir / "postmaster.pid").read_text().splitlines()
        port, socket_dir = lines[3].strip(), lines[4].strip()
        if socket_dir:
            return f"postgresql://{_SUPERUSER}@/{quote(database)}?host={quote(socket_dir, safe='')}&port={port}"
        return f"postgresql://{_SUPERUSER}@127.0.0.1:{port}/{quote(database)}"

    def _ensure_database(self) -> None:
        with psycopg.connect(
            self._url_from_pidfile("postgres"), autocommit=True, connect_timeout=int(self._timeout_s)
        ) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self._database,)).fetchone()
            if exists is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self._database)))

    # --- processes ---------------------------------------------------------------------------
    def _pg_ctl(self, args: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self._run("pg_ctl", ["-D", str(self._data_dir), *args], check=check)

    def _run(self, exe: str, args: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        user = self._service_user()
        extra: dict[str, Any] = {}  # user/group/extra_groups for subprocess.run
        if user is not None:
            extra = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        # Output goes to a temporary file, not a pipe: "pg_ctl start" leaves the server holding
        # its stdout, and reading a pipe would wait for the server to exit.
        with tempfile.TemporaryFile("w+") as out:
            try:
                proc = subprocess.run(
                    [str(pg_binaries_dir() / exe), *args],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    text=True,
                    env=env,
                    cwd=str(self._data_dir.parent),
                    timeout=self._timeout_s + 30,
                    check=False,
                    **extra,
                )
            except subprocess.TimeoutExpired as exc:
                raise EmbeddedPostgresError(
                    f"{exe} {' '.join(args)} timed out; see {self._data_dir / _LOG_NAME}"
                ) from exc
            out.seek(0)
            output = out.read()
        if check and proc.returncode != 0:
            log_tail = ""
            log = self._data_dir / _LOG_NAME
            if log.exists():
                log_tail = "\n--- server log (tail) ---\n" + "\n".join(
                    log.read_text(errors="replace").splitlines()[-20:]
                )
            raise EmbeddedPostgresError(
                f"{exe} {' '.join(args)} failed (exit {proc.returncode}):\n{output.strip()}{log_tail}"
            )
        return subprocess.CompletedProcess(proc.args, proc.returncode, output, "")

    # --- running as root -------------------------------------------------------------------------
    def _service_user(self) -> pwd.struct_passwd | None:
        """The unprivileged account the server runs as when we are root; None otherwise."""
        if os.geteuid() != 0:
            return None
        try:
            return pwd.getpwnam(self._run_as_user)
        except KeyError:
            pass
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        if not Path(useradd).exists():
            raise EmbeddedPostgresError(
                f"running as root needs an unprivileged user {self._run_as_user!r} for PostgreSQL, "
                "and useradd is not available to create it: create that user or run as non-root"
            )
        done = subprocess.run(
            [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", self._run_as_user],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode not in (0, 9):  # 9: created concurrently by another process
            raise EmbeddedPostgresError(f"useradd {self._run_as_user} failed: {done.stderr.strip()}")
        return pwd.getpwnam(self._run_as_user)

    def _grant_access(self, user: pwd.struct_passwd) -> None:
        """Let ``user`` reach the data dir and read/execute the bundled PostgreSQL install."""
        for folder in [self._data_dir.parent, *self._data_dir.parent.parents]:
            mode = folder.stat().st_mode
            if not mode & stat.S_IXOTH:
                folder.chmod(mode | stat.S_IXOTH)
        install = pg_binaries_dir().parent
        for folder in [install, *install.parents]:
            mode = folder.stat().st_mode
            if not mode & stat.S_IXOTH:
                folder.chmod(mode | stat.S_IXOTH)
        for root, dirs, files in os.walk(install):
            for name in dirs:
                _add_mode(Path(root) / name, stat.S_IROTH | stat.S_IXOTH)
            for name in files:
                path = Path(root) / name
                extra = stat.S_IXOTH if path.stat().st_mode & stat.S_IXUSR else 0
                _add_mode(path, stat.S_IROTH | extra)

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        self._data_dir.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self._data_dir.with_name(self._data_dir.name + ".lock")
        with open(lock_path, "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def _add_mode(path: Path, bits: int) -> None:
    mode = path.lstat().st_mode
    if stat.S_ISLNK(mode) or mode & bits == bits:
        return
    path.chmod(mode | bits)
