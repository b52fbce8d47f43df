#!/usr/bin/python3
"""Tests of tools/ap-migrate-import on the fixtures in test/import/.

For each format: import the fixture, check the written files (ids, parents,
flags, order, sanitized headers), then on two databases of the running
server (libpq environment: PGHOST, PGPORT, PGUSER):

  ref  the fixture applied by its own tool: real Alembic (upgrade head), real
       Sqitch (sqitch deploy), and psql for the others, file by file in the
       tool's documented order and with its transaction semantics
  apm  the imported files registered with ap_migrate_load (in file order),
       the plan to heads checked against the tool's order, then
       CALL ap_migrate_run('heads'), ap_migrate_run_downgrade('base'),
       ap_migrate_run('heads'); the schema compared with ref's after each
       upgrade and with an empty schema after the downgrade

then `ap-migrate-import adopt` on ref (its own state table, as the tool left
it) must stamp every revision without running SQL, and adopt must refuse a
dirty or inconsistent state leaving nothing behind.

Fixtures whose files hold BEGIN ... COMMIT wrappers or COMMIT AND CHAIN
are imported and their files checked byte for byte, then registered and
applied with CALL ap_migrate_run() (README, transaction control).

Ends with "N passed, M failed" (test/run_all.sh counts it).

    /usr/bin/python3 test/import_test.py [--only FORMAT] [--keep]
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

import psycopg2

CLIENT = shutil.which('ap-migrate')

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, 'import')
TOOL = os.path.join(HERE, '..', 'tools', 'ap-migrate-import')
PY = '/usr/bin/python3'

passed = failed = skipped = 0


def ok(cond, name, detail=''):
    global passed, failed
    if cond:
        passed += 1
        print('ok - %s' % name)
    else:
        failed += 1
        print('FAIL %s%s' % (name, ('\n    ' + str(detail).replace('\n', '\n    ')) if detail else ''))
    return cond


def skip(name, why):
    global skipped
    skipped += 1
    print('skip - %s (%s)' % (name, why))


def run(cmd, env=None, cwd=None):
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run(cmd, capture_output=True, text=True, env=e, cwd=cwd)
    return p.returncode, p.stdout, p.stderr


def connect(db, autocommit=True):
    c = psycopg2.connect(dbname=db)
    c.autocommit = autocommit
    return c


def recreate(db):
    c = connect('postgres')
    cur = c.cursor()
    cur.execute('DROP DATABASE IF EXISTS "%s"' % db)
    cur.execute('CREATE DATABASE "%s"' % db)
    c.close()


def psql(db, *args, stdin=None):
    p = subprocess.run(['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', db] + list(args),
                       capture_output=True, text=True, input=stdin)
    return p.returncode, p.stdout + p.stderr


STATE_TABLES = ('alembic_version', 'schema_migrations', 'flyway_schema_history',
                '__diesel_schema_migrations', 'schema_migration', 'migration_logs')

# the user-visible schema, one line per object, without ap_migrate's own
# objects and the tools' state tables
SCHEMA_SQL = """
WITH nsp AS (
    SELECT oid, nspname FROM pg_namespace
    WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'ap_migrate', 'sqitch')
      AND nspname !~ '^pg_(toast|temp_)'),
rel AS (
    SELECT c.oid, n.nspname, c.relname, c.relkind FROM pg_class c JOIN nsp n ON n.oid = c.relnamespace
    WHERE NOT (c.relname = ANY (%(state)s) OR c.relname LIKE ANY (SELECT s || '_%%' FROM unnest(%(state)s) s)))
SELECT item FROM (
    SELECT format('schema %%I', nspname) FROM nsp
  UNION ALL SELECT format('relation %%I.%%I %%s', nspname, relname, relkind) FROM rel
  UNION ALL SELECT format('column %%I.%%I %%I %%s notnull=%%s default=%%s identity=%%s', r.nspname, r.relname,
                          a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                          pg_get_expr(d.adbin, d.adrelid), a.attidentity)
            FROM rel r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
            LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  UNION ALL SELECT format('constraint %%I.%%I %%I %%s', r.nspname, r.relname, con.conname, pg_get_constraintdef(con.oid))
            FROM pg_constraint con JOIN rel r ON r.oid = con.conrelid
  UNION ALL SELECT format('index %%s valid=%%s', pg_get_indexdef(i.indexrelid), i.indisvalid)
            FROM pg_index i JOIN rel r ON r.oid = i.indrelid
  UNION ALL SELECT format('trigger %%s', pg_get_triggerdef(t.oid)) FROM pg_trigger t JOIN rel r ON r.oid = t.tgrelid
            WHERE NOT t.tgisinternal
  UNION ALL SELECT format('comment %%I.%%I %%s %%s', r.nspname, r.relname, d.objsubid, d.description)
            FROM pg_description d JOIN rel r ON d.objoid = r.oid AND d.classoid = 'pg_class'::regclass
  UNION ALL SELECT format('view %%I.%%I %%s', nspname, relname, pg_get_viewdef(oid)) FROM rel WHERE relkind IN ('v', 'm')
  UNION ALL SELECT format('type %%I.%%I %%s %%s', n.nspname, t.typname, t.typtype,
                          (SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = t.oid))
            FROM pg_type t JOIN nsp n ON n.oid = t.typnamespace
            WHERE t.typtype IN ('e', 'd') OR (t.typtype = 'c' AND t.typrelid IN (SELECT oid FROM rel))
  UNION ALL SELECT format('function %%I.%%I(%%s) %%s', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid),
                          md5(p.prosrc))
            FROM pg_proc p JOIN nsp n ON n.oid = p.pronamespace
            WHERE NOT EXISTS (SELECT 1 FROM pg_depend dp WHERE dp.objid = p.oid AND dp.deptype = 'e')
) s(item) ORDER BY 1
"""


def schema(db):
    c = connect(db)
    cur = c.cursor()
    cur.execute(SCHEMA_SQL, {'state': list(STATE_TABLES)})
    rows = [r[0] for r in cur.fetchall()]
    c.close()
    return rows


def same_schema(a, b, name):
    if a == b:
        return ok(True, name)
    sa, sb = set(a), set(b)
    detail = '\n'.join(['- ' + x for x in sorted(sa - sb)][:15] + ['+ ' + x for x in sorted(sb - sa)][:15])
    return ok(False, name, detail or 'same items, different order')


def headers(path):
    h = {}
    with open(path, encoding='utf-8') as f:
        for line in f:
            if line.strip() == '-- +upgrade':
                break
            m = re.match(r'^-- ([a-z_]+): ?(.*)$', line.rstrip('\n'))
            if m:
                h[m.group(1)] = m.group(2).strip()
    return h


def sections(path):
    with open(path, encoding='utf-8', newline='') as f:
        text = f.read()
    up = text.split('\n-- +upgrade\n', 1)[1]
    if '\n-- +downgrade\n' in up:
        up, down = up.split('\n-- +downgrade\n', 1)
    else:
        down = None
    return up, down, text


def load_files(db, out, relaxed):
    """Register the files in file order; returns (ok, sqlstate of a refusal)."""
    c = connect(db, autocommit=False)
    cur = c.cursor()
    cur.execute('CREATE EXTENSION IF NOT EXISTS ap_migrate')
    if relaxed:
        cur.execute("SET ap_migrate.revision_id_format = 'relaxed'")
    try:
        for f in sorted(os.listdir(out)):
            with open(os.path.join(out, f), encoding='utf-8', newline='') as fh:
                cur.execute('SELECT ap_migrate_load(%s)', (fh.read(),))
        c.commit()
        return True, None, ''
    except psycopg2.Error as e:
        c.rollback()
        return False, e.pgcode, str(e)
    finally:
        c.close()


def apm_call(db, sql, relaxed):
    c = connect(db)
    cur = c.cursor()
    if relaxed:
        cur.execute("SET ap_migrate.revision_id_format = 'relaxed'")
    try:
        cur.execute(sql)
        return True, ''
    except psycopg2.Error as e:
        return False, str(e)
    finally:
        c.close()


def query(db, sql, args=None):
    c = connect(db)
    cur = c.cursor()
    cur.execute(sql, args)
    rows = cur.fetchall()
    c.close()
    return rows


def import_fixture(fmt, src, out):
    return run([PY, TOOL, 'import', fmt, src, '--out', out])


def adopt(fmt, db, out):
    return run([PY, TOOL, 'adopt', fmt, '--dbname', 'dbname=%s' % db, '--dir', out])


def applied(db):
    return sorted(r[0] for r in query(db, 'SELECT revision FROM ap_migrate_history() WHERE applied'))


# ---------------------------------------------------------------------------
# The reference runs: each tool's own semantics.

def psql_steps(db, steps):
    """steps: (file, mode) with mode 'query' (the whole file as one
    multi-statement query, as golang-migrate sends it), 'tx' (in one
    transaction) or 'auto' (statement by statement)."""
    for path, mode in steps:
        with open(path, encoding='utf-8') as f:
            text = f.read()
        if mode == 'query':
            rc, out = psql(db, '-c', text)
        elif mode == 'tx':
            rc, out = psql(db, '-1', '-f', path)
        else:
            rc, out = psql(db, '-f', path)
        if rc != 0:
            return False, '%s: %s' % (path, out)
    return True, ''


def alembic_env(db):
    host = os.environ.get('PGHOST', '/tmp')
    port = os.environ.get('PGPORT', '5432')
    user = os.environ.get('PGUSER', 'postgres')
    return {'APM_ALEMBIC_URL': 'postgresql+psycopg2://%s@/%s?host=%s&port=%s' % (user, db, host, port)}


def sqitch_target(db):
    host = os.environ.get('PGHOST', '/tmp')
    port = os.environ.get('PGPORT', '5432')
    user = os.environ.get('PGUSER', 'postgres')
    return 'db:pg://%s@/%s?host=%s&port=%s' % (user, db, host, port)


def sqitch_env():
    return {'PGHOST': os.environ.get('PGHOST', ''), 'PGPORT': os.environ.get('PGPORT', ''),
            'SQITCH_USER_CONFIG': '/dev/null', 'SQITCH_FULLNAME': 'Test', 'SQITCH_EMAIL': 'test@example.org',
            'HOME': tempfile.gettempdir()}


# ---------------------------------------------------------------------------
# Per-format cases.  order: the tool's documented order of the fixture;
# ref_up / ref_down: how the tool applies it; state: the tool's state table
# after a full upgrade (for adopt), for tools not run for real.

def F(*p):
    return os.path.join(FIX, *p)


GM = F('golang-migrate')
FW = F('flyway', 'sql')
DB = F('dbmate', 'db', 'migrations')
DI = F('diesel', 'migrations')
SG = F('sourcegraph', 'migrations')
PX = F('popx', 'migrations')

# sourcegraph's bookkeeping table as its migrator creates it (store.go, EnsureSchemaTable)
SG_LOGS = ("CREATE TABLE migration_logs (id serial PRIMARY KEY, migration_logs_schema_version integer NOT NULL,"
           " schema text NOT NULL, version integer NOT NULL, up bool NOT NULL, started_at timestamptz NOT NULL,"
           " finished_at timestamptz, success boolean, error_message text,"
           " backfilled boolean NOT NULL DEFAULT false);")

CASES = {
    'golang-migrate': dict(
        src=GM, order=['1', '2', '3', '10', '11'], nontx=['10'], irreversible=[], empty_down=['11'],
        ref_up=[(GM + '/1_create_users.up.sql', 'query'), (GM + '/2_create_orders.up.sql', 'query'),
                (GM + '/3_add_user_name.up.sql', 'query'), (GM + '/10_index_user_name.up.sql', 'query'),
                (GM + '/11_comment_total.up.sql', 'query')],
        state="CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);"
              "INSERT INTO schema_migrations VALUES (11, false);",
        bad_states=[('dirty', "CREATE TABLE schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL);"
                              "INSERT INTO schema_migrations VALUES (3, true);", 'dirty'),
                    ('unknown version', "CREATE TABLE schema_migrations (version bigint PRIMARY KEY, dirty boolean);"
                                        "INSERT INTO schema_migrations VALUES (7, false);", 'no imported revision')],
        partial=("CREATE TABLE schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL);"
                 "INSERT INTO schema_migrations VALUES (3, false);", ['1', '2', '3'])),
    'flyway': dict(
        src=FW, order=['1', '1.1', '1.2', '1.10', '2'], nontx=['1.10', '2'], irreversible=[], empty_down=['2'],
        ref_up=[(FW + '/V1__Create_users.sql', 'tx'), (FW + '/V1.1__Add_name.sql', 'tx'),
                (FW + '/V1_2__Create_orders.sql', 'tx'), (FW + '/more/V1.10__Index_orders.sql', 'auto'),
                (FW + '/V2__Vacuum.sql', 'auto')],
        report=['repeatable'],
        warn=("""CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY, version varchar(50),
                   description varchar(200), type varchar(20), script varchar(1000), checksum int,
                   installed_by varchar(100), installed_on timestamp, execution_time int, success boolean);
                 INSERT INTO flyway_schema_history VALUES
                   (1, '1', 'Create users', 'SQL', 'V1__Create_users.sql', 12345, 'me', now(), 1, true);""",
              'checksum 12345'),
        state="""CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY, version varchar(50),
                   description varchar(200) NOT NULL, type varchar(20) NOT NULL, script varchar(1000) NOT NULL,
                   checksum int, installed_by varchar(100) NOT NULL, installed_on timestamp NOT NULL DEFAULT now(),
                   execution_time int NOT NULL, success boolean NOT NULL);
                 INSERT INTO flyway_schema_history VALUES
                   (1, '1', 'Create users', 'SQL', 'V1__Create_users.sql', 647625551, 'me', now(), 1, true),
                   (2, '1.1', 'Add name', 'SQL', 'V1.1__Add_name.sql', NULL, 'me', now(), 1, true),
                   (3, '1.2', 'Create orders', 'SQL', 'V1_2__Create_orders.sql', -1994173507, 'me', now(), 1,
                    true),
                   (4, '1.10', 'Index orders', 'SQL', 'more/V1.10__Index_orders.sql', NULL, 'me', now(), 1, true),
                   (5, '2', 'Vacuum', 'SQL', 'V2__Vacuum.sql', NULL, 'me', now(), 1, true),
                   (6, NULL, 'User names', 'SQL', 'R__User_names.sql', 1, 'me', now(), 1, true);""",
        bad_states=[('failed migration', """CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY,
                   version varchar(50), description varchar(200), type varchar(20), script varchar(1000),
                   checksum int, installed_by varchar(100), installed_on timestamp, execution_time int,
                   success boolean);
                   INSERT INTO flyway_schema_history VALUES
                   (1, '1', 'Create users', 'SQL', 'V1__Create_users.sql', 1, 'me', now(), 1, true),
                   (2, '1.1', 'Add name', 'SQL', 'V1.1__Add_name.sql', 1, 'me', now(), 1, false);""", 'failed'),
                    ('gap', """CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY,
                   version varchar(50), description varchar(200), type varchar(20), script varchar(1000),
                   checksum int, installed_by varchar(100), installed_on timestamp, execution_time int,
                   success boolean);
                   INSERT INTO flyway_schema_history VALUES
                   (1, '1', 'Create users', 'SQL', 'V1__Create_users.sql', 1, 'me', now(), 1, true),
                   (2, '1.2', 'Create orders', 'SQL', 'V1_2__Create_orders.sql', 1, 'me', now(), 1, true);""",
                     'inconsistent')]),
    'dbmate': dict(
        src=F('dbmate', 'db', 'migrations'),
        order=['20240101000000', '20240102000000', '20240103000000', '20240104000000'],
        nontx=['20240102000000'], irreversible=[], empty_down=['20240103000000'],
        ref_up='dbmate',
        state="CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY);"
              "INSERT INTO schema_migrations VALUES ('20240101000000'), ('20240102000000'), ('20240103000000'),"
              " ('20240104000000');",
        bad_states=[('gap', "CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY);"
                            "INSERT INTO schema_migrations VALUES ('20240101000000'), ('20240103000000');",
                     'inconsistent')]),
    'diesel': dict(
        src=DI, order=['00000000000000', '20240102000000', '20240103000000', '20240104000000'],
        nontx=['20240103000000'], irreversible=[], empty_down=['20240104000000'],
        ref_up=[(DI + '/00000000000000_diesel_initial_setup/up.sql', 'tx'),
                (DI + '/2024-01-02-000000_create_posts/up.sql', 'tx'),
                (DI + '/2024-01-03-000000_index_posts/up.sql', 'auto'),
                (DI + '/2024-01-04-000000_posts_published/up.sql', 'tx')],
        state="CREATE TABLE __diesel_schema_migrations (version varchar(50) PRIMARY KEY, run_on timestamp NOT NULL "
              "DEFAULT now()); INSERT INTO __diesel_schema_migrations (version) VALUES ('00000000000000'), "
              "('20240102000000'), ('20240103000000'), ('20240104000000');",
        bad_states=[('gap', "CREATE TABLE __diesel_schema_migrations (version varchar(50) PRIMARY KEY);"
                            "INSERT INTO __diesel_schema_migrations VALUES ('20240103000000');", 'inconsistent')]),
    'sourcegraph': dict(
        src=SG, order=['1000', '1001', '1002', '1003', '1004'], nontx=['1004'], irreversible=[],
        empty_down=['1003'], pinned={'1002': ['1001']},
        ref_up=[(SG + '/1000_root/up.sql', 'tx'), (SG + '/1001_left/up.sql', 'tx'),
                (SG + '/1002_right/up.sql', 'tx'), (SG + '/1003_merge/up.sql', 'tx'),
                (SG + '/1004_cic/up.sql', 'auto')],
        state=SG_LOGS + "INSERT INTO migration_logs (migration_logs_schema_version, schema, version, up, started_at,"
                        " finished_at, success) SELECT 2, 'schema_migrations', v, true, now(), now(), true"
                        " FROM unnest('{1000,1001,1002,1003,1004}'::int[]) v;"
                        # a failed revert of 1004 is ignored, as the migrator ignores it
                        "INSERT INTO migration_logs (migration_logs_schema_version, schema, version, up, started_at,"
                        " finished_at, success) VALUES (2, 'schema_migrations', 1004, false, now(), now(), false);",
        bad_states=[('migration in progress', SG_LOGS + "INSERT INTO migration_logs (migration_logs_schema_version,"
                     " schema, version, up, started_at) VALUES (2, 'schema_migrations', 1000, true, now());",
                     'dirty'),
                    ('sibling applied out of the pinned order', SG_LOGS + "INSERT INTO migration_logs"
                     " (migration_logs_schema_version, schema, version, up, started_at, finished_at, success)"
                     " SELECT 2, 'schema_migrations', v, true, now(), now(), true"
                     " FROM unnest('{1000,1002}'::int[]) v;", 'inconsistent')],
        partial=(SG_LOGS + "INSERT INTO migration_logs (migration_logs_schema_version, schema, version, up,"
                 " started_at, finished_at, success) SELECT 2, 'schema_migrations', v, true, now(), now(), true"
                 " FROM unnest('{1000,1001}'::int[]) v;", ['1000', '1001'])),
    'popx': dict(
        src=PX, order=['20240101000000000000', '20240102000000000000', '20240103000000000000',
                       '20240104000000000000', '20240105000000000000'],
        nontx=['20240103000000000000', '20240105000000000000'], irreversible=[], empty_down=['20240104000000000000'],
        ref_up=[(PX + '/20240101000000000000_identities.up.sql', 'tx'),
                (PX + '/20240102000000000000_sessions.postgres.up.sql', 'tx'),
                (PX + '/20240103000000000000_sessions_idx.postgres.autocommit.up.sql', 'auto'),
                (PX + '/20240104000000000000_state.up.sql', 'tx'),
                (PX + '/20240105000000000000_state_idx.autocommit.up.sql', 'auto')],
        state="CREATE TABLE schema_migration (version varchar(48) NOT NULL, version_self int NOT NULL DEFAULT 0);"
              "INSERT INTO schema_migration (version) VALUES ('20240101000000000000'), ('20240102000000000000'),"
              " ('20240103000000000000'), ('20240104000000000000'), ('20240105000000000000');"),
    'sqitch': dict(
        src=F('sqitch'), order=['appschema', 'users', 'orders', 'orders_idx', 'users_note'], nontx=['orders_idx'],
        irreversible=[], empty_down=['users_note'], ref_up='sqitch', report=['verify scripts']),
    'alembic': dict(
        src=F('alembic'), order=['ca4653c80b38', 'b1a2c3d4e5f6', '797c75afebae', 'e9428b9dd556', '55a2502018a6'],
        nontx=[], irreversible=[], empty_down=[], ref_up='alembic', hex=True,
        bad_states=[('unknown revision', "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);"
                                         "INSERT INTO alembic_version VALUES ('0123456789ab');", 'no file')],
        partial=("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);"
                 "INSERT INTO alembic_version VALUES ('797c75afebae');",
                 ['797c75afebae', 'b1a2c3d4e5f6', 'ca4653c80b38'])),
    # branches, labels, a merge, depends_on on a label, a second base; the
    # order is what `alembic upgrade heads --sql` prints on this machine
    'alembic-branches': dict(
        fmt='alembic', src=F('alembic-branches'), order='alembic', nontx=[], irreversible=[],
        empty_down=['4d4d4d4d4d4d'], ref_up='alembic', hex=True,
        ids=['1a1a1a1a1a1a', '2b2b2b2b2b2b', '3c3c3c3c3c3c', '4d4d4d4d4d4d', '5e5e5e5e5e5e'],
        labels={'2b2b2b2b2b2b': 'billing', '3c3c3c3c3c3c': 'reports', '5e5e5e5e5e5e': 'audit',
                '4d4d4d4d4d4d': ''},
        pinned={'3c3c3c3c3c3c': ['2b2b2b2b2b2b']},
        partial=("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);"
                 "INSERT INTO alembic_version VALUES ('2b2b2b2b2b2b'), ('5e5e5e5e5e5e');",
                 ['1a1a1a1a1a1a', '2b2b2b2b2b2b', '5e5e5e5e5e5e'])),
}


def alembic_order(src):
    rc, out, err = run([PY, '-m', 'alembic', '-c', 'alembic.ini', 'upgrade', 'heads', '--sql'], cwd=src)
    return [m.group(1) for m in re.finditer(r'^-- Running upgrade .*-> (\w+)$', out, re.M)]


def dbmate_ref(db, src, work):
    """dbmate: files in name order, each "-- migrate:up" section in a
    transaction unless transaction:false."""
    for name in sorted(os.listdir(src)):
        text = open(os.path.join(src, name), encoding='utf-8').read()
        m = re.search(r'^-- migrate:up(.*)$', text, re.M)
        up = text[m.end():].split('-- migrate:down')[0]
        path = os.path.join(work, 'dbmate_' + name)
        with open(path, 'w') as f:
            f.write(up)
        good, err = psql_steps(db, [(path, 'auto' if 'transaction:false' in m.group(1) else 'tx')])
        if not good:
            return good, err
    return True, ''


def ref_apply(fmt, case, db, work):
    if case['ref_up'] == 'alembic':
        rc, out, err = run([PY, '-m', 'alembic', '-c', 'alembic.ini', 'upgrade', 'heads'], env=alembic_env(db),
                           cwd=case['src'])
        return rc == 0, out + err
    if case['ref_up'] == 'sqitch':
        rc, out, err = run(['sqitch', 'deploy', '--target', sqitch_target(db)], env=sqitch_env(), cwd=case['src'])
        return rc == 0, out + err
    if case['ref_up'] == 'dbmate':
        return dbmate_ref(db, case['src'], work)
    return psql_steps(db, case['ref_up'])


def check_files(fmt, case, out, stdout):
    files = sorted(os.listdir(out))
    ids = [headers(os.path.join(out, f))['revision'] for f in files]
    ok(sorted(ids) == sorted(case['order']), '%s: one file per revision, ids kept' % fmt, '%s' % ids)
    for rid, label in case.get('labels', {}).items():
        got = headers(os.path.join(out, [f for f in files if '_%s_' % rid in f][0])).get('branch_labels')
        ok(got == label, '%s: %s declares branch label %r' % (fmt, rid, label), got)
    byid = {headers(os.path.join(out, f))['revision']: os.path.join(out, f) for f in files}
    nontx = sorted(i for i in ids if headers(byid[i]).get('transactional') == 'false')
    ok(nontx == sorted(case['nontx']), '%s: non-transactional flags' % fmt, '%s' % nontx)
    irr, empty = [], []
    for i in ids:
        up, down, text = sections(byid[i])
        if down is None:
            irr.append(i)
        elif down.strip() == '':
            empty.append(i)
    ok(sorted(irr) == sorted(case['irreversible']), '%s: missing downs are irreversible' % fmt, '%s' % irr)
    ok(sorted(empty) == sorted(case['empty_down']), '%s: empty downs stay empty downgrades' % fmt, '%s' % empty)
    idfmt = 'hex12' if case.get('hex') else 'relaxed'
    ok('revision_id_format: %s' % idfmt in stdout, '%s: reports revision_id_format %s' % (fmt, idfmt), stdout)
    for want in case.get('report', []):
        ok(want in stdout, '%s: reports %s' % (fmt, want), stdout)
    # every header line is one of the keys, a "-- |" comment or "--"
    bad = []
    for f in files:
        for line in open(os.path.join(out, f), encoding='utf-8'):
            if line.strip() == '-- +upgrade':
                break
            if line.strip() and not re.match(r'^-- ([a-z_]+:|\|)|^--$', line):
                bad.append('%s: %r' % (f, line))
    ok(not bad, '%s: header lines are keys or safe comments' % fmt, '\n'.join(bad[:5]))
    for rid, deps in case.get('pinned', {}).items():
        got = headers(byid[rid]).get('depends_on', '')
        ok(all(d in re.split(r'[,\s]+', got) for d in deps),
           '%s: %s depends_on %s pins the tool\'s order' % (fmt, rid, ','.join(deps)), got)
    return byid


def client(args, relaxed):
    env = dict(os.environ)
    if relaxed:
        env['PGOPTIONS'] = (env.get('PGOPTIONS', '') + ' -c ap_migrate.revision_id_format=relaxed').strip()
    return run([CLIENT] + args, env=env)


def client_path(fmt, case, out, ref_schema, empty, relaxed, name):
    """ap-migrate import + upgrade heads / downgrade base / upgrade heads."""
    if CLIENT is None:
        return ok(False, '%s: ap-migrate is installed' % fmt)
    cout = out + '_cli'
    rc, o, e = client(['import', fmt, case['src'], '--out', cout], False)
    if not ok(rc == 0, '%s: ap-migrate import' % fmt, o + e):
        return
    ok(sorted(os.listdir(cout)) == sorted(os.listdir(out)) and
       all(open(os.path.join(cout, f), 'rb').read() == open(os.path.join(out, f), 'rb').read()
           for f in os.listdir(out)),
       '%s: ap-migrate import writes the files the importer writes' % fmt)
    db = 'imp_%s_cli' % name.replace('-', '_')
    recreate(db)
    conn = 'dbname=%s' % db
    for verb, target, want, what in (('upgrade', 'heads', ref_schema, 'upgrade heads'),
                                     ('downgrade', 'base', empty, 'downgrade base'),
                                     ('upgrade', 'heads', ref_schema, 'upgrade heads again')):
        rc, o, e = client(['-q', '-d', conn, '--dir', cout, verb, target], relaxed)
        if ok(rc == 0, '%s: ap-migrate %s' % (fmt, what), o + e):
            same_schema(want, schema(db), '%s: ap-migrate %s gives the schema of %s' % (fmt, what, fmt))
    connect('postgres').cursor().execute('DROP DATABASE "%s"' % db)


def test_format(name, case, work, keep):
    fmt = case.get('fmt', name)
    if case['order'] == 'alembic':
        case = dict(case, order=alembic_order(case['src']))
        ok(sorted(case['order']) == case['ids'], '%s: alembic upgrade heads --sql runs every revision' % name,
           case['order'])
    out = os.path.join(work, name + '_out')
    rc, stdout, stderr = import_fixture(fmt, case['src'], out)
    if not ok(rc == 0, '%s: import' % fmt, stdout + stderr):
        return
    check_files(fmt, case, out, stdout)
    relaxed = not case.get('hex')

    ref, apm = 'imp_%s_ref' % name.replace('-', '_'), 'imp_%s_apm' % name.replace('-', '_')
    recreate(ref)
    recreate(apm)
    empty = schema(apm)
    good, err = ref_apply(fmt, case, ref, work)
    if not ok(good, '%s: its own tool applies the fixture' % fmt, err):
        return
    ref_schema = schema(ref)
    ok(len(ref_schema) > len(empty) + 3, '%s: the fixture creates objects (%d)' % (fmt, len(ref_schema) - len(empty)))

    good, code, err = load_files(apm, out, relaxed)
    if not ok(good, '%s: files register with ap_migrate_load' % fmt, err):
        return
    plan = [r[0] for r in query(apm, "SELECT revision FROM ap_migrate_plan('heads') ORDER BY step")]
    ok(plan == case['order'], '%s: ap_migrate plans the tool\'s order' % fmt, '%s' % plan)
    good, err = apm_call(apm, "CALL ap_migrate_run('heads')", relaxed)
    if ok(good, '%s: upgrade heads' % fmt, err):
        same_schema(ref_schema, schema(apm), '%s: same schema as %s after upgrade' % (fmt, fmt))
    good, err = apm_call(apm, "CALL ap_migrate_run_downgrade('base')", relaxed)
    if ok(good, '%s: downgrade base' % fmt, err):
        same_schema(empty, schema(apm), '%s: downgrade to base leaves the empty schema' % fmt)
    good, err = apm_call(apm, "CALL ap_migrate_run('heads')", relaxed)
    if ok(good, '%s: upgrade heads again' % fmt, err):
        same_schema(ref_schema, schema(apm), '%s: same schema as %s after up, down, up' % (fmt, fmt))

    # the same through the client, as a user runs it: ap-migrate import
    # (the dispatcher writes the same files), then ap-migrate upgrade heads
    client_path(fmt, case, out, ref_schema, empty, relaxed, name)

    # adopt on the reference database
    if True:
        if case.get('state'):
            rc, o = psql(ref, '-c', case['state'])
            ok(rc == 0, '%s: state table as the tool leaves it' % fmt, o)
        before = schema(ref)
        rc, o, e = adopt(fmt, ref, out)
        if ok(rc == 0, '%s: adopt' % fmt, o + e):
            ok('warning' not in o, '%s: adopt has no warning (Flyway checksums match)' % fmt, o)
            ok(applied(ref) == sorted(case['order']), '%s: adopt stamps every applied revision' % fmt,
               '%s' % applied(ref))
            same_schema(before, schema(ref), '%s: adopt ran no migration SQL' % fmt)
            plan = query(ref, "SELECT count(*) FROM ap_migrate_plan('heads')")[0][0]
            ok(plan == 0, '%s: nothing left to upgrade after adopt' % fmt, plan)
            rc, o, e = adopt(fmt, ref, out)
            ok(rc == 0, '%s: adopt again is a no-op' % fmt, o + e)
    for what, sql, msg in case.get('bad_states', []):
        db = 'imp_%s_bad' % name.replace('-', '_')
        recreate(db)
        psql(db, '-c', sql)
        rc, o, e = adopt(fmt, db, out)
        ok(rc != 0 and msg in e, '%s: adopt refuses a source state with a %s' % (name, what), o + e)
        ext = query(db, "SELECT count(*) FROM pg_extension WHERE extname = 'ap_migrate'")[0][0]
        ok(ext == 0, '%s: the refused adopt left nothing behind' % fmt, ext)
        if not keep:
            connect('postgres').cursor().execute('DROP DATABASE "%s"' % db)
    if case.get('warn'):
        sql, want = case['warn']
        db = 'imp_%s_warn' % name.replace('-', '_')
        recreate(db)
        psql(db, '-c', sql)
        rc, o, e = adopt(fmt, db, out)
        ok(rc == 0 and 'warning' in o and want in o, '%s: adopt warns about a changed file' % name, o + e)
        if not keep:
            connect('postgres').cursor().execute('DROP DATABASE "%s"' % db)
    if case.get('partial'):
        sql, want = case['partial']
        db = 'imp_%s_part' % name.replace('-', '_')
        recreate(db)
        psql(db, '-c', sql)
        rc, o, e = adopt(fmt, db, out)
        ok(rc == 0 and applied(db) == sorted(want), '%s: adopt of a partly migrated database' % fmt,
           o + e + ' %s' % (applied(db) if rc == 0 else ''))
        if not keep:
            connect('postgres').cursor().execute('DROP DATABASE "%s"' % db)
    if not keep:
        c = connect('postgres')
        for db in (ref, apm):
            c.cursor().execute('DROP DATABASE "%s"' % db)
        c.close()


def test_wrappers(work):
    """Transaction control kept byte for byte (issue 13 item 1 decides
    whether and how it registers): golang-migrate files wrapped in
    BEGIN ... COMMIT, sourcegraph files with a wrapper and with COMMIT AND
    CHAIN commit points."""
    for fmt, src, files in (
            ('golang-migrate', F('golang-migrate-wrap'),
             [('1_accounts.up.sql', '1_accounts.down.sql'), ('2_fill_accounts.up.sql', '2_fill_accounts.down.sql')]),
            ('sourcegraph', F('sourcegraph-wrap'),
             [('2000_accounts/up.sql', '2000_accounts/down.sql'), ('2001_backfill/up.sql', '2001_backfill/down.sql')])):
        name = fmt + '-wrap'
        out = os.path.join(work, name + '_out')
        rc, stdout, stderr = import_fixture(fmt, src, out)
        if not ok(rc == 0, '%s: import' % name, stdout + stderr):
            continue
        written = sorted(os.listdir(out))
        for f, (upf, downf) in zip(written, files):
            up, down, _ = sections(os.path.join(out, f))
            want_up = open(os.path.join(src, upf), encoding='utf-8').read()
            want_down = open(os.path.join(src, downf), encoding='utf-8').read()
            ok(up.strip() == want_up.strip() and (down or '').strip() == want_down.strip(),
               '%s: %s kept byte for byte, transaction control included' % (name, upf), up)
        db = 'imp_' + name.replace('-', '_')
        recreate(db)
        good, code, err = load_files(db, out, True)
        if good:
            ok(True, '%s: registered' % name)
            good, err = apm_call(db, "CALL ap_migrate_run('heads')", True)
            ok(good, '%s: applied' % name, err)
        else:
            ok(False, '%s: registration' % name, err)
        connect('postgres').cursor().execute('DROP DATABASE "%s"' % db)


def test_refusals(work):
    rc, o, e = import_fixture('golang-migrate', F('golang-migrate-marker'), os.path.join(work, 'marker_out'))
    ok(rc != 0 and 'section marker' in e, 'a body line that is a section marker is refused', o + e)
    # names with newlines and header-looking text stay inside one comment line
    src = os.path.join(work, 'evil_diesel')
    shutil.copytree(F('diesel', 'migrations'), src)
    evil = os.path.join(src, '2024-01-05-000000_x\n-- +upgrade\nDROP TABLE posts;\n-- revision: zz')
    os.mkdir(evil)
    open(os.path.join(evil, 'up.sql'), 'w').write('SELECT 1;\n')
    out = os.path.join(work, 'evil_out')
    rc, o, e = import_fixture('diesel', src, out)
    if ok(rc == 0, 'a directory name with newlines imports', o + e):
        f = [x for x in sorted(os.listdir(out)) if '20240105000000' in x]
        ok(len(f) == 1 and '\n' not in f[0], 'its file name is sanitized', f)
        up, down, text = sections(os.path.join(out, f[0]))
        h = headers(os.path.join(out, f[0]))
        ok(h['revision'] == '20240105000000' and up.strip() == 'SELECT 1;' and 'DROP TABLE' not in up,
           'its name cannot add SQL or header keys', text)
    # sourcegraph name with a newline in metadata.yaml
    out = os.path.join(work, 'sourcegraph_out')
    if os.path.isdir(out):
        h = headers([os.path.join(out, x) for x in sorted(os.listdir(out)) if '_1004_' in x][0])
        ok(h['message'] == 'index repo names second line', 'a YAML name with a newline becomes one line',
           h['message'])
    # text the source tool rewrites at run time is reported
    src = os.path.join(work, 'placeholder')
    os.makedirs(src)
    open(os.path.join(src, 'V1__p.sql'), 'w').write('CREATE TABLE ${schema}.t (id int);\n')
    rc, o, e = import_fixture('flyway', src, os.path.join(work, 'placeholder_out'))
    ok(rc == 0 and 'placeholders' in o and '${schema}' in o, 'Flyway placeholders are reported', o + e)
    # ids that fit no id format are refused, never renamed
    src = os.path.join(work, 'badid')
    os.makedirs(os.path.join(src, 'deploy'))
    open(os.path.join(src, 'sqitch.plan'), 'w').write(
        '%project=x\nadd-users 2024-01-01T00:00:00Z A <a@b> # hyphen\n')
    open(os.path.join(src, 'deploy', 'add-users.sql'), 'w').write('SELECT 1;\n')
    rc, o, e = import_fixture('sqitch', src, os.path.join(work, 'badid_out'))
    ok(rc != 0 and 'add-users' in e and 'not renamed' in e, 'an id that fits no format is refused', o + e)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--only')
    ap.add_argument('--keep', action='store_true')
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix='apm_import_')
    os.chmod(work, 0o755)
    try:
        for fmt, case in CASES.items():
            if args.only and fmt != args.only:
                continue
            if case['ref_up'] == 'sqitch' and not shutil.which('sqitch'):
                ok(False, 'sqitch: the sqitch command is installed (Debian package sqitch)')
                continue
            try:
                test_format(fmt, case, work, args.keep)
            except Exception as e:  # a crash of one format is one failure
                ok(False, '%s: test crashed' % fmt, repr(e))
        if not args.only or args.only == 'misc':
            test_wrappers(work)
            test_refusals(work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print('kept', work)
    print('%d skipped' % skipped)
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
