#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The demo's converged simulation job: submit with
#   sbatch --converge-type=sim -N2 --ntasks-per-node=2 examples/heat1d/sim-job.sh BIN_DIR
# It runs heat1d over every task of the allocation with PMIx.
set -euo pipefail
bin_dir=${1:?usage: sim-job.sh BIN_DIR}
echo "job $SLURM_JOB_ID: converge type ${CONVERGE_TYPE:-none}, nodes $SLURM_JOB_NODELIST, batch host $(hostname) as $SLURMD_NODENAME"
# Ranks on different virtual nodes of one host talk over TCP, and the virtual
# nodes share the host's cores: ranks yield instead of spinning while waiting.
export OMPI_MCA_btl=self,tcp OMPI_MCA_mpi_yield_when_idle=1
srun --mpi=pmix "$bin_dir/heat1d" --cells 512 --steps 10000
