// SPDX-License-Identifier: GPL-2.0-or-later
//
// dns3d: a small MPI simulation in the manner of a spectral DNS code, the
// simulation step of Converge's workflows. A scalar field on the periodic box
// [0, 2pi)^3 diffuses (du/dt = nu lap u; second-order finite differences,
// halo exchanges with the four pencil neighbours, forward Euler), and every
// step a Poisson equation lap(phi) = u is solved spectrally (3D FFT over the
// pencil decomposition, all-to-alls inside row and column communicators),
// as the pressure is in an incompressible flow solver.
//
// Started from u = sin x sin y sin z, the exact solution is
// u = exp(-3 nu t) sin x sin y sin z and phi = -u / 3: the run reports its
// error against both and fails if it exceeds --tolerance. Fields (u and phi)
// and checkpoints go to --out, which may be a Kapok mount.
#include "field_io.h"
#include "pencil.h"

#include <mpi.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <stdexcept>
#include <string>

namespace {

using namespace dns3d;

struct Options {
  int n = 32;
  int p1 = 0, p2 = 0;  // 0: MPI_Dims_create
  int steps = 100;
  double nu = 0.1;
  double cfl = 0.15;  // dt = cfl h^2 / nu; forward Euler is stable below 1/6
  std::string out;    // empty: no files
  int output_every = 0;
  int checkpoint_every = 0;
  bool restart = false;
  double tolerance = 0;  // 0: report only
};

constexpr const char* kUsage =
    "usage: dns3d [--n N] [--grid P1xP2] [--steps S] [--nu NU] [--cfl C] [--out DIR]\n"
    "             [--output-every K] [--checkpoint-every K] [--restart] [--tolerance T]\n";

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--n")
      o.n = std::stoi(value());
    else if (arg == "--grid") {
      std::string g = value();
      if (std::sscanf(g.c_str(), "%dx%d", &o.p1, &o.p2) != 2 || o.p1 < 1 || o.p2 < 1)
        throw std::invalid_argument("--grid is P1xP2, e.g. 2x2");
    } else if (arg == "--steps")
      o.steps = std::stoi(value());
    else if (arg == "--nu")
      o.nu = std::stod(value());
    else if (arg == "--cfl")
      o.cfl = std::stod(value());
    else if (arg == "--out")
      o.out = value();
    else if (arg == "--output-every")
      o.output_every = std::stoi(value());
    else if (arg == "--checkpoint-every")
      o.checkpoint_every = std::stoi(value());
    else if (arg == "--restart")
      o.restart = true;
    else if (arg == "--tolerance")
      o.tolerance = std::stod(value());
    else if (arg == "--help")
      throw std::invalid_argument(kUsage);
    else
      throw std::invalid_argument("unknown argument " + arg + "\n" + kUsage);
  }
  if (o.n < 4 || o.steps < 0 || o.nu <= 0 || o.cfl <= 0 || o.cfl > 1.0 / 6)
    throw std::invalid_argument("need --n >= 4, --steps >= 0, --nu > 0, 0 < --cfl <= 1/6");
  return o;
}

// u with one ghost layer in y and z, filled from the pencil neighbours.
class Halo {
 public:
  explicit Halo(const PencilGrid& g) : g_(g), data_(std::size_t(g.b2() + 2) * (g.b1() + 2) * g.n) {}

  double& at(int z, int y, int x) {  // z, y in [-1, b]
    return data_[(std::size_t(z + 1) * (g_.b1() + 2) + (y + 1)) * g_.n + x];
  }

  void fill(const std::vector<double>& u) {
    const int n = g_.n, b1 = g_.b1(), b2 = g_.b2();
    for (int z = 0; z < b2; ++z)
      for (int y = 0; y < b1; ++y)
        std::memcpy(&at(z, y, 0), &u[(std::size_t(z) * b1 + y) * n], n * sizeof(double));
    // y faces (cart dimension 0), one x-line per local z
    exchange(
        0, b2, [&](int z, bool high) { return &at(z, high ? b1 - 1 : 0, 0); },
        [&](int z, bool high) { return &at(z, high ? b1 : -1, 0); });
    // z faces (cart dimension 1), one x-line per y, ghost rows included
    exchange(
        1, b1 + 2, [&](int y, bool high) { return &at(high ? b2 - 1 : 0, y - 1, 0); },
        [&](int y, bool high) { return &at(high ? b2 : -1, y - 1, 0); });
  }

 private:
  template <class Inner, class Ghost>
  void exchange(int dim, int lines, Inner inner, Ghost ghost) {
    const int n = g_.n;
    int low, high;
    MPI_Cart_shift(g_.cart, dim, 1, &low, &high);
    std::vector<double> send(std::size_t(lines) * n), receive(send.size());
    for (bool up : {true, false}) {
      // Send our high face up (it is their low ghost), or our low face down.
      for (int l = 0; l < lines; ++l)
        std::memcpy(&send[std::size_t(l) * n], inner(l, up), n * sizeof(double));
      MPI_Sendrecv(send.data(), lines * n, MPI_DOUBLE, up ? high : low, 0, receive.data(),
                   lines * n, MPI_DOUBLE, up ? low : high, 0, g_.cart, MPI_STATUS_IGNORE);
      for (int l = 0; l < lines; ++l)
        std::memcpy(ghost(l, !up), &receive[std::size_t(l) * n], n * sizeof(double));
    }
  }

  const PencilGrid& g_;
  std::vector<double> data_;
};

struct Checkpoint {
  int step = 0;
  double time = 0;
};

void write_checkpoint(const PencilGrid& g, const std::string& dir, const std::vector<double>& u,
                      const Checkpoint& c, const Options& o) {
  write_field(g, dir + "/checkpoint.bin.tmp", u);
  MPI_Barrier(g.cart);
  if (g.rank == 0) {
    std::filesystem::rename(dir + "/checkpoint.bin.tmp", dir + "/checkpoint.bin");
    std::ofstream(dir + "/checkpoint.json.tmp")
        << std::setprecision(17) << "{\"step\": " << c.step << ", \"time\": " << c.time
        << ", \"n\": " << o.n << ", \"nu\": " << o.nu << "}\n";
    std::filesystem::rename(dir + "/checkpoint.json.tmp", dir + "/checkpoint.json");
  }
  MPI_Barrier(g.cart);
}

Checkpoint read_checkpoint(const PencilGrid& g, const std::string& dir, std::vector<double>& u) {
  Checkpoint c;
  std::ifstream meta(dir + "/checkpoint.json");
  std::string text((std::istreambuf_iterator<char>(meta)), {});
  if (std::sscanf(text.c_str(), "{\"step\": %d, \"time\": %lf", &c.step, &c.time) != 2)
    throw std::runtime_error("no usable checkpoint in " + dir);
  read_field(g, dir + "/checkpoint.bin", u);
  return c;
}

int run(const Options& o) {
  int size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int dims[2] = {o.p1, o.p2};
  if (!o.p1 || !o.p2) {
    dims[0] = dims[1] = 0;
    MPI_Dims_create(size, 2, dims);
  }
  PencilGrid g(o.n, dims[0], dims[1], MPI_COMM_WORLD);
  PencilFft fft(g);
  const int n = g.n, b1 = g.b1(), b2 = g.b2();
  const double h = 2 * M_PI / n, dt = o.cfl * h * h / o.nu;
  auto coordinate = [h](int i) { return i * h; };

  std::vector<double> u(g.pencil_size()), next(u.size()), phi;
  Checkpoint at;
  if (o.restart) {
    at = read_checkpoint(g, o.out, u);
  } else {
    for (int z = 0; z < b2; ++z)
      for (int y = 0; y < b1; ++y)
        for (int x = 0; x < n; ++x)
          u[(std::size_t(z) * b1 + y) * n + x] = std::sin(coordinate(x)) *
                                                 std::sin(coordinate(g.y0() + y)) *
                                                 std::sin(coordinate(g.z0() + z));
  }
  if (!o.out.empty() && g.rank == 0) std::filesystem::create_directories(o.out);
  MPI_Barrier(g.cart);

  Halo halo(g);
  double start = MPI_Wtime();
  for (int step = at.step + 1; step <= o.steps; ++step) {
    halo.fill(u);
    for (int z = 0; z < b2; ++z)
      for (int y = 0; y < b1; ++y)
        for (int x = 0; x < n; ++x) {
          double lap = (halo.at(z, y, (x + 1) % n) + halo.at(z, y, (x + n - 1) % n) +
                        halo.at(z, y + 1, x) + halo.at(z, y - 1, x) + halo.at(z + 1, y, x) +
                        halo.at(z - 1, y, x) - 6 * halo.at(z, y, x)) /
                       (h * h);
          next[(std::size_t(z) * b1 + y) * n + x] = halo.at(z, y, x) + dt * o.nu * lap;
        }
    u.swap(next);
    at = {step, step * dt};
    fft.solve_poisson(u, phi);  // the "pressure" of this step
    bool output = o.output_every > 0 && step % o.output_every == 0;
    if (!o.out.empty() && (output || step == o.steps)) {
      char name[64];
      std::snprintf(name, sizeof name, "/u_%06d.bin", step);
      write_field(g, o.out + name, u);
      std::snprintf(name, sizeof name, "/phi_%06d.bin", step);
      write_field(g, o.out + name, phi);
    }
    if (!o.out.empty() && o.checkpoint_every > 0 && step % o.checkpoint_every == 0)
      write_checkpoint(g, o.out, u, at, o);
  }
  double elapsed = MPI_Wtime() - start;
  if (phi.empty()) fft.solve_poisson(u, phi);

  // Errors against the exact solution, relative to its amplitude.
  double amplitude = std::exp(-3 * o.nu * at.time), error = 0, poisson = 0;
  for (int z = 0; z < b2; ++z)
    for (int y = 0; y < b1; ++y)
      for (int x = 0; x < n; ++x) {
        std::size_t i = (std::size_t(z) * b1 + y) * n + x;
        double exact = amplitude * std::sin(coordinate(x)) * std::sin(coordinate(g.y0() + y)) *
                       std::sin(coordinate(g.z0() + z));
        error = std::max(error, std::abs(u[i] - exact));
        poisson = std::max(poisson, std::abs(phi[i] + u[i] / 3));
      }
  double local[2] = {error, poisson}, global[2];
  MPI_Reduce(local, global, 2, MPI_DOUBLE, MPI_MAX, 0, g.cart);
  bool ok = true;
  if (g.rank == 0) {
    double relative = global[0] / amplitude, poisson_relative = global[1] / amplitude;
    ok = o.tolerance <= 0 || (relative <= o.tolerance && poisson_relative <= 1e-10);
    std::printf(
        "dns3d: %d^3 on %dx%d ranks, %d steps to t=%.4f in %.2f s; max error %.3e "
        "(relative %.3e), Poisson %.1e%s\n",
        n, g.p1, g.p2, at.step, at.time, elapsed, global[0], relative, poisson_relative,
        o.tolerance <= 0 ? ""
        : ok             ? " (OK)"
                         : " (ABOVE TOLERANCE)");
    if (!o.out.empty()) {
      std::ofstream(o.out + "/run.json")
          << std::setprecision(17) << "{\"n\": " << n << ", \"nu\": " << o.nu << ", \"dt\": " << dt
          << ", \"steps\": " << at.step << ", \"time\": " << at.time
          << ", \"output_every\": " << o.output_every << ", \"relative_error\": " << relative
          << "}\n";
    }
  }
  int status = ok ? 0 : 1;
  MPI_Bcast(&status, 1, MPI_INT, 0, g.cart);
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, status = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  try {
    status = run(parse(argc, argv));
  } catch (const std::exception& e) {
    if (rank == 0) std::fprintf(stderr, "dns3d: %s\n", e.what());
  }
  MPI_Finalize();
  return status;
}
