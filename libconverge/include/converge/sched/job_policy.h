// SPDX-License-Identifier: GPL-2.0-or-later
//
// Who may ask for what other users' jobs pay for: big-data priority ahead
// of everyone's batch work (--converge-priority=realtime) and whole leaf
// switches to oneself (--converge-comm=heavy). The site lists the users,
// accounts and QOS allowed each ("policy" in converge.json); root and the
// Slurm user always are. job_submit/converge refuses other requests at
// submission, with the reason.
#pragma once

#include "converge/config.h"
#include "converge/job_request.h"

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace converge::sched {

// Who a job is, as slurmctld knows it at submission.
struct Submitter {
  uid_t uid = static_cast<uid_t>(-1);
  std::string user;     // empty when the uid has no name
  std::string account;  // as requested; empty: the user's default
  std::string qos;      // as requested; empty: the default
};

struct Grant {
  std::vector<std::string> users, accounts, qos;

  bool allows(const Submitter& who) const;
  static Grant from_config(const config::Node& node);  // {"users": [], "accounts": [], "qos": []}
};

struct JobPolicy {
  Grant realtime;  // --converge-priority=realtime
  Grant heavy;     // --converge-comm=heavy
  uid_t slurm_user = 0;

  // Reads the "policy" section: {"realtime": Grant, "heavy": Grant}.
  static JobPolicy from_config(const config::Node& node);

  // Why `request` is refused for `who`; empty when it is allowed.
  std::optional<std::string> refusal(const JobRequest& request, const Submitter& who) const;
};

}  // namespace converge::sched
