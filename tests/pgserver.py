"""A throwaway PostgreSQL server for the test suite: initdb + pg_ctl on a free port in a temp dir.

Set VPT_TEST_POSTGRES_URL to use an existing server instead. When running as root (CI containers),
the server runs as the ``postgres`` user, since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _find(binary: str) -> str:
    found = shutil.which(binary)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{binary}"), reverse=True):
        return str(candidate)
    raise PostgresUnavailable(f"{binary} not found (install Debian's postgresql package)")


@dataclass
class PostgresServer:
    directory: Path
    port: int
    run_as: str | None

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://vpt@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://vpt@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = list(args)
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)

    @classmethod
    def start(cls) -> PostgresServer:
        initdb = _find("initdb")
        _find("pg_ctl")  # fail before initdb when the server binaries are incomplete
        run_as = None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError as exc:
                raise PostgresUnavailable("running as root and no postgres user exists") from exc
            run_as = "postgres"
        directory = Path(tempfile.mkdtemp(prefix="vpt-pg-"))
        if run_as:
            shutil.chown(directory, run_as)
        server = cls(directory, _free_port(), run_as)
        data = directory / "data"
        done = server._run(initdb, "-D", str(data), "-A", "trust", "-U", "vpt", "-E", "UTF8", "--no-sync",
                           "--locale=C")
        if done.returncode != 0:
            raise PostgresUnavailable(f"initdb failed: {done.stderr.strip()}")
        server.resume()
        return server

    def resume(self) -> None:
        """Start the server (again) on its port and data directory: after ``halt`` it comes back with its data."""
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        )
        log_file = self.directory / "server.log"
        done = self._run(_find("pg_ctl"), "-D", str(self.directory / "data"), "-o", options, "-l", str(log_file),
                         "-w", "-t", "60", "start")
        if done.returncode != 0:
            log = log_file.read_text(errors="replace") if log_file.exists() else ""
            raise PostgresUnavailable(f"pg_ctl start failed: {done.stderr.strip()} {log[-2000:]}")

    def halt(self, mode: str = "fast") -> None:
        """Stop the server but keep its data directory (``resume`` starts it again): an outage, not a teardown.
        ``fast`` ends the open sessions, as an operator's restart or a failover does."""
        done = self._run(_find("pg_ctl"), "-D", str(self.directory / "data"), "-m", mode, "-w", "stop")
        if done.returncode != 0:
            raise PostgresUnavailable(f"pg_ctl stop failed: {done.stderr.strip()}")

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._run(_find("pg_ctl"), "-D", str(self.directory / "data"), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.directory, ignore_errors=True)
