# zhttpd build. Objects go under $(BUILD); `make asan` builds a sanitizer variant under build/asan.
BUILD      ?= build
CXX        ?= g++
FUZZ_CXX   ?= clang++
FUZZ_SECONDS ?= 60
OPT        ?= -O2
SANITIZE   ?=

CXXFLAGS   := -std=c++20 $(OPT) -g -Wall -Wextra -Werror -Iinclude -Isrc -MMD -MP $(SANITIZE)
LDFLAGS    := $(SANITIZE)
LDLIBS     := -lev

LIB_SRCS   := $(wildcard src/http/*.cpp src/conn/*.cpp src/handlers/*/*.cpp src/io/*.cpp src/log/*.cpp \
                        src/shm/*.cpp src/cli/*.cpp src/cli/options/*.cpp src/proc/*.cpp src/app/*.cpp)
LIB_OBJS   := $(LIB_SRCS:%.cpp=$(BUILD)/%.o)
LIB        := $(BUILD)/libzhttp.a

# tests/unit/ mirrors src/ (handlers by feature); helpers several folders share are in support/.
UNIT_SRCS  := $(sort $(shell find tests/unit -name '*_test.cpp'))
UNIT_OBJS  := $(UNIT_SRCS:%.cpp=$(BUILD)/%.o)
UNIT_BIN   := $(BUILD)/tests/unit_tests
INTEG_SRCS  := $(wildcard tests/integration/*_test.cpp)
INTEG_OBJS  := $(INTEG_SRCS:%.cpp=$(BUILD)/%.o)
INTEG_BIN   := $(BUILD)/tests/integration_tests
# Each allocation-counting test is its own binary: it replaces the global allocator.
ALLOC_SRCS := $(wildcard tests/alloc/*_test.cpp)
ALLOC_BINS := $(ALLOC_SRCS:tests/alloc/%.cpp=$(BUILD)/tests/alloc/%)

BENCH_SRCS := $(wildcard bench/*.cpp)
BENCH_BIN  := $(BUILD)/bench/parser_bench
FUZZ_SRCS  := $(wildcard tests/fuzz/*_fuzz.cpp)
FUZZ_BINS  := $(FUZZ_SRCS:tests/fuzz/%.cpp=$(BUILD)/fuzz/%)

ZHTTPD     := $(BUILD)/zhttpd
ZHTTPSTAT  := $(BUILD)/zhttpstat
EXAMPLES   := $(BUILD)/examples/hello $(BUILD)/examples/checksum $(BUILD)/examples/timers \
              $(BUILD)/examples/compute
DEPS_STAMP := build/.deps-installed
# The demo site as served: examples/www built into $(BUILD)/www by scripts/build-www.sh.
WWW        := $(BUILD)/www
WWW_STAMP  := $(BUILD)/.www-built

# Keep objects make would treat as intermediate (alloc tests, fuzz) to avoid rebuilds.
.SECONDARY:

.PHONY: all test unit-test asan bench fuzz fuzz-regress run clean format deps install www
all: $(ZHTTPD) $(ZHTTPSTAT) $(EXAMPLES) $(UNIT_BIN) $(INTEG_BIN) $(ALLOC_BINS) $(WWW_STAMP)

# Install Debian packages only when something is missing (re-checked when the script changes).
$(DEPS_STAMP): scripts/install-deps.sh
	@mkdir -p $(@D)
	@scripts/install-deps.sh --check 2>/dev/null || scripts/install-deps.sh
	@touch $@
deps: $(DEPS_STAMP)

$(WWW_STAMP): scripts/build-www.sh $(shell find examples/www -type f) | $(DEPS_STAMP)
	scripts/build-www.sh examples/www $(WWW)
	@touch $@
www: $(WWW_STAMP)

$(BUILD)/%.o: %.cpp | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@mkdir -p $(@D)
	ar rcs $@ $^

$(ZHTTPD): $(BUILD)/src/main.o $(LIB)
	$(CXX) $(LDFLAGS) $^ -o $@ $(LDLIBS)

# zhttpstat: the read-only companion that prints the shared segment's stats (tools/). It includes
# only src/shm headers: the release comes from src/cli/version.hpp as a define.
TOOL_SRCS  := $(wildcard tools/*.cpp)
ZHTTPD_VERSION := $(shell sed -n 's/.*kVersion = "\(.*\)".*/\1/p' src/cli/version.hpp)
$(BUILD)/tools/%.o: CXXFLAGS += -DZHTTPD_VERSION='"$(ZHTTPD_VERSION)"'
$(BUILD)/tools/zhttpstat.o: src/cli/version.hpp
$(ZHTTPSTAT): $(TOOL_SRCS:%.cpp=$(BUILD)/%.o) $(BUILD)/src/shm/stats.o $(BUILD)/src/shm/segment.o \
              $(BUILD)/src/shm/prometheus.o $(BUILD)/src/shm/limits.o $(BUILD)/src/shm/rate_table.o \
              $(BUILD)/src/shm/conn_table.o $(BUILD)/src/shm/segment_view.o $(BUILD)/src/shm/app_counters.o \
              $(BUILD)/src/shm/cache_counters.o $(BUILD)/src/shm/cache_store.o \
              $(BUILD)/src/shm/upstream_table.o
	$(CXX) $(LDFLAGS) $^ -o $@ -lncurses -lfmt

$(BUILD)/examples/%: $(BUILD)/examples/%.o $(LIB)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) $^ -o $@ -lpthread $(LDLIBS) $(EXAMPLE_LIBS)
# Libraries one example needs beyond the server's: zlib's crc32.
$(BUILD)/examples/checksum $(BUILD)/examples/compute: EXAMPLE_LIBS := -lz

# Unit tests include their helpers by their path beneath tests/ ("unit/support/test_files.hpp").
$(BUILD)/tests/unit/%.o: CXXFLAGS += -Itests
$(UNIT_BIN): $(UNIT_OBJS) $(LIB)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) $^ -o $@ -lgmock_main -lgmock -lgtest -lpthread $(LDLIBS)

# Integration tests start the programs of the same build (examples) as real processes.
$(BUILD)/tests/integration/%.o: CXXFLAGS += -DZHTTP_BUILD_DIR='"$(BUILD)"'
$(INTEG_BIN): $(INTEG_OBJS) $(LIB) | $(EXAMPLES) $(ZHTTPD) $(ZHTTPSTAT) $(WWW_STAMP)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) $^ -o $@ -lgtest_main -lgtest -lpthread $(LDLIBS) -lz

# The worker test runs the examples' handlers (checksum needs zlib).
$(BUILD)/tests/alloc/%: $(BUILD)/tests/alloc/%.o $(LIB)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) $^ -o $@ -lgtest_main -lgtest -lpthread $(LDLIBS) -lz

$(BENCH_BIN): $(BENCH_SRCS:%.cpp=$(BUILD)/%.o) $(LIB)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) $^ -o $@ -lbenchmark -lhttp_parser -lpthread

unit-test: $(UNIT_BIN) $(INTEG_BIN) $(ALLOC_BINS) $(EXAMPLES)
	scripts/run-tests.sh $(UNIT_BIN) $(INTEG_BIN) $(ALLOC_BINS)

test: unit-test

# Unit tests under AddressSanitizer + UndefinedBehaviorSanitizer. The allocation tests replace
# malloc, which ASan must own, so they run only in the plain build.
asan:
	$(MAKE) BUILD=build/asan OPT=-O1 \
	  SANITIZE="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  build/asan/tests/unit_tests build/asan/tests/integration_tests $(EXAMPLES:$(BUILD)/%=build/asan/%) build/asan/zhttpd build/asan/zhttpstat
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 scripts/run-tests.sh \
	  build/asan/tests/unit_tests build/asan/tests/integration_tests

bench: $(BENCH_BIN)
	$(BENCH_BIN) --benchmark_min_time=0.3

# libFuzzer targets (clang). Each runs FUZZ_SECONDS over a copy of its seed corpus.
# The targets exercise the protocol layer, so they link src/http alone (no libev); the connection
# target adds src/conn.
FUZZ_FLAGS := -std=c++20 -O1 -g -Iinclude -Isrc -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_LIB_SRCS := $(wildcard src/http/*.cpp)
$(BUILD)/fuzz/%: tests/fuzz/%.cpp $(FUZZ_LIB_SRCS) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(FUZZ_CXX) $(FUZZ_FLAGS) $< $(FUZZ_LIB_SRCS) -o $@
# The connection target drives src/conn as well (still no sockets, no libev).
FUZZ_CONN_SRCS := $(FUZZ_LIB_SRCS) $(wildcard src/conn/*.cpp)
$(BUILD)/fuzz/connection_fuzz: tests/fuzz/connection_fuzz.cpp $(FUZZ_CONN_SRCS) \
                               $(wildcard src/conn/*.hpp include/zhttp/*.hpp) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(FUZZ_CXX) $(FUZZ_FLAGS) $< $(FUZZ_CONN_SRCS) -o $@

# The static file fields target adds the pure request-field code of src/handlers.
FUZZ_STATIC_SRCS := $(FUZZ_LIB_SRCS) src/handlers/static_site/content_coding.cpp src/handlers/static_site/range.cpp \
                    src/handlers/common/conditional.cpp
$(BUILD)/fuzz/static_fields_fuzz: tests/fuzz/static_fields_fuzz.cpp $(FUZZ_STATIC_SRCS) \
                                  $(wildcard src/handlers/*/*.hpp include/zhttp/*.hpp) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(FUZZ_CXX) $(FUZZ_FLAGS) $< $(FUZZ_STATIC_SRCS) -o $@

fuzz: $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do \
	  name=$$(basename $$f); corpus=$(BUILD)/fuzz/corpus-$$name; \
	  mkdir -p $$corpus; cp -n tests/fuzz/corpus/$${name%_fuzz}/* $$corpus/ 2>/dev/null || true; \
	  echo "== $$name for $(FUZZ_SECONDS)s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $$corpus || exit 1; \
	done

# Replays each seed corpus through its target without mutating: a deterministic check for CI.
fuzz-regress: $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do name=$$(basename $$f); \
	  $$f -runs=0 tests/fuzz/corpus/$${name%_fuzz} || exit 1; done

# The demo site with the options a real deployment of it would use.
run: $(ZHTTPD) $(WWW_STAMP)
	$(ZHTTPD) --listen 127.0.0.1:8080 --root $(WWW) --error-page 404=/404.html --fallback /index.html \
	  --cache-control '/assets/*=public, max-age=31536000, immutable' --cache-control '*.html=no-cache'

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

PREFIX ?= /usr/local
# The binaries, and the library for embedders: headers, libzhttp.a and zhttp.pc (pkg-config).
install: $(ZHTTPD) $(ZHTTPSTAT) $(LIB)
	install -D -m 0755 $(ZHTTPD) $(DESTDIR)$(PREFIX)/bin/zhttpd
	install -D -m 0755 $(ZHTTPSTAT) $(DESTDIR)$(PREFIX)/bin/zhttpstat
	install -D -m 0644 $(LIB) $(DESTDIR)$(PREFIX)/lib/libzhttp.a
	install -d $(DESTDIR)$(PREFIX)/include/zhttp
	install -m 0644 include/zhttp/*.hpp $(DESTDIR)$(PREFIX)/include/zhttp/
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig
	printf '%s\n' 'prefix=$(PREFIX)' 'Name: zhttp' 'Description: zhttpd as a library: zhttp::run()' \
	  'Version: 0.1' 'Cflags: -std=c++20 -I$${prefix}/include' \
	  'Libs: -L$${prefix}/lib -lzhttp -lev -lpthread' > $(DESTDIR)$(PREFIX)/lib/pkgconfig/zhttp.pc
