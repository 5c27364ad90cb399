// SPDX-License-Identifier: GPL-2.0-or-later
//
// Integration tests on a real 4-node local cluster: slurmctld with
// sched/converge and select/converge, four slurmd, the SPANK plugin, PMIx.
#include "cluster_env.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>

using namespace converge::test;
using namespace std::chrono_literals;
namespace process = converge::process;

namespace {

std::string temp_output(const std::string& name) {
  return user_dir(kClusterDir + "/test-output") + "/" + name;
}

}  // namespace

TEST(Cluster, ScontrolNamesConvergePlugins) {
  auto config = sh("scontrol show config");
  ASSERT_EQ(config.exit_code, 0) << config.output;
  EXPECT_NE(config.output.find("SchedulerType           = sched/converge"), std::string::npos);
  EXPECT_NE(config.output.find("SelectType              = select/converge"), std::string::npos);
  EXPECT_NE(config.output.find("TopologyPlugin          = topology/tree"), std::string::npos);
  EXPECT_NE(config.output.find("PlugStackConfig         = " + kClusterDir + "/etc/plugstack.conf"),
            std::string::npos);
}

TEST(Cluster, PluginsReportThemselvesActive) {
  EXPECT_TRUE(controller_log_shows("sched/converge: active"));
  EXPECT_TRUE(controller_log_shows("select/converge: active"));
  for (const char* node : {"n1", "n2", "n3", "n4"}) {
    EXPECT_NE(read_file(kClusterDir + "/log/slurmd-" + std::string(node) + ".log")
                  .find("spank/converge: active in slurmd"),
              std::string::npos)
        << node;
  }
}

TEST(Cluster, PluginsLoadInTheCommands) {
  // -v/-vv raise the commands' log level to verbose/debug, where the plugins report.
  auto sbatch = sh("sbatch -v -o /dev/null --wrap true 2>&1");
  EXPECT_EQ(sbatch.exit_code, 0) << sbatch.output;
  EXPECT_NE(sbatch.output.find("spank/converge: active in allocator"), std::string::npos)
      << sbatch.output;
  auto srun = sh("srun -v -N1 true 2>&1");
  EXPECT_EQ(srun.exit_code, 0) << srun.output;
  EXPECT_NE(srun.output.find("spank/converge: active in srun"), std::string::npos) << srun.output;
  EXPECT_NE(sh("sinfo -vv 2>&1").output.find("select/converge: loaded"), std::string::npos);
  // squeue opens the select plugins to unpack job records, so it needs a job to show.
  EXPECT_NE(sh("squeue -vv -t all 2>&1").output.find("select/converge: loaded"), std::string::npos);
}

TEST(Cluster, NodesAreIdleUnderTheGeneratedSwitchTree) {
  auto nodes = sh("sinfo -h -N -o '%N %t'");
  EXPECT_EQ(nodes.output, "n1 idle\nn2 idle\nn3 idle\nn4 idle\n");
  auto topology = sh("scontrol show topology");
  EXPECT_NE(topology.output.find("SwitchName=leaf1 Level=0 LinkSpeed=1 Nodes=n[1-2]"),
            std::string::npos)
      << topology.output;
  EXPECT_NE(topology.output.find("SwitchName=leaf2 Level=0 LinkSpeed=1 Nodes=n[3-4]"),
            std::string::npos);
  EXPECT_NE(
      topology.output.find("SwitchName=spine Level=1 LinkSpeed=1 Nodes=n[1-4] Switches=leaf[1-2]"),
      std::string::npos);
}

TEST(Cluster, SimJobRunsOnTwoNodesAndSeesItsType) {
  std::string out = temp_output("sim-job.out");
  auto submit =
      sh("sbatch --parsable --wait --converge-type=sim --converge-services=kapok -N2 -o " + out +
         " --wrap 'echo TYPE=$CONVERGE_TYPE SERVICES=$CONVERGE_SERVICES; "
         "srun --ntasks-per-node=1 printenv SLURMD_NODENAME'");
  ASSERT_EQ(submit.exit_code, 0) << submit.output;
  std::string job_id = submit.output.substr(0, submit.output.find_first_of(";\n"));
  std::string output = read_file(out);
  EXPECT_NE(output.find("TYPE=sim SERVICES=kapok"), std::string::npos) << output;
  std::set<std::string> nodes;
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.size() == 2 && line[0] == 'n') nodes.insert(line);
  }
  EXPECT_EQ(nodes.size(), 2u) << output;
  // The controller's plugins read the class from the job record.
  EXPECT_TRUE(controller_log_shows("select/converge: job " + job_id + " class=sim placed on n"));
  EXPECT_TRUE(controller_log_shows("sched/converge: job " + job_id + " class=sim services=kapok"));
}

TEST(Cluster, MpiAllreduceUnderPmixAcrossTwoNodes) {
  auto run = sh("srun --mpi=pmix -N2 -n4 " + kBinDir + "/mpi-hello", {"OMPI_MCA_btl=self,tcp"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("allreduce OK sum=6 expected=6"), std::string::npos) << run.output;
  EXPECT_EQ(count_of(run.output, "of 4 on node "), 4u) << run.output;
  std::set<std::string> nodes;
  for (const char* n : {"n1", "n2", "n3", "n4"}) {
    if (run.output.find(std::string("on node ") + n + " ") != std::string::npos) nodes.insert(n);
  }
  EXPECT_EQ(nodes.size(), 2u) << run.output;
}

TEST(Cluster, TopoOperationsPassOnRanksAcrossVirtualNodes) {
  // Topo's MPI tests (datasets, InterMap, spill, applications) as one job
  // step over four virtual nodes, instead of mpiexec on one host.
  auto run = sh("srun --mpi=pmix -N4 -n4 " + kBinDir + "/topo_mpi_tests 2>&1",
                {"OMPI_MCA_btl=self,tcp", "HWLOC_COMPONENTS=-pci"});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("[  PASSED  ]"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("FAILED"), std::string::npos) << run.output;
}

TEST(Cluster, BogusTypeIsRefusedAndCreatesNoJob) {
  auto before = job_ids();
  auto submit = sh("sbatch --converge-type=bogus --wrap true 2>&1");
  EXPECT_NE(submit.exit_code, 0);
  EXPECT_NE(
      submit.output.find("invalid --converge-type \"bogus\": expected one of sim, bigdata, ai"),
      std::string::npos)
      << submit.output;
  EXPECT_EQ(submit.output.find("Submitted"), std::string::npos);
  EXPECT_EQ(job_ids(), before);
}

TEST(Cluster, UnknownServiceIsRefusedAndCreatesNoJob) {
  auto before = job_ids();
  auto submit =
      sh("sbatch --converge-type=bigdata --converge-services=kapok,hdfs --wrap true 2>&1");
  EXPECT_NE(submit.exit_code, 0);
  EXPECT_NE(submit.output.find("unknown service \"hdfs\""), std::string::npos) << submit.output;
  EXPECT_EQ(job_ids(), before);
}

TEST(Cluster, SurvivesReconfigure) {
  std::size_t reconfigured = count_of(controller_log(), "sched/converge: reconfigured");
  auto r = admin("scontrol reconfigure");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(controller_log_shows("sched/converge: reconfigured", reconfigured + 1));
  auto job = sh("sbatch --parsable --wait -o /dev/null --converge-type=bigdata --wrap true");
  EXPECT_EQ(job.exit_code, 0) << job.output;
}

TEST(Cluster, BadSiteConfigIsRejectedAndTheLastGoodKept) {
  std::string path = kClusterDir + "/etc/converge.json";
  std::string good = read_file(path);
  {
    std::ofstream bad(path, std::ios::trunc);
    bad << R"({"scheduler": {"interval_ms": "soon"}})";
  }
  ASSERT_EQ(admin("scontrol reconfigure").exit_code, 0);
  EXPECT_TRUE(controller_log_shows(
      path +
      ": /scheduler/interval_ms: expected an integer, got string (reconfigure); "
      "keeping the previous settings"));
  {
    std::ofstream restore(path, std::ios::trunc);
    restore << good;
  }
  ASSERT_EQ(admin("scontrol reconfigure").exit_code, 0);
  EXPECT_EQ(sh("sbatch --parsable --wait -o /dev/null --wrap true").exit_code, 0);
}

TEST(Cluster, SurvivesControllerRestart) {
  auto id = process::read_pid_file(kClusterDir + "/run/slurmctld.pid");
  ASSERT_TRUE(id && process::alive(*id));
  std::size_t starts = count_of(controller_log(), "sched/converge: active");
  kill(id->pid, SIGTERM);
  ASSERT_TRUE(converge::poll_until(30s, 50ms, [&] { return !process::alive(*id); }));
  auto up = admin(cluster_cmd("up"));
  ASSERT_EQ(up.exit_code, 0) << up.output;
  EXPECT_NE(up.output.find("started slurmctld)"), std::string::npos) << up.output;
  EXPECT_TRUE(controller_log_shows("sched/converge: active", starts + 1));
  auto job = sh("sbatch --parsable --wait -o /dev/null --converge-type=sim -N2 --wrap 'srun true'");
  EXPECT_EQ(job.exit_code, 0) << job.output;
}

TEST(Cluster, UpOnARunningClusterIsHarmless) {
  auto before = process::read_pid_file(kClusterDir + "/run/slurmctld.pid");
  auto up = admin(cluster_cmd("up"));
  EXPECT_EQ(up.exit_code, 0) << up.output;
  EXPECT_NE(up.output.find("is already up"), std::string::npos) << up.output;
  EXPECT_EQ(process::read_pid_file(kClusterDir + "/run/slurmctld.pid"), before);
  auto reshape = admin(cluster_cmd("up --nodes 8 2>&1"));
  EXPECT_NE(reshape.exit_code, 0);
  EXPECT_NE(reshape.output.find("a different cluster (4 nodes, Converge plugins) is running"),
            std::string::npos)
      << reshape.output;
}

TEST(Cluster, StatusShowsDaemonsPluginsAndNodes) {
  auto status = admin(cluster_cmd("status"));
  EXPECT_EQ(status.exit_code, 0) << status.output;
  EXPECT_NE(status.output.find("sched/converge: active"), std::string::npos) << status.output;
  EXPECT_NE(status.output.find("select/converge: active"), std::string::npos);
  EXPECT_EQ(count_of(status.output, " idle "), 4u) << status.output;
}

TEST(Cluster, PortInUseIsAOneLineError) {
  std::string other = kClusterDir + "-port-clash";
  auto up = admin(kBinDir + "/converge-cluster --dir " + other + " up --port-base " + kPortBase +
                  " 2>&1");
  EXPECT_EQ(up.exit_code, 1);
  EXPECT_EQ(up.output,
            "converge-cluster: error: port " + kPortBase +
                " (slurmctld) is already in use: stop what holds it or pass --port-base\n");
  EXPECT_TRUE(process::find_by_environment("CONVERGE_CLUSTER_DIR=" + other).empty());
  std::filesystem::remove_all(other);
}

TEST(Cluster, MissingDependencyIsAOneLineError) {
  std::string other = kClusterDir + "-no-deps";
  auto up =
      process::run({kBinDir + "/converge-cluster", "--dir", other, "up"}, {"PATH=/nonexistent"});
  EXPECT_EQ(up.exit_code, 1);
  EXPECT_EQ(up.output,
            "converge-cluster: error: slurmctld not found: install Debian package slurmctld ('make "
            "deps' does)\n");
  std::filesystem::remove_all(other);
}

TEST(Cluster, HeatSimulationMatchesTheAnalyticSolution) {
  auto run =
      sh("srun --mpi=pmix -N2 -n4 " + kBinDir + "/heat1d --cells 256 --steps 2000 --tolerance 1e-5",
         {"OMPI_MCA_btl=self,tcp", "OMPI_MCA_mpi_yield_when_idle=1"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("on 4 ranks"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("(OK)"), std::string::npos) << run.output;
  // The check has teeth: a tolerance below the discretisation error fails the run.
  auto wrong =
      sh("srun --mpi=pmix -N1 -n2 " + kBinDir + "/heat1d --cells 64 --steps 100 --tolerance 1e-12",
         {"OMPI_MCA_btl=self,tcp", "OMPI_MCA_mpi_yield_when_idle=1"});
  EXPECT_NE(wrong.exit_code, 0) << wrong.output;
}

TEST(Cluster, StockSixteenNodeClusterRunsBesideIt) {
  // A second cluster with Slurm's own plugins and 16 nodes, on other ports.
  std::string dir = kClusterDir + "-stock";
  std::string port = std::to_string(std::stoi(kPortBase) + 1000);
  std::string cmd = kBinDir + "/converge-cluster --dir " + dir + " ";
  process::run({"sh", "-c", cmd + "down >/dev/null; rm -rf " + dir});
  auto up = process::run({"sh", "-c", cmd + "up --stock --nodes 16 --port-base " + port});
  ASSERT_EQ(up.exit_code, 0) << up.output;
  std::vector<std::string> env{"SLURM_CONF=" + dir + "/etc/slurm.conf"};
  auto config = process::run({"scontrol", "show", "config"}, env).output;
  EXPECT_NE(config.find("SchedulerType           = sched/backfill"), std::string::npos);
  EXPECT_NE(config.find("SelectType              = select/cons_tres"), std::string::npos);
  EXPECT_EQ(process::run({"sinfo", "-h", "-o", "%D %t"}, env).output, "16 idle\n");
  auto topology = process::run({"scontrol", "show", "topology"}, env).output;
  EXPECT_NE(topology.find("SwitchName=leaf4 Level=0 LinkSpeed=1 Nodes=n[13-16]"), std::string::npos)
      << topology;
  auto job = process::run({"sbatch", "--parsable", "--wait", "-o", "/dev/null",
                           "--converge-type=sim", "-N16", "--wrap", "srun true"},
                          env);
  EXPECT_EQ(job.exit_code, 0) << job.output;
  auto down = process::run({"sh", "-c", cmd + "down"});
  EXPECT_EQ(down.exit_code, 0) << down.output;
  EXPECT_TRUE(process::find_by_environment("CONVERGE_CLUSTER_DIR=" + dir).empty());
  // The Converge cluster under test is untouched.
  EXPECT_EQ(sh("sinfo -h -o %D").output, "4\n");
  std::filesystem::remove_all(dir);
}

TEST(Cluster, TdpipePipelineStagesRunAsRanksOnTwoVirtualNodes) {
  // The pipeline's tests (every scheduler, with preemption forced) with
  // the two stages on two nodes, then tdpipe-generate as two ranks: the
  // same tokens as in one process.
  const std::vector<std::string> env{"OMPI_MCA_btl=self,tcp", "HWLOC_COMPONENTS=-pci",
                                     "OMP_NUM_THREADS=1"};
  auto tests = sh("srun --mpi=pmix -N2 -n2 " + kBinDir + "/tdpipe_mpi_tests 2>&1", env);
  EXPECT_EQ(tests.exit_code, 0) << tests.output;
  EXPECT_NE(tests.output.find("[  PASSED  ] 3 tests"), std::string::npos) << tests.output;
  const std::string generate = kBinDir + "/tdpipe-generate --model " + kBinDir +
                               "/../share/converge/models/stories260K.bin --prompt-ids 1,300,301 "
                               "--max-tokens 40";
  auto alone = sh(generate + " 2>/dev/null", env);
  auto staged = sh("srun --mpi=pmix -N2 -n2 " + generate + " --stages 2 2>/dev/null", env);
  ASSERT_EQ(alone.exit_code, 0) << alone.output;
  EXPECT_EQ(staged.exit_code, 0) << staged.output;
  EXPECT_EQ(staged.output, alone.output);
  EXPECT_GT(alone.output.size(), 40u);
}

// What every test relies on to fail at once when an earlier one took a node
// out of service: the node, its reason and the test running at that moment.
// This test drains a node itself, and resumes only its own drain.
TEST(ClusterHealth, ADrainedNodeIsNamedWithItsReasonAndTheTestThatRan) {
  ASSERT_TRUE(node_problems().empty()) << drain_report(node_problems());
  ASSERT_EQ(
      admin("scontrol update nodename=n4 state=drain reason=drained-by-health-test").exit_code, 0);
  auto problems = node_problems();
  std::string report = drain_report(problems);
  admin("scontrol update nodename=n4 state=resume");
  ASSERT_EQ(problems.size(), 1u) << report;
  EXPECT_EQ(problems[0].node, "n4");
  EXPECT_NE(problems[0].state.find("drain"), std::string::npos) << problems[0].state;
  EXPECT_NE(report.find("drained-by-health-test"), std::string::npos) << report;
  EXPECT_NE(
      report.find("during test: ClusterHealth.ADrainedNodeIsNamedWithItsReasonAndTheTestThatRan"),
      std::string::npos)
      << report;
  EXPECT_NE(report.find("controller: "), std::string::npos) << report;
  EXPECT_TRUE(converge::poll_until(20s, 100ms, [] { return node_problems().empty(); }));
}

// An admin's check of a node, run on every node of the cluster as a job's
// step (so in each node's own network namespace, as the test user): all is
// well; then with munged's socket somewhere it is not, one clear line.
TEST(Cluster, AdminCheckPassesOnEveryNodeAndNamesWhatIsWrong) {
  auto all = sh("srun -N4 --ntasks-per-node=1 " + kBinDir + "/converge-admin check");
  EXPECT_EQ(all.exit_code, 0) << all.output;
  EXPECT_EQ(count_of(all.output, "ok    munge"), 4u) << all.output;
  EXPECT_EQ(count_of(all.output, "ok    plugins"), 4u) << all.output;
  EXPECT_EQ(count_of(all.output, "FAIL"), 0u) << all.output;

  auto broken = sh(kBinDir + "/converge-admin check --munge-socket /run/no-munged.socket");
  EXPECT_EQ(broken.exit_code, 1) << broken.output;
  EXPECT_NE(broken.output.find("FAIL  munge     munged does not answer at /run/no-munged.socket"),
            std::string::npos)
      << broken.output;
  EXPECT_NE(broken.output.find("1 check(s) failed"), std::string::npos) << broken.output;
}
