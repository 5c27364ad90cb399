# SPDX-License-Identifier: GPL-2.0-or-later
#
# Converge: the user's entry point. CMake does the building underneath.
#
#   make deps      install Debian packages, prepare the configured Slurm tree (root)
#   make           build everything into build/bin and build/plugins
#   make test      deps + build + unit and integration tests (real local cluster)
#   make demo      deps + build + a converged sim job on a local virtual cluster
#   make install   PREFIX=/usr/local PLUGINDIR=<Slurm's PluginDir>
#   make format    apply .clang-format
#   make tsan      the unit tests (no MPI) under ThreadSanitizer, in build-tsan
#   make tidy      clang-tidy (.clang-tidy) over every source
#   make fuzz      each fuzz target for FUZZ_SECONDS (60) under libFuzzer, in build-fuzz

BUILD      ?= build
BUILD_TYPE ?= RelWithDebInfo
PREFIX     ?= /usr/local
DEPS_DIR   ?= $(CURDIR)/.deps
SANITIZE   ?= OFF
SLURM_PKG_VERSION := $(shell dpkg-query -W -f='$${source:Version}' slurmctld 2>/dev/null)
SLURM_SRC  ?= $(DEPS_DIR)/slurm-src/$(SLURM_PKG_VERSION)
PLUGINDIR  ?=
JOBS       ?= $(shell nproc)
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := kapok_messages config tdpipe_request tdpipe_model topo_queue rpc_frames
# What `make tsan` builds and runs: the unit tests and the programs they start.
TSAN_TARGETS = libconverge_unit_tests launcher_unit_tests admin_unit_tests kapok_unit_tests \
               topo_unit_tests tdpipe_unit_tests cli_unit_tests tdpipe_serve_tests

CMAKE_ARGS = -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
             -DCMAKE_INSTALL_PREFIX=$(PREFIX) -DSLURM_SRC=$(SLURM_SRC) \
             -DCONVERGE_SANITIZE=$(SANITIZE) \
             -DCONVERGE_PLUGINDIR=$(PLUGINDIR)

.PHONY: all deps configure build test unit-test integration-test demo install format tsan tidy fuzz clean

all: build

deps:
	@scripts/deps.sh $(DEPS_DIR)

configure:
	@scripts/check-slurm-tree.sh $(SLURM_SRC)
	@cmake $(CMAKE_ARGS) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

test: deps
	@$(MAKE) --no-print-directory build
	@cd $(BUILD) && ctest --output-on-failure

unit-test: build
	@cd $(BUILD) && ctest --output-on-failure -L unit

integration-test: build
	@cd $(BUILD) && ctest --output-on-failure -L integration

demo: deps
	@$(MAKE) --no-print-directory build
	@scripts/demo.sh $(BUILD)

install: build
	@cmake --install $(BUILD)

format:
	@git ls-files '*.cpp' '*.h' | xargs clang-format -i

# MPI ranks are left out (Open MPI is not built for ThreadSanitizer), and
# OpenMP runs one thread (libgomp is not instrumented either). The fuzz
# corpus replays are single-threaded: the ordinary and fuzz builds run them.
tsan: deps
	@scripts/check-slurm-tree.sh $(SLURM_SRC)
	@cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLURM_SRC=$(SLURM_SRC) \
	  -DCONVERGE_TSAN=ON >/dev/null
	@cmake --build $(TSAN_BUILD) -j $(JOBS) --target $(TSAN_TARGETS)
	@cd $(TSAN_BUILD) && OMP_NUM_THREADS=1 \
	  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/test/tsan.supp \
	  ctest --output-on-failure -L unit -E '^(unit\.mpi\.|fuzz\.)'

# Each fuzz target for FUZZ_SECONDS under libFuzzer with ASan and UBSan
# (clang), starting from the committed corpus (fuzz/corpus/TARGET); new
# inputs stay in FUZZ_BUILD/corpus, crashes in FUZZ_BUILD/crashes, and any
# crash fails. make test replays the committed corpus with the normal build.
fuzz: deps
	@scripts/check-slurm-tree.sh $(SLURM_SRC)
	@CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DSLURM_SRC=$(SLURM_SRC) -DCONVERGE_FUZZ=ON -DCONVERGE_WERROR=OFF >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(addsuffix _fuzz,$(FUZZ_TARGETS))
	@mkdir -p $(FUZZ_BUILD)/crashes
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  $(FUZZ_BUILD)/bin/$${t}_fuzz -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 \
	    -max_len=65536 -artifact_prefix=$(FUZZ_BUILD)/crashes/$$t- \
	    $(FUZZ_BUILD)/corpus/$$t fuzz/corpus/$$t 2>$(FUZZ_BUILD)/$$t.log || \
	    { tail -n 30 $(FUZZ_BUILD)/$$t.log; exit 1; }; \
	  grep -E '^(#[0-9]+ *DONE|Done)' $(FUZZ_BUILD)/$$t.log | tail -n 1; \
	done

# Findings are listed (also in BUILD/tidy.log); any finding fails. GCC's
# attributes (optimize) are not clang findings.
tidy: build
	@run-clang-tidy -quiet -p $(BUILD) -j $(JOBS) \
	  -extra-arg=-Wno-unknown-attributes \
	  '^$(CURDIR)/(libconverge|kapok|topo|tdpipe|launcher|admin|slurm-plugins|examples|fuzz)/' \
	  >$(BUILD)/tidy.log 2>&1; grep -E '(warning|error):' $(BUILD)/tidy.log | sort -u; \
	  ! grep -qE '(warning|error):' $(BUILD)/tidy.log

clean:
	rm -rf $(BUILD)
