// SPDX-License-Identifier: GPL-2.0-or-later
//
// FinD against oneTBB and OpenMP tasks on three task-parallel kernels, each
// also run serially as the baseline:
//   fib       fork-join recursion, nothing but task overhead;
//   tree      an unbalanced UTS-style tree (binomial: 2000 children at the
//             root, then 4 children with probability q, decided by a hash
//             of the node's id);
//   sort      parallel quicksort of 32-bit keys (tbb::parallel_sort for TBB).
// For each runtime: time with 1 worker and with all cores, per-task
// overhead = (time with 1 worker - serial time) / tasks, and speedup =
// serial time / time on all cores. Medians of --repeat runs; one JSON line
// per result with --json FILE.
#include "topo/find/scheduler.h"

#include "converge/cli.h"

#include <omp.h>
#include <tbb/global_control.h>
#include <tbb/parallel_invoke.h>
#include <tbb/parallel_sort.h>
#include <tbb/task_group.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
namespace find = topo::find;

// ---- fib ----
// The serial baselines recurse through an opaque pointer, as the task
// versions must: otherwise the compiler turns half the recursion into a loop.
long fib_serial(int n);
long (*volatile fib_serial_call)(int) = fib_serial;
long fib_serial(int n) {
  return n < 2 ? n : fib_serial_call(n - 1) + fib_serial_call(n - 2);
}
// The parallel versions are written once, over a fork(a, b) that runs a and
// b, possibly in parallel: each runtime supplies its own.
template <typename Fork>
long fib(int n, const Fork& fork) {
  if (n < 2) return n;
  long a = 0, b = 0;
  fork([&] { a = fib(n - 1, fork); }, [&] { b = fib(n - 2, fork); });
  return a + b;
}
long fib_tasks(int n) {
  return n < 2 ? 0 : 1 + fib_tasks(n - 1) + fib_tasks(n - 2);
}

// ---- tree (UTS-style binomial) ----
constexpr int kBranch = 4;
constexpr int kRootChildren = 2000;  // a wide root, as UTS's binomial trees have
// q is the probability of having children, in 1/100000: 24900 gives a mean
// of 0.996 children, a nearly critical and very unbalanced tree.
constexpr int kMaxDepth = 4000;       // bounds recursion; the tree rarely reaches it
std::uint64_t mix(std::uint64_t x) {  // splitmix64's finaliser
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}
// A child's id is a hash of its parent's id and its index, as UTS derives
// it (with SHA-1 there).
std::uint64_t child_id(std::uint64_t parent, int index) {
  return mix(parent ^ mix(static_cast<std::uint64_t>(index) + 1));
}
int children_of(std::uint64_t id, int depth, int q) {
  if (depth == 0) return kRootChildren;
  if (depth >= kMaxDepth) return 0;
  return static_cast<int>(mix(id) % 100000) < q ? kBranch : 0;
}
long tree_serial(std::uint64_t id, int depth, int q);
long (*volatile tree_serial_call)(std::uint64_t, int, int) = tree_serial;
long tree_serial(std::uint64_t id, int depth, int q) {
  long n = 1;
  int k = children_of(id, depth, q);
  for (int c = 0; c < k; ++c) n += tree_serial_call(child_id(id, c), depth + 1, q);
  return n;
}
template <typename Fork>
long tree(std::uint64_t id, int depth, int q, int lo, int hi, const Fork& fork) {
  // Children [lo, hi) of node id, split in halves.
  if (hi - lo == 1) {
    std::uint64_t child = child_id(id, lo);
    int k = children_of(child, depth + 1, q);
    return 1 + (k ? tree(child, depth + 1, q, 0, k, fork) : 0);
  }
  int mid = (lo + hi) / 2;
  long a = 0, b = 0;
  fork([&] { a = tree(id, depth, q, lo, mid, fork); },
       [&] { b = tree(id, depth, q, mid, hi, fork); });
  return a + b;
}

// ---- sort ----
constexpr std::size_t kSortGrain = 4096;
template <typename Fork>
void quicksort(std::uint32_t* first, std::uint32_t* last, const Fork& fork) {
  if (last - first <= static_cast<std::ptrdiff_t>(kSortGrain)) {
    std::sort(first, last);
    return;
  }
  std::uint32_t a = first[0], b = first[(last - first) / 2], c = last[-1];
  std::uint32_t pivot = std::max(std::min(a, b), std::min(std::max(a, b), c));
  auto* m1 = std::partition(first, last, [&](std::uint32_t x) { return x < pivot; });
  auto* m2 = std::partition(m1, last, [&](std::uint32_t x) { return x == pivot; });
  fork([&] { quicksort(first, m1, fork); }, [&] { quicksort(m2, last, fork); });
}

const auto find_fork = [](auto&& a, auto&& b) { find::fork_join(a, b); };
const auto tbb_fork = [](auto&& a, auto&& b) { tbb::parallel_invoke(a, b); };
const auto omp_fork = [](auto&& a, auto&& b) {
#pragma omp task untied
  a();
  b();
#pragma omp taskwait
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <typename F>
double seconds(F&& f) {
  auto t0 = Clock::now();
  f();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct Args {
  int fib_n = 30, tree_q = 24900, repeat = 5;
  bool pin = true;
  std::size_t sort_n = 4'000'000;
  std::string json;
};

}  // namespace

int main(int argc, char** argv) {
  Args args;
  CLI::App app{
      "FinD against oneTBB and OpenMP tasks: Fibonacci, an unbalanced tree search "
      "and a parallel sort",
      "find-bench"};
  app.add_option("--fib", args.fib_n, "Fibonacci number to compute")->check(CLI::Range(1, 60));
  app.add_option("--tree-q", args.tree_q, "tree search branching probability (1/100000)")
      ->check(CLI::Range(1, 99999));
  app.add_option("--sort", args.sort_n, "values to sort")->check(CLI::PositiveNumber);
  app.add_option("--repeat", args.repeat, "runs of each")->check(CLI::Range(1, 1000));
  app.add_option("--json", args.json, "also write the results here");
  bool no_pin = false;
  app.add_flag("--no-pin", no_pin, "do not pin workers to cores");
  try {
    converge::cli::parse(app, argc, argv);
  } catch (const CLI::ParseError& e) {
    return converge::cli::exit_code(e);
  }
  args.pin = !no_pin;
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  std::ofstream json;
  if (!args.json.empty()) json.open(args.json);

  std::vector<std::uint32_t> keys(args.sort_n);
  std::mt19937 rng(42);
  for (auto& k : keys) k = rng();
  std::vector<std::uint32_t> sorted = keys;
  std::sort(sorted.begin(), sorted.end());

  const long fib_expected = fib_serial(args.fib_n);
  const long tree_expected = tree_serial(0, 0, args.tree_q);
  const double fib_count = static_cast<double>(fib_tasks(args.fib_n));
  const double tree_count = static_cast<double>(tree_expected);

  struct Kernel {
    std::string name;
    double tasks;
    std::function<void()> serial;
    std::function<bool(const std::string& runtime, unsigned workers, double& secs)> run;
  };
  auto check = [](bool ok, const char* what) {
    if (!ok) {
      std::fprintf(stderr, "find-bench: wrong result in %s\n", what);
      std::exit(1);
    }
  };
  auto timed = [&](const std::string& runtime, unsigned workers,
                   const std::function<bool()>& body) {
    std::vector<double> t;
    bool ok = true;
    if (runtime == "find") {
      find::Scheduler s({workers, args.pin, true});
      for (int r = 0; r < args.repeat; ++r)
        t.push_back(seconds([&] { s.run([&] { ok = body() && ok; }); }));
    } else if (runtime == "tbb") {
      tbb::global_control limit(tbb::global_control::max_allowed_parallelism, workers);
      for (int r = 0; r < args.repeat; ++r) t.push_back(seconds([&] { ok = body() && ok; }));
    } else {
      omp_set_num_threads(static_cast<int>(workers));
      for (int r = 0; r < args.repeat; ++r)
        t.push_back(seconds([&] {
#pragma omp parallel
#pragma omp single
          ok = body() && ok;
        }));
    }
    return std::pair{median(t), ok};
  };

  std::vector<std::string> runtimes{"find", "tbb", "openmp"};
  std::printf("%-6s %-8s %12s %14s %14s %16s %10s\n", "kernel", "runtime", "serial s", "1 worker s",
              std::to_string(cores).append(" workers s").c_str(), "overhead ns/task", "speedup");
  for (const std::string kernel : {"fib", "tree", "sort"}) {
    std::vector<double> st;
    st.reserve(static_cast<std::size_t>(args.repeat));
    for (int r = 0; r < args.repeat; ++r) {
      st.push_back(seconds([&] {
        if (kernel == "fib") check(fib_serial(args.fib_n) == fib_expected, "fib");
        if (kernel == "tree") check(tree_serial(0, 0, args.tree_q) == tree_expected, "tree");
        if (kernel == "sort") {
          auto v = keys;
          std::sort(v.begin(), v.end());
        }
      }));
    }
    double serial = median(st);
    double tasks = kernel == "fib"    ? fib_count
                   : kernel == "tree" ? tree_count
                                      : static_cast<double>(args.sort_n) / kSortGrain;
    for (const auto& rt : runtimes) {
      std::vector<std::uint32_t> v;
      auto body = [&]() -> bool {
        auto with_fork = [&](const auto& fork) -> bool {
          if (kernel == "fib") return fib(args.fib_n, fork) == fib_expected;
          if (kernel == "tree") {
            int k = children_of(0, 0, args.tree_q);
            return 1 + tree(0, 0, args.tree_q, 0, k, fork) == tree_expected;
          }
          v = keys;
          if (rt == "tbb")
            tbb::parallel_sort(v.begin(), v.end());
          else
            quicksort(v.data(), v.data() + v.size(), fork);
          return v == sorted;
        };
        return rt == "find"  ? with_fork(find_fork)
               : rt == "tbb" ? with_fork(tbb_fork)
                             : with_fork(omp_fork);
      };
      auto [one, ok1] = timed(rt, 1, body);
      auto [all, okn] = timed(rt, cores, body);
      check(ok1 && okn, (kernel + "/" + rt).c_str());
      double overhead_ns = (one - serial) / tasks * 1e9;
      std::printf("%-6s %-8s %12.4f %14.4f %14.4f %16.1f %9.2fx\n", kernel.c_str(), rt.c_str(),
                  serial, one, all, overhead_ns, serial / all);
      if (json)
        json << "{\"kernel\": \"" << kernel << "\", \"runtime\": \"" << rt
             << "\", \"tasks\": " << tasks << ", \"serial_s\": " << serial
             << ", \"one_worker_s\": " << one << ", \"all_workers_s\": " << all
             << ", \"workers\": " << cores << ", \"overhead_ns_per_task\": " << overhead_ns
             << ", \"speedup\": " << serial / all << "}\n";
    }
  }
  return 0;
}
