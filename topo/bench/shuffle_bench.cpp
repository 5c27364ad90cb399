// SPDX-License-Identifier: GPL-2.0-or-later
//
// Shuffle spill layouts side by side (run under mpiexec):
//   off            the in-memory exchange (MPI_Alltoallv), the baseline;
//   shared-file    every rank writes into one file per shuffle (MPI-IO,
//                  offsets from an exclusive prefix sum);
//   file-per-pair  one file per (sender, receiver) pair, POSIX I/O.
// Each round runs --shuffles exchanges of --kib KiB per rank pair in every
// mode, the modes interleaved; every received byte is checked. Reported per
// mode: median seconds per shuffle over the rounds, files created and file
// system operations (creates, opens, removals) per shuffle summed over all
// ranks, and time relative to shared-file.
//
//   mpiexec -n 4 shuffle-bench --dir /tmp/spill [--shuffles 20] [--kib 64]
//                              [--rounds 5] [--json FILE]
#include "topo/core/context.h"
#include "topo/core/spill.h"
#include "topo/find/scheduler.h"

#include "converge/cli.h"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

struct Options {
  std::string dir, json;
  int shuffles = 20, rounds = 5;
  std::uint64_t kib = 64;
};

// Every rank parses the same arguments; rank 0 says what is wrong.
Options parse(int argc, char** argv, bool print) {
  Options o;
  CLI::App app{
      "Topo's shuffle spill layouts side by side (off, one shared file, a file per "
      "rank pair)",
      "shuffle-bench"};
  app.add_option("--dir", o.dir, "where the spill files go")->required();
  app.add_option("--shuffles", o.shuffles, "shuffles per round")->check(CLI::PositiveNumber);
  app.add_option("--kib", o.kib, "KiB each rank sends each other rank")->check(CLI::PositiveNumber);
  app.add_option("--rounds", o.rounds, "rounds of every layout")->check(CLI::PositiveNumber);
  app.add_option("--json", o.json, "also write the results here");
  converge::cli::parse(app, argc, argv, print);
  return o;
}

// Byte i of what `from` sends `to` in shuffle s.
char content(int from, int to, int s, std::size_t i) {
  return static_cast<char>((from * 131 + to * 31 + s * 7 + i * 13) & 0xff);
}

struct Result {
  std::vector<double> seconds;  // per shuffle, one per round
  std::uint64_t files = 0, creates = 0, opens = 0, removals = 0, shuffles = 0;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  int status = 0;
  try {
    Options o = parse(argc, argv, rank == 0);
    if (rank == 0) std::filesystem::create_directories(o.dir);
    MPI_Barrier(MPI_COMM_WORLD);
    topo::find::Scheduler local({1, false, false});
    const std::vector<topo::SpillMode> modes{topo::SpillMode::off, topo::SpillMode::shared_file,
                                             topo::SpillMode::file_per_pair};
    std::map<topo::SpillMode, Result> results;
    int ranks = 0;
    for (int round = 0; round < o.rounds; ++round) {
      for (auto mode : modes) {
        topo::Context ctx(MPI_COMM_WORLD, local);
        ranks = ctx.size();
        ctx.set_spill({mode, o.dir, 0});
        std::vector<std::vector<char>> out(ctx.size());
        MPI_Barrier(MPI_COMM_WORLD);
        auto start = std::chrono::steady_clock::now();
        for (int s = 0; s < o.shuffles; ++s) {
          for (int to = 0; to < ctx.size(); ++to) {
            out[to].resize(o.kib * 1024);
            for (std::size_t i = 0; i < out[to].size(); ++i) out[to][i] = content(rank, to, s, i);
          }
          topo::Received in = ctx.exchange(out);
          for (int from = 0; from < ctx.size(); ++from) {
            if (in.size(from) != o.kib * 1024) throw std::runtime_error("wrong size received");
            for (std::size_t i = 0; i < in.size(from); ++i)
              if (in.data(from)[i] != content(from, rank, s, i))
                throw std::runtime_error(std::string("wrong bytes received in mode ") +
                                         topo::spill_mode_name(mode));
          }
        }
        MPI_Barrier(MPI_COMM_WORLD);
        double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const auto& st = ctx.spill_stats();
        Result& r = results[mode];
        r.seconds.push_back(seconds / o.shuffles);
        r.files += ctx.sum(st.files_created);
        r.opens += ctx.sum(st.opens);
        r.removals += ctx.sum(st.removals);
        r.shuffles += static_cast<std::uint64_t>(o.shuffles);
      }
    }
    if (rank == 0) {
      double shared = median(results[topo::SpillMode::shared_file].seconds);
      std::printf("%d ranks, %llu KiB per rank pair, %d shuffles x %d rounds, spill dir %s\n",
                  ranks, static_cast<unsigned long long>(o.kib), o.shuffles, o.rounds,
                  o.dir.c_str());
      std::printf("%-14s %12s %10s %10s %10s %12s\n", "mode", "ms/shuffle", "files", "opens",
                  "removals", "time/shared");
      std::ofstream json;
      if (!o.json.empty()) json.open(o.json, std::ios::app);
      for (auto mode : modes) {
        const Result& r = results[mode];
        double per = static_cast<double>(r.shuffles);
        double ms = median(r.seconds) * 1e3;
        std::printf("%-14s %12.2f %10.1f %10.1f %10.1f %11.2fx\n", topo::spill_mode_name(mode), ms,
                    r.files / per, r.opens / per, r.removals / per, median(r.seconds) / shared);
        if (json)
          json << "{\"mode\":\"" << topo::spill_mode_name(mode) << "\",\"ranks\":" << ranks
               << ",\"kib_per_pair\":" << o.kib << ",\"dir\":\"" << o.dir
               << "\",\"ms_per_shuffle\":" << ms << ",\"files_per_shuffle\":" << r.files / per
               << ",\"opens_per_shuffle\":" << r.opens / per << "}\n";
      }
    }
  } catch (const CLI::ParseError& e) {
    status = converge::cli::exit_code(e);
  } catch (const std::exception& e) {
    if (rank == 0) std::fprintf(stderr, "shuffle-bench: error: %s\n", e.what());
    status = 1;
  }
  MPI_Finalize();
  return status;
}
