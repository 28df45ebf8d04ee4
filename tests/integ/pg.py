"""
pg.py: a real PostgreSQL 15 for the integration tests, started and
stopped by them.

PostgreSQL refuses to run as root, so initdb and the server run as the
system user `postgres` (runuser), in a data directory of their own under
/tmp, listening on 127.0.0.1 at a free port, with their unix socket in
that directory too. The server is stopped by its own PID (the first line
of postmaster.pid), never by name. Authentication is `trust` on loopback
only: the cluster lives for one test run.

  Postgres()            start(), stop(), restart-style pause() / resume()
  .database(name)       a fresh database; its postgresql:// URL
  .rows(url, sql, args) rows as dicts (psql, JSON), for read-only checks
  .lines(url, sql)      psql's unaligned output lines, '|' between columns
  .locked(url, tables)  a with block during which every query on tables
                        waits (a lock held by a psql session of its own)
  .waiting(url)         how many sessions wait for a lock

Used by harness.py when FORMWORK_TEST_PG=1 (every Server on its own
database of one shared cluster) and by the multi-node tests.

Standard library only; run with Debian's /usr/bin/python3.
"""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

BIN = "/usr/lib/postgresql/15/bin"


def free_port():
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def quote(v):
    """A value as an SQL literal (tests only: psql has no bound values)."""
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


def bind(sql, args):
    """sqlite3-style '?' placeholders filled in with quoted literals."""
    out, i = [], 0
    for ch in sql:
        if ch == "?":
            out.append(quote(args[i]))
            i += 1
        else:
            out.append(ch)
    return "".join(out)


class Postgres:
    """One PostgreSQL cluster in a temporary directory."""

    def __init__(self, settings=None):
        self.dir = None
        self.port = None
        self.proc = None
        self.settings = dict(settings or {})
        self.count = 0

    # -- life cycle --------------------------------------------------

    def start(self, timeout=30):
        self.dir = tempfile.mkdtemp(prefix="fw-pg-")
        os.chmod(self.dir, 0o755)
        shutil.chown(self.dir, "postgres", "postgres")
        data = os.path.join(self.dir, "data")
        r = subprocess.run(
            ["runuser", "-u", "postgres", "--", os.path.join(BIN, "initdb"),
             "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8",
             "--locale=C.UTF-8", "--no-sync"],
            capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError("initdb: %s%s" % (r.stdout, r.stderr))
        self.port = free_port()
        self.resume(timeout)
        return self

    def resume(self, timeout=30):
        """Starts the server (again) on the same data and port."""
        data = os.path.join(self.dir, "data")
        args = [os.path.join(BIN, "postgres"), "-D", data,
                "-p", str(self.port), "-k", self.dir,
                "-c", "listen_addresses=127.0.0.1",
                "-c", "max_connections=300", "-c", "fsync=on"]
        for k, v in self.settings.items():
            args += ["-c", "%s=%s" % (k, v)]
        self.log = open(os.path.join(self.dir, "postgres.log"), "ab")
        self.proc = subprocess.Popen(
            ["runuser", "-u", "postgres", "--"] + args,
            stdout=self.log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("postgres exited: %s" % self.read_log())
            r = subprocess.run(
                [os.path.join(BIN, "pg_isready"), "-q", "-h", "127.0.0.1",
                 "-p", str(self.port)], capture_output=True)
            if r.returncode == 0:
                return self
            time.sleep(0.1)
        raise RuntimeError("postgres did not start: %s" % self.read_log())

    def pid(self):
        """The postmaster's own PID, from its pid file."""
        try:
            with open(os.path.join(self.dir, "data", "postmaster.pid")) as f:
                return int(f.readline())
        except (OSError, ValueError):
            return None

    def pause(self):
        """Stops the server (fast shutdown: clients are cut off)."""
        pid = self.pid()
        if pid is not None:
            try:
                os.kill(pid, signal.SIGINT)
            except ProcessLookupError:
                pass
        if self.proc is not None:
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                if pid is not None:
                    os.kill(pid, signal.SIGQUIT)
                self.proc.wait()
            self.proc = None
        if self.log:
            self.log.close()
            self.log = None

    def stop(self):
        """Stops the server and removes its data."""
        self.pause()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def read_log(self):
        try:
            with open(os.path.join(self.dir, "postgres.log"), "rb") as f:
                return f.read().decode("utf-8", "replace")[-3000:]
        except OSError:
            return ""

    # -- databases and queries ----------------------------------------

    def url(self, db="postgres"):
        return "postgresql://postgres@127.0.0.1:%d/%s" % (self.port, db)

    def database(self, name=None):
        """A new, empty database; its URL."""
        self.count += 1
        name = name or "fw%d_%d" % (os.getpid(), self.count)
        self.lines(self.url(), 'CREATE DATABASE "%s"' % name)
        return self.url(name)

    def _psql(self, url, sql, extra=()):
        r = subprocess.run(
            [os.path.join(BIN, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
             "-At", *extra, "-d", url, "-c", sql],
            capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("psql %r: %s" % (sql, r.stderr))
        return r.stdout

    def lines(self, url, sql):
        """psql's unaligned rows, '|' between columns (as sqlite3 prints)."""
        return self._psql(url, sql, ("-F", "|")).splitlines()

    def rows(self, url, sql, args=()):
        """Rows as dicts with their types (JSON through psql)."""
        # The alias is no column name a query of the suites uses.
        q = "SELECT coalesce(json_agg(fw_row), '[]') FROM (%s) fw_row" % \
            bind(sql, args)
        return json.loads(self._psql(url, q) or "[]")

    @contextlib.contextmanager
    def locked(self, url, tables, timeout=10):
        """
        Holds ACCESS EXCLUSIVE locks on tables from a psql session of
        its own while the with block runs (every other session's query
        on them waits), then rolls back.
        """
        p = subprocess.Popen(
            [os.path.join(BIN, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
             "-d", url], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True)
        try:
            p.stdin.write("BEGIN;\nLOCK TABLE %s IN ACCESS EXCLUSIVE MODE;\n"
                          % ", ".join(tables))
            p.stdin.flush()
            names = ", ".join(quote(t) for t in tables)
            deadline = time.monotonic() + timeout
            while int(self.lines(url, "SELECT count(*) FROM pg_locks l JOIN "
                                 "pg_class c ON c.oid = l.relation WHERE "
                                 "l.granted AND l.mode = "
                                 "'AccessExclusiveLock' AND c.relname IN "
                                 "(%s)" % names)[0]) < len(tables):
                if p.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("no lock on %s: %s" % (
                        names, p.stderr.read() if p.poll() is not None
                        else "timed out"))
                time.sleep(0.05)
            yield
        finally:
            if p.poll() is None:
                p.stdin.write("ROLLBACK;\n")
                p.stdin.close()
                try:
                    p.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()

    def waiting(self, url):
        """How many sessions of url's database wait for a lock."""
        return int(self.lines(url, "SELECT count(*) FROM pg_stat_activity "
                              "WHERE datname = current_database() AND "
                              "wait_event_type = 'Lock'")[0])
