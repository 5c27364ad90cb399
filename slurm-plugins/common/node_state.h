// SPDX-License-Identifier: GPL-2.0-or-later
//
// What Converge's plugins mean by an idle node: up, responding, not
// draining or completing a job, and running nothing.
#pragma once

#include "common/slurm_internal.h"

namespace converge::slurm {

inline bool node_is_idle(const node_record_t* node) {
  return IS_NODE_IDLE(node) && !IS_NODE_COMPLETING(node) && !IS_NODE_DRAIN(node) &&
         !IS_NODE_NO_RESPOND(node);
}

}  // namespace converge::slurm
