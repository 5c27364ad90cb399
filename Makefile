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
# What `make tsan` builds and runs: the unit tests and the programs they start.
TSAN_TARGETS = libconverge_unit_tests launcher_unit_tests admin_unit_tests kapok_unit_tests \
               topo_unit_tests tdpipe_unit_tests cli_unit_tests tdpipe_serve_tests

CMAKE_ARGS = -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
             -DCMAKE_INSTALL_PREFIX=$(PREFIX) -DSLURM_SRC=$(SLURM_SRC) \
             -DCONVERGE_SANITIZE=$(SANITIZE) \
             -DCONVERGE_PLUGINDIR=$(PLUGINDIR)

.PHONY: all deps configure build test unit-test integration-test demo install format tsan tidy clean

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
# OpenMP runs one thread (libgomp is not instrumented either).
tsan: deps
	@scripts/check-slurm-tree.sh $(SLURM_SRC)
	@cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLURM_SRC=$(SLURM_SRC) \
	  -DCONVERGE_TSAN=ON >/dev/null
	@cmake --build $(TSAN_BUILD) -j $(JOBS) --target $(TSAN_TARGETS)
	@cd $(TSAN_BUILD) && OMP_NUM_THREADS=1 \
	  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/test/tsan.supp \
	  ctest --output-on-failure -L unit -E '^unit\.mpi\.'

# Findings are listed (also in BUILD/tidy.log); any finding fails. GCC's
# attributes (optimize) and Slurm's C headers ("%"PRIu64) are not clang
# findings; tdpipe/model/quantize.cpp uses _Float16, which Debian 12's
# clang 14 does not know on x86.
tidy: build
	@run-clang-tidy -quiet -p $(BUILD) -j $(JOBS) \
	  -extra-arg=-Wno-unknown-attributes -extra-arg=-Wno-reserved-user-defined-literal \
	  '^$(CURDIR)/(?!tdpipe/model/quantize\.cpp)(libconverge|kapok|topo|tdpipe|launcher|admin|slurm-plugins|examples)/' \
	  >$(BUILD)/tidy.log 2>&1; grep -E '(warning|error):' $(BUILD)/tidy.log | sort -u; \
	  ! grep -qE '(warning|error):' $(BUILD)/tidy.log

clean:
	rm -rf $(BUILD)
