"""The project's own PostgreSQL cluster, kept in a git-ignored folder of the checkout.

Used when no ``DATABASE_URL`` is set. ``start`` is idempotent and safe to call from several
processes at once (a file lock serialises them); a stale pid file left by a crash is removed;
a port already taken makes the cluster move to the next free one. PostgreSQL refuses to run as
root, so under root the server runs as the ``postgres`` system user (or ``nobody``).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gis_service.config import Settings

DB_NAME = "gis"
DB_USER = "gis"
EXTENSIONS = ("postgis", "btree_gist")
#: pg_ctl's shutdown modes: wait for clients, disconnect them, or abort at once.
STOP_MODES = ("smart", "fast", "immediate")


class ClusterError(RuntimeError):
    """The embedded cluster cannot be set up or started; the message says why."""


@dataclass(frozen=True)
class ClusterStatus:
    running: bool
    pid: int | None
    port: int | None
    data_dir: Path

    def describe(self) -> str:
        if self.running:
            return f"running (pid {self.pid}) on 127.0.0.1:{self.port}, data in {self.data_dir}"
        return f"stopped, data in {self.data_dir}"


@dataclass(frozen=True)
class Cluster:
    """Paths of one embedded cluster; every method reads its state from disk."""

    root: Path
    first_port: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Cluster:
        return cls(root=settings.state_dir / "postgres", first_port=settings.pg_port)

    # -- layout ------------------------------------------------------------------------
    # Paths handed to the server are resolved: the root may be a symlink out of a checkout
    # the server's user cannot enter (see _prepare_root).
    @property
    def data_dir(self) -> Path:
        return self.root.resolve() / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root.resolve() / "run"

    @property
    def log_file(self) -> Path:
        return self.root.resolve() / "server.log"

    @property
    def state_file(self) -> Path:
        return self.root / "cluster.json"

    def _state(self) -> dict[str, object]:
        if not self.state_file.exists():
            return {}
        loaded: dict[str, object] = json.loads(self.state_file.read_text())
        return loaded

    def _write_state(self, **values: object) -> None:
        state = {**self._state(), **values}
        self.state_file.write_text(json.dumps(state, indent=2))
        self.state_file.chmod(0o600)

    # -- public ------------------------------------------------------------------------
    def start(self) -> ClusterStatus:
        """Create the cluster on first use and start it; a running cluster is left alone."""
        with self._lock():
            self._ensure_created()
            current = self.status()
            if current.running:
                return current
            self._remove_stale_pid_file()
            port = self._choose_port()
            self._write_server_config(port)
            self._pg_ctl("start", "-w", "-t", "60", "-l", str(self.log_file))
            self._write_state(port=port)
            self._ensure_database()
            return self.status()

    def stop(self, mode: str = "fast") -> ClusterStatus:
        """Stop the server; ``mode="immediate"`` aborts it like a crash (fault tests use it:
        the next start replays the write-ahead log)."""
        if mode not in STOP_MODES:
            raise ClusterError(f"stop mode must be one of {', '.join(STOP_MODES)}")
        with self._lock():
            if self.status().running:
                self._pg_ctl("stop", "-w", "-m", mode)
            return self.status()

    def status(self) -> ClusterStatus:
        port = self._state().get("port")
        pid = _postmaster_pid(self.data_dir)
        running = pid is not None and self.data_dir.exists() and self._pg_ctl_status_ok()
        return ClusterStatus(
            running=running,
            pid=pid if running else None,
            port=int(port) if isinstance(port, int) else None,
            data_dir=self.data_dir,
        )

    def url(self, *, tcp: bool = False) -> str:
        """The libpq URL of the cluster's database (for psql, GeoPandas and DATABASE_URL).

        Over the unix socket: a round trip there took 12–18% less time than over loopback TCP
        (SELECT 1, measured on this VM), which every single-point lookup pays. ``tcp=True``
        gives the TCP URL, for tests that tell clients apart by their port.
        """
        state = self._state()
        if "port" not in state or "password" not in state:
            raise ClusterError("the embedded cluster has never been started: gis-service db start")
        login = f"{DB_USER}:{state['password']}"
        if tcp:
            return f"postgresql://{login}@127.0.0.1:{state['port']}/{DB_NAME}"
        socket_dir = urllib.parse.quote(str(self.socket_dir), safe="/")
        return f"postgresql://{login}@/{DB_NAME}?host={socket_dir}&port={state['port']}"

    # -- creation ----------------------------------------------------------------------
    def _ensure_created(self) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            return
        self._prepare_root()
        password = secrets.token_urlsafe(18)
        pwfile = self.root.resolve() / "initdb.pw"
        pwfile.write_text(password + "\n")
        _chown_for_server(pwfile)
        try:
            _run_as_server(
                [
                    str(pg_bindir() / "initdb"),
                    "-D", str(self.data_dir),
                    "-U", DB_USER,
                    "--pwfile", str(pwfile),
                    "-E", "UTF8",
                    "--locale", "C.UTF-8",
                    "--auth-local", "trust",
                    "--auth-host", "scram-sha-256",
                ]
            )
        finally:
            pwfile.unlink(missing_ok=True)
        self._write_state(password=password)
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\ninclude_if_exists = 'gis_service.conf'\n")

    def _prepare_root(self) -> None:
        """Make the folder, relocating it when the server user cannot reach the checkout."""
        self.root.parent.mkdir(parents=True, exist_ok=True)
        if self.root.is_symlink() or self.root.exists():
            shutil.rmtree(self.root.resolve(), ignore_errors=True)
            if self.root.is_symlink():
                self.root.unlink()
        if _server_user() is not None and not _server_can_enter(self.root.parent):
            # e.g. a checkout under /root: the server user cannot traverse it, so the data
            # lives under /var/tmp and the checkout keeps a symlink to it.
            digest = hashlib.sha1(str(self.root).encode()).hexdigest()[:12]
            target = Path("/var/tmp/gis-service") / digest
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            Path("/var/tmp/gis-service").chmod(0o755)
            self.root.symlink_to(target)
        else:
            self.root.mkdir()
        for path in (self.root.resolve(), self.socket_dir):
            path.mkdir(exist_ok=True)
            _chown_for_server(path)
        self.root.resolve().chmod(0o755)

    def _write_server_config(self, port: int) -> None:
        conf = "\n".join(
            [
                "# written by gis-service at every start",
                "listen_addresses = '127.0.0.1'",
                f"port = {port}",
                f"unix_socket_directories = '{self.socket_dir}'",
                "max_connections = 200",
                # No WAL for tables emptied in the writing transaction: an offline import into
                # empty report tables truncates them first and writes no WAL for its rows
                # (gis_service/reports/importing/offline.py). This embedded cluster streams to no
                # replica, so it gives up nothing for it; crash recovery is unchanged.
                "wal_level = minimal",
                "max_wal_senders = 0",
                # Bulk imports were measured no faster with larger WAL and checkpoint settings,
                # which made crash recovery slower (issue 7): the defaults stay.
                "shared_buffers = 1GB",
                "work_mem = 64MB",
                "maintenance_work_mem = 512MB",
                "effective_cache_size = 8GB",
                "random_page_cost = 1.1",
                "max_parallel_workers_per_gather = 2",
                "jit = off",
                "",
            ]
        )
        path = self.data_dir / "gis_service.conf"
        path.write_text(conf)
        _chown_for_server(path)

    def _ensure_database(self) -> None:
        psql = [str(pg_bindir() / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                "-h", str(self.socket_dir), "-p", str(self._state()["port"]),
                "-U", DB_USER]
        exists = _run_as_server(
            [*psql, "-d", "postgres", "-tAc", f"SELECT 1 FROM pg_database WHERE datname='{DB_NAME}'"]
        ).stdout.strip()
        if exists != "1":
            _run_as_server([*psql, "-d", "postgres", "-c", f"CREATE DATABASE {DB_NAME}"])
        for db in (DB_NAME, "template1"):
            # Extensions in template1 too, so throw-away test databases are born with them.
            creates = "; ".join(f"CREATE EXTENSION IF NOT EXISTS {ext}" for ext in EXTENSIONS)
            _run_as_server([*psql, "-d", db, "-c", creates])

    # -- running -----------------------------------------------------------------------
    def _choose_port(self) -> int:
        remembered = self._state().get("port")
        candidates = [remembered] if isinstance(remembered, int) else []
        candidates += list(range(self.first_port, self.first_port + 50))
        for port in candidates:
            if _port_is_free(port):
                return port
        raise ClusterError(
            f"no free port in {self.first_port}..{self.first_port + 49}: set GIS_PG_PORT"
        )

    def _remove_stale_pid_file(self) -> None:
        pid = _postmaster_pid(self.data_dir)
        if pid is not None and not _is_postgres_process(pid):
            (self.data_dir / "postmaster.pid").unlink(missing_ok=True)
        for lock in self.socket_dir.glob(".s.PGSQL.*.lock"):
            lock.unlink(missing_ok=True)

    def _pg_ctl(self, *args: str) -> None:
        try:
            _run_as_server([str(pg_bindir() / "pg_ctl"), "-D", str(self.data_dir), *args])
        except ClusterError as exc:
            tail = self.log_file.read_text()[-2000:] if self.log_file.exists() else ""
            raise ClusterError(f"{exc}\n--- server log ---\n{tail}") from exc

    def _pg_ctl_status_ok(self) -> bool:
        status = [str(pg_bindir() / "pg_ctl"), "-D", str(self.data_dir), "status"]
        return _run_as_server(status, check=False).returncode == 0

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        self.root.parent.mkdir(parents=True, exist_ok=True)
        with open(self.root.parent / "postgres.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


# -- the server's binaries and identity ---------------------------------------------------
def pg_bindir() -> Path:
    """The newest PostgreSQL 15+ server binaries in Debian's layout."""
    found = sorted(
        (int(p.parent.parent.name), p.parent)
        for p in Path("/usr/lib/postgresql").glob("*/bin/postgres")
        if p.parent.parent.name.isdigit() and int(p.parent.parent.name) >= 15
    )
    if not found:
        raise ClusterError(
            "no PostgreSQL 15+ server under /usr/lib/postgresql: run ./manage demo, "
            "which installs postgresql and postgis"
        )
    return found[-1][1]


def _server_user() -> pwd.struct_passwd | None:
    """The unprivileged user the server runs as, or None when we are not root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise ClusterError("running as root, but there is no 'postgres' or 'nobody' user to run as")


def _chown_for_server(path: Path) -> None:
    user = _server_user()
    if user is not None:
        os.chown(path, user.pw_uid, user.pw_gid)


def _server_can_enter(path: Path) -> bool:
    return _run_as_server(["test", "-x", str(path.resolve())], check=False).returncode == 0


def _run_as_server(args: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a command as the server's user (ourselves unless we are root)."""
    user = _server_user()
    result = subprocess.run(
        args,
        capture_output=True,
        text=True,
        check=False,
        cwd="/",
        user=user.pw_uid if user else None,
        group=user.pw_gid if user else None,
        extra_groups=[] if user else None,
    )
    if check and result.returncode != 0:
        raise ClusterError(f"{Path(args[0]).name} failed: {result.stderr.strip() or result.stdout}")
    return result


def _postmaster_pid(data_dir: Path) -> int | None:
    try:
        first = (data_dir / "postmaster.pid").read_text().splitlines()[0]
    except (OSError, IndexError):
        return None
    return int(first) if first.strip().isdigit() else None


def _is_postgres_process(pid: int) -> bool:
    try:
        return b"postgres" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
