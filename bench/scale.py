#!/usr/bin/python3
"""Quick scaling check of the graph algorithms against a running server.

The scale section of bench/run.sh builds a throwaway cluster and registers
every size again on each run; this script keeps its databases between runs
(apmscale_<shape>_<n>, and apmscale_<shape>_<n>_applied at head), so the
same graphs can be timed before and after a change to the C code: install
the extension, run this again, compare.

Shapes (registration order = revision number):

  linear   a chain (bench.py's scale_register_sql)
  dag      blocks of 8: a trunk revision, two branches of 3 from it and a
           merge of both (bench.py's scale_register_sql)
  deps     two chains side by side, each revision of the first depending on
           its twin in the second (depends_on across branches)
  wide     one base and n/10 branches of 9 revisions from it (n/10 heads)

Timed, per shape and size, as the median (or with --best the fastest) of
--reps calls in one session after one warm-up call (a call over --enough
seconds is timed once); --best suits a shared machine, where other work
only ever adds time:

  validate   SELECT count(*) FROM ap_migrate_validate()   (pending graph)
  plan       SELECT count(*) FROM ap_migrate_plan(T)      (base -> T)
  noop       SELECT ap_migrate_upgrade(T)                 (at T already)
  plan_down  SELECT count(*) FROM ap_migrate_plan('base') (T -> base)

where T is 'head' for linear and dag and 'heads' for deps and wide.

Usage (libpq environment: PGHOST, PGPORT, PGUSER):

    /usr/bin/python3 bench/scale.py [--sizes 1000,10000,100000]
        [--shapes linear,dag] [--reps 3] [--best] [--timeout 300] [--json FILE]
        [--setup-only] [--drop]
"""
import argparse
import json
import os
import statistics
import sys
import time

import psycopg2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import scale_register_sql  # noqa: E402


def idf(shape, e):
    return "substr(md5('" + shape + "' || (" + e + ")), 1, 12)"


def register_sql(shape, n):
    """One statement registering n revisions of the given shape."""
    if shape in ("linear", "dag"):
        return scale_register_sql(shape, n)
    if shape == "deps":
        # odd i: second chain (B); even i: first chain (A), depending on i - 1
        parents = ("CASE WHEN i <= 2 THEN NULL ELSE ARRAY[" + idf(shape, "i - 2") + "] END")
        depends = ("CASE WHEN i % 2 = 0 THEN ARRAY[" + idf(shape, "i - 1") + "]"
                   " ELSE '{}'::text[] END")
    elif shape == "wide":
        # i = 1 is the base; each branch is 9 revisions, the first on the base
        parents = ("CASE WHEN i = 1 THEN NULL"
                   " WHEN (i - 2) % 9 = 0 THEN ARRAY[" + idf(shape, "1") + "]"
                   " ELSE ARRAY[" + idf(shape, "i - 1") + "] END")
        depends = "'{}'::text[]"
    else:
        raise ValueError(shape)
    return ("SELECT count(ap_migrate_add(" + idf(shape, "i") + ", " + parents
            + ", format('CREATE TABLE s%s (id bigint)', i), format('DROP TABLE s%s', i),"
            " 'revision ' || i, '{}', " + depends + ")) FROM generate_series(1, "
            + str(n) + ") AS i")


def target(shape):
    return "head" if shape in ("linear", "dag") else "heads"


def connect(db):
    conn = psycopg2.connect(dbname=db)
    conn.autocommit = True
    return conn


def exists(cur, db):
    cur.execute("SELECT FROM pg_database WHERE datname = %s", (db,))
    return cur.fetchone() is not None


def setup(admin, shape, n, timeout):
    """Create (once) the pending and the applied database of a shape/size."""
    db = "apmscale_%s_%d" % (shape, n)
    applied = db + "_applied"
    if not exists(admin, db):
        print("setup: registering %s %d" % (shape, n), flush=True)
        admin.execute("CREATE DATABASE %s" % db)
        conn = connect(db)
        cur = conn.cursor()
        cur.execute("CREATE EXTENSION ap_migrate")
        cur.execute("SET client_min_messages = warning")
        t0 = time.perf_counter()
        cur.execute(register_sql(shape, n))
        print("setup: %s %d registered in %.1f s" % (shape, n, time.perf_counter() - t0),
              flush=True)
        cur.execute("SELECT count(*) FROM ap_migrate.revision")
        assert cur.fetchone()[0] == n, "id collision"
        cur.execute("VACUUM ANALYZE")
        conn.close()
    if not exists(admin, applied):
        admin.execute("CREATE DATABASE %s TEMPLATE %s" % (applied, db))
        conn = connect(applied)
        cur = conn.cursor()
        cur.execute("SET statement_timeout = '%ds'" % timeout)
        cur.execute("SELECT ap_migrate_stamp(%s)", (target(shape),))
        cur.execute("VACUUM ANALYZE")
        conn.close()
    return db, applied


def timed(cur, sql, reps, enough, best):
    """Warm up once, then the median (best: the minimum) of reps calls;
    None on a timeout."""
    xs = []
    try:
        t0 = time.perf_counter()
        cur.execute(sql)
        cur.fetchall()
        first = time.perf_counter() - t0
        if first > enough:
            return first, 1
        for _ in range(reps):
            t0 = time.perf_counter()
            cur.execute(sql)
            cur.fetchall()
            xs.append(time.perf_counter() - t0)
    except psycopg2.errors.QueryCanceled:
        return None, 0
    return (min(xs) if best else statistics.median(xs)), len(xs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--shapes", default="linear,dag")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--enough", type=float, default=5.0)
    ap.add_argument("--best", action="store_true", help="report the fastest call, not the median")
    ap.add_argument("--timeout", type=int, default=300)
    ap.add_argument("--json")
    ap.add_argument("--setup-only", action="store_true", help="create the databases, time nothing")
    ap.add_argument("--drop", action="store_true", help="drop the databases and exit")
    opts = ap.parse_args()
    sizes = [int(x) for x in opts.sizes.split(",")]
    shapes = opts.shapes.split(",")

    admin_conn = connect("postgres")
    admin = admin_conn.cursor()
    if opts.drop:
        for shape in shapes:
            for n in sizes:
                for db in ("apmscale_%s_%d" % (shape, n), "apmscale_%s_%d_applied" % (shape, n)):
                    admin.execute("DROP DATABASE IF EXISTS %s" % db)
        return 0

    results = {}
    for shape in shapes:
        for n in sizes:
            db, applied = setup(admin, shape, n, opts.timeout)
            if opts.setup_only:
                continue
            t = target(shape)
            ops = [("validate", db, "SELECT count(*) FROM ap_migrate_validate()"),
                   ("plan", db, "SELECT count(*) FROM ap_migrate_plan('%s')" % t),
                   ("noop", applied, "SELECT ap_migrate_upgrade('%s')" % t),
                   ("plan_down", applied, "SELECT count(*) FROM ap_migrate_plan('base')")]
            for op, dbname, sql in ops:
                conn = connect(dbname)
                cur = conn.cursor()
                cur.execute("SET statement_timeout = '%ds'" % opts.timeout)
                x, k = timed(cur, sql, opts.reps, opts.enough, opts.best)
                conn.close()
                results.setdefault(shape, {}).setdefault(op, {})[n] = x
                print("%-7s %-9s %7d  %s" % (shape, op, n,
                                             "timeout" if x is None else "%.4f s (%d)" % (x, k)),
                      flush=True)

    if opts.setup_only:
        return 0
    print()
    print("%-7s %-9s" % ("shape", "op") + "".join("%12d" % n for n in sizes)
          + "".join("   %6s" % ("%dx" % (b // a)) for a, b in zip(sizes, sizes[1:])))
    for shape in shapes:
        for op, by_n in results[shape].items():
            row = "%-7s %-9s" % (shape, op)
            row += "".join("%12s" % ("timeout" if by_n[n] is None else "%.4f" % by_n[n]) for n in sizes)
            for a, b in zip(sizes, sizes[1:]):
                ra = by_n[a]
                rb = by_n[b]
                row += "   %6s" % ("-" if ra is None or rb is None else "%.1f" % (rb / ra))
            print(row)
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
