#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# One-line check, before CMake runs, that SLURM_SRC is a configured tree of the
# running Slurm's release. Usage: scripts/check-slurm-tree.sh SLURM_SRC
src=$1
version_of() { sed -n 's/^#define SLURM_VERSION_STRING "\(.*\)"/\1/p' "$1" 2>/dev/null; }
if [[ ! -f $src/config.h ]]; then
  echo "converge: no configured Slurm source tree at '$src': run 'make deps' or pass SLURM_SRC=/path" >&2
  exit 1
fi
tree=$(version_of "$src/config.h")
if command -v slurmctld >/dev/null; then
  running=$(slurmctld -V | awk '{print $NF}')
else
  running=$(version_of /usr/include/slurm/slurm_version.h)
fi
if [[ $tree != "$running" ]]; then
  echo "converge: Slurm source tree $src is $tree but the installed Slurm is $running; run 'make deps' or pass SLURM_SRC= a $running tree" >&2
  exit 1
fi
