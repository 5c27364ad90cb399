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

BUILD      ?= build
BUILD_TYPE ?= RelWithDebInfo
PREFIX     ?= /usr/local
DEPS_DIR   ?= $(CURDIR)/.deps
SANITIZE   ?= OFF
SLURM_PKG_VERSION := $(shell dpkg-query -W -f='$${source:Version}' slurmctld 2>/dev/null)
SLURM_SRC  ?= $(DEPS_DIR)/slurm-src/$(SLURM_PKG_VERSION)
PLUGINDIR  ?=
JOBS       ?= $(shell nproc)

CMAKE_ARGS = -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
             -DCMAKE_INSTALL_PREFIX=$(PREFIX) -DSLURM_SRC=$(SLURM_SRC) \
             -DCONVERGE_SANITIZE=$(SANITIZE) \
             -DCONVERGE_PLUGINDIR=$(PLUGINDIR)

.PHONY: all deps configure build test unit-test integration-test demo install format clean

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

clean:
	rm -rf $(BUILD)
