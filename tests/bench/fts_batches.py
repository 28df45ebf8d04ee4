#!/usr/bin/python3
"""
Replays the writer's batches on a copy of a store and times each one: a
write transaction that inserts BATCH contact submissions, indexes them for
search the way src/store/store_sqlite.c does (ST_FTS_INDEX), and commits; no
fsync (synchronous=OFF), so what is timed is SQLite's own work, FTS5's
segment merges included. Where the POST tail goes at 1M rows
(tests/bench/README.md, "The search index at 1M rows").

Usage:
  FORMWORK_DB=/tmp/s.db ./formworkctl generate 1000000 --form contact
  /usr/bin/python3 tests/bench/fts_batches.py /tmp/s.db [--batch 30]
      [--count 10000] [--fts NAME=VALUE ...] [--merge PAGES --every K]

--fts sets an FTS5 option first (automerge=0, crisismerge=64, ...);
--merge runs INSERT INTO submissions_fts(submissions_fts, rank)
VALUES('merge', PAGES) in a transaction of its own every K batches and
times those too. The store given is only checkpointed; a copy is written.
"""

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import tempfile
import time

FTS_INDEX = ("INSERT INTO submissions_fts (rowid, body) SELECT rowid, "
             "(SELECT group_concat(atom, ' ') FROM json_tree(data) "
             "WHERE atom IS NOT NULL) FROM submissions WHERE rowid > ?")
FTS_SET = ("INSERT INTO submissions_fts (submissions_fts, rank) "
           "VALUES (?, ?)")
INSERT = ("INSERT INTO submissions (id, form, submit_key, values_hash, "
          "data, client, created_at) VALUES (?, 'contact', ?, 'bench', ?, "
          "'127.0.0.1', ?)")


def summary(name, ms):
    if not ms:
        return
    ms = sorted(ms)
    n = len(ms)
    print("%-6s n=%d  median %.2f ms  p99 %.2f  p99.9 %.2f  max %.2f  "
          "over 10 ms: %d  total %.1f s" % (
              name, n, statistics.median(ms), ms[int(0.99 * n)],
              ms[int(0.999 * n)], ms[-1], sum(1 for x in ms if x > 10),
              sum(ms) / 1000))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("store")
    ap.add_argument("--batch", type=int, default=30)
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--fts", action="append", default=[])
    ap.add_argument("--merge", type=int, default=0)
    ap.add_argument("--every", type=int, default=1)
    a = ap.parse_args()

    work = tempfile.mkdtemp(prefix="fts-batches-")
    db = os.path.join(work, "store.db")
    try:
        src = sqlite3.connect(a.store)
        src.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        src.close()
        shutil.copyfile(a.store, db)
        c = sqlite3.connect(db, isolation_level=None)
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("PRAGMA synchronous=OFF")
        c.execute("PRAGMA cache_size=-512")   # as src/store/store_sqlite.c
        for opt in a.fts:
            name, value = opt.split("=", 1)
            c.execute(FTS_SET, (name, int(value)))
        rows0 = c.execute("SELECT count(*) FROM submissions").fetchone()[0]
        print("%d rows before; batches of %d; FTS options: %s" % (
            rows0, a.batch, ", ".join(a.fts) or "defaults"))

        t0 = int(time.time() * 1000)
        seq = 0
        batches, merges = [], []
        for b in range(a.count):
            start = time.perf_counter()
            c.execute("BEGIN IMMEDIATE")
            top = c.execute("SELECT coalesce(max(rowid), 0) "
                            "FROM submissions").fetchone()[0]
            for _ in range(a.batch):
                seq += 1
                data = json.dumps({
                    "name": "Bench tester %d" % seq,
                    "email": "bench%d@example.com" % seq,
                    "topic": "support",
                    "message": "Benchmark message number %d, long enough."
                               % seq})
                c.execute(INSERT, ("%016x%s" % (t0 * 1000 + seq,
                                                os.urandom(6).hex()),
                                   os.urandom(11).hex(), data, t0 + seq))
            c.execute(FTS_INDEX, (top,))
            c.execute("COMMIT")
            batches.append((time.perf_counter() - start) * 1000)
            if a.merge and b % a.every == 0:
                start = time.perf_counter()
                c.execute("BEGIN IMMEDIATE")
                c.execute(FTS_SET, ("merge", a.merge))
                c.execute("COMMIT")
                merges.append((time.perf_counter() - start) * 1000)
        summary("batch", batches)
        summary("merge", merges)
        c.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
