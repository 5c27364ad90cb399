// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/sched/job_policy.h"
#include "converge/site_config.h"

#include <gtest/gtest.h>

using namespace converge;
using converge::sched::JobPolicy;
using converge::sched::Submitter;

namespace {

JobPolicy policy_of(const char* text) {
  return SiteConfig::from_json(config::Json::parse(text), "converge.json").policy;
}

JobRequest request(PriorityClass priority, CommPattern comm) {
  JobRequest r;
  r.priority = priority;
  r.comm = comm;
  return r;
}

}  // namespace

TEST(JobPolicy, OnlyListedUsersAccountsOrQosGetRealtimeAndHeavy) {
  JobPolicy p = policy_of(R"({"policy": {"realtime": {"users": ["alice"], "qos": ["urgent"]},
                                         "heavy": {"accounts": ["climate"]}}})");
  p.slurm_user = 64030;
  Submitter alice{1001, "alice", "physics", ""}, bob{1002, "bob", "climate", ""},
      carol{1003, "carol", "", "urgent"};
  auto realtime = request(PriorityClass::realtime, CommPattern::normal);
  auto heavy = request(PriorityClass::batch, CommPattern::heavy);
  auto plain = request(PriorityClass::batch, CommPattern::normal);
  EXPECT_FALSE(p.refusal(realtime, alice));
  EXPECT_FALSE(p.refusal(realtime, carol));  // by QOS
  ASSERT_TRUE(p.refusal(realtime, bob));
  EXPECT_NE(
      p.refusal(realtime, bob)->find("--converge-priority=realtime is not allowed for user bob"),
      std::string::npos);
  EXPECT_FALSE(p.refusal(heavy, bob));  // by account
  EXPECT_TRUE(p.refusal(heavy, alice));
  for (const auto& who : {alice, bob, carol}) EXPECT_FALSE(p.refusal(plain, who));
  // Root and the Slurm user may always; an unnamed uid is named by number.
  EXPECT_FALSE(p.refusal(heavy, Submitter{0, "root", "", ""}));
  EXPECT_FALSE(p.refusal(heavy, Submitter{64030, "slurm", "", ""}));
  EXPECT_NE(p.refusal(heavy, Submitter{4242, "", "", ""})->find("uid 4242"), std::string::npos);
}

TEST(JobPolicy, NoPolicyMeansNobodyButRootAndBadPoliciesAreConfigErrors) {
  JobPolicy none = policy_of("{}");
  EXPECT_TRUE(none.refusal(request(PriorityClass::realtime, CommPattern::normal),
                           Submitter{1001, "alice", "", ""}));
  EXPECT_THROW(policy_of(R"({"policy": {"realtime": {"user": ["alice"]}}})"), config::Error);
  EXPECT_THROW(policy_of(R"({"policy": {"fast": {}}})"), config::Error);
  EXPECT_THROW(policy_of(R"({"policy": {"heavy": {"users": [""]}}})"), config::Error);
}
