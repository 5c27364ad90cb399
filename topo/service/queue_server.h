// SPDX-License-Identifier: GPL-2.0-or-later
//
// The job queue behind Converge's RPC layer (the "queue" role of the Topo
// service): protocol.h's methods, each a thin adapter onto JobQueue.
#pragma once

#include "topo/service/job_queue.h"

#include "converge/rpc/rpc.h"

namespace topo::service {

void serve_queue(converge::rpc::Server& server, JobQueue& queue);

}  // namespace topo::service
