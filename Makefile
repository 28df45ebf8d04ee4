# Formwork: build, run and test.
#
# A plain Makefile rather than `kodev build`: kodev names the app after the
# directory it runs in (a clone elsewhere would not build), cannot embed
# templates/, and cannot produce the sanitizer build. We pass Kore's feature
# flags ourselves so struct layouts match the installed kore binary.

APP		= formwork
# Kore's build flags: they change the layout of its structs, so the module
# must be compiled with them. Read when a compile runs, not when make
# starts: on a new machine `make run` installs kore (deps-run) in the same
# run.
KORE_FEATURES_FILE = /usr/share/kore/features
KORE_FEATURES	= $(shell cat $(KORE_FEATURES_FILE))
KORE_SRC	= /usr/share/kore/src

CC		?= cc
WARN		= -Wall -Wextra -Wmissing-prototypes -Wstrict-prototypes \
		  -Wshadow -Wpointer-arith -Wcast-qual -Wsign-compare \
		  -Wno-unused-parameter -Werror
CFLAGS_APP	= -std=gnu11 -D_GNU_SOURCE -fPIC -O2 -g $(WARN) $(KORE_FEATURES) -Isrc
LDLIBS_APP	= -lsodium -lsqlite3 -lpq -lcurl
SAN		= -O0 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
		  -fno-sanitize-recover=all

# The layers, one folder each (README, "Source map"). core/ and store/
# need no Kore server: formworkctl and the unit tests link them as they
# are; the module links every layer but ctl/.
CORE_SRC	= $(wildcard src/core/*.c)
STORE_SRC	= $(wildcard src/store/*.c)
SERVER_DIRS	= worker queue web desk
SRC		= $(CORE_SRC) $(STORE_SRC) \
		  $(foreach d,$(SERVER_DIRS),$(wildcard src/$(d)/*.c))
OBJ		= $(SRC:src/%.c=.objs/%.o)
OBJ_SAN		= $(SRC:src/%.c=.objs-san/%.o)
HDR		= $(wildcard src/*/*.h)

# Debian packages: what building and running need (make run), then what
# only the tests need (make test). valgrind and Java (the W3C Nu checker
# of the browser tests) are in the second list; tests/browser/run.sh
# installs its Node packages itself, and make bench its own tools.
RUN_PKGS	= kore gcc libsodium-dev libsqlite3-dev libpq-dev \
		  libcurl4-openssl-dev coreutils postgresql-client-15
TEST_PKGS	= libcriterion-dev curl sqlite3 python3 python3-aiosmtpd wrk gdb \
		  valgrind chromium openjdk-17-jre-headless clang \
		  libclang-rt-14-dev cppcheck clang-tidy nginx systemd \
		  postgresql-15

.PHONY: all build run install uninstall test unit integ integ-pg integ-nodes \
	unit-san \
	unit-valgrind integ-san load crash browser deploy fuzz-smoke fuzz static \
	bench deps-run deps-test clean FORCE

all: build

# Installs the Debian packages of $(1) that dpkg does not list as
# installed (as root, Debian 12).
define deb_install
@missing=""; for p in $(1); do \
	dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; \
done; \
if [ -n "$$missing" ]; then \
	echo "installing:$$missing"; \
	apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
fi
endef

deps-run:
	$(call deb_install,$(RUN_PKGS))

# Node.js (with npm) is part of the machine image; only check for it.
deps-test: deps-run
	@command -v npm >/dev/null || { echo "npm (Node.js 20) is required" \
		"for the browser tests"; exit 1; }
	$(call deb_install,$(TEST_PKGS))

build: $(APP).so formworkctl

$(KORE_FEATURES_FILE):
	@echo "Kore is not installed ($@ is missing): run 'make deps-run'" >&2
	@exit 1

$(APP).so: $(OBJ)
	$(CC) -shared -o $@ $(OBJ) $(LDLIBS_APP)

.objs/%.o: src/%.c $(HDR) | $(KORE_FEATURES_FILE)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_APP) -c $< -o $@

# The operator's command line: the store, passwords and ids, linked with
# Kore's memory and utility code (no server).
CTL_SRC		= $(wildcard src/ctl/*.c) $(CORE_SRC) $(STORE_SRC)
KORE_CTL_SRC	= $(KORE_SRC)/json.c $(KORE_SRC)/buf.c $(KORE_SRC)/mem.c $(KORE_SRC)/pool.c \
		  $(KORE_SRC)/utils.c

CTL_CC		= $(CC) -std=gnu11 -D_GNU_SOURCE -O2 -g $(WARN) \
		  -Wno-missing-prototypes $(KORE_FEATURES) \
		  -I/usr/share/kore/include/kore -Isrc
CTL_LINK	= $(CTL_SRC) $(KORE_CTL_SRC) -lsodium -lsqlite3 -lpq -lcrypto -lssl

formworkctl: $(CTL_SRC) $(HDR) | $(KORE_FEATURES_FILE)
	$(CTL_CC) -o $@ $(CTL_LINK)

# The AddressSanitizer + UBSan build of the module, loaded with libasan
# preloaded into kore (see tests/integ/run.sh).
$(APP)-san.so: $(OBJ_SAN)
	$(CC) -shared -fsanitize=address,undefined -o $@ $(OBJ_SAN) $(LDLIBS_APP)

.objs-san/%.o: src/%.c $(HDR) | $(KORE_FEATURES_FILE)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_APP) $(SAN) -c $< -o $@

# The build starts once the packages are in (also under make -j).
# As root, the workers run as the system user formwork (made here if
# missing; FORMWORK_USER, src/web/privsep.h), never as root.
run: deps-run
	$(MAKE) build
	@mkdir -p var
	@if [ "$$(id -u)" = 0 ] && [ -z "$$FORMWORK_USER" ] && \
	    ! id -u formwork >/dev/null 2>&1; then \
		useradd --system --no-create-home --home-dir /nonexistent \
		    --shell /usr/sbin/nologin formwork; \
	fi
	if [ "$$(id -u)" = 0 ]; then \
		export FORMWORK_USER="$${FORMWORK_USER:-formwork}"; \
	fi; \
	exec stdbuf -oL kore -fnrc conf/$(APP).conf

# ---- install --------------------------------------------------------------
# make install [PREFIX=/usr/local] [SYSCONFDIR=/etc/formwork]
# [STATEDIR=/var/lib/formwork] [DESTDIR=]: the program under PREFIX, the
# operator's configuration and forms in SYSCONFDIR, the data in STATEDIR
# (README, "Running it on a server"). The installed module and
# formworkctl have these directories compiled in (src/core/config.c), so
# they need no FORMWORK_* variable to find their files; DESTDIR only
# stages the files elsewhere (a package build) and is not compiled in.
PREFIX		= /usr/local
SYSCONFDIR	= /etc/formwork
STATEDIR	= /var/lib/formwork
BINDIR		= $(PREFIX)/bin
LIBDIR		= $(PREFIX)/lib/$(APP)
DATADIR		= $(PREFIX)/share/$(APP)
UNITDIR		= $(PREFIX)/lib/systemd/system
SYSUSERSDIR	= $(PREFIX)/lib/sysusers.d
INSTALL_DIRS	= -DFORMWORK_SYSCONFDIR='"$(SYSCONFDIR)"' \
		  -DFORMWORK_DATADIR='"$(DATADIR)"' \
		  -DFORMWORK_STATEDIR='"$(STATEDIR)"'

# Only config.c reads those directories: the installed module is the
# build's objects with config.o compiled again, so an install after a
# build costs one file (and formworkctl).
OBJ_INSTALL	= $(filter-out .objs/core/config.o,$(OBJ)) \
		  .objs-install/core/config.o

# The directories last compiled in: rewritten, and so newer than what was
# built from it, whenever they change.
.objs-install/dirs: FORCE
	@mkdir -p $(@D)
	@echo '$(SYSCONFDIR) $(DATADIR) $(STATEDIR)' | cmp -s - $@ || \
		echo '$(SYSCONFDIR) $(DATADIR) $(STATEDIR)' > $@

.objs-install/core/config.o: src/core/config.c $(HDR) .objs-install/dirs \
		| $(KORE_FEATURES_FILE)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_APP) $(INSTALL_DIRS) -c $< -o $@

.objs-install/$(APP).so: $(OBJ_INSTALL)
	$(CC) -shared -o $@ $(OBJ_INSTALL) $(LDLIBS_APP)

.objs-install/formworkctl: $(CTL_SRC) $(HDR) .objs-install/dirs \
		| $(KORE_FEATURES_FILE)
	$(CTL_CC) $(INSTALL_DIRS) -o $@ $(CTL_LINK)

# conf/formwork.conf for the installed layout: the module by its absolute
# path, the pid file in the unit's RuntimeDirectory (/run/formwork),
# bodies spooled in the state directory; everything else (limits, routes,
# `tls no`, `http_hsts_enable 0`) as make run has it.
.objs-install/$(APP).conf: conf/$(APP).conf .objs-install/dirs Makefile
	sed -e '1s|.*|# Formwork: made by make install from conf/$(APP).conf.|' \
		-e 's|^\(load[[:space:]]*\).*|\1$(LIBDIR)/$(APP).so|' \
		-e 's|^\(pidfile[[:space:]]*\).*|\1/run/formwork/kore.pid|' \
		-e 's|^\(http_body_disk_path[[:space:]]*\).*|\1$(STATEDIR)/tmp|' \
		$< > $@

# The systemd unit, the sysusers file and the nginx example name the
# default directories; installed with the ones actually used. The unit's
# data directory stays /var/lib/formwork (StateDirectory=, the one place
# it may write): with another STATEDIR, edit the installed unit.
INSTALL_SED	= -e 's|/usr/local|$(PREFIX)|g' -e 's|/etc/formwork|$(SYSCONFDIR)|g'

# The operator's files (the Kore configuration, the forms) are put in only
# when absent, and the forms only into a new forms directory: an upgrade
# keeps every change, and a sample deleted stays deleted. A Kore
# configuration that differs from the new one's is left alone and the new
# one put beside it as formwork.conf.new.
install: .objs-install/$(APP).so .objs-install/formworkctl \
		.objs-install/$(APP).conf
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) \
		$(DESTDIR)$(DATADIR)/nginx $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(SYSCONFDIR)
	install -d -m 0750 $(DESTDIR)$(STATEDIR)
	install -m 0755 .objs-install/formworkctl $(DESTDIR)$(BINDIR)/formworkctl
	install -m 0644 .objs-install/$(APP).so $(DESTDIR)$(LIBDIR)/$(APP).so
	rm -rf $(DESTDIR)$(DATADIR)/assets
	rm -f $(DESTDIR)$(DATADIR)/templates/*.html
	install -d $(DESTDIR)$(DATADIR)/templates/mail $(DESTDIR)$(DATADIR)/assets
	install -m 0644 templates/*.html $(DESTDIR)$(DATADIR)/templates
	@# The owner's own mail templates beside the samples stay.
	install -m 0644 templates/mail/* $(DESTDIR)$(DATADIR)/templates/mail
	install -m 0644 assets/* $(DESTDIR)$(DATADIR)/assets
	sed $(INSTALL_SED) conf/nginx/formwork.conf \
		> $(DESTDIR)$(DATADIR)/nginx/formwork.conf
	sed $(INSTALL_SED) conf/systemd/formwork.service \
		> $(DESTDIR)$(UNITDIR)/formwork.service
	sed $(INSTALL_SED) conf/systemd/formwork.sysusers \
		> $(DESTDIR)$(SYSUSERSDIR)/formwork.conf
	@if [ ! -d $(DESTDIR)$(SYSCONFDIR)/forms ]; then \
		echo "install -d $(DESTDIR)$(SYSCONFDIR)/forms (samples)"; \
		install -d $(DESTDIR)$(SYSCONFDIR)/forms && \
		install -m 0644 conf/forms/*.json $(DESTDIR)$(SYSCONFDIR)/forms; \
	fi
	@conf=$(DESTDIR)$(SYSCONFDIR)/$(APP).conf; \
	if [ ! -e $$conf ]; then \
		echo "install $$conf"; \
		install -m 0644 .objs-install/$(APP).conf $$conf; \
	elif cmp -s .objs-install/$(APP).conf $$conf; then \
		rm -f $$conf.new; \
	else \
		install -m 0644 .objs-install/$(APP).conf $$conf.new; \
		echo "kept $$conf (changed); this version's is $$conf.new:" \
			"compare them"; \
	fi
	@[ "$(STATEDIR)" = /var/lib/formwork ] || echo "note: the systemd" \
		"unit keeps its data in /var/lib/formwork; edit it for $(STATEDIR)"

# Removes what install put in place; the operator's configuration and
# forms (SYSCONFDIR) and the data (STATEDIR) stay.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/formworkctl $(DESTDIR)$(LIBDIR)/$(APP).so \
		$(DESTDIR)$(UNITDIR)/formwork.service \
		$(DESTDIR)$(SYSUSERSDIR)/formwork.conf \
		$(DESTDIR)$(SYSCONFDIR)/$(APP).conf.new
	rm -rf $(DESTDIR)$(DATADIR)/templates $(DESTDIR)$(DATADIR)/assets \
		$(DESTDIR)$(DATADIR)/nginx
	@for d in $(DESTDIR)$(LIBDIR) $(DESTDIR)$(DATADIR); do \
		[ ! -d $$d ] || rmdir $$d; \
	done
	@echo "kept $(DESTDIR)$(SYSCONFDIR) (configuration, forms) and" \
		"$(DESTDIR)$(STATEDIR) (the data): remove them yourself"

# ---- tests ----------------------------------------------------------------
# Unit tests link the pure sources and the SQLite store directly, plus
# Kore's own buffer, memory, pool, utils and JSON code and a small stubs file.
# (result_cache.c is the one web/ file with no Kore server in it.)
UNIT_SRC	= $(CORE_SRC) $(STORE_SRC) src/web/result_cache.c \
		  src/worker/metrics.c
KORE_UNIT_SRC	= $(KORE_SRC)/buf.c $(KORE_SRC)/mem.c $(KORE_SRC)/pool.c \
		  $(KORE_SRC)/utils.c $(KORE_SRC)/json.c src/ctl/kore_glue.c
UNIT_TESTS	= $(wildcard tests/unit/test_*.c)
UNIT_HDR	= $(wildcard tests/unit/*.h)
UNIT_CFLAGS	= -std=gnu11 -D_GNU_SOURCE -g -Wall -Wextra -Wno-unused-parameter \
		  -Wno-sign-compare -Wno-missing-field-initializers \
		  $(KORE_FEATURES) -I/usr/share/kore/include/kore -Isrc
UNIT_LIBS	= -lcriterion -lsodium -lsqlite3 -lpq -lcrypto -lssl

tests/unit/run: $(UNIT_TESTS) $(UNIT_HDR) $(UNIT_SRC) $(HDR) \
		src/ctl/kore_glue.c \
		| $(KORE_FEATURES_FILE)
	$(CC) $(UNIT_CFLAGS) -O1 -o $@ $(UNIT_TESTS) $(UNIT_SRC) \
		$(KORE_UNIT_SRC) $(UNIT_LIBS)

tests/unit/run-san: $(UNIT_TESTS) $(UNIT_HDR) $(UNIT_SRC) $(HDR) \
		src/ctl/kore_glue.c \
		| $(KORE_FEATURES_FILE)
	$(CC) $(UNIT_CFLAGS) $(SAN) -o $@ $(UNIT_TESTS) $(UNIT_SRC) \
		$(KORE_UNIT_SRC) $(UNIT_LIBS)

# Valgrind runs the tests of the code that parses and writes bytes from
# users (the body, JSON, CSV, MIME and template code), where a read of
# uninitialised memory, which the sanitizers do not catch, would matter
# most; the sanitizers run every test. Under valgrind every test is a
# process of its own, about a second each, most of it loading libraries:
# the whole unit binary (469 tests) took 11 minutes of make test there,
# so this runner has these tests only and links the core sources only.
VALGRIND_TESTS	= $(patsubst %,tests/unit/test_%.c,body csv json_in json_out \
		  mime tmpl)

tests/unit/run-valgrind: $(VALGRIND_TESTS) $(UNIT_HDR) $(CORE_SRC) $(HDR) \
		src/ctl/kore_glue.c \
		| $(KORE_FEATURES_FILE)
	$(CC) $(UNIT_CFLAGS) -O1 -Wl,--as-needed -o $@ $(VALGRIND_TESTS) \
		$(CORE_SRC) $(KORE_UNIT_SRC) -lcriterion -lsodium -lcrypto

unit: tests/unit/run
	cd tests/unit && ./run

unit-san: tests/unit/run-san
	cd tests/unit && ./run-san

integ: build
	bash tests/integ/run.sh ./$(APP).so

# The six suites again, unchanged, on PostgreSQL (a cluster per suite,
# tests/integ/pg.py): about 2.5 minutes. The sanitizer build, load and
# crash gates run on SQLite only (make test's time budget); the
# multi-node tests have their own target.
integ-pg: build
	FORMWORK_TEST_PG=1 bash tests/integ/run.sh ./$(APP).so

# Two nodes behind Debian's nginx on one PostgreSQL: flows across nodes,
# kill -9 of a node and a database outage under load, formworkctl
# migrate of a 100,000-row store (tests/integ/nodes.py, about 2 minutes).
integ-nodes: build
	/usr/bin/python3 -u tests/integ/nodes.py --so ./$(APP).so

integ-san: $(APP)-san.so formworkctl
	FORMWORK_SAN=1 bash tests/integ/run.sh ./$(APP)-san.so

unit-valgrind: tests/unit/run-valgrind
	bash tests/unit/valgrind.sh

load: build
	bash tests/integ/load.sh ./$(APP).so

crash: build
	bash tests/integ/crash.sh ./$(APP).so

browser: build
	bash tests/browser/run.sh ./$(APP).so

# conf/nginx/formwork.conf in Debian's nginx in front of a real Formwork
# (curl and Chromium over https), conf/systemd/formwork.service checked
# with systemd-analyze.
deploy: build
	bash tests/deploy/run.sh ./$(APP).so

# libFuzzer targets (clang): 15 s each in make test (a smoke run: the
# corpus, then mutations), five minutes each with make fuzz;
# FUZZ_MERGE=1 keeps new coverage-adding inputs in tests/fuzz/corpus/.
FUZZ_SECONDS	?= 300
FUZZ_MERGE	?= 0

fuzz-smoke:
	bash tests/fuzz/run.sh 15

fuzz:
	FUZZ_MERGE=$(FUZZ_MERGE) bash tests/fuzz/run.sh $(FUZZ_SECONDS)

# Benchmarks against two minimal Kore references and a Flask peer; not
# part of make test. Results in tests/bench/results/. QUICK=1: a short trial
# run; PERF=1: add perf profiles. See tests/bench/README.md.
bench: build
	bash tests/bench/run.sh ./$(APP).so

# cppcheck and clang-tidy (checks chosen in tests/static/.clang-tidy).
static:
	bash tests/static/run.sh

test: deps-test
	$(MAKE) build
	$(MAKE) unit
	$(MAKE) unit-san
	$(MAKE) unit-valgrind
	$(MAKE) static
	$(MAKE) fuzz-smoke
	$(MAKE) integ
	$(MAKE) integ-pg
	$(MAKE) integ-nodes
	$(MAKE) integ-san
	$(MAKE) load
	$(MAKE) crash
	$(MAKE) browser
	$(MAKE) deploy

clean:
	rm -rf .objs .objs-san .objs-install $(APP).so $(APP)-san.so tests/unit/run \
		tests/unit/run-san tests/unit/run-valgrind
