#!/usr/bin/python3
"""Randomized fuzz test of every ap_migrate SQL function (RELIABILITY.md I, M7).

With a fixed seed and a fixed number of iterations, throws generated
arguments at ap_migrate_add, _load, _upgrade, _downgrade, _stamp, _plan,
_sql, _mark, _current, _heads, _branches, _history, _show, _validate and
_check, in a database where a small graph (a branch point, a merge, a
dependency, branch labels) is registered and which the fuzzer also upgrades,
downgrades and stamps.  Arguments are built from fragments: real ids, near
ids, prefixes, labels, head/heads/base/current, +N/-N, @, :, junk, unicode,
very long strings, quotes; SQL bodies: valid DDL, garbage, transaction
control, psql meta-commands, statements that cannot run in a transaction,
COPY, re-entrant calls, huge, empty; arrays with NULLs or two dimensions;
NULL for any argument.  A few calls run in a REPEATABLE READ or READ ONLY
transaction, and the id format setting is flipped now and then.

Every call runs in its own transaction (autocommit).  After each call the
fuzzer checks that the connection is alive and pg_postmaster_start_time()
has not changed (no crash, no restart).  An iteration fails when the server
crashed or the call raised XX000 (internal error), or a class 58, F0 or P0
error raised by ap_migrate's own code (told by the error's source file);
errors of migration SQL itself keep their SQLSTATE and are fine.  Every
SQLSTATE seen is counted.

Usage (libpq environment: PGHOST, PGPORT, PGUSER):

    /usr/bin/python3 test/fuzz.py [--iterations N] [--seed S] [--dbname DB]
        [--verbose] [--self-test]

The database is created when missing; the extension is dropped and created
again in it, with a schema "fuzz" for the objects migrations create.
--verbose prints every call and its outcome; --self-test only checks that
the harness notices an XX000 and a lost connection.  Failures are listed
with the iteration number and the call; `--seed S --iterations K` replays
the run up to iteration K.  The last line of output is "N passed, M failed"
(iterations); the exit status is 1 when M > 0.
"""

import argparse
import collections
import random
import re
import sys
import time

import psycopg2
import psycopg2.extensions

# files of src/ that raise errors (psycopg2's diag.source_file)
APM_SOURCES = {"ap_migrate.c", "catalog.c", "execute.c", "funcs.c", "graph.c", "offline.c",
               "register.c", "resolve.c", "script.c", "sqlcheck.c", "validate.c"}
SUSPECT_CLASSES = ("58", "F0", "P0")
REVISION_IN_ERROR = re.compile(r'revision "([^"]+)"')

# the graph every run starts from
#   f1 -> f2 -> f3 (label "fuzzb") -> f5 (merge of f3, f4) -> f6
#          \--> f4 (label "fuzzc", depends on f3) -/
BASE_GRAPH = [
    ("f00000000001", [], [], [], "base"),
    ("f00000000002", ["f00000000001"], [], [], "second"),
    ("f00000000003", ["f00000000002"], ["fuzzb"], [], "branch b"),
    ("f00000000004", ["f00000000002"], ["fuzzc"], ["f00000000003"], "branch c"),
    ("f00000000005", ["f00000000003", "f00000000004"], [], [], "merge"),
    ("f00000000006", ["f00000000005"], [], [], "after the merge"),
]

WORDS = ["head", "heads", "base", "current", "HEAD", "Base", "fuzzb", "fuzzc", "nolabel"]
JUNK = ["'", "\"", ";", "--", "/*", "*/", "$$", "$x$", "\\", "%s", "%I", "%n", "%999999999s", ":",
        "@", "+", "-", "..", ".", "_", " ", "\t", "\n", "\r\n", "é", "e\u0301", "\u202e", "日本",
        "\U0001F600", "\ufeff", "x'); DROP TABLE fuzz.victim; --", "0x", "1e9", "NaN", "null"]
NUMBERS = ["0", "1", "2", "3", "10", "-0", "00", "007", "1.5", "99999999999", "2147483647",
           "2147483648", "-2147483648", "9223372036854775807", "99999999999999999999999", "1e3"]
OWNERS = [None, "-", "pg_monitor", "pg_read_all_data", "pg_database_owner", "nosuchrole_fuzz",
          "public", "PG_MONITOR", '"pg_monitor"', "1", "0"]


class Gen:
    """Argument generators over one random stream."""

    def __init__(self, rng):
        self.rng = rng
        self.known = [r[0] for r in BASE_GRAPH]     # ids registered so far (by us)
        self.labels = ["fuzzb", "fuzzc"]
        self.checksums = {}
        self.markable = []      # (operation, revision) that fit the applied state
        self.serial = 0

    def pick(self, seq):
        return self.rng.choice(seq)

    def chance(self, p):
        return self.rng.random() < p

    def hexid(self):
        return "".join(self.pick("0123456789abcdef") for _ in range(12))

    def long_string(self):
        return self.pick(["x", "ab", "é", "0", "'"]) * self.pick([64, 127, 128, 129, 1000, 100000])

    def near_id(self):
        base = self.pick(self.known)
        kind = self.rng.randrange(9)
        if kind == 0:
            return base[:-1]
        if kind == 1:
            return base + self.pick("0af")
        if kind == 2:
            return base.upper()
        if kind == 3:
            return " " + base
        if kind == 4:
            return base + "\n"
        if kind == 5:
            return base[: self.rng.randrange(1, max(2, len(base)))]       # a prefix
        if kind == 6:
            return base.replace(base[self.rng.randrange(len(base))], self.pick("gz.G_"), 1)
        if kind == 7:
            return base + self.pick(JUNK)
        return self.pick(JUNK) + base

    def revision_id(self):
        r = self.rng.random()
        if r < 0.35:
            return self.hexid()
        if r < 0.55:
            return self.pick(self.known)
        if r < 0.70:
            return self.near_id()
        if r < 0.78:
            return "fz_" + "".join(self.pick("abcXYZ019_.") for _ in range(self.rng.randrange(1, 20)))
        if r < 0.84:
            return self.pick(WORDS + [""])
        if r < 0.90:
            return self.long_string()
        if r < 0.95:
            return self.pick(JUNK)
        return None

    def id_array(self):
        r = self.rng.random()
        if r < 0.15:
            return None
        if r < 0.25:
            return []
        if r < 0.70:
            return self.rng.sample(self.known, min(len(self.known), self.rng.randrange(1, 3)))
        if r < 0.80:
            return [self.pick(self.known), None]
        if r < 0.85:
            return [[self.pick(self.known), self.pick(self.known)]]     # two dimensions
        if r < 0.90:
            p = self.pick(self.known)
            return [p, p]
        return [self.revision_id() for _ in range(self.rng.randrange(1, 4))]

    def label_array(self):
        r = self.rng.random()
        if r < 0.5:
            return None if self.chance(0.3) else []
        if r < 0.8:
            return ["fz" + "".join(self.pick("abcdef0123_.") for _ in range(self.rng.randrange(1, 8)))]
        if r < 0.9:
            return [self.pick(self.labels + WORDS + self.known)]
        return [self.pick(JUNK + [None, ""])]

    def target(self):
        if self.chance(0.45):
            return self.pick([
                "head", "heads", "base", self.pick(self.known), self.pick(self.known)[:6],
                "+1", "-1", "+2", "-2", self.pick(self.labels) + "@head", self.pick(self.labels) + "@base",
                self.pick(self.labels) + "@-1", self.pick(self.labels) + "@+1", self.pick(self.labels),
                self.pick(self.known) + "+1", self.pick(self.known) + "-1", "head-1", "base+1",
                "heads-1", "current"])
        frags = []
        for _ in range(self.rng.randrange(1, 4)):
            r = self.rng.random()
            if r < 0.25:
                frags.append(self.pick(WORDS))
            elif r < 0.45:
                frags.append(self.pick(self.known))
            elif r < 0.55:
                frags.append(self.near_id())
            elif r < 0.75:
                frags.append(self.pick(["+", "-"]) + self.pick(NUMBERS))
            elif r < 0.82:
                frags.append("@")
            elif r < 0.87:
                frags.append(":")
            elif r < 0.95:
                frags.append(self.pick(JUNK))
            else:
                frags.append(self.long_string())
        t = "".join(frags)
        r = self.rng.random()
        if r < 0.04:
            return None
        if r < 0.07:
            return ""
        return t

    def range_arg(self):
        if self.chance(0.2):
            return None
        a = "" if self.chance(0.3) else self.target() or ""
        b = "" if self.chance(0.3) else self.target() or ""
        return self.pick([a + ":" + b, a, ":" + b, a + ":", "::", a + "::" + b])

    def table(self):
        self.serial += 1
        return "fuzz.t%d" % self.serial

    def sql_pair(self):
        """(upgrade, downgrade) SQL."""
        t = self.table()
        r = self.rng.random()
        if r < 0.35:
            return ("CREATE TABLE %s (id int);\nINSERT INTO %s VALUES (1);" % (t, t),
                    None if self.chance(0.1) else "DROP TABLE %s;" % t)
        if r < 0.45:
            return ("", "")
        return (self.sql_body(), None if self.chance(0.3) else self.sql_body())

    def sql_body(self):
        kind = self.rng.randrange(24)
        t = self.table()
        bodies = [
            lambda: "CREATE TABLE %s (id int)" % t,
            lambda: "CREATE TABLE IF NOT EXISTS fuzz.shared (id int); INSERT INTO fuzz.shared VALUES (1)",
            lambda: "ALTER TABLE fuzz.shared ADD COLUMN IF NOT EXISTS c%d text" % self.serial,
            lambda: "".join(self.pick(JUNK + ["SELECT", "FROM", "(", ")", "1", ",", "WHERE", "x"])
                            for _ in range(self.rng.randrange(1, 30))),
            lambda: self.pick(["BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT s", "RELEASE s",
                               "ROLLBACK TO s", "PREPARE TRANSACTION 'fz'", "COMMIT PREPARED 'fz'",
                               "START TRANSACTION", "END", "ABORT", "SET TRANSACTION READ ONLY",
                               "SET TRANSACTION SNAPSHOT '00000003-1'", "CHECKPOINT"]),
            lambda: self.pick(["\\i /etc/passwd", "SELECT 1 \\gset", "\\set x 1", "\\! true",
                               "SELECT 1;\n\\c postgres", "\\"]),
            lambda: self.pick(["VACUUM", "VACUUM fuzz.shared", "CREATE INDEX CONCURRENTLY fzi ON fuzz.shared (id)",
                               "CREATE DATABASE fz_never", "ALTER SYSTEM SET work_mem = '1MB'",
                               "DISCARD ALL", "CLUSTER", "REINDEX DATABASE CONCURRENTLY x",
                               "DROP DATABASE IF EXISTS fz_never", "CREATE TABLESPACE fz LOCATION '/nonexistent'"]),
            lambda: self.pick(["COPY fuzz.shared FROM STDIN", "COPY fuzz.shared TO STDOUT",
                               "COPY (SELECT 1) TO STDOUT", "COPY fuzz.shared FROM '/nonexistent/file'"]),
            lambda: self.pick(["SELECT ap_migrate_upgrade('head')", "SELECT ap_migrate_downgrade('base')",
                               "SELECT ap_migrate_add('abcdefabcdef', NULL, '', NULL)",
                               "DO $$ BEGIN PERFORM ap_migrate_stamp('base'); END $$",
                               "SELECT * FROM ap_migrate_current()", "SELECT ap_migrate_check()",
                               "SELECT ap_migrate_mark('upgrade', 'f00000000001', 'x')",
                               "SELECT ap_migrate_load('-- revision: abcdefabcdef')"]),
            lambda: self.pick(["SET search_path = nowhere", "SET ROLE pg_monitor", "RESET ALL",
                               "SET SESSION AUTHORIZATION DEFAULT", "SELECT set_config('search_path', 'x', false)",
                               "SET LOCAL statement_timeout = 1", "SET ap_migrate.revision_id_format = relaxed",
                               "SET ap_migrate.allow_superuser_migrations = on"]),
            lambda: "SELECT 1/0",
            lambda: "SELECT " + "(" * self.pick([10, 1000, 10000]) + "1" + ")" * self.pick([10, 1000, 10000]),
            lambda: "SELECT 1" + " + 1" * self.pick([10, 1000, 50000]),
            lambda: "SELECT 1;" * self.pick([1, 100, 5000]),
            lambda: "INSERT INTO fuzz.blob VALUES ('" + "x" * self.pick([1000, 100000, 1000000]) + "')",
            lambda: self.pick(["", " ", "\n\t", "-- only a comment", "/* c */", "/* unterminated",
                               "'unterminated", "$$unterminated", "$a$ x $b$", ";", ";;;"]),
            lambda: "CREATE TEMP TABLE fztmp (id int)",
            lambda: "PREPARE fzp AS SELECT 1",
            lambda: "DECLARE c CURSOR WITH HOLD FOR SELECT 1",
            lambda: "LOCK TABLE ap_migrate.history IN ACCESS EXCLUSIVE MODE",
            lambda: self.pick(["DROP EXTENSION ap_migrate", "DROP SCHEMA ap_migrate CASCADE",
                               "DELETE FROM ap_migrate.applied", "TRUNCATE ap_migrate.revision CASCADE",
                               "UPDATE ap_migrate.revision SET upgrade_sql = 'SELECT 2'"]),
            lambda: "ALTER TYPE fuzz.mood ADD VALUE IF NOT EXISTS 'v%d'" % self.serial,
            lambda: "DO $$ BEGIN RAISE NOTICE 'fz %', 1; END $$",
            lambda: "CREATE FUNCTION fuzz.f%d() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END" % self.serial,
        ]
        body = bodies[kind]()
        if self.chance(0.15):
            body = body + ";\n" + self.sql_body()
        return body

    def script(self):
        """Text for ap_migrate_load: half well-formed, half damaged."""
        up, down = self.sql_pair()
        if self.chance(0.5):
            parents = self.rng.sample(self.known, min(len(self.known), self.rng.randrange(0, 3)))
            text = "-- revision: %s\n-- down_revision: %s\n-- message: loaded\n" % (
                self.hexid(), self.pick([" ".join(parents), ", ".join(parents)]))
            if self.chance(0.2):
                text += "-- branch_labels: fzl%d\n" % self.serial
            if self.chance(0.2):
                text += "-- depends_on: %s\n" % self.pick(self.known)
            if self.chance(0.2):
                text += "-- transactional: %s\n" % self.pick(["true", "false"])
            text += "\n-- +upgrade\n%s\n" % up
            if down is not None:
                text += "\n-- +downgrade\n%s\n" % down
            return text
        rid = self.revision_id() or ""
        lines = []
        keys = [("revision", rid),
                ("down_revision", " ".join(self.rng.sample(self.known, min(2, self.rng.randrange(0, 3))))),
                ("message", self.pick(["m", "", "x'); --", "%s%n", "é", "a\rb"])),
                ("branch_labels", self.pick(["", "fzl%d" % self.serial, "a, b", "head", "'"])),
                ("depends_on", self.pick(["", self.pick(self.known), "nosuch"])),
                ("transactional", self.pick(["true", "false", "yes", "maybe", ""])),
                (self.pick(["down_revison", "Revision", "revision ", "x"]), "1")]
        for k, v in keys:
            if self.chance(0.85 if k in ("revision", "down_revision") else 0.3):
                lines.append("-- %s: %s" % (k, v))
            if self.chance(0.05):
                lines.append("-- %s: %s" % (k, v))      # duplicate
        if self.chance(0.1):
            lines.append("SELECT 'sql in the header'")
        if self.chance(0.1):
            self.rng.shuffle(lines)
        if self.chance(0.9):
            lines.append("-- +upgrade")
        lines.append(up)
        if down is not None and self.chance(0.8):
            lines.append(self.pick(["-- +downgrade", "--+downgrade", "-- +downgrade extra"]))
            lines.append(down)
        if self.chance(0.05):
            lines.insert(0, "-- +downgrade")
        sep = self.pick(["\n"] * 8 + ["\r\n", "\r"])
        if self.chance(0.03):
            return None
        return sep.join(lines)

    def owner(self):
        return self.pick(OWNERS) if self.chance(0.3) else None

    def checksum(self, rev):
        if rev in self.checksums and self.chance(0.7):
            return self.checksums[rev]
        return self.pick([None, "", "x", "0" * 64, "x'); DROP TABLE fuzz.victim; --", self.long_string()])


def call(gen):
    """One random call: (description, sql, params)."""
    rng = gen.rng
    fn = rng.choices(
        ["add", "load", "upgrade", "downgrade", "stamp", "plan", "sql", "mark", "current", "heads",
         "branches", "history", "show", "validate", "check"],
        weights=[20, 9, 15, 12, 5, 7, 5, 4, 3, 3, 2, 5, 5, 3, 2])[0]
    if fn == "add":
        up, down = gen.sql_pair()
        rid = gen.revision_id()
        args = [rid, gen.id_array(), up if not gen.chance(0.03) else None, down,
                gen.pick(["", "msg", None, "x'); --", "%s%n%I", "é", "a\nb", "\\"] + [gen.long_string()]),
                gen.label_array(), gen.id_array() if gen.chance(0.3) else [],
                gen.pick([True, True, True, False, None]), gen.owner()]
        # usually the defaults for the trailing arguments
        n = rng.choice([4, 5, 6, 7, 8, 9, 9])
        return fn, "SELECT ap_migrate_add(%s)" % ", ".join(
            ["%s::text", "%s::text[]", "%s::text", "%s::text", "%s::text", "%s::text[]", "%s::text[]",
             "%s::boolean", "%s::regrole"][:n]), args[:n]
    if fn == "load":
        args = [gen.script()]
        if gen.chance(0.2):
            return fn, "SELECT ap_migrate_load(%s, %s::regrole)", args + [gen.owner()]
        return fn, "SELECT ap_migrate_load(%s)", args
    if fn in ("upgrade", "downgrade", "stamp", "sql"):
        if fn == "upgrade" and gen.chance(0.1):
            return fn, "SELECT ap_migrate_upgrade()", []
        return fn, "SELECT ap_migrate_%s(%%s)" % fn, [gen.target()]
    if fn == "plan":
        return fn, "SELECT * FROM ap_migrate_plan(%s)", [gen.target()]
    if fn == "show":
        return fn, "SELECT * FROM ap_migrate_show(%s)", [gen.target()]
    if fn == "history":
        if gen.chance(0.2):
            return fn, "SELECT * FROM ap_migrate_history()", []
        return fn, "SELECT * FROM ap_migrate_history(%s)", [gen.range_arg()]
    if fn == "mark":
        if gen.markable and gen.chance(0.5):
            op, rev = gen.pick(gen.markable)
            return fn, "SELECT ap_migrate_mark(%s, %s, %s)", [op, rev, gen.checksums.get(rev)]
        rev = gen.pick(gen.known) if gen.chance(0.7) else gen.revision_id()
        op = gen.pick(["upgrade", "downgrade", "upgrade", "downgrade", "stamp", "", None, "UPGRADE"])
        return fn, "SELECT ap_migrate_mark(%s, %s, %s)", [op, rev, gen.checksum(rev)]
    return fn, "SELECT * FROM ap_migrate_%s()" % fn, []


class Server:
    def __init__(self, dbname):
        self.dbname = dbname
        self.conn = None
        self.start_time = None

    def connect(self):
        self.conn = psycopg2.connect(dbname=self.dbname)
        self.conn.autocommit = True
        self.conn.notices = collections.deque(maxlen=20)
        cur = self.conn.cursor()
        cur.execute("SET statement_timeout = '20s'; SET lock_timeout = '10s'; SET client_min_messages = warning")
        try:
            # the failing statements are huge and many: keep them out of the server log
            cur.execute("SET log_min_error_statement = panic")
        except psycopg2.Error:
            pass
        cur.execute("SELECT pg_postmaster_start_time()")
        return cur.fetchone()[0]

    def ensure_database(self):
        try:
            psycopg2.connect(dbname=self.dbname).close()
        except psycopg2.OperationalError:
            admin = psycopg2.connect(dbname="postgres")
            admin.autocommit = True
            admin.cursor().execute("CREATE DATABASE %s" % psycopg2.extensions.quote_ident(self.dbname, admin))
            admin.close()

    def setup(self, gen):
        self.start_time = self.connect()
        cur = self.conn.cursor()
        cur.execute("DROP EXTENSION IF EXISTS ap_migrate")
        cur.execute("DROP SCHEMA IF EXISTS fuzz CASCADE")
        cur.execute("CREATE EXTENSION ap_migrate")
        cur.execute("CREATE SCHEMA fuzz")
        cur.execute("CREATE TABLE fuzz.victim (id int); CREATE TABLE fuzz.blob (v text);"
                    "CREATE TYPE fuzz.mood AS ENUM ('a')")
        for rid, parents, labels, deps, msg in BASE_GRAPH:
            t = "fuzz.base_" + rid
            cur.execute("SELECT ap_migrate_add(%s, %s::text[], %s, %s, %s, %s::text[], %s::text[])",
                        [rid, parents, "CREATE TABLE %s (id int)" % t, "DROP TABLE %s" % t, msg, labels, deps])
        cur.execute("SELECT ap_migrate_upgrade('fuzzb@head')")
        self.refresh_checksums(gen)

    def refresh_checksums(self, gen):
        cur = self.conn.cursor()
        cur.execute("SELECT id, checksum FROM ap_migrate.revision")
        rows = cur.fetchall()
        gen.checksums = dict(rows)
        gen.known = sorted(set(gen.known) | set(gen.checksums)) or gen.known
        # what an offline script would record next: the first step up, or a
        # current revision down
        gen.markable = []
        for op, q in (("upgrade", "SELECT revision FROM ap_migrate_plan('heads') WHERE step = 1"),
                      ("downgrade", "SELECT revision FROM ap_migrate_current()")):
            try:
                cur.execute(q)
                gen.markable += [(op, r[0]) for r in cur.fetchall()]
            except psycopg2.Error:
                pass
        gen.markable.sort()

    def heal(self, gen, error):
        """Keep the graph usable, so that later calls reach past the graph
        checks: register missing parents as empty bases, neutralize a pending
        revision that made an upgrade fail, merge the heads now and then.
        Errors here are ignored (crashes are still caught by alive())."""
        cur = self.conn.cursor()
        stmts = []
        try:
            if error is not None and gen.chance(0.8):
                m = REVISION_IN_ERROR.search(error)
                if m:
                    stmts.append(("SELECT ap_migrate_add(r.id, r.down_revision, '', '', r.message, r.branch_labels,"
                                  " r.depends_on) FROM ap_migrate.revision r"
                                  " WHERE r.id = %s AND r.id NOT IN (SELECT revision FROM ap_migrate.applied)",
                                  [m.group(1)]))
            if gen.chance(0.8):
                stmts.append(("SELECT ap_migrate_add(t, NULL, '', '', 'healed') FROM"
                              " (SELECT DISTINCT target AS t FROM ap_migrate.revision_edge e"
                              "   WHERE kind <> 'label'"
                              "     AND NOT EXISTS (SELECT FROM ap_migrate.revision r WHERE r.id = e.target)) m", []))
            if gen.chance(0.08):
                stmts.append(("SELECT ap_migrate_add(%s, (SELECT array_agg(revision) FROM ap_migrate_heads()),"
                              " '', '', 'merge heads')"
                              " WHERE (SELECT count(*) FROM ap_migrate_heads()) BETWEEN 2 AND 12", [gen.hexid()]))
            for sql, params in stmts:
                cur.execute("BEGIN")
                cur.execute("SET LOCAL ap_migrate.revision_id_format = relaxed")
                try:
                    cur.execute(sql, params)
                    cur.execute("COMMIT")
                except psycopg2.Error:
                    cur.execute("ROLLBACK")
        except psycopg2.Error:
            pass

    def alive(self):
        """(ok, detail): the connection answers and the postmaster did not restart."""
        try:
            cur = self.conn.cursor()
            cur.execute("SELECT pg_postmaster_start_time()")
            st = cur.fetchone()[0]
        except psycopg2.Error as e:
            detail = "connection lost: %s" % str(e).strip()
            # wait for the server to come back (crash recovery), then reconnect
            for _ in range(60):
                time.sleep(1)
                try:
                    st = self.connect()
                    break
                except psycopg2.Error:
                    continue
            else:
                raise SystemExit("fuzz: the server did not come back: %s" % detail)
            self.start_time = st
            return False, detail
        if st != self.start_time:
            self.start_time = st
            return False, "the postmaster restarted"
        return True, None


def run_call(srv, sql, params, prefix=(), wrap=None):
    """Run one call in its own transaction; (outcome, failure or None, error text)."""
    cur = srv.conn.cursor()
    outcome = "ok"
    bad = None
    errtext = None
    try:
        for p in prefix:
            cur.execute(p)
        if wrap:
            cur.execute(wrap)
        cur.execute(sql, params)
        if cur.description is not None:
            cur.fetchall()
    except psycopg2.Error as e:
        outcome = e.pgcode or "no-sqlstate"
        src = getattr(e.diag, "source_file", None) if e.diag else None
        errtext = "%s\n%s" % (e.diag.message_primary or "", e.diag.context or "")
        if outcome == "XX000":
            bad = "XX000 (%s): %s" % (src, (e.pgerror or str(e)).strip())
        elif outcome[:2] in SUSPECT_CLASSES and src in APM_SOURCES:
            bad = "%s from %s: %s" % (outcome, src, (e.pgerror or str(e)).strip())
    except (ValueError, TypeError):
        outcome = "client-refused"      # e.g. a NUL character psycopg2 will not send
    finally:
        if wrap:
            try:
                srv.conn.cursor().execute("ROLLBACK")
            except psycopg2.Error:
                pass
    ok, detail = srv.alive()
    if not ok:
        bad = "crash: %s" % detail
        outcome = "crash"
    return outcome, bad, errtext


def self_test(srv):
    """The checks catch what they are meant to: an XX000 and a lost backend."""
    probes = [("DO $$ BEGIN RAISE EXCEPTION 'fuzz probe' USING ERRCODE = 'XX000'; END $$", "XX000"),
              ("SELECT pg_terminate_backend(pg_backend_pid())", "crash")]
    ok = True
    for sql, expected in probes:
        outcome, bad, _ = run_call(srv, sql, [])
        print("self-test: %-60s -> %s, %s" % (sql, outcome, "detected" if bad else "NOT detected"))
        ok = ok and bad is not None and outcome == expected
    return ok


def short(v, n=160):
    s = repr(v)
    return s if len(s) <= n else s[:n] + "...(%d chars)" % len(s)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--iterations", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=20260)
    ap.add_argument("--dbname", default="ap_migrate_fuzz")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--self-test", action="store_true",
                    help="only check that an XX000 and a lost connection are detected")
    opts = ap.parse_args()

    rng = random.Random(opts.seed)
    gen = Gen(rng)
    srv = Server(opts.dbname)
    try:
        srv.ensure_database()
        srv.setup(gen)
    except psycopg2.Error as e:
        print("fuzz: cannot set up database %r: %s" % (opts.dbname, str(e).strip()))
        print("0 passed, 1 failed")
        return 1

    if opts.self_test:
        ok = self_test(srv)
        print("%d passed, %d failed" % (1 if ok else 0, 0 if ok else 1))
        return 0 if ok else 1

    histogram = collections.Counter()
    per_function = collections.defaultdict(collections.Counter)
    failures = []
    passed = 0
    started = time.time()

    for i in range(1, opts.iterations + 1):
        prefix = []
        # settings and transaction modes now and then
        if gen.chance(0.04):
            prefix.append("SET ap_migrate.revision_id_format = %s" % gen.pick(["relaxed", "hex12", "'hex12'"]))
        wrap = None
        if gen.chance(0.03):
            wrap = gen.pick(["BEGIN ISOLATION LEVEL REPEATABLE READ", "BEGIN ISOLATION LEVEL SERIALIZABLE",
                             "BEGIN READ ONLY"])
        fn, sql, params = call(gen)
        outcome, bad, errtext = run_call(srv, sql, params, prefix, wrap)
        histogram[outcome] += 1
        per_function[fn][outcome] += 1
        if bad:
            failures.append((i, fn, sql, params, bad))
        else:
            passed += 1
        if opts.verbose:
            print("%5d %-9s %-6s %s %s%s" % (i, fn, outcome, sql, short(params),
                                           "\n      -> " + errtext.strip().replace("\n", " | ") if errtext else ""))
        if outcome != "crash":
            srv.heal(gen, errtext if fn in ("upgrade", "downgrade", "stamp", "sql", "plan") else None)
        if fn in ("add", "load", "upgrade", "downgrade", "stamp", "mark") and outcome == "ok" or i % 100 == 0:
            try:
                srv.refresh_checksums(gen)
            except psycopg2.Error:
                pass

    elapsed = time.time() - started
    cur = srv.conn.cursor()
    cur.execute("SELECT (SELECT count(*) FROM ap_migrate.revision), (SELECT count(*) FROM ap_migrate.applied),"
                " (SELECT count(*) FROM ap_migrate.history), to_regclass('fuzz.victim') IS NOT NULL")
    nrev, napplied, nhist, victim = cur.fetchone()
    print("fuzz: seed %d, %d iterations in %.1f s against database %r"
          % (opts.seed, opts.iterations, elapsed, opts.dbname))
    print("catalog at the end: %d revisions, %d applied, %d history rows; fuzz.victim %s"
          % (nrev, napplied, nhist, "intact" if victim else "GONE"))
    print("SQLSTATE histogram (all calls):")
    for state, n in sorted(histogram.items(), key=lambda kv: (-kv[1], kv[0])):
        print("  %-14s %6d" % (state, n))
    print("per function:")
    for fn in sorted(per_function):
        c = per_function[fn]
        print("  %-9s %s" % (fn, ", ".join("%s %d" % kv for kv in sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))))
    for i, fn, sql, params, why in failures[:30]:
        print("FAIL iteration %d: %s %s %s\n     %s" % (i, fn, sql, short(params, 300), why))
    if len(failures) > 30:
        print("... and %d more failures" % (len(failures) - 30))
    nfailed = len(failures)
    print("%d passed, %d failed" % (passed, nfailed))
    return 1 if nfailed else 0


if __name__ == "__main__":
    sys.exit(main())
