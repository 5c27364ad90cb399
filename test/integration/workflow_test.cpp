// SPDX-License-Identifier: GPL-2.0-or-later
//
// converge-run on the real 4-node local cluster: a 3-step workflow inside one
// allocation sharing Kapok, a rerun that skips completed steps, a failing
// middle step in both modes.
#include "cluster_env.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

using namespace converge::test;
namespace fs = std::filesystem;

namespace {

std::string fresh_dir(const std::string& name) {
  auto dir = kClusterDir + "/test-output/workflow/" + name;
  fs::remove_all(dir);
  return user_dir(dir);
}

std::string write_workflow(const std::string& dir, const nlohmann::json& w) {
  std::string path = dir + "/workflow.json";
  std::ofstream(path) << w.dump(2);
  return path;
}

converge::process::RunResult converge_run(const std::string& file, const std::string& args = "") {
  EXPECT_TRUE(cluster_idle());
  return sh(kBinDir + "/converge-run " + file + " " + args + " 2>&1");
}

nlohmann::json state_of(const std::string& dir) {
  return nlohmann::json::parse(read_file(dir + "/workflow.run/state.json"));
}

}  // namespace

TEST(Workflow, ThreeStepsInOneAllocationShareKapokAndARerunSkipsCompleteOnes) {
  std::string dir = fresh_dir("three");
  nlohmann::json w = {
      {"name", "workflow"},
      {"nodes", 4},
      {"services", {"kapok"}},
      {"time_limit_minutes", 5},
      {"steps",
       {{{"name", "simulate"},
         {"type", "sim"},
         {"nodes", 4},
         {"tasks", 4},
         {"command",
          "seq $((SLURM_PROCID * 100)) $((SLURM_PROCID * 100 + 99)) > "
          "$CONVERGE_KAPOK_MOUNT/part-$SLURM_PROCID"}},
        {{"name", "analyse"},
         {"type", "bigdata"},
         {"nodes", 2},
         {"tasks", 2},
         {"after", {"simulate"}},
         {"command",
          "[ $SLURM_PROCID = 0 ] && cat $CONVERGE_KAPOK_MOUNT/part-* | awk '{s+=$1} END {print s}' "
          "> " +
              dir + "/sum.txt || true"},
         {"outputs", {dir + "/sum.txt"}}},
        {{"name", "infer"},
         {"type", "ai"},
         {"after", {"analyse"}},
         {"command", "echo answer $(cat " + dir + "/sum.txt) > " + dir + "/answer.txt"},
         {"inputs", {dir + "/sum.txt"}},
         {"outputs", {dir + "/answer.txt"}}}}}};
  std::string file = write_workflow(dir, w);
  auto run = converge_run(file);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(read_file(dir + "/answer.txt"), "answer 79800\n");  // 0 + 1 + ... + 399
  auto state = state_of(dir);
  EXPECT_EQ(state["steps"]["simulate"]["nodes"].size(), 4u) << state.dump(2);
  EXPECT_EQ(state["steps"]["analyse"]["nodes"].size(), 2u) << state.dump(2);
  for (const char* step : {"simulate", "analyse", "infer"})
    EXPECT_EQ(state["steps"][step]["state"], "done") << state.dump(2);
  EXPECT_NE(run.output.find("simulate     done on n1,n2,n3,n4"), std::string::npos) << run.output;

  // The rerun: analysis and inference have their outputs, newer than their inputs.
  auto rerun = converge_run(file);
  ASSERT_EQ(rerun.exit_code, 0) << rerun.output;
  state = state_of(dir);
  EXPECT_EQ(state["steps"]["analyse"]["state"], "skipped") << state.dump(2);
  EXPECT_EQ(state["steps"]["infer"]["state"], "skipped") << state.dump(2);
  EXPECT_EQ(state["steps"]["simulate"]["state"], "done");  // no outputs declared: always runs
}

TEST(Workflow, AFailingMiddleStepStopsItsDependentsAndIsNamed) {
  for (const char* mode : {"allocation", "jobs"}) {
    std::string dir = fresh_dir(std::string("fail-") + mode);
    nlohmann::json w = {{"name", "workflow"},
                        {"nodes", 2},
                        {"steps",
                         {{{"name", "first"}, {"type", "sim"}, {"nodes", 2}, {"command", "true"}},
                          {{"name", "middle"},
                           {"type", "bigdata"},
                           {"after", {"first"}},
                           {"command", "echo cannot parse fields.bin >&2; exit 3"}},
                          {{"name", "last"},
                           {"type", "ai"},
                           {"after", {"middle"}},
                           {"command", "touch " + dir + "/must-not-exist"}},
                          {{"name", "independent"},
                           {"type", "bigdata"},
                           {"after", {"first"}},
                           {"command", "touch " + dir + "/independent"}}}}};
    auto run = converge_run(write_workflow(dir, w), std::string("--mode ") + mode);
    EXPECT_EQ(run.exit_code, 1) << mode << "\n" << run.output;
    EXPECT_NE(run.output.find("step middle failed"), std::string::npos) << mode << "\n"
                                                                        << run.output;
    EXPECT_NE(run.output.find("exit code 3: cannot parse fields.bin"), std::string::npos)
        << mode << "\n"
        << run.output;
    EXPECT_FALSE(fs::exists(dir + "/must-not-exist")) << mode;
    EXPECT_TRUE(fs::exists(dir + "/independent")) << mode;
    auto state = state_of(dir);
    EXPECT_EQ(state["steps"]["first"]["state"], "done") << mode;
    EXPECT_EQ(state["steps"]["last"]["state"], "cancelled") << mode;
  }
}

TEST(Workflow, BadWorkflowsAreRefusedWithTheirLocation) {
  std::string dir = fresh_dir("bad");
  nlohmann::json cycle = {
      {"name", "w"},
      {"steps",
       {{{"name", "a"}, {"type", "sim"}, {"command", "true"}, {"after", {"b"}}},
        {{"name", "b"}, {"type", "sim"}, {"command", "true"}, {"after", {"a"}}}}}};
  auto run = converge_run(write_workflow(dir, cycle));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.output.find("dependency cycle among steps a, b"), std::string::npos) << run.output;
  nlohmann::json unknown = {{"name", "w"},
                            {"steps", {{{"name", "a"}, {"type", "quantum"}, {"command", "true"}}}}};
  run = converge_run(write_workflow(dir, unknown));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.output.find("/steps/0/type"), std::string::npos) << run.output;
}

TEST(Workflow, Dns3dOnFourRanksMatchesTheAnalyticSolutionAndRestartsFromKapok) {
  const std::string env = "OMPI_MCA_btl=self,tcp OMPI_MCA_mpi_yield_when_idle=1 ";
  auto run = sh(env + "srun --mpi=pmix -N2 -n4 " + kBinDir +
                "/dns3d --n 32 --steps 50 --tolerance 1e-2 2>&1");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("32^3 on 2x2 ranks"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("Poisson"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("(OK)"), std::string::npos) << run.output;
  // The check has teeth: below the discretisation error the run fails.
  auto strict = sh(env + "srun --mpi=pmix -N1 -n2 " + kBinDir +
                   "/dns3d --n 16 --steps 20 --tolerance 1e-5 2>&1");
  EXPECT_NE(strict.exit_code, 0) << strict.output;
  EXPECT_NE(strict.output.find("ABOVE TOLERANCE"), std::string::npos) << strict.output;

  // Fields and checkpoints on Kapok: a run stopped at step 30 and restarted
  // from its checkpoint ends exactly where an uninterrupted run does.
  std::string dir = fresh_dir("dns3d");
  std::ofstream(dir + "/job.sh")
      << "#!/bin/sh\nexport " << env << "\nd=" << kBinDir << "/dns3d\n"
      << "k=$CONVERGE_KAPOK_MOUNT\n"
      << "srun --mpi=pmix -n4 $d --n 32 --steps 30 --checkpoint-every 10 --out $k/a\n"
      << "srun --mpi=pmix -n4 $d --n 32 --steps 50 --restart --out $k/a\n"
      << "srun --mpi=pmix -n4 $d --n 32 --steps 50 --output-every 25 --out $k/b\n"
      << "srun --mpi=pmix -n2 ${d}-analyse --in $k/b --report $k/b/analysis.json\n"
      << "srun --mpi=pmix -n2 ${d}-analyse-mpi --in $k/b\n"
      << "ls $k/a $k/b\n";
  auto submit = sh("sbatch --parsable -N2 --ntasks-per-node=2 --converge-services=kapok -o " + dir +
                   "/job.out " + dir + "/job.sh");
  ASSERT_EQ(submit.exit_code, 0) << submit.output;
  EXPECT_EQ(wait_for_job(submit.output.substr(0, submit.output.find_first_of(";\n"))), 0)
      << read_file(dir + "/job.out");
  std::string out = read_file(dir + "/job.out");
  std::vector<std::string> finals;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("dns3d: 32^3") != std::string::npos && line.find("50 steps") != std::string::npos)
      finals.push_back(line.substr(line.find("max error")));
  }
  ASSERT_EQ(finals.size(), 2u) << out;
  EXPECT_EQ(finals[0], finals[1]) << out;
  for (const char* file : {"checkpoint.bin", "checkpoint.json", "u_000050.bin", "phi_000050.bin"})
    EXPECT_NE(out.find(file), std::string::npos) << out;
  EXPECT_NE(out.find("decay rate 0.30"), std::string::npos) << out;
  // The analysis ran on Topo's grids and agrees with the same analysis
  // written directly on MPI (the mean, rounding noise around 0, aside).
  EXPECT_NE(out.find("(Topo, intermap"), std::string::npos) << out;
  auto last_snapshot = [&](const std::string& program) {
    auto at = out.find(program + ": 2 snapshots");
    std::vector<std::string> fields;
    if (at == std::string::npos) return fields;
    std::istringstream table(out.substr(at));
    for (std::string line; std::getline(table, line);) {
      std::istringstream words(line);
      std::vector<std::string> row{std::istream_iterator<std::string>(words), {}};
      if (row.size() == 6 && row[0] == "50") {
        row.erase(row.begin() + 2);
        return row;
      }
    }
    return fields;
  };
  EXPECT_EQ(last_snapshot("dns3d-analyse").size(), 5u) << out;
  EXPECT_EQ(last_snapshot("dns3d-analyse"), last_snapshot("dns3d-analyse-mpi")) << out;
}

namespace {

// The columns of `step`'s row in the table that follows the first line
// starting with `header` in `out`, the mean (rounding noise) left out.
std::vector<std::string> table_row(const std::string& out, const std::string& header,
                                   const std::string& step) {
  auto at = out.find(header);
  if (at == std::string::npos) return {};
  std::istringstream table(out.substr(at));
  for (std::string line; std::getline(table, line);) {
    std::istringstream words(line);
    std::vector<std::string> row{std::istream_iterator<std::string>(words), {}};
    if (row.size() == 6 && row[0] == step) {
      row.erase(row.begin() + 2);
      return row;
    }
  }
  return {};
}

}  // namespace

TEST(Workflow, TheTopoServiceRunsTheAnalysisAsTasksPulledByWorkersOnEveryNode) {
  std::string dir = fresh_dir("topo-service");
  std::ofstream(dir + "/job.sh")
      << "#!/bin/sh\nexport OMPI_MCA_btl=self,tcp OMPI_MCA_mpi_yield_when_idle=1\n"
      << "b=" << kBinDir << "\nk=$CONVERGE_KAPOK_MOUNT\n"
      << "srun --mpi=pmix -n4 $b/dns3d --n 24 --steps 40 --output-every 10 --out $k/d >/dev/null\n"
      << "$b/topo-service submit dns3d-stats --in $k/d --report $k/d/service.json || exit 1\n"
      << "srun --mpi=pmix -n2 $b/dns3d-analyse --in $k/d\n"
      << "$b/topo-service submit dns3d-stats --in $k/nothing-here 2>&1; echo \"missing: $?\"\n"
      << "$b/topo-service submit word-count $k/no-such-file 2>&1; echo \"bad task: $?\"\n"
      << "echo 'a b a' > $k/words.txt\n"
      << "$b/topo-service submit word-count $k/words.txt\n";
  auto submit = sh("sbatch --parsable -N4 --ntasks-per-node=1 --converge-services=kapok,topo -o " +
                   dir + "/job.out " + dir + "/job.sh");
  ASSERT_EQ(submit.exit_code, 0) << submit.output;
  std::string id = submit.output.substr(0, submit.output.find_first_of(";\n"));
  EXPECT_EQ(wait_for_job(id), 0) << read_file(dir + "/job.out");
  std::string out = read_file(dir + "/job.out");
  // Four snapshots analysed as service tasks, matching the MPI-rank version.
  EXPECT_NE(out.find("4 snapshots of 24^3 by the Topo service"), std::string::npos) << out;
  auto service = table_row(out, "dns3d-analyse: 4 snapshots of 24^3 by the Topo service", "40");
  EXPECT_EQ(service.size(), 5u) << out;
  EXPECT_EQ(service, table_row(out, "dns3d-analyse: 4 snapshots of 24^3 on 2 ranks", "40")) << out;
  // Bad input: one-line errors and a failing exit status; a failed task
  // names the worker (node:pid) it failed on.
  EXPECT_NE(out.find("topo-service: error: cannot read "), std::string::npos) << out;
  EXPECT_NE(out.find("nothing-here/run.json (is it dns3d output?)"), std::string::npos) << out;
  EXPECT_NE(out.find("missing: 1"), std::string::npos) << out;
  EXPECT_NE(out.find("failed: task 0 on n"), std::string::npos) << out;
  EXPECT_NE(out.find("bad task: 1"), std::string::npos) << out;
  EXPECT_NE(out.find("\"distinct\":2"), std::string::npos) << out;
  EXPECT_NE(out.find("\"words\":3"), std::string::npos) << out;
  // The service went with the job.
  EXPECT_TRUE(converge::poll_until(std::chrono::seconds(30), std::chrono::milliseconds(100), [] {
    return sh("pgrep -x topo-service").output.empty();
  })) << sh("ps -eo pid,args | grep [t]opo-service").output;
}

TEST(Workflow, TheTdpipeServiceAnswersCompletionsThroughItsDispatcher) {
  std::string dir = fresh_dir("tdpipe-service");
  // Eight clients at once through the dispatcher, then a bad request; the
  // same greedy tokens as tdpipe-generate gives in one process.
  std::ofstream(dir + "/job.sh")
      << "#!/bin/sh\nb=" << kBinDir << "\n"
      << "for i in 1 2 3 4 5 6 7 8; do\n"
      << "  $b/tdpipe-client --prompt-ids 1,300 --max-tokens 24 --stream --out " << dir
      << "/out.$i || echo \"client $i failed\" &\n"
      << "done\nwait\n"
      << "cat " << dir << "/out.*\n"
      << "$b/tdpipe-client --prompt-ids 1,99999 2>&1; echo \"bad: $?\"\n"
      << "echo instances: $(cat $CONVERGE_JOB_DIR/tdpipe/instances.json | grep -c '\"198\\.1')\n";
  auto submit =
      sh("sbatch --parsable -N4 --ntasks-per-node=1 --converge-type=ai "
         "--converge-services=tdpipe -o " +
         dir + "/job.out " + dir + "/job.sh");
  ASSERT_EQ(submit.exit_code, 0) << submit.output;
  std::string id = submit.output.substr(0, submit.output.find_first_of(";\n"));
  EXPECT_EQ(wait_for_job(id), 0) << read_file(dir + "/job.out");
  std::string out = read_file(dir + "/job.out");
  auto expected = sh(kBinDir + std::string("/tdpipe-generate --model ") + kBinDir +
                     "/../share/converge/models/stories260K.bin --prompt-ids 1,300 --max-tokens 24 "
                     "2>/dev/null");
  ASSERT_EQ(expected.exit_code, 0) << expected.output;
  std::size_t copies = 0;
  for (std::size_t at = out.find(expected.output); at != std::string::npos;
       at = out.find(expected.output, at + 1))
    ++copies;
  EXPECT_EQ(copies, 8u) << "expected " << expected.output << "\n" << out;
  EXPECT_EQ(out.find("failed"), std::string::npos) << out;
  EXPECT_NE(out.find("is outside the vocabulary"), std::string::npos) << out;
  EXPECT_NE(out.find("bad: 1"), std::string::npos) << out;
  EXPECT_NE(out.find("instances: 4"), std::string::npos) << out;
  EXPECT_TRUE(converge::poll_until(std::chrono::seconds(30), std::chrono::milliseconds(100), [] {
    return sh("pgrep -x tdpipe-serve; pgrep -x tdpipe-dispatch").output.empty();
  })) << sh("ps -eo pid,args | grep [t]dpipe-").output;
}
