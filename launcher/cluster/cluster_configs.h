// SPDX-License-Identifier: GPL-2.0-or-later
//
// The files a local cluster runs from, written into its directory before any
// daemon starts: slurm.conf and plugstack.conf (from the templates in
// share/converge/local-cluster), topology.conf (a switch tree over the
// nodes), gres.conf (virtual GPUs), converge.json (the site file with the
// cluster's own job directory) and cluster.json (its settings, so a later
// `up` keeps its shape). LocalCluster starts and stops the daemons.
#pragma once

#include "cluster_settings.h"
#include "local_cluster.h"

#include <string>

namespace converge::cluster {

void write_cluster_configs(const ClusterSettings& settings, const std::string& dir,
                           const Installation& installation);

}  // namespace converge::cluster
