#!/usr/bin/python3
"""Deterministic workload generator for bench/run.sh.

A workload is a directory of migration files in ap_migrate's format
(docs/migration-files.md).  From it, build() writes everything each
contender needs to run *the same SQL*:

  up.sql, down.sql          the floor: every step's SQL, for psql -1 -f
  up_steps.sql, down_steps.sql
                            the floor with one transaction per step
                            (BEGIN; <step>; COMMIT; for psql -f), and
                            autocommit for a non-transactional step
  register.sql              ap_migrate registration (setup, timed apart):
                            one ap_migrate_load() per file
  alembic/                  a real Alembic script directory: alembic.ini,
                            env.py (plain SQLAlchemy engine, psycopg2, unix
                            socket from PGHOST/PGPORT, database from
                            PGDATABASE) and versions/*.py whose upgrade() and
                            downgrade() op.execute() the same SQL
  steps.json                ids and order, for the driver

Generators (all deterministic: ids are derived from a hash of the workload
name and the step number, as random-looking as Alembic's):

  w1 N     N x CREATE TABLE (a table with a primary key, a NOT NULL column
           and a default), downgrade DROP TABLE
  w2 N     N small steps on one table: ADD COLUMN, CREATE INDEX,
           ADD CONSTRAINT CHECK, SET DEFAULT, in turn
  noop N   N steps of "SELECT 1" (the no-op deploy databases)
  w4 N     a DAG shaped like a real history (N ~ 350): fan-outs of 2-7
           branches merged again (merges of up to 7 parents), 4 heads at
           the end, multi-statement bodies, PL/pgSQL functions, DO blocks,
           and about every 12th step a non-transactional CREATE INDEX
           CONCURRENTLY (-- transactional: false)
  w5 N     a linear history (N ~ 350): 10 non-transactional steps, about
           3/10 of the bodies empty or comment-only, the rest as in w4
  nt N     a table with rows, then N non-transactional steps, each a
           CREATE INDEX CONCURRENTLY on it (downgrade DROP INDEX
           CONCURRENTLY): what a non-transactional step costs over its
           statements
  w4tx N, w5tx N
           the same histories with CREATE INDEX / DROP INDEX instead of the
           CONCURRENTLY forms, all transactional: what the function
           (ap_migrate_upgrade) and psql -1 can run
  mem N    N steps of COMMENT ON TABLE (cheap DDL, for the memory check)
  files D  the migration files of directory D (the ap_intake example)

Usage: gen.py KIND N|DIR OUTDIR
"""
import hashlib
import json
import os
import re
import shutil
import sys

HEADER_RE = re.compile(r"^--\s*([a-z_]+):\s*(.*?)\s*$")


def rev_id(workload, i):
    return hashlib.sha256(("%s/%d" % (workload, i)).encode()).hexdigest()[:12]


# ---------------------------------------------------------------- generators

def gen_w1(n):
    name = "w1-%d" % n
    steps = []
    for i in range(1, n + 1):
        steps.append((
            "create table t%05d" % i,
            "CREATE TABLE t%05d (\n"
            "    id bigint PRIMARY KEY,\n"
            "    name text NOT NULL,\n"
            "    created_at timestamptz NOT NULL DEFAULT now()\n"
            ");" % i,
            "DROP TABLE t%05d;" % i))
    return name, steps


def gen_w2(n):
    """Step 1 creates the table; then, in turn: add a column, index it,
    constrain it, give it a default.  The downgrades undo each in reverse."""
    name = "w2-%d" % n
    steps = [("create table w2",
              "CREATE TABLE w2 (id bigint PRIMARY KEY, note text);",
              "DROP TABLE w2;")]
    for i in range(2, n + 1):
        col = "c%04d" % (i - (i - 2) % 4)
        kind = (i - 2) % 4
        if kind == 0:
            steps.append(("add column %s" % col,
                          "ALTER TABLE w2 ADD COLUMN %s integer;" % col,
                          "ALTER TABLE w2 DROP COLUMN %s;" % col))
        elif kind == 1:
            steps.append(("index %s" % col,
                          "CREATE INDEX w2_%s_idx ON w2 (%s);" % (col, col),
                          "DROP INDEX w2_%s_idx;" % col))
        elif kind == 2:
            steps.append(("check %s" % col,
                          "ALTER TABLE w2 ADD CONSTRAINT w2_%s_check CHECK (%s >= 0);" % (col, col),
                          "ALTER TABLE w2 DROP CONSTRAINT w2_%s_check;" % col))
        else:
            steps.append(("default %s" % col,
                          "ALTER TABLE w2 ALTER COLUMN %s SET DEFAULT 0;" % col,
                          "ALTER TABLE w2 ALTER COLUMN %s DROP DEFAULT;" % col))
    return name, steps


def gen_noop(n):
    return "noop-%d" % n, [("revision %d" % i, "SELECT 1;", "SELECT 1;") for i in range(1, n + 1)]


MEM_SNAPSHOT = ("INSERT INTO mem_contexts SELECT '%s', name, left(ident, 60), parent, level, total_bytes, used_bytes"
                " FROM pg_backend_memory_contexts;")


def gen_mem(n):
    """Cheap DDL steps; the last step of the upgrade and of the downgrade
    copies the backend's memory contexts, as they are while the call runs,
    into mem_contexts (a table the driver creates before registering)."""
    name = "mem-%d" % n
    steps = [("create table mem", "CREATE TABLE mem (id int);",
              "DROP TABLE mem;\n" + MEM_SNAPSHOT % "down")]
    for i in range(2, n + 1):
        up = "COMMENT ON TABLE mem IS 'step %d';" % i
        if i == n:
            up += "\n" + MEM_SNAPSHOT % "up"
        steps.append(("comment %d" % i, up, "COMMENT ON TABLE mem IS 'step %d';" % (i - 1)))
    return name, steps


class Lcg:
    """A small deterministic generator (the same numbers on every Python)."""

    def __init__(self, seed):
        self.x = seed

    def below(self, n):
        self.x = (self.x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        return (self.x >> 33) % n


def real_body(i, table, rnd, tx):
    """The SQL of step i of a real-looking history: (message, up, down,
    transactional, table) where table is the step's newest table, which its
    descendants alter and index.  Kinds: a new table with rows and an index
    (three statements), columns with a check, a PL/pgSQL function, a DO
    block, a trigger, a view; tx=False makes index steps CONCURRENTLY."""
    kind = rnd.below(6)
    if table is None:
        kind = 0
    if kind == 0:
        t = "r%04d" % i
        return ("create table %s" % t,
                "CREATE TABLE %s (\n    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n"
                "    code text NOT NULL,\n    amount numeric(12,2) NOT NULL DEFAULT 0,\n"
                "    created_at timestamptz NOT NULL DEFAULT now()\n);\n"
                "INSERT INTO %s (code, amount) SELECT 'c' || g, g FROM generate_series(1, 50) AS g;\n"
                "COMMENT ON TABLE %s IS 'step %d';" % (t, t, t, i),
                "DROP TABLE %s;" % t, True, t)
    if kind == 1:
        c = "x%04d" % i
        return ("columns on %s" % table,
                "ALTER TABLE %s ADD COLUMN %s integer;\n"
                "ALTER TABLE %s ADD COLUMN %s_note text;\n"
                "ALTER TABLE %s ADD CONSTRAINT %s_%s_ck CHECK (%s >= 0);\n"
                "UPDATE %s SET %s = 0 WHERE id %% 10 = 0;" % (table, c, table, c, table, table, c, c, table, c),
                "ALTER TABLE %s DROP CONSTRAINT %s_%s_ck;\n"
                "ALTER TABLE %s DROP COLUMN %s_note;\n"
                "ALTER TABLE %s DROP COLUMN %s;" % (table, table, c, table, c, table, c), True, table)
    if kind == 2:
        f = "f%04d" % i
        return ("function %s" % f,
                "CREATE FUNCTION %s(p_code text) RETURNS numeric\n"
                "LANGUAGE plpgsql STABLE AS $fn$\n"
                "DECLARE\n    v numeric;\nBEGIN\n"
                "    SELECT sum(amount) INTO v FROM %s WHERE code = p_code;\n"
                "    IF v IS NULL THEN\n        RETURN 0;\n    END IF;\n"
                "    RETURN v;\nEND;\n$fn$;\n"
                "COMMENT ON FUNCTION %s(text) IS 'step %d';" % (f, table, f, i),
                "DROP FUNCTION %s(text);" % f, True, table)
    if kind == 3:
        return ("backfill %s" % table,
                "DO $do$\nDECLARE\n    n integer;\nBEGIN\n"
                "    SELECT count(*) INTO n FROM %s;\n"
                "    IF n > 0 THEN\n"
                "        EXECUTE format('COMMENT ON TABLE %%I IS %%L', '%s', 'rows: ' || n);\n"
                "    END IF;\nEND\n$do$;" % (table, table),
                "COMMENT ON TABLE %s IS NULL;" % table, True, table)
    if kind == 4:
        f = "trg%04d" % i
        return ("trigger on %s" % table,
                "CREATE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql AS $fn$\n"
                "BEGIN\n    NEW.code := upper(NEW.code);\n    RETURN NEW;\nEND;\n$fn$;\n"
                "CREATE TRIGGER %s BEFORE INSERT ON %s FOR EACH ROW EXECUTE FUNCTION %s();"
                % (f, f, table, f),
                "DROP TRIGGER %s ON %s;\nDROP FUNCTION %s();" % (f, table, f), True, table)
    v = "v%04d" % i
    return ("view %s" % v,
            "CREATE VIEW %s AS\n    SELECT code, sum(amount) AS total FROM %s GROUP BY code;" % (v, table),
            "DROP VIEW %s;" % v, True, table)


def index_body(i, table, tx):
    """A step that indexes table: CONCURRENTLY, non-transactional, unless tx."""
    ix = "%s_i%04d" % (table, i)
    if tx:
        return ("index %s" % ix, "CREATE INDEX IF NOT EXISTS %s ON %s (code, amount);" % (ix, table),
                "DROP INDEX IF EXISTS %s;" % ix, True, table)
    return ("index %s concurrently" % ix,
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS %s ON %s (code, amount);" % (ix, table),
            "DROP INDEX CONCURRENTLY IF EXISTS %s;" % ix, False, table)


def empty_body(i, rnd, table):
    if rnd.below(2):
        return ("nothing to do %d" % i, "", "", True, table)
    return ("comment only %d" % i, "-- step %d: kept for the history, nothing to run\n" % i,
            "-- nothing to undo", True, table)


def gen_w4(n, tx=False):
    """A DAG of about n revisions: a trunk; segments that fan out into
    2..7 branches of 1..5 revisions, merged by one revision (multi-statement
    or empty); the last segment's 4 branches stay open (4 heads).  Every
    12th step (about 30 of 350) is a non-transactional CREATE INDEX
    CONCURRENTLY of a table of its own branch."""
    name = "w4-%d" % n
    rnd = Lcg(4)
    revs = []          # (parents, message, up, down, transactional)

    def add(parents, body):
        revs.append((parents,) + body[:4])
        return len(revs), body[4]

    def step(parent, table):
        i = len(revs) + 1
        if i % 12 == 6 and table is not None:
            return add([parent] if parent else [], index_body(i, table, tx))
        return add([parent] if parent else [], real_body(i, table, rnd, tx))

    head, table = step(None, None)
    widths = [7, 3, 2, 5, 4, 6, 2, 3, 7, 4, 3, 5, 2, 6, 3, 4]
    seg = 0
    while len(revs) < n - 40:
        w = widths[seg % len(widths)]
        seg += 1
        tips = []
        for b in range(w):
            tip, t = head, table
            for _ in range(1 + rnd.below(5)):
                tip, t = step(tip, t)
            tips.append(tip)
        if seg % 3 == 0:
            body = ("merge of %d branches" % w, "", "", True, table)
        else:
            body = real_body(len(revs) + 1, table, rnd, tx)
        i = len(revs) + 1
        revs.append((tips, "merge: " + body[0], body[1], body[2], body[3]))
        head = i
        # a few trunk steps between fan-outs
        for _ in range(rnd.below(3)):
            head, table = step(head, table)
    # the last segment: 4 open branches (4 heads)
    per = max(1, (n - len(revs)) // 4)
    for b in range(4):
        tip, t = head, table
        for _ in range(per):
            tip, t = step(tip, t)
    return name, revs


def gen_w5(n, tx=False):
    """A linear history of n steps: 10 non-transactional (CREATE INDEX
    CONCURRENTLY) spread over it, 3 steps in 10 empty or comment-only, the
    others as in w4."""
    name = "w5-%d" % n
    rnd = Lcg(5)
    revs = []
    table = None
    nontx = set(int(n * (k + 0.5) / 10) for k in range(10))
    for i in range(1, n + 1):
        if i in nontx and table is not None:
            body = index_body(i, table, tx)
        elif i % 10 in (2, 5, 8) and table is not None:
            body = empty_body(i, rnd, table)
        else:
            body = real_body(i, table, rnd, tx)
        table = body[4]
        revs.append(([i - 1] if i > 1 else [],) + body[:4])
    return name, revs


def gen_nt(n):
    """Step 1 creates a table of 2,000 rows; steps 2 .. n + 1 each build an
    index on it concurrently (non-transactional)."""
    name = "nt-%d" % n
    revs = [([], "create table nt",
             "CREATE TABLE nt (id bigint PRIMARY KEY, code text NOT NULL, amount numeric(12,2) NOT NULL);\n"
             "INSERT INTO nt SELECT g, 'c' || g % 97, g FROM generate_series(1, 2000) AS g;",
             "DROP TABLE nt;", True)]
    for i in range(2, n + 2):
        revs.append(([i - 1], "index nt_i%03d concurrently" % i,
                     "CREATE INDEX CONCURRENTLY nt_i%03d ON nt (code, amount);" % i,
                     "DROP INDEX CONCURRENTLY nt_i%03d;" % i, False))
    return name, revs


def write_dag(name, revs, migdir):
    """Write migration files of a DAG: revs[k] = (parents as 1-based step
    numbers, message, up, down, transactional)."""
    os.makedirs(migdir, exist_ok=True)
    for i, (parents, message, up, down, transactional) in enumerate(revs, 1):
        rev = rev_id(name, i)
        with open(os.path.join(migdir, "%05d_%s.sql" % (i, rev)), "w") as f:
            f.write("-- revision: %s\n-- down_revision: %s\n-- message: %s\n%s--\n"
                    "-- generated by bench/gen.py (%s, step %d)\n\n"
                    "-- +upgrade\n%s\n\n-- +downgrade\n%s\n"
                    % (rev, ", ".join(rev_id(name, p) for p in parents), message,
                       "" if transactional else "-- transactional: false\n", name, i, up, down))


def write_chain(name, steps, migdir):
    """Write a linear chain of migration files."""
    os.makedirs(migdir, exist_ok=True)
    parent = ""
    for i, (message, up, down) in enumerate(steps, 1):
        rev = rev_id(name, i)
        with open(os.path.join(migdir, "%05d_%s.sql" % (i, rev)), "w") as f:
            f.write("-- revision: %s\n-- down_revision: %s\n-- message: %s\n--\n"
                    "-- generated by bench/gen.py (%s, step %d)\n\n"
                    "-- +upgrade\n%s\n\n-- +downgrade\n%s\n" % (rev, parent, message, name, i, up, down))
        parent = rev


# ---------------------------------------------------------------- parsing

def parse_migration(text):
    """The parts of a migration file, as ap_migrate_load reads them."""
    lines = text.splitlines()
    keys = {}
    i = 0
    while i < len(lines) and lines[i].rstrip() != "-- +upgrade":
        m = HEADER_RE.match(lines[i])
        if m:
            keys[m.group(1)] = m.group(2)
        i += 1
    if i == len(lines):
        raise ValueError("no -- +upgrade marker")
    body = lines[i + 1:]
    up, down = body, None
    for j, line in enumerate(body):
        if line.rstrip() == "-- +downgrade":
            up, down = body[:j], body[j + 1:]
            break
    split = lambda v: [x for x in re.split(r"[,\s]+", v or "") if x]
    return {
        "revision": keys["revision"],
        "down_revision": split(keys.get("down_revision")),
        "message": keys.get("message", ""),
        "transactional": keys.get("transactional", "true").lower() != "false",
        "upgrade": "\n".join(up).strip(),
        "downgrade": None if down is None else "\n".join(down).strip(),
        "text": text,
    }


def load_dir(migdir):
    """Parsed migrations of a directory, in an order where parents come
    first (stable: file name order among the ready ones)."""
    migs = []
    for fn in sorted(os.listdir(migdir)):
        if fn.endswith(".sql") and re.match(r"^[0-9a-f]+_", fn):
            with open(os.path.join(migdir, fn)) as f:
                m = parse_migration(f.read())
            m["file"] = fn
            migs.append(m)
    by_id = {m["revision"]: m for m in migs}
    done, order = set(), []
    while len(order) < len(migs):
        progress = False
        for m in migs:
            if m["revision"] not in done and all(p in done or p not in by_id for p in m["down_revision"]):
                done.add(m["revision"])
                order.append(m)
                progress = True
        if not progress:
            raise ValueError("cycle in %s" % migdir)
    return order


# ---------------------------------------------------------------- artifacts

def stmt_block(sql):
    """SQL of one step for a psql script, terminated by a semicolon (added
    only when missing: a lone ';' would cost psql an extra round trip)."""
    lines = [l for l in sql.strip().splitlines() if l.strip() and not l.lstrip().startswith("--")]
    if not lines:
        return ""
    return sql.strip() + ("\n" if lines[-1].rstrip().endswith(";") else "\n;\n")


def dollar_quote(s):
    tag = "$apm_bench$"
    assert tag not in s
    return tag + s + tag


ALEMBIC_INI = """\
# generated by bench/gen.py
[alembic]
script_location = %(here)s

[loggers]
keys = root,sqlalchemy,alembic

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARN
handlers = console
qualname =

[logger_sqlalchemy]
level = WARN
handlers =
qualname = sqlalchemy.engine

[logger_alembic]
level = INFO
handlers =
qualname = alembic

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %(levelname)-5.5s [%(name)s] %(message)s
datefmt = %H:%M:%S
"""

ENV_PY = '''\
# generated by bench/gen.py: a plain SQLAlchemy engine (psycopg2) on the
# throwaway cluster's unix socket (PGHOST, PGPORT), database PGDATABASE.
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name)

url = URL.create("postgresql+psycopg2", username=os.environ.get("PGUSER", "postgres"),
                 database=os.environ["PGDATABASE"],
                 query={"host": os.environ["PGHOST"], "port": os.environ.get("PGPORT", "5432")})


def run_migrations_offline():
    context.configure(url=url, target_metadata=None, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=None)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
'''

VERSION_PY = '''\
"""%(message)s

Revision ID: %(revision)s
Revises: %(revises)s
Generated by bench/gen.py from %(file)s
"""
from alembic import op

revision = %(revision)r
down_revision = %(down_revision)s
branch_labels = None
depends_on = None

UPGRADE = %(upgrade)r
DOWNGRADE = %(downgrade)r


def upgrade():
    if UPGRADE:
        op.execute(UPGRADE)


def downgrade():
    if DOWNGRADE:
        op.execute(DOWNGRADE)
'''


def build(migdir, outdir):
    migs = load_dir(migdir)
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "up.sql"), "w") as f:
        for m in migs:
            f.write(stmt_block(m["upgrade"]))
    with open(os.path.join(outdir, "down.sql"), "w") as f:
        for m in reversed(migs):
            f.write(stmt_block(m["downgrade"] or ""))
    # psql in one session, a transaction per file, autocommit for a
    # non-transactional file (its statements each commit on their own)
    per_file = lambda m, sql: (stmt_block(sql) if not m["transactional"]
                               else "BEGIN;\n" + stmt_block(sql) + "COMMIT;\n")
    with open(os.path.join(outdir, "up_steps.sql"), "w") as f:
        for m in migs:
            f.write(per_file(m, m["upgrade"]))
    with open(os.path.join(outdir, "down_steps.sql"), "w") as f:
        for m in reversed(migs):
            f.write(per_file(m, m["downgrade"] or ""))
    with open(os.path.join(outdir, "register.sql"), "w") as f:
        f.write("SET client_min_messages = warning;\n")
        for m in migs:
            f.write("SELECT ap_migrate_load(%s);\n" % dollar_quote(m["text"]))
    adir = os.path.join(outdir, "alembic")
    if os.path.isdir(adir):
        shutil.rmtree(adir)
    os.makedirs(os.path.join(adir, "versions"))
    with open(os.path.join(adir, "alembic.ini"), "w") as f:
        f.write(ALEMBIC_INI)
    with open(os.path.join(adir, "env.py"), "w") as f:
        f.write(ENV_PY)
    for m in migs:
        parents = m["down_revision"]
        down = "None" if not parents else repr(parents[0]) if len(parents) == 1 else repr(tuple(parents))
        with open(os.path.join(adir, "versions", "%s_step.py" % m["revision"]), "w") as f:
            f.write(VERSION_PY % {
                "message": m["message"].replace('"""', "'''"),
                "revision": m["revision"],
                "revises": ", ".join(parents),
                "file": m["file"],
                "down_revision": down,
                "upgrade": m["upgrade"],
                "downgrade": m["downgrade"] or "",
            })
    heads = set(m["revision"] for m in migs) - set(p for m in migs for p in m["down_revision"])
    info = {"steps": [m["revision"] for m in migs], "head": migs[-1]["revision"], "n": len(migs),
            "heads": len(heads), "nontransactional": sum(not m["transactional"] for m in migs),
            "empty": sum(not stmt_block(m["upgrade"]) for m in migs),
            "max_parents": max(len(m["down_revision"]) for m in migs)}
    with open(os.path.join(outdir, "steps.json"), "w") as f:
        json.dump(info, f)
    return info


GENERATORS = {"w1": gen_w1, "w2": gen_w2, "noop": gen_noop, "mem": gen_mem}
DAG_GENERATORS = {"w4": lambda n: gen_w4(n), "w5": lambda n: gen_w5(n), "nt": gen_nt,
                  "w4tx": lambda n: gen_w4(n, tx=True), "w5tx": lambda n: gen_w5(n, tx=True)}


def make(kind, arg, outdir):
    """Generate workload kind (w1, w2, noop, mem with a size; files with a
    directory) into outdir/migrations and build its artifacts in outdir."""
    migdir = os.path.join(outdir, "migrations")
    if os.path.isdir(migdir):
        shutil.rmtree(migdir)
    if kind == "files":
        os.makedirs(migdir)
        for fn in sorted(os.listdir(arg)):
            if fn.endswith(".sql") and re.match(r"^[0-9a-f]{12}_", fn):
                shutil.copy(os.path.join(arg, fn), migdir)
    elif kind in DAG_GENERATORS:
        name, revs = DAG_GENERATORS[kind](int(arg))
        write_dag(name, revs, migdir)
    else:
        name, steps = GENERATORS[kind](int(arg))
        write_chain(name, steps, migdir)
    return build(migdir, outdir)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    info = make(sys.argv[1], sys.argv[2], sys.argv[3])
    print("%s %s: %d steps (%d heads, %d non-transactional, %d empty, merges of up to %d parents) -> %s"
          % (sys.argv[1], sys.argv[2], info["n"], info["heads"], info["nontransactional"], info["empty"],
             info["max_parents"], sys.argv[3]))
