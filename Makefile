# optiinfra - build, test and install.
#
#   make                 library (static and shared) and the optiinfra CLI in $(BUILD)
#   make check           the whole test suite (scripts/test.sh: both backends,
#                        coverage, sanitizers)
#   make install         PREFIX=/usr/local (DESTDIR honoured)
#
# Variants build in their own folder: make BUILD=build/asan SANITIZE=1,
# make BUILD=build/cov COVERAGE=1.

BUILD    ?= build
PREFIX   ?= /usr/local
CC       ?= cc
PKGS     := sqlite3 libpq jansson uuid

CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
            -fPIC -Iinclude -Isrc $(shell pkg-config --cflags $(PKGS))
LDLIBS   += $(shell pkg-config --libs $(PKGS)) -lm

ifeq ($(SANITIZE),1)
CFLAGS   += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=address,undefined
endif
ifeq ($(COVERAGE),1)
CFLAGS   += -O0 --coverage
LDFLAGS  += --coverage
endif

LIB_SRC  := $(wildcard src/*.c) $(wildcard src/backend/*.c)
CLI_SRC  := $(wildcard src/cli/*.c)
TEST_SRC := $(wildcard tests/*.c)
SQL      := $(sort $(wildcard migrations/*/*.sql))

GEN_SQL  := $(BUILD)/gen/migrations_sql.c
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/migrations_sql.o
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)

LIB_A    := $(BUILD)/liboptiinfra.a
LIB_SO   := $(BUILD)/liboptiinfra.so
EXPORT_MAP := $(BUILD)/optiinfra.map
CLI      := $(BUILD)/optiinfra
TESTS    := $(BUILD)/optiinfra-tests
EXAMPLE  := $(BUILD)/example

.PHONY: all tests check install clean
all: $(LIB_A) $(LIB_SO) $(CLI)
tests: all $(TESTS) $(EXAMPLE)

$(BUILD)/%.o: %.c $(wildcard include/optiinfra/*.h) $(wildcard src/*.h src/*/*.h tests/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(GEN_SQL): scripts/embed-sql.sh $(SQL)
	@mkdir -p $(dir $@)
	sh scripts/embed-sql.sh $(SQL) > $@

$(BUILD)/gen/migrations_sql.o: $(GEN_SQL)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB_A): $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

# The shared library exports the public API only (scripts/export-map.sh).
$(EXPORT_MAP): scripts/export-map.sh $(wildcard include/optiinfra/*.h)
	@mkdir -p $(dir $@)
	sh scripts/export-map.sh "$(CC)" include > $@

$(LIB_SO): $(LIB_OBJ) $(EXPORT_MAP)
	$(CC) $(LDFLAGS) -shared -Wl,-soname,liboptiinfra.so.0 -Wl,--version-script=$(EXPORT_MAP) \
	    -o $@ $(LIB_OBJ) $(LDLIBS)

$(CLI): $(CLI_OBJ) $(LIB_A)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(TESTS): $(TEST_OBJ) $(LIB_A)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

$(EXAMPLE): docs/example.c $(LIB_A)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

check:
	sh scripts/test.sh

install: $(LIB_A) $(LIB_SO) $(CLI)
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/optiinfra $(DESTDIR)$(PREFIX)/bin
	install -m 644 $(LIB_A) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(LIB_SO) $(DESTDIR)$(PREFIX)/lib/liboptiinfra.so.0
	ln -sf liboptiinfra.so.0 $(DESTDIR)$(PREFIX)/lib/liboptiinfra.so
	install -m 644 include/optiinfra/*.h $(DESTDIR)$(PREFIX)/include/optiinfra/
	install -m 755 $(CLI) $(DESTDIR)$(PREFIX)/bin/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(shell sed -n 's/.*OPTIINFRA_VERSION "\(.*\)"/\1/p' include/optiinfra/version.h)|' \
	    optiinfra.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/optiinfra.pc

clean:
	rm -rf build
