// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/job_request.h"

#include <gtest/gtest.h>

#include <random>

using namespace converge;

TEST(JobRequest, ParsesJobTypes) {
  EXPECT_EQ(parse_job_type("sim"), JobType::sim);
  EXPECT_EQ(parse_job_type("bigdata"), JobType::bigdata);
  EXPECT_EQ(parse_job_type("ai"), JobType::ai);
  try {
    parse_job_type("bogus");
    FAIL() << "bogus accepted";
  } catch (const JobRequestError& e) {
    EXPECT_STREQ(e.what(), "invalid --converge-type \"bogus\": expected one of sim, bigdata, ai");
  }
  EXPECT_THROW(parse_job_type(""), JobRequestError);
  EXPECT_THROW(parse_job_type("SIM"), JobRequestError);
}

TEST(JobRequest, ParsesServiceLists) {
  EXPECT_EQ(parse_services("kapok", builtin_services()), std::vector<std::string>{"kapok"});
  EXPECT_EQ(parse_services("kapok,topo,tdpipe", builtin_services()),
            (std::vector<std::string>{"kapok", "topo", "tdpipe"}));
  EXPECT_THROW(parse_services("", {}), JobRequestError);
  EXPECT_THROW(parse_services("kapok,", {}), JobRequestError);
  EXPECT_THROW(parse_services("kapok,kapok", {}), JobRequestError);
  EXPECT_THROW(parse_services("kapok,../x", {}), JobRequestError);  // names a file
  // A site's own service: any well-formed name when no list is given.
  EXPECT_EQ(parse_services("kapok,site-db_2", {}),
            (std::vector<std::string>{"kapok", "site-db_2"}));
  try {
    parse_services("kapok,hdfs", builtin_services());
    FAIL();
  } catch (const JobRequestError& e) {
    EXPECT_STREQ(e.what(),
                 "invalid --converge-services \"kapok,hdfs\": unknown service \"hdfs\" (known: "
                 "kapok, topo, tdpipe)");
  }
}

TEST(JobRequest, SpankVariableNamesFollowSlurm) {
  EXPECT_EQ(spank_option_variable("converge", "converge-type"),
            "_SLURM_SPANK_OPTION_converge_converge_type");
}

TEST(JobRequest, ReadsTheJobsSpankEnvironment) {
  const char* env[] = {"OTHER=1", "_SLURM_SPANK_OPTION_converge_converge_type=bigdata",
                       "SPANK__SLURM_SPANK_OPTION_converge_converge_services=kapok,topo", nullptr};
  auto r = JobRequest::from_spank_env(env, 4);
  ASSERT_TRUE(r.type);
  EXPECT_EQ(*r.type, JobType::bigdata);
  EXPECT_EQ(r.services, (std::vector<std::string>{"kapok", "topo"}));
}

TEST(JobRequest, IgnoresBadValuesInTheController) {
  const char* env[] = {"_SLURM_SPANK_OPTION_converge_converge_type=bogus",
                       "_SLURM_SPANK_OPTION_converge_converge_services=../nope"};
  auto r = JobRequest::from_spank_env(env, 2);
  EXPECT_FALSE(r.type);
  EXPECT_TRUE(r.services.empty());
  EXPECT_FALSE(JobRequest::from_spank_env(nullptr, 0).type);
}

TEST(JobRequest, ReadsTheCommunicationPattern) {
  const char* env[] = {"SPANK__SLURM_SPANK_OPTION_converge_converge_comm=heavy"};
  EXPECT_EQ(JobRequest::from_spank_env(env, 1).comm, CommPattern::heavy);
  EXPECT_EQ(JobRequest::from_spank_env(nullptr, 0).comm, CommPattern::normal);
  EXPECT_EQ(parse_comm_pattern("normal"), CommPattern::normal);
  EXPECT_THROW(parse_comm_pattern("Heavy"), JobRequestError);
}

TEST(JobRequest, ReadsPriorityAndDataAndSurvivesRandomEnvironments) {
  const char* env[] = {"_SLURM_SPANK_OPTION_converge_converge_type=bigdata",
                       "_SLURM_SPANK_OPTION_converge_converge_priority=realtime",
                       "_SLURM_SPANK_OPTION_converge_converge_data=/input/part-7"};
  auto r = JobRequest::from_spank_env(env, 3);
  EXPECT_EQ(r.priority, PriorityClass::realtime);
  EXPECT_EQ(r.data, "/input/part-7");
  EXPECT_THROW(parse_priority_class("urgent"), JobRequestError);
  EXPECT_THROW(parse_data_path("relative/path"), JobRequestError);

  // The controller reads whatever a job record holds: random bytes, cut
  // entries and odd values never throw or crash.
  std::mt19937 rng(7);
  const std::vector<std::string> prefixes{"_SLURM_SPANK_OPTION_converge_converge_type=",
                                          "_SLURM_SPANK_OPTION_converge_converge_services=",
                                          "_SLURM_SPANK_OPTION_converge_converge_priority=",
                                          "_SLURM_SPANK_OPTION_converge_converge_data=",
                                          "_SLURM_SPANK_OPTION_converge_converge_comm=",
                                          "SPANK_",
                                          "",
                                          "="};
  for (int round = 0; round < 2000; ++round) {
    std::vector<std::string> entries;
    std::size_t n = rng() % 6;
    for (std::size_t i = 0; i < n; ++i) {
      std::string e = prefixes[rng() % prefixes.size()];
      std::size_t len = rng() % 40;
      for (std::size_t k = 0; k < len; ++k) e += static_cast<char>(1 + rng() % 255);
      entries.push_back(e);
    }
    std::vector<const char*> c;
    for (const auto& e : entries) c.push_back(rng() % 10 ? e.c_str() : nullptr);
    EXPECT_NO_THROW(JobRequest::from_spank_env(c.data(), c.size()));
  }
}
