// SPDX-License-Identifier: GPL-2.0-or-later
//
// Programs on converge/cli.h: a misspelt option or a bad value is a one-line
// error naming the option and exit status 2, never ignored; --help exits 0.
#include "converge/process.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace process = converge::process;

namespace {

const std::string kBin = CONVERGE_BIN_DIR;

void expect_one_line_error(const std::vector<std::string>& argv, const std::string& naming) {
  auto r = process::run(argv);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find(naming), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find('\n'), r.output.size() - 1) << "more than one line:\n" << r.output;
}

}  // namespace

TEST(Cli, KapokBenchRejectsBadValuesAndUnknownOptions) {
  std::string bench = kBin + "/kapok-bench";
  expect_one_line_error({bench, "--path", "/tmp", "--clients", "abc", "mdtest"}, "--clients");
  expect_one_line_error({bench, "--path", "/tmp", "--clinets", "2", "mdtest"}, "--clinets");
  expect_one_line_error({bench, "--path", "/tmp", "fastest"}, "fastest");
  auto help = process::run({bench, "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.output.find("--unique-dirs"), std::string::npos) << help.output;
}

TEST(Cli, TopoAppsRejectsBadValuesAndUnknownOptions) {
  std::string apps = kBin + "/topo-apps";
  expect_one_line_error({apps, "pagerank", "--edges", "e.bin", "--vertices", "x"}, "--vertices");
  expect_one_line_error({apps, "kmeans", "--points", "p", "--dims", "5", "--k", "2"}, "--dims");
  expect_one_line_error({apps, "wordcount", "--input", "t.txt", "--kv-block", "100"}, "--kv-block");
  expect_one_line_error({apps, "sort"}, "sort");
  auto help = process::run({apps, "gabp", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.output.find("--formulation"), std::string::npos) << help.output;
}

TEST(Cli, TopoServiceRejectsBadValuesAndUnknownOptions) {
  std::string service = kBin + "/topo-service";
  expect_one_line_error({service, "status", "abc"}, "job");
  expect_one_line_error({service, "queue", "--listen", "127.0.0.1:0", "--lease", "5"}, "--lease");
  expect_one_line_error({service, "worker", "--queue", "a:1", "--queue-file", "f"}, "--queue");
  expect_one_line_error({service, "queue"}, "--listen");
}

TEST(Cli, TdpipeServerAndDispatcherRejectBadValuesAndUnknownOptions) {
  expect_one_line_error({kBin + "/tdpipe-serve", "--kv-block", "100"}, "--kv-block");
  expect_one_line_error({kBin + "/tdpipe-serve", "--scheduler", "fifo"}, "--scheduler");
  expect_one_line_error({kBin + "/tdpipe-serve", "--max-batch-seqs", "0"}, "--max-batch-seqs");
  expect_one_line_error({kBin + "/tdpipe-dispatch", "--backend", "a:1"}, "--backend");
  expect_one_line_error({kBin + "/tdpipe-dispatch", "--backends", "a:1", "--backends-file", "f"},
                        "--backends");
}

TEST(Cli, LauncherProgramsRejectBadValuesAndUnknownOptions) {
  std::string launch = kBin + "/converge-launch", run = kBin + "/converge-run",
              cluster = kBin + "/converge-cluster";
  expect_one_line_error({launch, "up", "--servces", "kapok"}, "--servces");
  expect_one_line_error({launch, "up"}, "--services");
  expect_one_line_error({launch, "restart"}, "restart");
  expect_one_line_error({run, "w.json", "--mode", "batch"}, "--mode");
  expect_one_line_error({run, "w.json", "--qiet"}, "--qiet");
  expect_one_line_error({cluster, "up", "--nodes", "many"}, "--nodes");
  expect_one_line_error({cluster, "up", "--nodes", "65"}, "--nodes");
  expect_one_line_error({cluster, "down", "--nodes", "2"}, "--nodes");
  expect_one_line_error({kBin + "/kapok-fuse", "--member", "m.json", "/mnt"}, "--member");
  expect_one_line_error({kBin + "/kapok-fuse", "/mnt"}, "--members");
  expect_one_line_error({kBin + "/find-bench", "--fib", "abc"}, "--fib");
  expect_one_line_error({kBin + "/find-bench", "--repeats", "3"}, "--repeats");
  for (const auto& program : {launch, run, cluster, kBin + "/kapok-fuse"}) {
    auto help = process::run({program, "--help"});
    EXPECT_EQ(help.exit_code, 0) << program << ": " << help.output;
  }
  auto up_help = process::run({launch, "up", "--help"});
  EXPECT_NE(up_help.output.find("--comment-on-failure"), std::string::npos) << up_help.output;
}
