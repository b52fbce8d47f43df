#!/usr/bin/python3
"""The ap_migrate performance benchmark (driver).  Start it with bench/run.sh,
which builds and installs the extension, starts a throwaway cluster and runs
this file as the cluster's OS user with PGHOST/PGPORT/PGUSER set.

Sections (all in one run, contenders interleaved round by round):

  workloads  W1 (N x CREATE TABLE), W2 (N small ALTER TABLE / index /
             constraint steps on one table), W3 (examples/ap_intake), each
             base -> head and head -> base, for: the floor (psql -1 -f of the
             same SQL; and psql -f with one transaction per step),
             ap_migrate_upgrade/downgrade, the ap_migrate_run procedure (a
             hook, skipped while it does not exist) and Alembic
  noop       the no-op deploy at head: one full client invocation each
  scale      register / validate / plan / no-op with 1k..100k revisions,
             linear chain and a branchy DAG with merges
  memory     backend peak memory of one upgrade of N steps
  diagnose   where ap_migrate's time goes (pg_stat_statements, loaded by a
             restart of the throwaway cluster at the very end)

Ratios in one run are the claim, not absolute times: the machine is small
and shared.
"""
import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

import psycopg2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen  # noqa: E402

PY = "/usr/bin/python3"

# HOOK: the per-step procedure does not exist yet.  When a function or
# procedure named ap_migrate_run exists (to_regproc('ap_migrate_run')), these
# calls run as one more contender; until then they are skipped with a note.
RUN_UP = "CALL ap_migrate_run('head')"
RUN_DOWN = "CALL ap_migrate_run_downgrade('base')"
RUN_PROBE = ("SELECT to_regproc('ap_migrate_run') IS NOT NULL"
             " OR EXISTS (SELECT FROM pg_catalog.pg_proc WHERE proname = 'ap_migrate_run')")

# fingerprint of the user schema (public), Alembic's own table left out
FINGERPRINT = """
SELECT (SELECT count(*) FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace
          AND c.relname NOT LIKE 'alembic_version%%'),
       (SELECT count(*) FROM pg_type t WHERE t.typnamespace = 'public'::regnamespace
          AND t.typname NOT LIKE '%%alembic_version%%'),
       (SELECT count(*) FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace),
       (SELECT count(*) FROM pg_constraint k WHERE k.connamespace = 'public'::regnamespace
          AND k.conname NOT LIKE 'alembic_version%%'),
       (SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
         WHERE c.relnamespace = 'public'::regnamespace AND c.relname NOT LIKE 'alembic_version%%'
           AND a.attnum > 0 AND NOT a.attisdropped),
       (SELECT count(*) FROM pg_attrdef d JOIN pg_class c ON c.oid = d.adrelid
         WHERE c.relnamespace = 'public'::regnamespace)
"""


def log(msg):
    print("==> " + msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ numbers

def fmt(x, unit=1.0):
    """4 significant digits, no exponent."""
    if x is None:
        return "-"
    x = x / unit
    if x == 0:
        return "0"
    digits = 3
    v = abs(x)
    while v >= 10 and digits > 0:
        v /= 10
        digits -= 1
    while v < 1 and digits < 8:
        v *= 10
        digits += 1
    return "%.*f" % (digits, x)


def med(xs):
    return statistics.median(xs) if xs else None


def rng(xs, unit=1.0):
    return "%s-%s" % (fmt(min(xs), unit), fmt(max(xs), unit)) if xs else "-"


def ratio(a, b):
    return a / b if a is not None and b else None


SUMMARY = []


def verdict(ok, what=None, value=None):
    """PASS or MISS; with what, the target also goes to the closing summary."""
    v = "PASS" if ok else "MISS"
    if what:
        SUMMARY.append((v, what, value))
    return v


def table(title, header, rows, notes=()):
    rows = [[("-" if c is None else str(c)) for c in r] for r in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in rows)) if rows else len(str(h))
              for i, h in enumerate(header)]
    out = ["", title, "-" * len(title)]
    left = {0} | {i for i, h in enumerate(header)
                  if h in ("target", "statement", "measured", "largest contexts (at the last step)",
                           "ap_migrate catalog statements (ms)")}
    line = lambda r: "  ".join(str(c).ljust(w) if i in left else str(c).rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths))).rstrip()
    out.append(line(header))
    for r in rows:
        out.append(line(r))
    for n in notes:
        out.append("  note: " + n)
    print("\n".join(out), flush=True)


# ------------------------------------------------------------------ cluster

class Cluster:
    def __init__(self, work):
        self.work = work
        self.env = dict(os.environ)
        self.env.pop("PGDATABASE", None)
        # Alembic users have their migration scripts byte-compiled after the
        # first run; this machine's environment turns that off.
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        self.admin = None
        self.connect_admin()

    def connect_admin(self):
        if self.admin is not None:
            try:
                self.admin.close()
            except Exception:
                pass
        self.admin = psycopg2.connect(dbname="postgres")
        self.admin.autocommit = True

    def sql(self, q, args=None, db=None):
        """Run q on the admin connection (or a fresh one to db) and return
        the rows, if any."""
        conn = self.admin if db is None else self.connect(db)
        try:
            with conn.cursor() as cur:
                cur.execute(q, args)
                return cur.fetchall() if cur.description else None
        finally:
            if db is not None:
                conn.close()

    def connect(self, db, autocommit=True):
        conn = psycopg2.connect(dbname=db)
        conn.autocommit = autocommit
        return conn

    def reset_db(self, name, template="template1"):
        self.sql('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
        self.sql('CREATE DATABASE "%s" TEMPLATE "%s"' % (name, template))

    def drop_db(self, name):
        self.sql('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)

    def checkpoint(self):
        self.sql("CHECKPOINT")

    def psql(self, db, *args):
        return ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db] + list(args)

    def run(self, cmd, db=None, cwd=None, check=True):
        """Run a client command; returns (seconds, returncode, stderr)."""
        env = self.env if db is None else dict(self.env, PGDATABASE=db)
        t0 = time.perf_counter()
        p = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        t = time.perf_counter() - t0
        err = p.stderr.decode(errors="replace")
        if check and p.returncode != 0:
            raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), p.returncode, err[-2000:]))
        return t, p.returncode, err

    def fingerprint(self, db):
        return tuple(self.sql(FINGERPRINT, db=db)[0])


def alembic_cmd(adir, *args):
    return [PY, "-m", "alembic", "-c", os.path.join(adir, "alembic.ini")] + list(args)


# ------------------------------------------------------------------ setup

def make_workload(cl, work, key, kind, arg, setup_sql=None):
    """Generate a workload and its ap_migrate template database (extension
    created, revisions registered, vacuumed).  Registration is setup: its
    time is returned, not counted in any upgrade."""
    d = os.path.join(work, "w", key)
    info = gen.make(kind, arg, d)
    tpl = "tpl_" + key
    cl.reset_db(tpl)
    cl.sql("CREATE EXTENSION ap_migrate", db=tpl)
    if setup_sql:
        cl.sql(setup_sql, db=tpl)
    t_reg, _, _ = cl.run(cl.psql(tpl, "-1", "-f", os.path.join(d, "register.sql")))
    cl.sql("VACUUM ANALYZE", db=tpl)
    info.update(dir=d, tpl=tpl, register_s=t_reg, alembic=os.path.join(d, "alembic"))
    return info


def has_run_hook(cl, db):
    return bool(cl.sql(RUN_PROBE, db=db)[0][0])


# ------------------------------------------------------------------ workloads

# what each contender is measured against, and the targets (issue 16):
# the function against psql -1 (one transaction), the procedure against
# psql with a transaction per file (autocommit for a non-transactional one)
FLOOR_OF = {"apm": "floor", "alembic": "floor", "apm_run": "floor_step",
            "apm_nofp": "floor", "apm_run_nofp": "floor_step"}
# how a verdict names a contender
MODE_OF = {"apm": "function", "apm_run": "procedure",
           "apm_nofp": "function, record_fingerprint off", "apm_run_nofp": "procedure, record_fingerprint off"}
# ap_migrate without recording the drift check's fingerprint
NOFP = "SET ap_migrate.record_fingerprint = off"


def contenders(cl, wl, run_hook, keys, up_target="head"):
    d = wl["dir"]
    run_up = "CALL ap_migrate_run('%s')" % up_target
    c = [
        ("floor", "floor: psql -1 -f (one transaction)",
         cl.psql("@", "-1", "-f", os.path.join(d, "up.sql")),
         cl.psql("@", "-1", "-f", os.path.join(d, "down.sql"))),
        ("apm", "ap_migrate_upgrade('%s') / _downgrade('base')" % up_target,
         cl.psql("@", "-c", "SELECT ap_migrate_upgrade('%s')" % up_target),
         cl.psql("@", "-c", "SELECT ap_migrate_downgrade('base')")),
    ]
    if run_hook:
        c.append(("apm_run", "%s / %s" % (run_up, RUN_DOWN),
                  cl.psql("@", "-c", run_up), cl.psql("@", "-c", RUN_DOWN)))
    c.append(("apm_nofp", "the function, ap_migrate.record_fingerprint = off",
              cl.psql("@", "-c", NOFP, "-c", "SELECT ap_migrate_upgrade('%s')" % up_target),
              cl.psql("@", "-c", NOFP, "-c", "SELECT ap_migrate_downgrade('base')")))
    if run_hook:
        c.append(("apm_run_nofp", "the procedure, ap_migrate.record_fingerprint = off",
                  cl.psql("@", "-c", NOFP, "-c", run_up), cl.psql("@", "-c", NOFP, "-c", RUN_DOWN)))
    c.append(("floor_step", "floor: psql -f, a transaction per step%s" % (
                  ", autocommit if non-transactional" if wl.get("nontransactional") else ""),
              cl.psql("@", "-f", os.path.join(d, "up_steps.sql")),
              cl.psql("@", "-f", os.path.join(d, "down_steps.sql"))))
    c.append(("alembic", "alembic upgrade head / downgrade base",
              alembic_cmd(wl["alembic"], "upgrade", "head"),
              alembic_cmd(wl["alembic"], "downgrade", "base")))
    return [x for x in c if x[0] in keys]


def subst(cmd, db):
    return [db if a == "@" else a for a in cmd]


def bench_workload(cl, title, wls, rounds, run_hook, results, up_target="head"):
    """Every contender, round by round: a fresh copy of the template
    database, a warm-up connection (a deployed database has been connected
    to before), a checkpoint, then the timed upgrade -- one client process
    and a new connection, as a user runs it; a checkpoint, then the timed
    downgrade.  Each run's resulting schema is fingerprinted and must match
    the floor's.  wls: [(workload, contender keys)], e.g. the workload with
    non-transactional steps for the procedure and its floor, and its
    all-transactional twin for the function and psql -1; their contenders
    run interleaved in the same rounds."""
    cs = []
    for wl, keys in wls:
        cs += [(k, l, u, dn, wl) for k, l, u, dn in contenders(cl, wl, run_hook, keys, up_target)]
    times = {k: {"up": [], "down": []} for k, _, _, _, _ in cs}
    errors = {}
    fp = {}
    for r in range(rounds):
        log("%s: round %d/%d" % (title, r + 1, rounds))
        for key, _, up, down, wl in cs:
            if key in errors:
                continue
            db = "run_%s" % key
            fp_base = fp.setdefault((wl["tpl"], "base"), cl.fingerprint(wl["tpl"]))
            try:
                cl.reset_db(db, wl["tpl"])
                cl.run(cl.psql(db, "-c", "SELECT 1"))
                cl.checkpoint()
                t, _, _ = cl.run(subst(up, db), db=db, cwd=wl["dir"])
                f = cl.fingerprint(db)
                if fp.setdefault((wl["tpl"], "head"), f) != f:
                    raise RuntimeError("schema after upgrade differs: %s vs %s" % (f, fp[(wl["tpl"], "head")]))
                times[key]["up"].append(t)
                cl.checkpoint()
                t, _, _ = cl.run(subst(down, db), db=db, cwd=wl["dir"])
                f = cl.fingerprint(db)
                if f != fp_base:
                    raise RuntimeError("schema after downgrade differs: %s vs %s" % (f, fp_base))
                times[key]["down"].append(t)
            except Exception as e:  # report, keep going with the others
                errors[key] = str(e).strip().splitlines()[-1][:300] if str(e).strip() else repr(e)
                log("%s: %s failed: %s" % (title, key, errors[key]))
    for key, _, _, _, _ in cs:
        cl.drop_db("run_%s" % key)
    results[title] = {"times": times, "errors": errors, "register_s": wls[0][0]["register_s"],
                      "n": wls[0][0]["n"], "labels": {k: l for k, l, _, _, _ in cs}, "run_hook": run_hook}
    return results[title]


def paired(xs, fs):
    """Median over rounds of the ratio to the floor of the same round: less
    sensitive than the ratio of medians to a neighbour's load drifting."""
    rs = [x / f for x, f in zip(xs, fs) if f]
    return med(rs) if len(xs) == len(fs) and rs else None


def print_workload(title, res, rounds, targets, short_title=None):
    """targets: {contender: ratio} (upgrade and downgrade alike); the
    verdict takes the worse of the ratio of medians and the paired ratio."""
    times, errors = res["times"], res["errors"]
    short_title = short_title or " ".join(title.split(" ")[:2])
    for direction, what in (("up", "upgrade base -> head"), ("down", "downgrade head -> base")):
        rows = []
        for key, label in res["labels"].items():
            xs = times[key][direction]
            m = med(xs)
            fk = FLOOR_OF.get(key)
            fl = times[fk][direction] if fk in times else []
            r, p = ratio(m, med(fl)), paired(xs, fl)
            target = ""
            if key in targets and fl:
                worse = max(x for x in (r, p, 0) if x is not None) if r is not None else None
                target = "%s <= %.2f: %s" % (fk, targets[key], verdict(
                    worse is not None and worse <= targets[key],
                    "%s, %s: %s / %s <= %.2f" % (short_title, what.split(" ")[0],
                                                  MODE_OF.get(key, key), fk, targets[key]),
                    "%s (paired %s)" % (fmt(r), fmt(p))))
            elif fk in times:
                target = "vs %s" % fk
            if key in errors:
                rows.append([label, "FAILED", "", "", "", errors[key]])
            else:
                rows.append([label, fmt(m), rng(xs), fmt(r) if fk else "", fmt(p) if fk else "", target])
        notes = ["ap_migrate registration (setup, not timed above): %s s for %d revisions (ap_migrate_load, "
                 "psql -1 -f)" % (fmt(res["register_s"]), res["n"]),
                 "ratio = median / the median of its floor; paired = median over rounds of (this run / its "
                 "floor's run in the same round); a verdict takes the worse of the two",
                 "the function's floor is psql -1 -f; the procedure's is psql -f with a transaction per step"]
        if not res["run_hook"]:
            notes.append("CALL ap_migrate_run('head'): skipped, the procedure does not exist yet "
                         "(to_regproc('ap_migrate_run') IS NULL)")
        table("%s: %s, median of %d rounds" % (title, what, rounds),
              ["contender", "median s", "min-max s", "ratio to its floor", "paired", "target"], rows, notes)


def print_nontx(title, res, nontx, target_s=0.005):
    """What one non-transactional step costs CALL ap_migrate_run() over
    its statements: (procedure - psql in autocommit) / the number of such
    steps, from the medians and paired per round; the first step's worker
    start is spread over the call's steps, as a deploy pays it."""
    times = res["times"]
    rows = []
    for direction in ("up", "down"):
        a, f = times["apm_run"][direction], times["floor_step"][direction]
        if not a or not f:
            continue
        by_median = (med(a) - med(f)) / nontx
        paired_d = med([(x - y) / nontx for x, y in zip(a, f)]) if len(a) == len(f) else None
        worse = max(by_median, paired_d if paired_d is not None else by_median)
        rows.append(["upgrade" if direction == "up" else "downgrade", fmt(med(a)), fmt(med(f)),
                     "%.2f" % (by_median * 1000), "%.2f" % (paired_d * 1000) if paired_d is not None else "-",
                     "<= %.0f ms: %s" % (target_s * 1000, verdict(
                         worse <= target_s, "non-transactional step over its statements, %s <= %.0f ms"
                         % (direction, target_s * 1000), "%.2f ms (paired %.2f)"
                         % (by_median * 1000, (paired_d or 0) * 1000)))])
    table("%s: cost of a non-transactional step over its statements" % title,
          ["direction", "procedure s", "psql autocommit s", "ms per step (medians)", "paired", "target"], rows,
          ["(CALL ap_migrate_run - psql -f of the same statements, autocommit) / %d non-transactional steps; "
           "one background worker serves them all, its start included" % nontx])


# ------------------------------------------------------------------ no-op deploy

def bench_noop(cl, work, sizes, rounds, per_round, run_hook, results, dag_size=None):
    """The no-op deploy: a full client invocation at heads (a new
    connection, the library loaded by the call, disconnect), for SELECT 1,
    SELECT ap_migrate_upgrade('heads'), CALL ap_migrate_run('heads') and
    Alembic, interleaved; on chains of each size and, with dag_size, on
    W4's DAG of that size (merges of up to 7 parents, 4 heads, stamped at
    its heads)."""
    dbs = {}
    shapes = [("chain", n) for n in sizes] + ([("w4", dag_size)] if dag_size else [])
    for shape, n in shapes:
        log("no-op: setting up %s %d" % (shape, n))
        if shape == "chain":
            wl = make_workload(cl, work, "noop%d" % n, "noop", n)
        else:
            wl = make_workload(cl, work, "noop_w4_%d" % n, "w4", n)
        db = "noop_%s_%d" % (shape, n)
        cl.reset_db(db, wl["tpl"])
        # the DAG's heads are stamped: what a no-op reads is the applied set
        t_up, _, _ = cl.run(cl.psql(db, "-c", "SELECT ap_migrate_stamp('heads')" if shape == "w4" else
                                    "SELECT ap_migrate_upgrade('heads')"))
        if shape == "chain":
            # Alembic at head: stamp it (this also compiles its scripts once)
            cl.run(alembic_cmd(wl["alembic"], "stamp", "head"), db=db)
        # a deployed database has been vacuumed since its revisions were registered
        cl.sql("VACUUM ANALYZE", db=db)
        dbs[(shape, n)] = dict(db=db, wl=wl, setup_upgrade_s=t_up)
    keys = ["select1", "apm"] + (["apm_run"] if run_hook else []) + ["alembic"]
    times = {(k, s): [] for k in keys for s in shapes}
    pairs = {(k, s): [] for k in keys for s in shapes}
    cmds = {}
    for s in shapes:
        cmds[("select1", s)] = ["psql", "-X", "-c", "SELECT 1"]
        cmds[("apm", s)] = ["psql", "-X", "-c", "SELECT ap_migrate_upgrade('heads')"]
        cmds[("apm_run", s)] = ["psql", "-X", "-c", "CALL ap_migrate_run('heads')"]
        cmds[("alembic", s)] = alembic_cmd(dbs[s]["wl"]["alembic"], "upgrade", "heads")
    def measure(rounds, keys, times, pairs, phase):
        for r in range(rounds):
            log("no-op%s: round %d/%d" % (phase, r + 1, rounds))
            for _ in range(per_round):
                for s in shapes:
                    base = None
                    for k in keys:
                        if k != "alembic":
                            t, _, _ = cl.run(cmds[(k, s)], db=dbs[s]["db"])
                            times[(k, s)].append(t)
                            base = t if k == "select1" else base
                            pairs[(k, s)].append(t / base)
            for s in shapes:
                if s[0] == "chain" and "alembic" in keys:
                    t, _, _ = cl.run(cmds[("alembic", s)], db=dbs[s]["db"])
                    times[("alembic", s)].append(t)

    measure(rounds, keys, times, pairs, "")
    # The same with the library in shared_preload_libraries: the postmaster
    # loads it once and every backend inherits it, so a new connection's
    # first call does not pay the dynamic loader (what loading any library
    # costs a new backend) -- the deployment choice the docs describe.
    pkeys = [k for k in keys if k != "alembic"]
    ptimes = {(k, s): [] for k in pkeys for s in shapes}
    ppairs = {(k, s): [] for k in pkeys for s in shapes}
    restart_with_conf(cl, "no-op deploy, preloaded", "shared_preload_libraries = 'ap_migrate'\n")
    try:
        measure(rounds, pkeys, ptimes, ppairs, " (preloaded)")
    finally:
        restart_with_conf(cl, None, None)
    results["noop"] = {"times": {"%s@%s%d" % (k, s[0], s[1]): v for (k, s), v in times.items()},
                       "preloaded": {"%s@%s%d" % (k, s[0], s[1]): v for (k, s), v in ptimes.items()},
                       "setup": {"%s%d" % s: {"register_s": dbs[s]["wl"]["register_s"],
                                              "upgrade_s": dbs[s]["setup_upgrade_s"]} for s in shapes}}
    labels = {"select1": "psql -X -c 'SELECT 1'",
              "apm": "psql -X -c \"SELECT ap_migrate_upgrade('heads')\"",
              "apm_run": "psql -X -c \"CALL ap_migrate_run('heads')\"",
              "alembic": "python3 -m alembic upgrade heads"}
    rows = []
    for s in shapes:
        floor = med(times[("select1", s)])
        apm = med(times[("apm", s)])
        where = "%s revisions, chain" % "{:,}".format(s[1]) if s[0] == "chain" else \
            "W4 DAG, %d revisions, 4 heads" % dbs[s]["wl"]["n"]
        for k in keys:
            xs = times[(k, s)]
            if not xs:
                continue
            m = med(xs)
            target = ""
            if k in ("apm", "apm_run") and (s[0] == "w4" or s[1] == 10000):
                worse = max(ratio(m, floor), med(pairs[(k, s)]))
                target = "<= 1.05 x SELECT 1: %s" % verdict(
                    worse <= 1.05, "no-op deploy, %s: %s / SELECT 1 <= 1.05"
                    % (where, "function" if k == "apm" else "procedure"),
                    "%s (paired %s)" % (fmt(ratio(m, floor)), fmt(med(pairs[(k, s)]))))
            if k == "alembic":
                target = "alembic / ap_migrate = %s x" % fmt(ratio(m, apm))
                if s[1] == 10000:
                    target += ", >= 10: %s" % verdict(ratio(m, apm) >= 10,
                                                      "no-op deploy at 10,000: Alembic / ap_migrate >= 10",
                                                      fmt(ratio(m, apm)))
            rows.append([labels[k], where, len(xs), fmt(m, 1e-3), rng(xs, 1e-3), fmt(ratio(m, floor)),
                         fmt(med(pairs[(k, s)])) if pairs[(k, s)] else "", target])
        pfloor = med(ptimes[("select1", s)])
        for k in pkeys:
            xs = ptimes[(k, s)]
            m = med(xs)
            target = ""
            if k != "select1" and (s[0] == "w4" or s[1] == 10000):
                worse = max(ratio(m, pfloor), med(ppairs[(k, s)]))
                target = "<= 1.05 x SELECT 1: %s" % verdict(
                    worse <= 1.05, "no-op deploy, %s, library preloaded: %s / SELECT 1 <= 1.05"
                    % (where, "function" if k == "apm" else "procedure"),
                    "%s (paired %s)" % (fmt(ratio(m, pfloor)), fmt(med(ppairs[(k, s)]))))
            rows.append([labels[k] + ", preloaded", where, len(xs), fmt(m, 1e-3), rng(xs, 1e-3),
                         fmt(ratio(m, pfloor)), fmt(med(ppairs[(k, s)])) if k != "select1" else "1.000", target])
    notes = ["each sample is one full client invocation (a new connection, the call, disconnect); "
             "SELECT 1 and ap_migrate %d per round, Alembic 1 per round (chains only), interleaved; "
             "paired = median of (the call / the SELECT 1 just before it); a verdict takes the worse of the two"
             % per_round]
    for s in shapes:
        notes.append("setup of %s %d: registration (psql -1 -f) %s s, the upgrade (DAG: stamp) %s s, then VACUUM ANALYZE"
                     % (s[0], s[1], fmt(dbs[s]["wl"]["register_s"]), fmt(dbs[s]["setup_upgrade_s"])))
    notes.append("preloaded: the same, measured after the default rows, on the cluster restarted with "
                 "shared_preload_libraries = 'ap_migrate' (a new backend inherits the library instead of loading "
                 "it); its ratios are to the SELECT 1 of that phase")
    if not run_hook:
        notes.append("CALL ap_migrate_run('heads'): skipped, the procedure does not exist yet")
    table("No-op deploy (already at heads), median over %d rounds" % rounds,
          ["contender", "graph", "samples", "median ms", "min-max ms", "ratio to SELECT 1", "paired",
           "target"], rows, notes)
    for s in shapes:
        cl.drop_db(dbs[s]["db"])
        cl.drop_db(dbs[s]["wl"]["tpl"])


def bench_libload(cl, samples, results):
    """What a new backend pays to load the library on its first call:
    LOAD 'ap_migrate' (dlopen and _PG_init, which defines the settings)
    timed inside a new backend with clock_timestamp(), against a SELECT 1
    in the same place, and against loading tsm_system_rows, a contrib
    library that defines nothing: the loader's own cost for any library on
    this machine.  One new connection per sample, interleaved."""
    db = "libload"
    cl.reset_db(db)
    cl.sql("CREATE EXTENSION ap_migrate", db=db)
    ts = "SELECT extract(epoch FROM clock_timestamp())"
    out = {"load": [], "select1": [], "reference": []}
    for _ in range(samples):
        for key, mid in (("select1", "SELECT 1"), ("load", "LOAD 'ap_migrate'"),
                         ("reference", "LOAD 'tsm_system_rows'")):
            p = subprocess.run(["psql", "-X", "-At", "-d", db, "-c", ts, "-c", mid, "-c", ts],
                               env=cl.env, capture_output=True, text=True, check=True)
            lines = p.stdout.split()  # the two times around what the middle query prints
            out[key].append(float(lines[-1]) - float(lines[0]))
    cl.drop_db(db)
    extra = [a - b for a, b in zip(out["load"], out["select1"])]
    own = [a - b for a, b in zip(out["load"], out["reference"])]
    results["libload"] = out
    m = med(out["load"]) - med(out["select1"])
    mo = med(out["load"]) - med(out["reference"])
    table("Library load: a new backend's first call (median of %d new connections)" % samples,
          ["measure", "median ms", "min-max ms", "target"],
          [["LOAD 'ap_migrate' between two clock_timestamp() queries", fmt(med(out["load"]), 1e-3),
            rng(out["load"], 1e-3), ""],
           ["SELECT 1 in its place", fmt(med(out["select1"]), 1e-3), rng(out["select1"], 1e-3), ""],
           ["LOAD 'tsm_system_rows' in its place (contrib, defines nothing)", fmt(med(out["reference"]), 1e-3),
            rng(out["reference"], 1e-3), ""],
           ["library load = LOAD 'ap_migrate' - SELECT 1", fmt(m, 1e-3), rng(extra, 1e-3), ""],
           ["ap_migrate's own part = LOAD 'ap_migrate' - LOAD 'tsm_system_rows'", fmt(mo, 1e-3), rng(own, 1e-3),
            "<= ~0.5 ms: %s" % verdict(mo <= 0.0005, "a new backend's library load, beyond any library's, <= ~0.5 ms",
                                       "%s ms (all of the load: %s ms)" % (fmt(mo, 1e-3), fmt(m, 1e-3)))]],
          ["the profile section counts the same with callgrind (LOAD against SELECT 1 in postgres --single)",
           "the loader's cost (open, map and relocate a shared library) is what loading any library costs on "
           "this machine; ap_migrate's own part is what it adds: its size and its settings (_PG_init)"])


# ------------------------------------------------------------------ client

def bench_client(cl, work, n_files, n_dbs, jobs, rounds, results):
    """The ap-migrate client (issue 16, item 5), each a full client
    invocation: registering n_files new files (ap-migrate stamp base on a
    database with the extension and nothing registered: the sync registers
    them, the stamp changes nothing),
    syncing the same n_files unchanged files (the header cache warm, as in
    a checkout deployed before), and a no-op upgrade over n_dbs databases
    at -j jobs against a psql -c 'SELECT 1' loop over the same databases,
    interleaved round by round."""
    env = dict(cl.env, XDG_CACHE_HOME=os.path.join(work, "client_cache"))

    def run(cmd, db=None):
        e = env if db is None else dict(env, PGDATABASE=db)
        t0 = time.perf_counter()
        p = subprocess.run(cmd, env=e, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL)
        t = time.perf_counter() - t0
        if p.returncode != 0:
            raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), p.returncode,
                                                      p.stderr.decode(errors="replace")[-1500:]))
        return t, p.stderr.decode(errors="replace")

    log("client: generating %d files" % n_files)
    big = os.path.join(work, "w", "client%d" % n_files)
    gen.make("noop", n_files, big)
    bigdir = os.path.join(big, "migrations")
    reg, sync_wall, sync_own = [], [], []
    for r in range(rounds):
        log("client: registering %d files, round %d/%d" % (n_files, r + 1, rounds))
        cl.reset_db("cli_big")
        cl.sql("CREATE EXTENSION ap_migrate", db="cli_big")
        cl.sql("CHECKPOINT")
        # stamp base changes nothing, so what it commits is the sync's registration
        t, _ = run(["ap-migrate", "-q", "--dir", bigdir, "-d", "cli_big", "stamp", "base"])
        reg.append(t)
    run(["ap-migrate", "-q", "--dir", bigdir, "-d", "cli_big", "current"])  # the cache, written once
    for r in range(rounds):
        t, err = run(["ap-migrate", "-v", "--dir", bigdir, "-d", "cli_big", "current"])
        m1 = re.search(r"^Read %d files of \S+ in (\d+) ms" % n_files, err, re.M)
        m2 = re.search(r"^Synced %d files with %d registered revisions in (\d+) ms \(0 registered now\)"
                       % (n_files, n_files), err, re.M)
        if not (m1 and m2):
            raise RuntimeError("unexpected sync report: %s" % err[-800:])
        sync_wall.append(t)
        sync_own.append((int(m1.group(1)) + int(m2.group(1))) / 1000.0)
    cl.drop_db("cli_big")

    log("client: %d databases" % n_dbs)
    small = os.path.join(work, "w", "client_fanout")
    gen.make("noop", 10, small)
    smalldir = os.path.join(small, "migrations")
    cl.reset_db("cli_tpl")
    run(["ap-migrate", "-q", "--dir", smalldir, "-d", "cli_tpl", "upgrade"])
    cl.sql("VACUUM ANALYZE", db="cli_tpl")
    names = ["cli_fan_%02d" % i for i in range(1, n_dbs + 1)]
    for name in names:
        cl.reset_db(name, "cli_tpl")
    listfile = os.path.join(work, "client_dbs.txt")
    with open(listfile, "w") as f:
        f.write("\n".join(names) + "\n")
    loop = ["/bin/sh", "-c", "for db in %s; do psql -X -q -c 'SELECT 1' -d \"$db\" >/dev/null || exit 1; done"
            % " ".join(names)]
    fan = ["ap-migrate", "-q", "-j", str(jobs), "--dir", smalldir, "--dbname-file", listfile, "upgrade"]
    run(fan)  # the cache
    t_loop, t_fan = [], []
    for r in range(rounds):
        log("client: fan-out round %d/%d" % (r + 1, rounds))
        t_loop.append(run(loop)[0])
        t_fan.append(run(fan)[0])
    for name in names + ["cli_tpl"]:
        cl.drop_db(name)

    results["client"] = {"register": reg, "sync_wall": sync_wall, "sync_own": sync_own,
                         "loop": t_loop, "fanout": t_fan}
    fan_ratio, fan_paired = ratio(med(t_fan), med(t_loop)), paired(t_fan, t_loop)
    table("Client (ap-migrate): median of %d runs, each a full client invocation" % rounds,
          ["measure", "median s", "min-max s", "target"],
          [["register %s new files (ap-migrate stamp base on a database with none)" % "{:,}".format(n_files),
            fmt(med(reg)), rng(reg), "< 5 s: %s" % verdict(
                med(reg) < 5, "client: registering %s new files < 5 s" % "{:,}".format(n_files),
                "%s s" % fmt(med(reg)))],
           ["sync of %s unchanged files: the whole ap-migrate current" % "{:,}".format(n_files),
            fmt(med(sync_wall)), rng(sync_wall), "< 1 s: %s" % verdict(
                med(sync_wall) < 1, "client: sync of %s unchanged files < 1 s" % "{:,}".format(n_files),
                "%s s" % fmt(med(sync_wall)))],
           ["  of which the sync (read the directory + one query + compare; -v)", fmt(med(sync_own)),
            rng(sync_own), ""],
           ["psql -c 'SELECT 1', one database after the other, %d databases" % n_dbs, fmt(med(t_loop)),
            rng(t_loop), ""],
           ["ap-migrate -j %d upgrade (no-op) over the %d databases" % (jobs, n_dbs), fmt(med(t_fan)),
            rng(t_fan), "<= 2 x the loop: %s x (paired %s): %s" % (
                fmt(fan_ratio), fmt(fan_paired), verdict(
                    max(fan_ratio, fan_paired or 0) <= 2.0,
                    "client: no-op upgrade over %d databases at -j %d <= 2 x a psql loop" % (n_dbs, jobs),
                    "%s (paired %s)" % (fmt(fan_ratio), fmt(fan_paired))))]],
          ["each database of the fan-out is at head with 10 revisions; the files' header cache is warm "
           "(XDG_CACHE_HOME in the work directory), as for a checkout deployed before"])


# ------------------------------------------------------------------ scale

def scale_register_sql(shape, n):
    """One statement registering n revisions (ids from md5, so they look
    random like Alembic's).  linear: a chain.  dag: blocks of 8 -- a trunk
    revision, two branches of 3 from it, a merge of both (empty SQL) -- each
    block's trunk revision a child of the previous block's merge."""
    def idf(e):
        return "substr(md5('" + shape + "' || (" + e + ")), 1, 12)"
    create = "format('CREATE TABLE s%s (id bigint PRIMARY KEY, note text)', i)"
    drop = "format('DROP TABLE s%s', i)"
    if shape == "linear":
        parents = "CASE WHEN i = 1 THEN NULL ELSE ARRAY[" + idf("i - 1") + "] END"
        up, down = create, drop
    else:
        parents = ("CASE WHEN i = 1 THEN NULL"
                   " WHEN (i - 1) % 8 IN (1, 4) THEN ARRAY[" + idf("i - (i - 1) % 8") + "]"
                   " WHEN (i - 1) % 8 = 7 THEN ARRAY[" + idf("i - 4") + ", " + idf("i - 1") + "]"
                   " ELSE ARRAY[" + idf("i - 1") + "] END")
        up = "CASE WHEN (i - 1) % 8 = 7 THEN '' ELSE " + create + " END"
        down = "CASE WHEN (i - 1) % 8 = 7 THEN '' ELSE " + drop + " END"
    return ("SELECT count(ap_migrate_add(" + idf("i") + ", " + parents + ", " + up + ", " + down
            + ", 'revision ' || i)) FROM generate_series(1, " + str(n) + ") AS i")


def timed_sql(cur, q, reps=1, enough_s=5.0):
    """Run q reps times (once more only while a run takes under enough_s)
    and return the durations and the last rows."""
    xs = []
    rows = None
    for _ in range(reps):
        t0 = time.perf_counter()
        cur.execute(q)
        rows = cur.fetchall() if cur.description else None
        xs.append(time.perf_counter() - t0)
        if xs[-1] > enough_s:
            break
    return xs, rows


def attempt(cur, r, key, q, reps, timeout_s):
    """timed_sql under a statement_timeout; a timeout is recorded, not raised."""
    cur.execute("SET statement_timeout = '%ds'" % timeout_s)
    try:
        r[key], rows = timed_sql(cur, q, reps)
        return rows
    except psycopg2.errors.QueryCanceled:
        r[key] = {"timeout": timeout_s}
        log("scale: %s timed out after %d s" % (key, timeout_s))
        return None
    finally:
        cur.execute("SET statement_timeout = 0")


def bench_scale(cl, sizes, reps, timeout_s, op_timeout_s, results):
    out = {}
    for shape in ("linear", "dag"):
        for n in sizes:
            log("scale: %s, %d revisions" % (shape, n))
            db = "scale_%s_%d" % (shape, n)
            cl.reset_db(db)
            r = out.setdefault(shape, {}).setdefault(n, {})
            conn = cl.connect(db)
            cur = conn.cursor()
            cur.execute("CREATE EXTENSION ap_migrate")
            cur.execute("SET client_min_messages = warning")
            if attempt(cur, r, "register", scale_register_sql(shape, n), 1, timeout_s) is None:
                conn.close()
                cl.drop_db(db)
                log("scale: %s registration of %d timed out; larger sizes skipped" % (shape, n))
                break
            cur.execute("SELECT count(*) FROM ap_migrate.revision")
            assert cur.fetchone()[0] == n, "id collision in the generated revisions"
            rows = attempt(cur, r, "validate_first", "SELECT severity, problem FROM ap_migrate_validate()",
                           1, op_timeout_s)
            errors = [x for x in rows or [] if x[0] == "error"]
            assert not errors, errors[:5]
            cur.execute("VACUUM ANALYZE")
            attempt(cur, r, "validate", "SELECT count(*) FROM ap_migrate_validate()", reps, op_timeout_s)
            rows = attempt(cur, r, "plan", "SELECT count(*) FROM ap_migrate_plan('head')", reps, op_timeout_s)
            assert rows is None or rows[0][0] == n, rows
            if attempt(cur, r, "stamp", "SELECT ap_migrate_stamp('head')", 1, op_timeout_s) is not None:
                cur.execute("VACUUM ANALYZE")
                attempt(cur, r, "noop_session", "SELECT ap_migrate_upgrade('head')", max(reps, 5), op_timeout_s)
                r["noop_client"] = [cl.run(["psql", "-X", "-c", "SELECT ap_migrate_upgrade('head')"],
                                           db=db)[0] for _ in range(max(reps, 5))]
                r["select1_client"] = [cl.run(["psql", "-X", "-c", "SELECT 1"], db=db)[0]
                                       for _ in range(max(reps, 5))]
            conn.close()
            cl.drop_db(db)
    results["scale"] = {s: {str(n): v for n, v in d.items()} for s, d in out.items()}

    def val(shape, n, op):
        x = out.get(shape, {}).get(n, {}).get(op)
        return med(x) if isinstance(x, list) else None

    for shape in ("linear", "dag"):
        what = {"linear": "linear chain",
                "dag": "branchy DAG (blocks of 8: a branch point, two branches of 3, a merge)"}[shape]
        ops = [("register", "register (generate_series, ap_migrate_add)"),
               ("validate_first", "validate, first call after registering"),
               ("validate", "validate (after VACUUM ANALYZE, median)"),
               ("plan", "plan head from base (median)"),
               ("stamp", "stamp head (setup for the no-op)"),
               ("noop_session", "no-op upgrade head, in session (median)"),
               ("noop_client", "no-op deploy, psql -c (median)"),
               ("select1_client", "psql -c 'SELECT 1' (median)")]
        header = ["operation"] + ["%s s" % "{:,}".format(n) for n in sizes]
        growth_pairs = [(sizes[i], sizes[i + 1]) for i in range(len(sizes) - 1)]
        header += ["growth %s/%s" % (short(b), short(a)) for a, b in growth_pairs] + ["target"]
        rows = []
        for op, label in ops:
            row = [label]
            for n in sizes:
                x = out.get(shape, {}).get(n, {}).get(op)
                row.append("timeout >%ds" % x["timeout"] if isinstance(x, dict) else fmt(med(x)) if x else "-")
            for a, b in growth_pairs:
                row.append(fmt(ratio(val(shape, b, op), val(shape, a, op))))
            row.append(scale_targets(op, lambda n: val(shape, n, op), sizes, shape))
            rows.append(row)
        table("Scale: %s" % what, header, rows,
              ["up to %d repetitions in one session for the medians (one when a run takes over 5 s); "
               "registration, first validate and stamp once each" % reps])


def short(n):
    return "%dk" % (n // 1000) if n >= 1000 and n % 1000 == 0 else str(n)


def scale_targets(op, v, sizes, shape):
    t = []
    if op == "register" and 10000 in sizes:
        x = v(10000)
        t.append("10k < 10 s: %s" % verdict(x is not None and x < 10,
                                             "scale %s: register 10,000 < 10 s" % shape, "%s s" % fmt(x)))
    if op in ("validate", "plan"):
        if 100000 in sizes:
            x = v(100000)
            t.append("100k < 1 s: %s" % verdict(x is not None and x < 1,
                                                 "scale %s: %s at 100,000 < 1 s" % (shape, op), "%s s" % fmt(x)))
            if 10000 in sizes:
                g = ratio(v(100000), v(10000))
                t.append("100k/10k <= 12: %s" % verdict(g is not None and g <= 12,
                                                         "scale %s: %s 100,000 / 10,000 <= 12" % (shape, op),
                                                         fmt(g)))
        else:
            t.append("(targets at 100k: not run)")
    return "; ".join(t)


# ------------------------------------------------------------------ memory

def proc_status(pid):
    vals = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmHWM", "VmRSS", "RssAnon", "RssFile", "RssShmem"):
                vals[k] = int(v.split()[0]) * 1024
    return vals


MEM_TABLE = ("CREATE TABLE mem_contexts (dir text, name text, ident text, parent text, level int,"
             " total_bytes bigint, used_bytes bigint)")

SNAPSHOT = """
SELECT (SELECT sum(total_bytes) FROM mem_contexts WHERE dir = %(dir)s),
       (SELECT string_agg(format('%%s %%s MB', name, round(b / 1048576.0, 1)), ', ' ORDER BY b DESC)
          FROM (SELECT name, sum(total_bytes) AS b FROM mem_contexts WHERE dir = %(dir)s
                 GROUP BY name ORDER BY b DESC LIMIT 3) t)
"""


def mem_run(cl, db, contender, direction, steps):
    """One upgrade (or downgrade) in its own backend, in one transaction:
    the backend's VmHWM before and after, and its memory contexts as the
    last step saw them (the workload copies them into mem_contexts)."""
    conn = cl.connect(db, autocommit=False)
    cur = conn.cursor()
    cur.execute("SELECT pg_backend_pid()")
    pid = cur.fetchone()[0]
    conn.commit()
    before = proc_status(pid)
    t0 = time.perf_counter()
    if contender == "floor":
        # statement by statement, as psql -1 -f sends them
        for m in (steps if direction == "up" else reversed(steps)):
            sql = m["upgrade"] if direction == "up" else m["downgrade"]
            for stmt in [x for x in sql.split(";\n") if x.strip()]:
                cur.execute(stmt)
    else:
        cur.execute("SELECT ap_migrate_upgrade('head')" if direction == "up"
                    else "SELECT ap_migrate_downgrade('base')")
    t = time.perf_counter() - t0
    after = proc_status(pid)
    cur.execute(SNAPSHOT, {"dir": direction})
    ctx_total, ctx_top = cur.fetchone()
    conn.commit()
    conn.close()
    return dict(seconds=t, before=before, after=after, ctx_total=ctx_total, ctx_top=ctx_top)


def private_peak(m):
    """A lower bound of the growth of the backend's private memory at its
    peak: VmHWM less what is file-backed or shared memory (both only grow
    during a run), against the same before the run."""
    a, b = m["after"], m["before"]
    return (a["VmHWM"] - a["RssFile"] - a["RssShmem"]) - (b["VmRSS"] - b["RssFile"] - b["RssShmem"])


def bench_memory(cl, work, sizes, results):
    out = {}
    for n in sizes:
        log("memory: %d steps" % n)
        wl = make_workload(cl, work, "mem%d" % n, "mem", n, setup_sql=MEM_TABLE)
        steps = gen.load_dir(os.path.join(wl["dir"], "migrations"))
        for contender in ("floor", "apm"):
            db = "mem_%s" % contender
            cl.reset_db(db, wl["tpl"])
            for direction in ("up", "down"):
                out[(n, contender, direction)] = mem_run(cl, db, contender, direction, steps)
            cl.drop_db(db)
        # the same graph, one step: what the call holds for the registered revisions
        db = "mem_one"
        cl.reset_db(db, wl["tpl"])
        cl.sql("SELECT ap_migrate_stamp('head-1'); CREATE TABLE mem (id int)", db=db)
        out[(n, "apm1", "up")] = mem_run(cl, db, "apm", "up", steps)
        cl.drop_db(db)
        cl.drop_db(wl["tpl"])
    results["memory"] = {"%d/%s/%s" % k: v for k, v in out.items()}
    MB = 1048576.0
    rows = []
    for (n, contender, direction), m in out.items():
        d = m["after"]["VmHWM"] - m["before"]["VmHWM"]
        rows.append(["{:,}".format(n), {"floor": "floor (the statements, one transaction)",
                                        "apm": "ap_migrate_%s" % ("upgrade('head')" if direction == "up"
                                                                  else "downgrade('base')"),
                                        "apm1": "ap_migrate_upgrade('head'), last step only"}[contender],
                     direction, fmt(m["seconds"]), "%.1f" % (m["before"]["VmHWM"] / MB),
                     "%.1f" % (m["after"]["VmHWM"] / MB), "%.1f" % (d / MB),
                     "%.1f" % ((m["after"]["RssShmem"] - m["before"]["RssShmem"]) / MB),
                     "%.1f" % (private_peak(m) / MB),
                     "%.1f" % (float(m["ctx_total"] or 0) / MB), m["ctx_top"]])
    notes = ["steps: COMMENT ON TABLE (cheap DDL); one backend per run; VmHWM = the backend's peak resident "
             "set (/proc/<pid>/status), which counts the shared buffers it touched (shmem +)",
             "private peak = VmHWM - RssFile - RssShmem after the run, less the same before it: a lower bound "
             "of the growth of the backend's own memory",
             "contexts = pg_backend_memory_contexts as the last step of the run saw them (the workload copies "
             "them into a table), largest three by name",
             "'last step only': the same database stamped at head-1, so the call loads the whole graph but runs "
             "one step: memory that follows the number of registered revisions, not of steps"]
    if len(sizes) >= 2:
        a, b = sizes[-2], sizes[-1]
        for c in ("floor", "apm"):
            for direction in ("up", "down"):
                notes.append("%s %s: private peak %s -> %s steps: +%.1f MB -> +%.1f MB (x%s)"
                             % (c, direction, "{:,}".format(a), "{:,}".format(b),
                                private_peak(out[(a, c, direction)]) / MB,
                                private_peak(out[(b, c, direction)]) / MB,
                                fmt(ratio(private_peak(out[(b, c, direction)]),
                                          private_peak(out[(a, c, direction)])))))
    table("Memory: the backend during one call (no numeric target; reported)",
          ["steps", "contender", "dir", "s", "VmHWM before MB", "VmHWM after MB", "VmHWM delta MB",
           "shmem + MB", "private peak MB", "contexts MB", "largest contexts (at the last step)"], rows, notes)


# ------------------------------------------------------------------ instructions

def single_script(steps, direction):
    """A script for postgres --single -j: one transaction, each statement
    ended by ';' and a blank line (W1/W2 steps are one statement each)."""
    seq = steps if direction == "up" else list(reversed(steps))
    out = ["BEGIN;\n\n"]
    for m in seq:
        sql = (m["upgrade"] if direction == "up" else m["downgrade"]).strip()
        assert "\n\n" not in sql and sql.endswith(";")
        out.append(sql + "\n\n")
    out.append("COMMIT;\n\n")
    return "".join(out)


CG_FUNCS = {"migration SQL (ProcessUtility)": ("ProcessUtility",),
            "bookkeeping (apm_catalog_record_steps)": ("apm_catalog_record_steps",),
            "fingerprint (apm_fingerprint_record)": ("apm_fingerprint_record",),
            "checksums": ("apm_checksum",),
            "SQL parsing (raw_parser)": ("raw_parser",)}


def callgrind_inclusive(path):
    """Inclusive instruction counts of a few functions of a callgrind file."""
    p = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", path],
                       capture_output=True, text=True)
    found = {}
    for line in p.stdout.splitlines():
        parts = line.split()
        if len(parts) < 2 or not parts[0].replace(",", "").isdigit():
            continue
        fn = line.split(":")[-1].split(" [")[0].split("'")[0].strip()
        for key, names in CG_FUNCS.items():
            if fn in names and key not in found:
                found[key] = int(parts[0].replace(",", ""))
    return found


def bench_instructions(cl, wls, results):
    """Server-side instruction counts (callgrind, deterministic, unlike any
    timing on a shared machine): the same upgrade/downgrade run by the floor
    (its statements in one transaction) and by ap_migrate, each in
    postgres --single on a copy of the template database, less a run of
    SELECT 1.  No client, no protocol: the floor's psql round trips are not
    counted, so this is the strictest comparison."""
    data = os.path.join(cl.work, "data")
    port, host = os.environ["PGPORT"], os.environ["PGHOST"]
    cgdir = os.path.join(cl.work, "callgrind")
    os.makedirs(cgdir, exist_ok=True)
    pg = os.path.join(subprocess.run(["pg_config", "--bindir"], capture_output=True,
                                     text=True).stdout.strip(), "postgres")
    cl.admin.close()
    cl.admin = None
    subprocess.run(["pg_ctl", "-D", data, "-w", "-m", "fast", "stop"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def single(db, script, cg=None):
        cmd = [pg, "--single", "-j", "-D", data, db]
        if cg:
            cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + cg] + cmd
        p = subprocess.run(cmd, input=script.encode(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if p.returncode != 0 or b"ERROR:" in p.stdout + p.stderr:
            raise RuntimeError("postgres --single failed: %s" % (p.stdout + p.stderr).decode()[-1500:])
        m = [l for l in p.stderr.decode().splitlines() if "Collected :" in l]
        return int(m[-1].split(":")[-1]) if m else None

    out, rows = {}, []
    try:
        for title, wl in wls:
            log("instructions: %s" % title)
            steps = gen.load_dir(os.path.join(wl["dir"], "migrations"))
            for contender in ("floor", "apm"):
                single("postgres", "DROP DATABASE IF EXISTS cg;\n\nCREATE DATABASE cg TEMPLATE %s;\n\n" % wl["tpl"])
                single("cg", "SELECT 1;\n\n")
                base = single("cg", "SELECT 1;\n\n", os.path.join(cgdir, "base.cg"))
                for direction in ("up", "down"):
                    script = (single_script(steps, direction) if contender == "floor" else
                              "SELECT ap_migrate_upgrade('head') IS NOT NULL;\n\n" if direction == "up" else
                              "SELECT ap_migrate_downgrade('base') IS NULL;\n\n")
                    f = os.path.join(cgdir, "%s_%s_%s.cg" % (wl["tpl"], contender, direction))
                    out[(title, contender, direction)] = (single("cg", script, f) - base,
                                                          callgrind_inclusive(f) if contender == "apm" else {})
            single("postgres", "DROP DATABASE IF EXISTS cg;\n\n")
    finally:
        subprocess.run(["pg_ctl", "-D", data, "-w", "-l", os.path.join(cl.work, "server.log"), "start",
                        "-o", "-p %s -k %s -c listen_addresses=''" % (port, host)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cl.connect_admin()
    results["instructions"] = {"%s/%s/%s" % k: v for k, v in out.items()}
    G = 1e6
    for title, wl in wls:
        n = wl["n"]
        for direction in ("up", "down"):
            f, _ = out[(title, "floor", direction)]
            a, parts = out[(title, "apm", direction)]
            mig = parts.get("migration SQL (ProcessUtility)", 0)
            cat = parts.get("bookkeeping (apm_catalog_record_steps)", 0)
            fpr = parts.get("fingerprint (apm_fingerprint_record)", 0)
            chk = parts.get("checksums", 0)
            rows.append([title, direction, "%.0f" % (f / G), "%.0f" % (a / G), fmt(a / f),
                         "%.0f" % ((a - f) / n / 1000), "%.0f" % (mig / G), "%.0f" % (cat / G),
                         "%.1f" % (fpr / G), "%.0f" % (chk / G), "%.0f" % ((a - mig - cat - fpr - chk) / G)])
    table("Instructions: server-side work of one call (callgrind, millions of instructions; deterministic)",
          ["workload", "dir", "floor", "ap_migrate", "ratio", "extra k/step", "its migration SQL",
           "its bookkeeping", "its fingerprint", "its checksums", "its rest"], rows,
          ["postgres --single on a copy of the template, less a SELECT 1 run; floor = the same statements in "
           "one transaction (no client, no protocol: what psql -1 -f adds is not counted)",
           "ap_migrate's columns are inclusive counts of ProcessUtility (the migration SQL), "
           "apm_catalog_record_steps (applied and history rows), apm_fingerprint_record (the schema fingerprint "
           "of the drift check, once per call) and apm_checksum; rest = library load, graph, plan, SPI parse, "
           "NOTICEs, GUC levels"])


# ------------------------------------------------------------------ profile

# (label, functions whose inclusive instructions it counts: the first found)
PROFILE_PARTS = [
    ("the step's statement (SPI_execute: parse, plan, run)", ("SPI_execute",)),
    ("  of which parsing it again (raw_parser - the split's)", ("raw_parser", "-apm_sql_split")),
    ("splitting the body (apm_sql_split: raw_parser)", ("apm_sql_split",)),
    ("statement roles (apm_sql_roles)", ("apm_sql_roles",)),
    ("checksum (apm_checksum)", ("apm_checksum",)),
    ("NOTICE 'running upgrade' (errfinish, to the server log)", ("errfinish",)),
    ("GUC nest level: NewGUCNestLevel + AtEOXact_GUC", ("NewGUCNestLevel", "AtEOXact_GUC")),
    ("  pinned step settings (apm_pin_step_settings)", ("apm_pin_step_settings",)),
    ("  kept settings (apm_kept_settings + restore)", ("apm_kept_settings", "apm_restore_kept_settings")),
    ("step bodies read (apm_catalog_fetch_steps)", ("apm_catalog_fetch_steps",)),
    ("bookkeeping rows (apm_catalog_record_steps)", ("apm_catalog_record_steps",)),
    ("  of which the rows (heap_insert)", ("heap_insert",)),
    ("  of which index entries (ExecInsertIndexTuples)", ("ExecInsertIndexTuples",)),
    ("per-step commit (SPI_commit)", ("SPI_commit",)),
    ("memory context resets (MemoryContextReset)", ("MemoryContextReset",)),
]


def callgrind_functions(path):
    """Inclusive instruction count of every function of a callgrind file,
    by name (the first, largest, entry of a name)."""
    p = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", path],
                       capture_output=True, text=True)
    found = {}
    for line in p.stdout.splitlines():
        parts = line.split()
        # "name (300x)" lines are call edges, not a function's total
        if len(parts) < 2 or not parts[0].replace(",", "").isdigit() or re.search(r"\(\d+x\)", line):
            continue
        fn = line.split(":")[-1].split(" [")[0].strip()
        if fn.endswith("'2"):  # a recursion level: counted in the outer one
            continue
        found.setdefault(fn, int(parts[0].replace(",", "")))
    return found


def bench_profile(cl, sizes, results):
    """Where ap_migrate's instructions go per step (callgrind; repeatable
    where wall time is not): steps of 'SELECT 1', so that what is left is
    ap_migrate's own cost, applied by the function and by the procedure in
    postgres --single at two sizes; per step = the difference / the
    difference of sizes, which cancels the fixed cost of a call (graph,
    plan, lock).  The floors run the same statements as psql would send
    them: in one transaction, and a transaction per step.  Also the
    library load: LOAD 'ap_migrate' against SELECT 1."""
    small, large = sizes
    for n in sizes:
        db = "prof_%d" % n
        cl.reset_db(db)
        cl.sql("CREATE EXTENSION ap_migrate", db=db)
        cl.sql("SET client_min_messages = warning; SELECT count(ap_migrate_add(lpad(to_hex(i), 12, '0'), "
               "CASE WHEN i = 1 THEN NULL ELSE ARRAY[lpad(to_hex(i - 1), 12, '0')] END, 'SELECT 1;', "
               "'SELECT 1;', 'revision ' || i)) FROM generate_series(1, %d) AS i" % n, db=db)
        cl.sql("VACUUM ANALYZE", db=db)
    data = os.path.join(cl.work, "data")
    port, host = os.environ["PGPORT"], os.environ["PGHOST"]
    cgdir = os.path.join(cl.work, "profile")
    os.makedirs(cgdir, exist_ok=True)
    pg = os.path.join(subprocess.run(["pg_config", "--bindir"], capture_output=True,
                                     text=True).stdout.strip(), "postgres")
    cl.admin.close()
    cl.admin = None
    subprocess.run(["pg_ctl", "-D", data, "-w", "-m", "fast", "stop"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def single(db, script, cg=None):
        cmd = [pg, "--single", "-j", "-D", data, "-c", "log_min_messages=notice", db]
        if cg:
            cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + cg] + cmd
        p = subprocess.run(cmd, input=script.encode(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if p.returncode != 0 or b"ERROR:" in p.stdout + p.stderr:
            raise RuntimeError("postgres --single failed: %s" % (p.stdout + p.stderr).decode()[-1500:])
        m = [l for l in p.stderr.decode().splitlines() if "Collected :" in l]
        return int(m[-1].split(":")[-1]) if m else None

    # postgres --single has no client: with log_min_messages = notice the
    # NOTICE of each step is formatted and written (to the log) as for a client
    scripts = {
        "function": lambda n: "SELECT ap_migrate_upgrade('head') IS NOT NULL;\n\n",
        "procedure": lambda n: "CALL ap_migrate_run('head');\n\n",
        "floor": lambda n: "BEGIN;\n\n" + "SELECT 1;\n\n" * n + "COMMIT;\n\n",
        "floor_step": lambda n: "BEGIN;\n\nSELECT 1;\n\nCOMMIT;\n\n" * n,
    }
    total, parts = {}, {}
    try:
        for n in sizes:
            for key, script in scripts.items():
                log("profile: %s, %d steps" % (key, n))
                single("postgres", "DROP DATABASE IF EXISTS prof;\n\nCREATE DATABASE prof TEMPLATE prof_%d;\n\n" % n)
                single("prof", "SELECT 1;\n\n")
                f = os.path.join(cgdir, "%s_%d.cg" % (key, n))
                total[(key, n)] = single("prof", script(n), f)
                if key in ("function", "procedure"):
                    parts[(key, n)] = callgrind_functions(f)
        base = single("prof", "SELECT 1;\n\n", os.path.join(cgdir, "base.cg"))
        load = single("prof", "LOAD 'ap_migrate';\n\n", os.path.join(cgdir, "load.cg"))
        load_parts = callgrind_functions(os.path.join(cgdir, "load.cg"))
        single("postgres", "DROP DATABASE IF EXISTS prof;\n\n")
    finally:
        subprocess.run(["pg_ctl", "-D", data, "-w", "-l", os.path.join(cl.work, "server.log"), "start",
                        "-o", "-p %s -k %s -c listen_addresses=''" % (port, host)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cl.connect_admin()
        for n in sizes:
            cl.drop_db("prof_%d" % n)
    d = float(large - small)
    per = lambda key: (total[(key, large)] - total[(key, small)]) / d

    def part(key, names):
        sign = lambda x: (-1, x[1:]) if x.startswith("-") else (1, x)
        return sum(s * (parts[(key, large)].get(x, 0) - parts[(key, small)].get(x, 0))
                   for s, x in map(sign, names)) / d

    rows = [["whole step (ap_migrate)", "%.0f" % (per("function") / 1e3), "%.0f" % (per("procedure") / 1e3)],
            ["floor: SELECT 1 in one transaction / BEGIN; SELECT 1; COMMIT", "%.0f" % (per("floor") / 1e3),
             "%.0f" % (per("floor_step") / 1e3)],
            ["ap_migrate's own cost per step (whole step - floor)",
             "%.0f" % ((per("function") - per("floor")) / 1e3),
             "%.0f" % ((per("procedure") - per("floor_step")) / 1e3)]]
    for label, names in PROFILE_PARTS:
        rows.append([label, "%.1f" % (part("function", names) / 1e3), "%.1f" % (part("procedure", names) / 1e3)])
    results["profile"] = {"total": {"%s/%d" % k: v for k, v in total.items()},
                          "parts": {"%s/%d" % k: {x.lstrip("-"): parts[k].get(x.lstrip("-")) for _, ns in PROFILE_PARTS
                                           for x in ns}
                                    for k in parts},
                          "load": load - base}
    table("Profile: instructions per step, thousands (callgrind, postgres --single, steps of SELECT 1, "
          "(N=%d - N=%d) / %d)" % (large, small, large - small),
          ["part", "function k/step", "procedure k/step"], rows,
          ["inclusive counts, so parts overlap (a part's callees are in it); the floor rows are psql's "
           "statements without psql: the client round trip a real floor pays per statement is not counted",
           "NOTICEs go to the server log in postgres --single (log_min_messages = notice); to a client each "
           "is also a flushed protocol message that psql reads and prints",
           "library load: LOAD 'ap_migrate' - SELECT 1 = %.2f M instructions (_PG_init, which defines the "
           "settings, %.2f M)" % ((load - base) / 1e6, load_parts.get("_PG_init", 0) / 1e6)])


# ------------------------------------------------------------------ diagnose

PGSS = """
SELECT CASE WHEN toplevel THEN 'top-level call'
            WHEN query LIKE '%%ap_migrate.%%' THEN 'ap_migrate catalog statements'
            ELSE 'migration SQL (nested)' END AS kind,
       sum(calls)::bigint, sum(plans)::bigint, sum(total_plan_time), sum(total_exec_time), count(*)
  FROM pg_stat_statements
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND query NOT LIKE '%%pg_stat_statements%%'
 GROUP BY 1 ORDER BY 1
"""

PGSS_TOP = """
SELECT calls, plans, round(total_plan_time::numeric, 1), round(total_exec_time::numeric, 1),
       regexp_replace(left(query, 90), '\\s+', ' ', 'g')
  FROM pg_stat_statements
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND NOT toplevel AND query LIKE '%%ap_migrate.%%'
 ORDER BY total_plan_time + total_exec_time DESC LIMIT 6
"""


BENCH_CONF = "bench.conf"


def restart_with_conf(cl, what, conf):
    """Restart the cluster with conf as the settings of the included file
    bench.conf (none: conf None), written before the restart: a module's
    settings are unknown to ALTER SYSTEM until it is loaded."""
    data = os.path.join(cl.work, "data")
    main = os.path.join(data, "postgresql.conf")
    with open(main) as f:
        if "include_if_exists = '%s'" % BENCH_CONF not in f.read():
            with open(main, "a") as g:
                g.write("\ninclude_if_exists = '%s'\n" % BENCH_CONF)
    with open(os.path.join(data, BENCH_CONF), "w") as f:
        if conf is not None:
            f.write("# bench/bench.py, %s\n%s" % (what, conf))
    cl.admin.close()
    cl.admin = None
    subprocess.run(["pg_ctl", "-D", data, "-w", "-m", "fast", "restart"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cl.connect_admin()


def restart_with_pgss(cl):
    restart_with_conf(cl, "diagnosis",
                      "shared_preload_libraries = 'pg_stat_statements'\n"
                      "pg_stat_statements.track = 'all'\n"
                      "pg_stat_statements.track_planning = on\n"
                      "pg_stat_statements.max = 20000\n")


def bench_diagnose(cl, wls, results):
    """Where the time of one upgrade/downgrade goes, with pg_stat_statements
    (track = all, track_planning = on): the floor's statements against
    ap_migrate's top-level call, its nested migration SQL and its catalog
    statements.  The rest of the call (parsing the migration SQL, checksums,
    NOTICEs, the graph and the plan) is what is left of the top-level time."""
    overhead_rows = []
    for n in [max(wl["n"] for _, wl in wls)]:
        log("diagnose: empty steps")
        wl = make_workload(cl, cl.work, "empty%d" % n, "noop", n)
        t = {}
        for _ in range(3):
            for key, up, down in (
                    ("floor", ["-1", "-f", os.path.join(wl["dir"], "up.sql")],
                     ["-1", "-f", os.path.join(wl["dir"], "down.sql")]),
                    ("apm", ["-c", "SELECT ap_migrate_upgrade('head')"],
                     ["-c", "SELECT ap_migrate_downgrade('base')"])):
                cl.reset_db("empty", wl["tpl"])
                cl.run(cl.psql("empty", "-c", "SELECT 1"))
                for direction, args in (("up", up), ("down", down)):
                    cl.checkpoint()
                    t.setdefault((key, direction), []).append(cl.run(cl.psql("empty", *args))[0])
        cl.drop_db("empty")
        cl.drop_db(wl["tpl"])
        extra = {}
        for direction in ("up", "down"):
            f, a = med(t[("floor", direction)]), med(t[("apm", direction)])
            extra[direction] = (a - f) / n
            overhead_rows.append(["%s 'SELECT 1' steps, %s" % ("{:,}".format(n), direction), fmt(f), fmt(a),
                                  "%.3f" % ((a - f) / n * 1000), "", ""])
        # what that overhead predicts for the workloads measured above
        for title, res in results.items():
            if not isinstance(res, dict) or "times" not in res or "floor" not in res.get("times", {}):
                continue
            for direction in ("up", "down"):
                f = med(res["times"]["floor"][direction])
                a = med(res["times"]["apm"][direction])
                if f:
                    overhead_rows.append(["%s, %s" % (" ".join(title.split(" ")[:2]), direction), fmt(f), fmt(a),
                                          "%.3f" % ((a - f) / res["n"] * 1000),
                                          "%.3f" % (f / res["n"] * 1000),
                                          fmt(1 + extra[direction] * res["n"] / f)])
        results["diagnose_empty"] = {"%s/%s" % k: v for k, v in t.items()}
    if overhead_rows:
        table("Diagnosis: ap_migrate's own cost per step, with steps that do nothing (median of 3)",
              ["workload", "floor psql -1 -f s", "ap_migrate s", "(ap_migrate - floor) ms/step",
               "floor ms/step", "predicted ratio"], overhead_rows,
              ["with SELECT 1 as the step, what is left is ap_migrate's own cost: read the step, checksum, "
               "NOTICE, GUC level, applied + history rows",
               "predicted ratio = 1 + that cost per step / the floor's time per step of the workload "
               "(medians of the tables above)"])

    restart_with_pgss(cl)
    out = {}
    rows, top_rows = [], []
    for title, wl in wls:
        for contender, up, down in (
                ("floor", ["-1", "-f", os.path.join(wl["dir"], "up.sql")],
                 ["-1", "-f", os.path.join(wl["dir"], "down.sql")]),
                ("apm", ["-c", "SELECT ap_migrate_upgrade('head')"],
                 ["-c", "SELECT ap_migrate_downgrade('base')"])):
            db = "diag"
            cl.reset_db(db, wl["tpl"])
            cl.sql("CREATE EXTENSION pg_stat_statements", db=db)
            cl.run(cl.psql(db, "-c", "SELECT 1"))
            for direction, args in (("up", up), ("down", down)):
                cl.checkpoint()
                cl.sql("SELECT pg_stat_statements_reset()", db=db)
                t, _, _ = cl.run(cl.psql(db, *args))
                stats = cl.sql(PGSS, db=db)
                out[(title, contender, direction)] = dict(wall=t, stats=stats)
                d = {k: (calls, plans, pt, et, nq) for k, calls, plans, pt, et, nq in stats}
                if contender == "floor":
                    top = d.get("top-level call", (0, 0, 0, 0, 0))
                    rows.append([title, direction, "floor psql -1 -f", fmt(t), "%d" % top[0],
                                 "%.0f" % top[3], "", "", "", ""])
                else:
                    top = d.get("top-level call", (0, 0, 0, 0, 0))
                    mig = d.get("migration SQL (nested)", (0, 0, 0, 0, 0))
                    cat = d.get("ap_migrate catalog statements", (0, 0, 0, 0, 0))
                    rows.append([title, direction, "ap_migrate", fmt(t), "%d" % top[0], "%.0f" % top[3],
                                 "%d" % mig[0], "%.0f" % mig[3],
                                 "%d calls / %d plans: plan %.0f + exec %.0f" % (cat[0], cat[1], cat[2], cat[3]),
                                 "%.0f" % (top[3] - mig[3] - cat[2] - cat[3])])
                    for row in cl.sql(PGSS_TOP, db=db):
                        top_rows.append([title, direction] + [str(x) for x in row])
            cl.drop_db(db)
    results["diagnose"] = {"%s/%s/%s" % k: v for k, v in out.items()}
    table("Diagnosis: where the time goes (pg_stat_statements, track = all, track_planning = on; ms)",
          ["workload", "dir", "contender", "wall s", "top-level calls", "top-level exec ms",
           "nested migration stmts", "their exec ms", "ap_migrate catalog statements (ms)",
           "rest of the call ms"], rows,
          ["floor: the top-level statements are the migration statements themselves (exec time; "
           "psql's round trips and parsing are the rest of the wall time)",
           "ap_migrate: rest of the call = top-level exec - nested migration exec - catalog plan+exec: "
           "parsing and analysing the migration SQL through SPI, checksums, NOTICEs, graph and plan",
           "measured after a restart with pg_stat_statements loaded, so not comparable with the tables above"])
    table("Diagnosis: the costliest ap_migrate catalog statements (ms)",
          ["workload", "dir", "calls", "plans", "plan ms", "exec ms", "statement"], top_rows)


# ------------------------------------------------------------------ main

def installed_fingerprint():
    """md5 of the installed ap_migrate.so and SQL scripts: someone else's
    'make install' during the run would show as a change."""
    import glob
    import hashlib
    libdir = subprocess.run(["pg_config", "--pkglibdir"], capture_output=True, text=True).stdout.strip()
    share = subprocess.run(["pg_config", "--sharedir"], capture_output=True, text=True).stdout.strip()
    parts = []
    scripts = sorted(glob.glob(os.path.join(share, "extension", "ap_migrate--*.sql")))
    for path in [os.path.join(libdir, "ap_migrate.so")] + scripts:
        try:
            with open(path, "rb") as f:
                parts.append("%s %s" % (os.path.basename(path), hashlib.md5(f.read()).hexdigest()[:12]))
        except OSError as e:
            parts.append("%s ?" % e.filename)
    return ", ".join(parts)


def machine_facts(cl, args):
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal"):
                mem = "%.1f GiB" % (int(line.split()[1]) / 1048576.0)
    import alembic
    import sqlalchemy
    facts = [
        ("date", time.strftime("%Y-%m-%d %H:%M:%S %Z")),
        ("nproc", str(os.cpu_count())),
        ("cpu", cpu),
        ("memory", mem),
        ("load average at start", " ".join("%.2f" % x for x in os.getloadavg())),
        ("kernel", platform.release()),
        ("postgresql", cl.sql("SELECT version()")[0][0]),
        ("ap_migrate", os.environ.get("APM_BENCH_REVISION", "?")),
        ("alembic / sqlalchemy / psycopg2", "%s / %s / %s" % (alembic.__version__, sqlalchemy.__version__,
                                                              psycopg2.__version__.split()[0])),
        ("python", platform.python_version()),
        ("mode", "quick" if args.quick else "full"),
        ("cluster storage", os.environ.get("APM_BENCH_STORAGE", "?")),
        ("installed extension", installed_fingerprint()),
        ("cluster settings", "throwaway initdb defaults (fsync = %s, synchronous_commit = %s), plus "
                             "autovacuum = off, max_wal_size = 8GB, checkpoint_timeout = 1h (an explicit "
                             "CHECKPOINT precedes every timed run)"
         % (cl.sql("SHOW fsync")[0][0], cl.sql("SHOW synchronous_commit")[0][0])),
    ]
    w = max(len(k) for k, _ in facts)
    print("ap_migrate benchmark")
    print("====================")
    for k, v in facts:
        print("%s  %s" % (k.ljust(w), v))
    sys.stdout.flush()
    return dict(facts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--repo", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--only", help="comma-separated sections: workloads, noop, libload, client, scale, "
                                   "memory, instructions, profile, diagnose (default: all; --quick leaves out "
                                   "instructions and profile)")
    ap.add_argument("--workloads", default="w1,w2,w3,w4,w5,nt",
                    help="comma-separated workloads of the workloads section: w1, w2, w3 (or files), w4, w5, "
                         "nt (non-transactional steps)")
    ap.add_argument("--contenders", default="floor,apm,apm_run,floor_step,alembic,apm_nofp,apm_run_nofp",
                    help="comma-separated contenders of the workloads section: floor, apm, apm_run, "
                         "floor_step, alembic, apm_nofp, apm_run_nofp (the function and the procedure with "
                         "ap_migrate.record_fingerprint = off)")
    ap.add_argument("--w1-sizes", help="comma-separated sizes of W1 (default 100,1000; quick 50)")
    ap.add_argument("--json")
    args = ap.parse_args()
    only = set((args.only or "workloads,noop,libload,client,scale,memory,diagnose"
                + ("" if args.quick else ",instructions,profile")).split(","))
    if args.quick:
        rounds = args.rounds or 2
        w1_sizes, w2_size = [50], 50
        noop_sizes, per_round = [100, 1000], 3
        scale_sizes, scale_reps, scale_timeout, op_timeout = [100, 1000], 3, 60, 30
        mem_sizes = [100, 1000]
        cg_size = 20
        w45_size, w45_rounds, libload_samples = 60, 2, 10
        nt_size = 5
        noop_dag_size = w45_size
        client_files, client_rounds = 1000, 2
        profile_sizes = (10, 30)
    else:
        rounds = args.rounds or 7
        w1_sizes, w2_size = [100, 1000], 1000
        noop_sizes, per_round = [1000, 10000], 10
        scale_sizes, scale_reps, scale_timeout, op_timeout = [1000, 10000, 100000], 7, 600, 120
        mem_sizes = [1000, 10000]
        cg_size = 300
        w45_size, w45_rounds, libload_samples = 350, min(rounds, 5), 40
        nt_size = 20
        noop_dag_size = 10000
        client_files, client_rounds = 10000, 5
        profile_sizes = (100, 300)

    if args.w1_sizes:
        w1_sizes = [int(x) for x in args.w1_sizes.split(",")]
    t_start = time.time()
    cl = Cluster(args.work)
    for s in ("autovacuum = off", "max_wal_size = '8GB'", "checkpoint_timeout = '1h'"):
        cl.sql("ALTER SYSTEM SET " + s)
    cl.sql("SELECT pg_reload_conf()")
    results = {"facts": machine_facts(cl, args)}

    probe = "probe"
    cl.reset_db(probe)
    cl.sql("CREATE EXTENSION ap_migrate", db=probe)
    run_hook = has_run_hook(cl, probe)
    cl.drop_db(probe)

    diag_wls = []
    if "workloads" in only or "diagnose" in only:
        all5 = ["floor", "apm", "apm_run", "floor_step", "alembic", "apm_nofp", "apm_run_nofp"]
        fn_pr = {"apm": 0.95, "apm_run": 1.0, "apm_nofp": 0.95, "apm_run_nofp": 1.0}
        specs = [("W1 N=%s CREATE TABLE" % "{:,}".format(n), "w1", n, fn_pr, all5)
                 for n in w1_sizes]
        specs.append(("W2 N=%s ALTER TABLE/index/constraint on one table" % "{:,}".format(w2_size),
                      "w2", w2_size, fn_pr, all5))
        specs.append(("W3 accounts-payable example (examples/ap_intake, ap_migrate_load)", "files",
                      os.path.join(args.repo, "examples", "ap_intake"), {"apm": 0.95, "apm_nofp": 0.95}, all5))
        # W4, W5: the procedure on the history as written (non-transactional
        # steps) against psql per file; the function and psql -1 on its
        # all-transactional twin (plain CREATE INDEX), in the same rounds
        specs.append(("W4 DAG of ~%d, merges of up to 7 parents, 4 heads, CREATE INDEX CONCURRENTLY" % w45_size,
                      "w4", w45_size, {"apm_run": 1.0, "apm_run_nofp": 1.0}, ["apm_run", "floor_step", "apm_run_nofp"]))
        specs.append(("W5 linear %d, %d non-transactional, ~%d empty or comment-only"
                      % (w45_size, len(set(int(w45_size * (k + 0.5) / 10) for k in range(10))), w45_size * 3 // 10),
                      "w5", w45_size, {"apm_run": 1.0, "apm_run_nofp": 1.0}, ["apm_run", "floor_step", "apm_run_nofp"]))
        specs.append(("NT %d non-transactional CREATE INDEX CONCURRENTLY steps" % nt_size,
                      "nt", nt_size, {}, ["apm_run", "floor_step"]))
        specs = [sp for sp in specs if (sp[1] if sp[1] != "files" else "w3") in args.workloads.split(",")
                 or sp[1] in args.workloads.split(",")]
        for title, kind, arg, targets, keys in specs:
            log("%s: generating" % title)
            key = "w3" if kind == "files" else "%s_%d" % (kind, arg)
            wl = make_workload(cl, args.work, key, kind, arg)
            chosen = args.contenders.split(",")
            wls = [(wl, [k for k in keys if k in chosen])]
            if kind in ("w4", "w5"):
                wls.append((make_workload(cl, args.work, key + "tx", kind + "tx", arg),
                            [k for k in ("floor", "apm", "apm_nofp") if k in chosen]))
            if "workloads" in only:
                res = bench_workload(cl, title, wls, w45_rounds if kind in ("w4", "w5") else rounds,
                                     run_hook, results, "heads" if kind == "w4" else "head")
                print_workload(title, res, w45_rounds if kind in ("w4", "w5") else rounds, targets,
                               "W3" if kind == "files" else "%s N=%s" % (kind.upper(), arg))
                if kind == "nt":
                    print_nontx("NT N=%d" % arg, res, arg)
            if (kind == "w1" and arg == max(w1_sizes)) or kind == "w2":
                diag_wls.append(("%s N=%s" % (kind.upper(), "{:,}".format(arg)), wl))
    if "noop" in only:
        bench_noop(cl, args.work, noop_sizes, rounds, per_round, run_hook, results, dag_size=noop_dag_size)
    if "libload" in only:
        bench_libload(cl, libload_samples, results)
    if "client" in only:
        bench_client(cl, args.work, client_files, 50, 8, client_rounds, results)
    if "scale" in only:
        bench_scale(cl, scale_sizes, scale_reps, scale_timeout, op_timeout, results)
    if "memory" in only:
        bench_memory(cl, args.work, mem_sizes, results)
    cg_wls = []
    if "instructions" in only:
        for kind in ("w1", "w2"):
            cg_wls.append(("%s N=%d" % (kind.upper(), cg_size),
                           make_workload(cl, args.work, "cg_%s_%d" % (kind, cg_size), kind, cg_size)))
    if "instructions" in only and cg_wls:
        if shutil.which("valgrind") and shutil.which("callgrind_annotate"):
            bench_instructions(cl, cg_wls, results)
        else:
            print("\nInstructions: skipped, valgrind is not installed")
    if "profile" in only:
        if shutil.which("valgrind") and shutil.which("callgrind_annotate"):
            bench_profile(cl, profile_sizes, results)
        else:
            print("\nProfile: skipped, valgrind is not installed")
    if "diagnose" in only and diag_wls:
        bench_diagnose(cl, diag_wls, results)
    if SUMMARY:
        table("Targets", ["result", "target", "measured"], [[v, w, m] for v, w, m in SUMMARY],
              ["%d of %d targets met" % (sum(v == "PASS" for v, _, _ in SUMMARY), len(SUMMARY))])
        results["targets"] = SUMMARY
    print("\ntotal benchmark time: %.0f s" % (time.time() - t_start))
    now = installed_fingerprint()
    if now != results["facts"]["installed extension"]:
        print("WARNING: the installed extension changed during the run (%s -> %s): someone ran make install;"
              " later sections may have measured another build" % (results["facts"]["installed extension"], now))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, default=str)


if __name__ == "__main__":
    main()
