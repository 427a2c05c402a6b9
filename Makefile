# optiinfra - build, test and install.
#
#   make                 the library (liboptiinfra.a, liboptiinfra.so.X.Y.Z and its
#                        links .so.X and .so) and the optiinfra CLI, in $(BUILD)
#   make tests           also $(BUILD)/optiinfra-tests and $(BUILD)/example
#   make fuzz            the libFuzzer targets of fuzz/ (clang), in $(BUILD)/fuzz;
#                        scripts/fuzz.sh runs them (docs/fuzzing.md)
#   make check           the whole test suite (scripts/test.sh: both backends,
#                        coverage, sanitizers, exports, cycles, man page,
#                        completion, install)
#   make install         into $(DESTDIR) with the directories below
#   make clean           remove $(BUILD), the only place make writes to
#
# Variables (make VAR=value):
#   BUILD=build          the build folder; variants build in their own:
#                        make BUILD=build/asan SANITIZE=1, make BUILD=build/cov COVERAGE=1
#   CFLAGS=-O2 -g        yours; the build adds -std=c11, the include paths, -fPIC
#                        and the warnings (-Wall -Wextra -Wshadow -Wstrict-prototypes)
#   CPPFLAGS, LDFLAGS, LDLIBS  yours, passed through
#   WERROR=1             warnings are errors (scripts/test.sh sets it; packagers need not)
#   PREFIX=/usr/local    and BINDIR=$(PREFIX)/bin, LIBDIR=$(PREFIX)/lib,
#                        INCLUDEDIR=$(PREFIX)/include, MANDIR=$(PREFIX)/share/man,
#                        PKGCONFIGDIR=$(LIBDIR)/pkgconfig,
#                        BASHCOMPLETIONDIR=$(PREFIX)/share/bash-completion/completions;
#                        e.g. make install PREFIX=/usr LIBDIR=/usr/lib/x86_64-linux-gnu
#   DESTDIR              staging root for install (packages); optiinfra.pc names the
#                        directories without it
#
# The library's version and soname come from include/optiinfra/version.h.

BUILD    ?= build
PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
LIBDIR   ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DATADIR  ?= $(PREFIX)/share
MANDIR   ?= $(DATADIR)/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
BASHCOMPLETIONDIR ?= $(DATADIR)/bash-completion/completions

CC       ?= cc
AR       ?= ar
INSTALL  ?= install
PKG_CONFIG ?= pkg-config
# The library links these.  libpq is loaded on first use instead (dlopen:
# src/backend/libpq_load.h), as the HTTP service's libmicrohttpd is
# (src/server/mhd_load.h): their headers are needed, their link is not, so
# a CLI on SQLite starts without mapping them and their ~30 dependencies.
# Neither is on a link line below but where a program calls them itself:
# a call the loaders' tables lack then fails the link.
PKGS     := sqlite3 jansson uuid nettle
DEP_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) libpq)
DEP_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS)) -lm
LIBPQ_LIBS := $(shell $(PKG_CONFIG) --libs libpq)
# The program alone needs these: the HTTP service (libmicrohttpd, loaded),
# and the tests' HTTP client (libcurl; the tests' harness calls libpq).
# The library does not.
CLI_PKGS := libmicrohttpd
CLI_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(CLI_PKGS))
CLI_LIBS := -lpthread
TEST_PKGS := libcurl
TEST_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(TEST_PKGS))
TEST_LIBS := $(shell $(PKG_CONFIG) --libs $(TEST_PKGS)) $(LIBPQ_LIBS) -lcmocka

CFLAGS   ?= -O2 -g
WARNINGS := -Wall -Wextra -Wshadow -Wstrict-prototypes
ifeq ($(WERROR),1)
WARNINGS += -Werror
endif
# The link of the shared library fails on an undefined symbol, except with the
# sanitizers, whose runtime only the final program links.
ZDEFS    := -Wl,-z,defs

VARIANT_CFLAGS :=
VARIANT_LDFLAGS :=
ifeq ($(SANITIZE),1)
VARIANT_CFLAGS  += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
VARIANT_LDFLAGS += -fsanitize=address,undefined
ZDEFS    :=
endif
ifeq ($(COVERAGE),1)
# Atomic counters: the server's threads (workers, the SQLite writer) run the
# same code at once, and racing plain increments corrupt the .gcda counts.
VARIANT_CFLAGS  += -O0 --coverage -fprofile-update=atomic
VARIANT_LDFLAGS += --coverage
endif

# The caller's CFLAGS come after ours (their -O wins), the variant's last.
ALL_CFLAGS  = -std=c11 -D_GNU_SOURCE $(WARNINGS) -fPIC -Iinclude -Isrc $(DEP_CFLAGS) \
              $(CLI_CFLAGS) $(TEST_CFLAGS) \
              $(CPPFLAGS) $(CFLAGS) $(VARIANT_CFLAGS)
ALL_LDFLAGS = $(LDFLAGS) $(VARIANT_LDFLAGS)
LIBS        = $(DEP_LIBS) $(LDLIBS)

# version.h: #define OPTIINFRA_VERSION_MAJOR 1, ..._MINOR, ..._PATCH
version_part = $(shell sed -n 's/^.define OPTIINFRA_VERSION_$(1)  *\([0-9][0-9]*\).*/\1/p' \
                   include/optiinfra/version.h)
VERSION_MAJOR := $(call version_part,MAJOR)
VERSION_MINOR := $(call version_part,MINOR)
VERSION_PATCH := $(call version_part,PATCH)
VERSION  := $(VERSION_MAJOR).$(VERSION_MINOR).$(VERSION_PATCH)
ifneq ($(words $(VERSION_MAJOR) $(VERSION_MINOR) $(VERSION_PATCH)),3)
$(error cannot read OPTIINFRA_VERSION_MAJOR/MINOR/PATCH from include/optiinfra/version.h)
endif

LIB_SRC  := $(wildcard src/*.c) $(wildcard src/backend/*.c)
CLI_SRC  := $(wildcard src/cli/*.c) $(wildcard src/views/*.c) $(wildcard src/server/*.c)
TEST_SRC := $(wildcard tests/*.c)
PUBLIC_H := $(wildcard include/optiinfra/*.h)
SQL      := $(sort $(wildcard migrations/*/*.sql))

GEN_SQL  := $(BUILD)/gen/migrations_sql.c
GEN_OPENAPI := $(BUILD)/gen/openapi_json.c
GEN_CONSOLE := $(BUILD)/gen/console_assets.c
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/migrations_sql.o
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/openapi_json.o $(BUILD)/gen/console_assets.o
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)
EXAMPLE_OBJ := $(BUILD)/docs/example.o
ALL_OBJ  := $(LIB_OBJ) $(CLI_OBJ) $(TEST_OBJ) $(EXAMPLE_OBJ)

SONAME   := liboptiinfra.so.$(VERSION_MAJOR)
LIB_A    := $(BUILD)/liboptiinfra.a
LIB_SO   := $(BUILD)/liboptiinfra.so.$(VERSION)
LIB_LINKS := $(BUILD)/$(SONAME) $(BUILD)/liboptiinfra.so
EXPORT_MAP := $(BUILD)/optiinfra.map
CLI      := $(BUILD)/optiinfra
TESTS    := $(BUILD)/optiinfra-tests
EXAMPLE  := $(BUILD)/example
MANPAGE  := docs/optiinfra.1
COMPLETION := completion/optiinfra.bash

.PHONY: all tests check install clean fuzz
.DELETE_ON_ERROR:
all: $(LIB_A) $(LIB_SO) $(LIB_LINKS) $(CLI)
tests: all $(TESTS) $(EXAMPLE)

# Each object depends on the headers it includes: the compiler writes them
# to a .d file beside it (-MMD; -MP: a deleted header is no error).
$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(GEN_SQL): scripts/embed-sql.sh $(SQL)
	@mkdir -p $(dir $@)
	sh scripts/embed-sql.sh $(SQL) > $@

$(BUILD)/gen/migrations_sql.o: $(GEN_SQL)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

# The service answers GET /openapi.json with docs/openapi.json, compiled in.
$(GEN_OPENAPI): scripts/embed-file.sh docs/openapi.json
	@mkdir -p $(dir $@)
	sh scripts/embed-file.sh srv_openapi_json docs/openapi.json > $@

$(BUILD)/gen/openapi_json.o: $(GEN_OPENAPI)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

# The web console (routes_console.c): its pages, and Chart.js with its
# licence from Debian's libjs-chart.js (a build dependency, scripts/deps.sh),
# compiled in: the installed program needs neither at run time.
CONSOLE_FILES := $(sort $(wildcard src/server/console/*))
CHARTJS  ?= /usr/share/javascript/chart.js/chart.min.js
CHARTJS_LICENSE ?= /usr/share/doc/libjs-chart.js/copyright
$(GEN_CONSOLE): scripts/embed-assets.sh $(CONSOLE_FILES) $(CHARTJS) $(CHARTJS_LICENSE)
	@mkdir -p $(dir $@)
	sh scripts/embed-assets.sh $(foreach f,$(CONSOLE_FILES),$(notdir $(f))=$(f)) \
	    chart.js=$(CHARTJS) licenses=$(CHARTJS_LICENSE) > $@

$(CHARTJS) $(CHARTJS_LICENSE):
	@echo "$@ is missing: install libjs-chart.js (sh scripts/deps.sh)" >&2; exit 1

$(BUILD)/gen/console_assets.o: $(GEN_CONSOLE)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

-include $(ALL_OBJ:.o=.d)

$(LIB_A): $(LIB_OBJ)
	rm -f $@ && $(AR) rcs $@ $^

# The shared library exports the public API only (scripts/export-map.sh).
$(EXPORT_MAP): scripts/export-map.sh scripts/public-api.sh $(wildcard scripts/abi-*.txt) $(PUBLIC_H)
	@mkdir -p $(dir $@)
	sh scripts/export-map.sh "$(CC)" include > $@

$(LIB_SO): $(LIB_OBJ) $(EXPORT_MAP)
	$(CC) $(ALL_LDFLAGS) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=$(EXPORT_MAP) \
	    $(ZDEFS) -o $@ $(LIB_OBJ) $(LIBS)

$(LIB_LINKS): $(LIB_SO)
	ln -sf $(notdir $(LIB_SO)) $@

$(CLI): $(CLI_OBJ) $(LIB_A)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS) $(CLI_LIBS)

$(TESTS): $(TEST_OBJ) $(LIB_A)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS) $(TEST_LIBS)

$(EXAMPLE): $(EXAMPLE_OBJ) $(LIB_A)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# ---- fuzzing (docs/fuzzing.md) ----------------------------------------------
# make fuzz: one libFuzzer program per fuzz/fuzz_<target>.c, in $(BUILD)/fuzz,
# built with clang from the library's sources (and, for the HTTP target, the
# service's) instrumented for coverage (-fsanitize=fuzzer-no-link) under ASan
# and UBSan, in objects of their own ($(BUILD)/fuzz/obj): never part of all
# or tests, whose compiler may be gcc.
FUZZ_CC  ?= clang
FUZZ_SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARNINGS) -g -O1 -Iinclude -Isrc -Ifuzz \
              $(DEP_CFLAGS) $(CLI_CFLAGS) $(FUZZ_SANITIZE) -fsanitize=fuzzer-no-link \
              -DOI_FUZZ_LIBFUZZER
FUZZ_SRC := $(filter-out fuzz/fuzz_common.c,$(wildcard fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_OBJ_DIR := $(BUILD)/fuzz/obj
FUZZ_LIB := $(BUILD)/fuzz/liboptiinfra-fuzz.a
# clang refuses records.c (a static initializer reads a member of another
# const object, table.what: a GCC extension), so $(CC) compiles it without
# instrumentation; it holds the generic record wrappers, no parser.
FUZZ_PLAIN_SRC := src/records.c
FUZZ_LIB_OBJ := $(patsubst %.c,$(FUZZ_OBJ_DIR)/%.o,$(filter-out $(FUZZ_PLAIN_SRC),$(LIB_SRC))) \
                $(FUZZ_PLAIN_SRC:%.c=$(FUZZ_OBJ_DIR)/plain/%.o) $(FUZZ_OBJ_DIR)/gen/migrations_sql.o
# The service without its command (server.c starts a daemon from the CLI's
# options; the HTTP target runs one of its own).
FUZZ_SERVER_OBJ := $(patsubst %.c,$(FUZZ_OBJ_DIR)/%.o,$(filter-out src/server/server.c,\
                       $(wildcard src/server/*.c)) $(wildcard src/views/*.c)) \
                   $(FUZZ_OBJ_DIR)/gen/openapi_json.o $(FUZZ_OBJ_DIR)/gen/console_assets.o

fuzz: $(FUZZ_BIN)

$(FUZZ_OBJ_DIR)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_OBJ_DIR)/plain/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_OBJ_DIR)/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_LIB): $(FUZZ_LIB_OBJ)
	rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/fuzz/fuzz_http: $(FUZZ_SERVER_OBJ)
$(BUILD)/fuzz/fuzz_http: FUZZ_LIBS = $(CLI_LIBS)
# fuzz_url checks the redacted URL with libpq's own parser.
$(BUILD)/fuzz/fuzz_url: FUZZ_LIBS = $(LIBPQ_LIBS)

$(FUZZ_BIN): $(BUILD)/fuzz/%: $(FUZZ_OBJ_DIR)/fuzz/%.o $(FUZZ_OBJ_DIR)/fuzz/fuzz_common.o $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_SANITIZE) -fsanitize=fuzzer -o $@ $(filter-out $(FUZZ_LIB),$^) $(FUZZ_LIB) \
	    $(LIBS) $(FUZZ_LIBS)

-include $(patsubst %.o,%.d,$(FUZZ_LIB_OBJ) $(FUZZ_SERVER_OBJ) $(FUZZ_OBJ_DIR)/fuzz/fuzz_common.o \
                          $(FUZZ_SRC:%.c=$(FUZZ_OBJ_DIR)/%.o))

check:
	sh scripts/test.sh

# optiinfra.pc names the directories under ${prefix} when they are inside it
# (pkg-config --define-prefix can then relocate it), literally otherwise.
pc_dir = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))

install: all
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) \
	    $(DESTDIR)$(INCLUDEDIR)/optiinfra $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(BASHCOMPLETIONDIR)
	$(INSTALL) -m 644 $(LIB_A) $(DESTDIR)$(LIBDIR)/
	$(INSTALL) -m 644 $(LIB_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(LIB_SO)) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(notdir $(LIB_SO)) $(DESTDIR)$(LIBDIR)/liboptiinfra.so
	$(INSTALL) -m 644 $(PUBLIC_H) $(DESTDIR)$(INCLUDEDIR)/optiinfra/
	$(INSTALL) -m 755 $(CLI) $(DESTDIR)$(BINDIR)/
	$(INSTALL) -m 644 $(MANPAGE) $(DESTDIR)$(MANDIR)/man1/
	$(INSTALL) -m 644 $(COMPLETION) $(DESTDIR)$(BASHCOMPLETIONDIR)/optiinfra
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(call pc_dir,$(LIBDIR))|' \
	    -e 's|@INCLUDEDIR@|$(call pc_dir,$(INCLUDEDIR))|' -e 's|@VERSION@|$(VERSION)|' \
	    -e 's|@PKGS@|$(PKGS)|' optiinfra.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/optiinfra.pc

# Everything make writes is under $(BUILD).  Refuse a BUILD that holds the
# sources (BUILD=. or BUILD=src), whose removal would take them along.
SOURCE_DIRS := $(sort $(dir $(LIB_SRC) $(CLI_SRC) $(TEST_SRC) $(PUBLIC_H) $(SQL) $(MANPAGE) \
                            $(COMPLETION) scripts/test.sh fuzz/fuzz.h))
clean:
	@build=$$(realpath -m -- '$(BUILD)') && top=$$(pwd -P) && \
	for d in $(SOURCE_DIRS); do \
	    d=$$top/$${d%/}; \
	    case "$$d/" in "$${build%/}"/*) \
	        echo "make clean: BUILD=$(BUILD) holds the sources ($$d): not removed" >&2; exit 1;; \
	    esac; \
	done
	rm -rf -- '$(BUILD)'
