"""A real PostgreSQL server for the tests, started and stopped by them: Debian's binaries, a data
folder of the test's own, listening on a Unix socket only (no TCP port), run as an unprivileged
account (PostgreSQL refuses to run as root).

``postgres_server`` yields the server; ``server.database(name)`` creates a database and gives the
SQLAlchemy URL nbgrader's gradebook takes (``postgresql+psycopg://...?host=<socket folder>``).
"""

import grp
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "postgres"  # the database role initdb creates; not a Unix account
START_TIMEOUT = 60


def binaries() -> Path | None:
    """Debian's PostgreSQL server programs (the newest installed), or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    return found[-1].parent if found else None


def missing_reason() -> str | None:
    """None when a server can be started here; else why not (for pytest.skip)."""
    if binaries() is None:
        return "PostgreSQL's server programs are not installed (Debian: apt-get install postgresql)"
    if os.geteuid() != 0:
        return "starting PostgreSQL as an unprivileged account needs root (runuser)"
    return None


@dataclass
class Server:
    data: Path
    socket: Path
    account: str

    def psql(self, database: str, sql: str) -> str:
        """Run ``sql`` as the database superuser; return what psql printed (tuples only, unaligned)."""
        command = [str(binaries() / "psql"), "-h", str(self.socket), "-U", SUPERUSER, "-d", database]
        result = subprocess.run([*command, "-v", "ON_ERROR_STOP=1", "-Atc", sql], capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"psql failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def database(self, name: str) -> str:
        """Create database ``name``; return its SQLAlchemy URL (Unix socket, the superuser role)."""
        self.psql("postgres", f'CREATE DATABASE "{name}"')
        return self.url(name)

    def url(self, name: str, role: str = SUPERUSER) -> str:
        return f"postgresql+psycopg://{role}@/{name}?host={self.socket}"


def _as(account: str, *command: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(["runuser", "-u", account, "--", *command], capture_output=True, text=True, **kwargs)


@contextmanager
def postgres_server(account: str = "nobody", socket_group: str | None = None) -> Iterator[Server]:
    """A fresh PostgreSQL cluster run by Unix ``account``, reachable only through its socket folder.

    Roles log in without a password over the socket (``trust``), so who can connect is who can
    open the socket: with ``socket_group`` the socket is for that group only (mode 0770), as a
    class server keeps students away from the gradebook; without, for everyone on the machine.
    PostgreSQL can give its socket only a group ``account`` is in: with ``socket_group``, pass an
    account of that group (``nobody`` is in none).
    """
    if socket_group and socket_group not in {g.gr_name for g in grp.getgrall() if account in g.gr_mem} | {
        grp.getgrgid(pwd.getpwnam(account).pw_gid).gr_name
    }:
        raise ValueError(f"{account} is not in group {socket_group}: PostgreSQL could not give its socket that group")
    reason = missing_reason()
    if reason:
        raise RuntimeError(reason)
    folder = Path(tempfile.mkdtemp(prefix="backprop-postgres-"))
    data, socket = folder / "data", folder / "socket"
    socket.mkdir()
    user = pwd.getpwnam(account)
    os.chmod(folder, 0o755)
    for path in (folder, socket):
        os.chown(path, user.pw_uid, user.pw_gid)
    try:
        initdb = _as(
            account, str(binaries() / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8"
        )
        if initdb.returncode != 0:
            raise RuntimeError(f"initdb failed: {initdb.stderr.strip()}")
        settings = [f"-c listen_addresses='' -c unix_socket_directories='{socket}'"]
        if socket_group:
            settings.append(f"-c unix_socket_group='{socket_group}' -c unix_socket_permissions=0770")
        start = _as(
            account,
            str(binaries() / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(folder / "server.log"),
            "-o",
            " ".join(settings),
            "-w",
            "-t",
            str(START_TIMEOUT),
            "start",
        )
        if start.returncode != 0:
            log = (folder / "server.log").read_text(errors="replace") if (folder / "server.log").exists() else ""
            raise RuntimeError(f"PostgreSQL did not start: {start.stderr.strip()}\n{log[-2000:]}")
        try:
            yield Server(data, socket, account)
        finally:
            _as(account, str(binaries() / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
