// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/sched/job_policy.h"

#include <fmt/format.h>

#include <algorithm>

namespace converge::sched {
namespace {

bool listed(const std::vector<std::string>& list, const std::string& name) {
  return !name.empty() && std::find(list.begin(), list.end(), name) != list.end();
}

std::vector<std::string> names(const config::Node& node) {
  std::vector<std::string> out;
  for (const auto& e : node.elements()) {
    std::string name = e.as_string();
    if (name.empty()) e.fail("must not be empty");
    out.push_back(std::move(name));
  }
  return out;
}

std::string who_text(const Submitter& who) {
  std::string user = who.user.empty() ? fmt::format("uid {}", who.uid) : who.user;
  std::string text = "user " + user;
  if (!who.account.empty()) text += ", account " + who.account;
  if (!who.qos.empty()) text += ", QOS " + who.qos;
  return text;
}

}  // namespace

bool Grant::allows(const Submitter& who) const {
  return listed(users, who.user) || listed(accounts, who.account) || listed(qos, who.qos);
}

Grant Grant::from_config(const config::Node& node) {
  node.allow_only({"users", "accounts", "qos"});
  Grant g;
  if (auto n = node.find("users")) g.users = names(*n);
  if (auto n = node.find("accounts")) g.accounts = names(*n);
  if (auto n = node.find("qos")) g.qos = names(*n);
  return g;
}

JobPolicy JobPolicy::from_config(const config::Node& node) {
  node.allow_only({"realtime", "heavy"});
  JobPolicy p;
  if (auto n = node.find("realtime")) p.realtime = Grant::from_config(*n);
  if (auto n = node.find("heavy")) p.heavy = Grant::from_config(*n);
  return p;
}

std::optional<std::string> JobPolicy::refusal(const JobRequest& request,
                                              const Submitter& who) const {
  if (who.uid == 0 || who.uid == slurm_user) return std::nullopt;
  if (request.priority == PriorityClass::realtime && !realtime.allows(who)) {
    return fmt::format(
        "--converge-priority=realtime is not allowed for {} (the site lists who may in "
        "converge.json, \"policy\": {{\"realtime\": ...}})",
        who_text(who));
  }
  if (request.comm == CommPattern::heavy && !heavy.allows(who)) {
    return fmt::format(
        "--converge-comm=heavy is not allowed for {} (the site lists who may in converge.json, "
        "\"policy\": {{\"heavy\": ...}})",
        who_text(who));
  }
  return std::nullopt;
}

}  // namespace converge::sched
