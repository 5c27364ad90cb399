#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Installs the Debian packages Converge needs and prepares a configured Slurm
# source tree matching the installed Slurm exactly (the sched and select
# plugins compile against Slurm's internal headers and config.h).
# Idempotent; prints nothing when nothing is missing.
#
# Usage: scripts/deps.sh [SLURM_SRC_CACHE_DIR]
set -euo pipefail

cache_dir=${1:-"$(cd "$(dirname "$0")/.." && pwd)/.deps"}

packages=(
  build-essential cmake pkg-config dpkg-dev
  slurmctld slurmd slurm-client libslurm-dev
  munge libmunge-dev libssl-dev
  libpmix-dev libhwloc-dev hwloc
  openmpi-bin libopenmpi-dev
  nlohmann-json3-dev libfmt-dev libgtest-dev libgmock-dev libcli11-dev
  clang clang-tidy clang-format
  libfuse3-dev fuse3 zlib1g-dev libxxhash-dev libfftw3-dev libtbb-dev libcpp-httplib-dev
  iproute2 util-linux
)

die() { echo "deps: $*" >&2; exit 1; }

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ $status == installed ]] || missing+=("$p")
done

need_root() {
  [[ $(id -u) -eq 0 ]] || die "$1 needs root (run 'sudo make deps')"
}

if ((${#missing[@]})); then
  need_root "installing ${missing[*]}"
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The source tree must be the one the installed binaries were built from.
slurm_src_pkg=$(dpkg-query -W -f='${source:Package}' slurmctld)
slurm_src_ver=$(dpkg-query -W -f='${source:Version}' slurmctld)
tree_dir="$cache_dir/slurm-src/$slurm_src_ver"
stamp="$tree_dir/.configured"
[[ -f $stamp ]] && exit 0

need_root "fetching the Slurm source package"
echo "deps: preparing Slurm source tree $slurm_src_pkg $slurm_src_ver in $tree_dir"

if ! apt-get source --print-uris -qq "$slurm_src_pkg=$slurm_src_ver" 2>/dev/null | grep -q dsc; then
  # No deb-src entry yet: add one for the same Debian mirrors the system uses.
  cat >/etc/apt/sources.list.d/converge-deb-src.sources <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  apt-get update -qq >/dev/null
fi

rm -rf "$tree_dir"
mkdir -p "$tree_dir.tmp"
(cd "$tree_dir.tmp" && apt-get source -qq "$slurm_src_pkg=$slurm_src_ver" >/dev/null 2>&1) ||
  die "apt-get source $slurm_src_pkg=$slurm_src_ver failed"
src=$(find "$tree_dir.tmp" -mindepth 1 -maxdepth 1 -type d | head -1)
[[ -n $src ]] || die "apt-get source produced no source directory"

# Configure with the same options Debian's rules use for the packaged build
# (make variables such as the PMIx path do not affect the headers we need).
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
mapfile -t rule_opts < <(sed -n 's/^[[:space:]]*dh_auto_configure -- //p' "$src/debian/rules" |
  head -1 | tr ' ' '\n' | grep -v '\$(\|^SUCMD\|^SLEEP_CMD\|^$')
(cd "$src" && ./configure -q --prefix=/usr --libdir="/usr/lib/$multiarch" "${rule_opts[@]}" \
  >"$tree_dir.tmp/configure.log" 2>&1) || die "configuring the Slurm tree failed (see $tree_dir.tmp/configure.log)"

mv "$src" "$tree_dir"
rm -rf "$tree_dir.tmp"
touch "$stamp"
echo "deps: Slurm source tree ready: $tree_dir"
