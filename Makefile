# ap_migrate: schema migrations stored and applied inside PostgreSQL
#
#   make && make install       build and install into PG_CONFIG's server
#   make installcheck          regression, isolation and TAP suites against
#                              a running server (PGHOST/PGPORT)
#   bash test/run_all.sh       the whole suite on a throwaway cluster, with
#                              the closing "N passed, M failed" line

EXTENSION = ap_migrate

MODULE_big = ap_migrate
OBJS = \
	src/ap_migrate.o \
	src/catalog.o \
	src/checksum.o \
	src/citus.o \
	src/execute.o \
	src/fingerprint.o \
	src/funcs.o \
	src/graph.o \
	src/guard.o \
	src/lint.o \
	src/offline.o \
	src/register.o \
	src/resolve.o \
	src/script.o \
	src/sqlcheck.o \
	src/stepenv.o \
	src/touched.o \
	src/util.o \
	src/validate.o \
	src/verify.o \
	src/worker.o
PGFILEDESC = "ap_migrate - schema migrations inside PostgreSQL"

# Every released version's install script stays installed and unchanged,
# with the update scripts from it: ALTER EXTENSION ap_migrate UPDATE needs
# them, and CREATE EXTENSION ... VERSION can still install an old version.
# default_version in the control file says which one CREATE EXTENSION picks.
DATA = \
	ap_migrate--0.1.0.sql \
	ap_migrate--0.2.0.sql \
	ap_migrate--0.3.0.sql \
	ap_migrate--0.1.0--0.2.0.sql \
	ap_migrate--0.2.0--0.3.0.sql
PG_CPPFLAGS = -I$(srcdir)/src

# ap-migrate-import (Python 3), run by the ap-migrate client's import and
# adopt verbs; installed next to it in the server's bindir
SCRIPTS = tools/ap-migrate-import

# pg_regress suites (sql/ + expected/), in dependency order
REGRESS = install register load upgrade downgrade targets branches offline procedure stamp introspection errors security session escalation citus transactions example lint verify drift fingerprint
# isolation specs (specs/ + expected/, beside the regression tests' files;
# no spec shares a name with a regression test)
ISOLATION = concurrent_upgrade upgrade_vs_downgrade verify_reader
# TAP tests (test/t)
TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl

EXTRA_CLEAN = output_iso tmp_check

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Each suite on its own, so a runner can count them separately.
.PHONY: check-regress check-isolation check-tap
check-regress:
	$(pg_regress_installcheck) $(REGRESS_OPTS) $(REGRESS)
check-isolation:
	$(pg_isolation_regress_installcheck) $(ISOLATION_OPTS) $(ISOLATION)
check-tap:
	$(prove_installcheck)

# The command-line client, ap-migrate (client/, docs/cli.md): built and
# installed with the extension, into PG_CONFIG's bindir.
# Indent src/ and client/ with pgindent (docs/development.md)
.PHONY: pgindent
pgindent:
	bash tools/pgindent.sh

.PHONY: client install-client clean-client
all: client
client:
	$(MAKE) -C client PG_CONFIG=$(PG_CONFIG)
install: install-client
install-client: client
	$(MAKE) -C client install PG_CONFIG=$(PG_CONFIG)
clean: clean-client
clean-client:
	$(MAKE) -C client clean
