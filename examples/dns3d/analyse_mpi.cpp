// SPDX-License-Identifier: GPL-2.0-or-later
//
// dns3d-analyse-mpi: dns3d-analyse's analysis written directly on MPI (the
// hand-written baseline Topo's version is measured against). Each rank reads a
// slab of z-planes of every snapshot u_*.bin (MPI-IO, with the periodic
// neighbour planes a central-difference stencil needs) and the ranks reduce
// per-snapshot statistics: mean, rms, max |u| and the mean squared gradient.
// Between snapshots it measures the field's decay rate and compares it with
// the exact one (3 nu); the report goes to stdout and to --report (JSON).
#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

struct Run {
  int n = 0;
  double nu = 0, dt = 0;
};

Run read_run(const std::string& dir) {
  std::ifstream in(dir + "/run.json");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  Run r;
  std::smatch m;
  auto number = [&](const char* key) {
    if (!std::regex_search(text, m, std::regex(std::string("\"") + key + "\": ([-+0-9.eE]+)")))
      throw std::runtime_error(dir + "/run.json has no \"" + key + "\" (is it dns3d output?)");
    return std::stod(m[1]);
  };
  r.n = static_cast<int>(number("n"));
  r.nu = number("nu");
  r.dt = number("dt");
  return r;
}

struct Stats {
  int step = 0;
  double mean = 0, rms = 0, max = 0, gradient2 = 0;
};

// Planes [z0 - 1, z0 + count] of an N^3 field, periodic in z.
std::vector<double> read_planes(MPI_File file, int n, int z0, int count) {
  std::size_t plane = std::size_t(n) * n;
  std::vector<double> data(plane * (count + 2));
  for (int i = -1; i <= count; ++i) {
    int z = ((z0 + i) % n + n) % n;
    MPI_File_read_at(file, MPI_Offset(z) * plane * sizeof(double), &data[plane * (i + 1)],
                     static_cast<int>(plane), MPI_DOUBLE, MPI_STATUS_IGNORE);
  }
  return data;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1, status = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  try {
    std::string in, report;
    for (int i = 1; i < argc; ++i) {
      std::string arg = argv[i];
      if (arg == "--in" && i + 1 < argc)
        in = argv[++i];
      else if (arg == "--report" && i + 1 < argc)
        report = argv[++i];
      else
        throw std::invalid_argument("usage: dns3d-analyse-mpi --in DIR [--report FILE]");
    }
    if (in.empty())
      throw std::invalid_argument("usage: dns3d-analyse-mpi --in DIR [--report FILE]");
    Run run = read_run(in);
    std::vector<std::pair<int, std::string>> snapshots;
    for (const auto& e : fs::directory_iterator(in)) {
      std::smatch m;
      std::string name = e.path().filename().string();
      if (std::regex_match(name, m, std::regex("u_([0-9]+)\\.bin")))
        snapshots.emplace_back(std::stoi(m[1]), e.path().string());
    }
    std::sort(snapshots.begin(), snapshots.end());
    if (snapshots.empty()) throw std::runtime_error("no u_*.bin snapshots in " + in);
    double start = MPI_Wtime();
    const int n = run.n;
    const double h = 2 * M_PI / n;
    int per = n / size, extra = n % size;
    int z0 = rank * per + std::min(rank, extra), count = per + (rank < extra ? 1 : 0);
    std::vector<Stats> stats;
    for (const auto& [step, path] : snapshots) {
      MPI_File file;
      if (MPI_File_open(MPI_COMM_WORLD, path.c_str(), MPI_MODE_RDONLY, MPI_INFO_NULL, &file) !=
          MPI_SUCCESS)
        throw std::runtime_error("cannot open " + path);
      auto u = read_planes(file, n, z0, count);
      MPI_File_close(&file);
      auto at = [&](int z, int y, int x) {  // z in [-1, count]
        return u[(std::size_t(z + 1) * n + ((y + n) % n)) * n + ((x + n) % n)];
      };
      double sum = 0, sum2 = 0, max = 0, grad2 = 0;
      for (int z = 0; z < count; ++z)
        for (int y = 0; y < n; ++y)
          for (int x = 0; x < n; ++x) {
            double v = at(z, y, x);
            sum += v;
            sum2 += v * v;
            max = std::max(max, std::abs(v));
            double gx = (at(z, y, x + 1) - at(z, y, x - 1)) / (2 * h);
            double gy = (at(z, y + 1, x) - at(z, y - 1, x)) / (2 * h);
            double gz = (at(z + 1, y, x) - at(z - 1, y, x)) / (2 * h);
            grad2 += gx * gx + gy * gy + gz * gz;
          }
      double local[3] = {sum, sum2, grad2}, global[3], global_max;
      MPI_Allreduce(local, global, 3, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
      MPI_Allreduce(&max, &global_max, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
      double cells = double(n) * n * n;
      stats.push_back(
          {step, global[0] / cells, std::sqrt(global[1] / cells), global_max, global[2] / cells});
    }
    if (rank == 0) {
      std::ostringstream json;
      json << std::setprecision(10) << "{\"n\": " << n << ", \"nu\": " << run.nu
           << ", \"snapshots\": [";
      std::printf("dns3d-analyse-mpi: %zu snapshots of %d^3 on %d ranks (MPI, %.3f s)\n",
                  stats.size(), n, size, MPI_Wtime() - start);
      std::printf("%8s %12s %12s %12s %12s %12s\n", "step", "time", "mean", "rms", "max|u|",
                  "<|grad u|^2>");
      double rate = 0;
      for (std::size_t i = 0; i < stats.size(); ++i) {
        const auto& s = stats[i];
        std::printf("%8d %12.5f %12.3e %12.5e %12.5e %12.5e\n", s.step, s.step * run.dt, s.mean,
                    s.rms, s.max, s.gradient2);
        json << (i ? ", " : "") << "{\"step\": " << s.step << ", \"mean\": " << s.mean
             << ", \"rms\": " << s.rms << ", \"max\": " << s.max
             << ", \"gradient2\": " << s.gradient2 << "}";
      }
      if (stats.size() >= 2) {
        const auto &a = stats.front(), &b = stats.back();
        rate = std::log(a.rms / b.rms) / ((b.step - a.step) * run.dt);
        std::printf("decay rate %.5f, exact %.5f (relative difference %.2e)\n", rate, 3 * run.nu,
                    std::abs(rate - 3 * run.nu) / (3 * run.nu));
      }
      json << "], \"decay_rate\": " << rate << ", \"exact_decay_rate\": " << 3 * run.nu << "}\n";
      if (!report.empty()) std::ofstream(report) << json.str();
    }
  } catch (const std::exception& e) {
    if (rank == 0) std::fprintf(stderr, "dns3d-analyse-mpi: %s\n", e.what());
    status = 1;
  }
  MPI_Finalize();
  return status;
}
