"""
operate.py: the operator's guarantees under load (SPEC section 12).

1. Backup while serving: steady POST load for LOAD_S seconds on a store
   that already holds BASE_ROWS rows; `formworkctl backup` in the middle.
   The copy passes `formworkctl check` and, restored elsewhere, holds
   every submission acknowledged before the backup began; the load saw
   no 5xx while the backup ran.
2. Restore: refused while the server holds the store (nothing changed);
   with the server stopped it puts the copy back and a server started on
   it serves the acknowledged pages. `check` finds a damaged copy.
3. Started as root with FORMWORK_USER (what make run does as root): the
   workers run as that user, cannot read /etc/shadow, and serve.
4. A full disk: the store on a small tmpfs that the test fills under
   load. Once full, POSTs answer 503 with Retry-After and a page (never a
   303 for something not stored, never a crash); result pages keep
   answering; every acknowledged submission is readable; once space is
   freed, POSTs answer 303 again without a restart.
Ends with "N passed, N failed" (exit status non-zero on failure).
"""

import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import server as srvmod  # noqa: E402
from harness import Checks, children_of, submit  # noqa: E402
from client import get_form, post_form, request  # noqa: E402
from server import REPO, Server  # noqa: E402
from steady import Client  # noqa: E402

check = Checks()
CLIENTS = 8
LOAD_S = 30.0
BASE_ROWS = 100000
DISK_MB = 16
CONTACT = {"name": "Operator test", "email": "op@example.org",
           "topic": "general", "message": "Checking what a full disk does."}



def ctl(db, *args):
    env = dict(os.environ, FORMWORK_DB=db)
    r = subprocess.run([os.path.join(REPO, "formworkctl")] + list(args),
                       env=env, capture_output=True, text=True, timeout=300)
    return r.returncode, (r.stdout + r.stderr).strip()


def ids_in(db):
    r = subprocess.run(["sqlite3", "-batch", db, "SELECT id FROM submissions"],
                       capture_output=True, text=True, timeout=60)
    return set(r.stdout.split())


def load(port, n=CLIENTS):
    clients = [Client(port, i) for i in range(n)]
    for c in clients:
        c.start()
    return clients


def unload(clients):
    for c in clients:
        c.stop = True
    for c in clients:
        c.join(10)


def acked(clients):
    return {s for c in clients for s in c.acked}


def statuses(clients, since=0.0):
    return [e[2] for c in clients for e in list(c.log) if e[0] >= since]


def backup_and_restore(problems):
    srv = Server("backup", env={"FORMWORK_RATE_LIMIT": "0",
                                "FORMWORK_MIN_FILL_MS": "0"})
    os.makedirs(srv.dir, exist_ok=True)
    rc, out = ctl(srv.db, "generate", str(BASE_ROWS))
    check("the store holds %d rows before the load" % BASE_ROWS, rc == 0, out)
    copy = os.path.join(srv.dir, "backup.db")
    srv.start()
    clients = load(srv.port)
    try:
        time.sleep(LOAD_S / 2)
        before = acked(clients)
        began = time.monotonic()
        rc, out = ctl(srv.db, "backup", copy)
        took = time.monotonic() - began
        time.sleep(LOAD_S / 2)
    finally:
        unload(clients)
    during = [s for c in clients for (t, _, s) in list(c.log)
              if began <= t <= began + took]
    print("backup took %.2f s with %d requests answered meanwhile; %d "
          "acknowledged before it, %d in all" % (
              took, len(during), len(before), len(acked(clients))),
          flush=True)
    check("formworkctl backup under load exits 0", rc == 0, out)
    check("requests went on during the backup, none 5xx",
          during and not [s for s in during
                          if not isinstance(s, int) or s >= 500],
          str(during[:10]))

    rc, out = ctl(copy, "check")
    check("the copy passes formworkctl check", rc == 0 and "ok:" in out, out)
    restored = os.path.join(srv.dir, "restored.db")
    rc, out = ctl(restored, "restore", copy)
    check("restore into a new place exits 0", rc == 0, out)
    have = ids_in(restored)
    missing = before - have
    check("the restored copy holds every submission acknowledged before "
          "the backup (%d)" % len(before), before and not missing,
          "%d missing, e.g. %s" % (len(missing), sorted(missing)[:3]))

    rc, out = ctl(srv.db, "restore", copy)
    n_live = len(ids_in(srv.db))
    check("restore is refused while a server uses the store",
          rc == 1 and "running Formwork server" in out and
          n_live >= BASE_ROWS + len(acked(clients)), "rc %d: %s" % (rc, out))
    problems += srv.stop()

    rc, out = ctl(srv.db, "restore", copy)
    check("with the server stopped, restore exits 0", rc == 0, out)
    again = Server("restored")
    again.db = srv.db
    again.start()
    sample = sorted(before)[-3:]
    pages = [request(again.url, "GET", "/s/%s" % s).status for s in sample]
    check("a server on the restored store serves acknowledged pages",
          pages == [200] * len(sample), str(pages))
    problems += again.stop()

    damaged = os.path.join(srv.dir, "damaged.db")
    with open(copy, "rb") as f:
        data = bytearray(f.read())
    for i in range(len(data) // 2, len(data) // 2 + 8192):
        data[i] = 0x5a
    with open(damaged, "wb") as f:
        f.write(data)
    rc, out = ctl(damaged, "check")
    check("check finds a damaged copy (exit 1, the problem named)",
          rc == 1 and "problem" in out, "rc %d: %s" % (rc, out[-300:]))


def worker_uids(pid):
    """The real, effective, saved and file-system uids of pid."""
    try:
        with open("/proc/%d/status" % pid) as f:
            line = [l for l in f if l.startswith("Uid:")][0]
    except OSError:
        return set()
    return set(int(x) for x in line.split()[1:])


def unprivileged_workers(problems):
    user = "formwork"
    if subprocess.run(["id", "-u", user], capture_output=True).returncode:
        subprocess.run(["useradd", "--system", "--no-create-home",
                        "--home-dir", "/nonexistent", "--shell",
                        "/usr/sbin/nologin", user], check=True)
    srv = Server("as-user", env={"FORMWORK_USER": user,
                                 "FORMWORK_MIN_FILL_MS": "0"})
    try:
        srv.start()
        uid = int(subprocess.run(["id", "-u", user], capture_output=True,
                                 text=True).stdout)
        # /healthz answered from one worker; another may still be
        # starting (Kore drops its privileges early, but after fork).
        deadline = time.monotonic() + 10
        while True:
            workers = children_of(srv.proc.pid)
            uids = [worker_uids(pid) for pid in workers]
            if all(u == {uid} for u in uids) or \
                    time.monotonic() > deadline:
                break
            time.sleep(0.05)
        check("started as root with FORMWORK_USER=%s, every worker runs as "
              "it (uid %d)" % (user, uid),
              workers and all(u == {uid} for u in uids), str(uids))
        r = subprocess.run(["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid,
                            "--clear-groups", "cat", "/etc/shadow"],
                           capture_output=True, text=True)
        check("a process with the workers' credentials cannot read "
              "/etc/shadow", r.returncode != 0 and "denied" in r.stderr,
              r.stderr.strip())
        sid = submit(srv.url, "contact", CONTACT)
        check("the unprivileged workers store a submission and serve it",
              request(srv.url, "GET", "/s/%s" % sid).status == 200)
    finally:
        problems += srv.stop()


def fill(path):
    """Writes path until the filesystem refuses; returns bytes written."""
    n = 0
    with open(path, "wb", buffering=0) as f:
        block = b"\0" * 65536
        while True:
            try:
                n += f.write(block)
            except OSError:
                break
    for size in (4096, 512, 1):
        with open(path, "ab", buffering=0) as f:
            try:
                while True:
                    n += f.write(b"\0" * size)
            except OSError:
                pass
    return n


def full_disk(problems):
    srv = Server("full", env={"FORMWORK_RATE_LIMIT": "0",
                              "FORMWORK_MIN_FILL_MS": "0"})
    disk = os.path.join(srv.dir, "disk")
    os.makedirs(disk, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm" % DISK_MB,
                        "formwork-test", disk], capture_output=True, text=True)
    check("a %d MB tmpfs for the store (mount needs root)" % DISK_MB,
          r.returncode == 0, r.stderr.strip())
    if r.returncode != 0:
        return
    srv.db = os.path.join(disk, "formwork.db")
    filler = os.path.join(disk, "filler")
    clients = []
    try:
        srv.start()
        clients = load(srv.port)
        time.sleep(0.5)
        written = fill(filler)
        full_at = time.monotonic()
        time.sleep(3.0)

        form = get_form(srv.url, "contact")
        fields = dict(CONTACT, **form.tokens())
        r = post_form(srv.url, "contact", fields)
        check("on a full disk a POST answers 503 with Retry-After and a page",
              r.status == 503 and r.header("retry-after") and
              "text/html" in (r.header("content-type") or "") and
              "not received" in r.text, repr(r))
        after = statuses(clients, full_at + 1.0)
        print("filled the disk with %d bytes; answers since: %s" % (
            written, {s: after.count(s) for s in set(after)}), flush=True)
        check("once full, every POST is a 503 (no 303, no other 5xx, no "
              "reset)", after and set(after) <= {200, 503},
              str(sorted(set(map(str, after)))))
        ok = acked(clients)
        sample = sorted(ok)[-3:]
        pages = [request(srv.url, "GET", "/s/%s" % s).status for s in sample]
        check("result pages still answer on a full disk", pages and
              pages == [200] * len(sample), str(pages))
        check("/healthz answers 200 on a full disk",
              request(srv.url, "GET", "/healthz").status == 200)

        os.unlink(filler)
        freed = time.monotonic()
        back = None
        while time.monotonic() - freed < 15 and back is None:
            form = get_form(srv.url, "contact")
            r = post_form(srv.url, "contact", dict(CONTACT, **form.tokens()))
            if r.status == 303:
                back = time.monotonic() - freed
            else:
                time.sleep(0.2)
        check("after space is freed, POSTs answer 303 again without a "
              "restart", back is not None and srv.proc.poll() is None,
              "no 303 within 15 s")
        print("303 again %.2f s after the space was freed" % (back or -1),
              flush=True)
        unload(clients)
        ok = acked(clients)
        missing = ok - ids_in(srv.db)
        check("every acknowledged submission (%d) is stored" % len(ok),
              ok and not missing, "%d missing" % len(missing))
    finally:
        unload(clients)
        problems += srv.stop()
        subprocess.run(["umount", disk], capture_output=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--so")
    args = ap.parse_args()
    if args.so:
        os.environ["FORMWORK_SO"] = os.path.abspath(args.so)
    print("formwork operator tests: module %s" % srvmod.module_path(),
          flush=True)
    problems = []
    for part in (backup_and_restore, unprivileged_workers, full_disk):
        try:
            part(problems)
        except Exception as e:  # a crash of the harness is a failure
            import traceback
            traceback.print_exc()
            check("%s ran to the end" % part.__name__, False, repr(e))
    check("log check: no sandbox violation, worker gone or sanitizer "
          "report", not problems, "; ".join(problems[:10]))
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
