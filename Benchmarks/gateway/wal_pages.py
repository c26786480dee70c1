#!/usr/bin/env python3
"""WAL pages written per request insert with the gateway's SQLite schema, by id order and pollable index.

Usage: python3 Benchmarks/gateway/wal_pages.py GATEWAY_DB [rows]
GATEWAY_DB is any database the gateway made (its schema is copied; the file is only read), e.g. one kept
by `KEEP=1 Benchmarks/gateway-vs-nginx.sh`. Inserts `rows` requests in groups of 30 under WAL with
synchronous=FULL, as the gateway's group commit does, with random UUIDv4 ids and with time-ordered
ids, with the pollable index as it is and partial (queued rows left out), and prints WAL pages per insert.
"""
import os
import sqlite3
import sys
import tempfile
import time
import uuid

POLLABLE = "CREATE INDEX requests_pollable ON requests (status, polled_at, id)"


def schema_of(path):
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    rows = source.execute(
        "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid").fetchall()
    source.close()
    return ";\n".join(row[0] for row in rows) + ";"


def measure(schema, ordered, partial, rows, group=30):
    directory = tempfile.mkdtemp()
    path = os.path.join(directory, "wal-pages.db")
    if partial:
        if POLLABLE not in schema:
            raise SystemExit("the pollable index is not the expected one: update POLLABLE")
        schema = schema.replace(POLLABLE, POLLABLE + " WHERE status IN ('submitted', 'in_progress')")
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.executescript(schema)
    frames, base, document = 0, int(time.time() * 1000), "x" * 880
    for g in range(rows // group):
        db.execute("BEGIN IMMEDIATE")
        for i in range(group):
            n = g * group + i
            rid = f"{base + n:012x}{uuid.uuid4().hex[12:]}" if ordered else str(uuid.uuid4())
            db.execute(
                "INSERT INTO requests (id, client, kind, status, requested_by, idempotency_key, created_at,"
                " updated_at, next_attempt_at, polled_at, version, lease_owner, lease_until, doc)"
                " VALUES (?, 'bench', 'term-creation', 'queued', 'ada@contoso.com', NULL, ?, ?, NULL, NULL, 1,"
                " NULL, NULL, ?)", (rid, base + n, base + n, document))
        db.execute("COMMIT")
        if g % 30 == 29:  # a WAL frame is a 24-byte header and one page
            frames += os.path.getsize(path + "-wal") // (24 + 4096)
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    frames += os.path.getsize(path + "-wal") // (24 + 4096)
    db.close()
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.unlink(path + suffix)
    os.rmdir(directory)
    return frames / rows


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    schema = schema_of(sys.argv[1])
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 30000
    for ordered in (False, True):
        for partial in (False, True):
            pages = measure(schema, ordered, partial, rows)
            print(f"ids {'time-ordered' if ordered else 'UUIDv4      '}  pollable index {'partial' if partial else 'full   '}"
                  f"  {pages:.2f} WAL pages per insert")


if __name__ == "__main__":
    main()
