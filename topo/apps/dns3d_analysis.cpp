// SPDX-License-Identifier: GPL-2.0-or-later
#include "topo/apps/dns3d_analysis.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace topo::apps {

double Dns3dRun::spacing() const {
  return 2 * M_PI / double(n);
}

Dns3dRun read_dns3d_run(const std::string& dir) {
  std::ifstream in(dir + "/run.json");
  if (!in) throw std::runtime_error("cannot read " + dir + "/run.json (is it dns3d output?)");
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.contains("n") || !j.contains("nu") || !j.contains("dt") ||
      !j["n"].is_number_unsigned() || !j["nu"].is_number() || !j["dt"].is_number())
    throw std::runtime_error(dir + "/run.json lacks n, nu or dt (is it dns3d output?)");
  return {j["n"].get<std::uint64_t>(), j["nu"].get<double>(), j["dt"].get<double>()};
}

std::vector<std::pair<int, std::string>> dns3d_snapshots(const std::string& dir) {
  std::vector<std::pair<int, std::string>> found;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::string name = e.path().filename().string();
    if (name.size() < 7 || name.rfind("u_", 0) != 0 || name.substr(name.size() - 4) != ".bin")
      continue;
    std::string digits = name.substr(2, name.size() - 6);
    if (digits.size() > 9 ||
        !std::all_of(digits.begin(), digits.end(), [](unsigned char c) { return std::isdigit(c); }))
      continue;
    found.emplace_back(std::stoi(digits), e.path().string());
  }
  std::sort(found.begin(), found.end());
  if (found.empty()) throw std::runtime_error("no u_*.bin snapshots in " + dir);
  return found;
}

nlohmann::json dns3d_report(const std::string& header, const Dns3dRun& run,
                            const std::vector<std::pair<int, FieldStats>>& stats) {
  nlohmann::json json{{"n", run.n}, {"nu", run.nu}};
  std::printf("%s\n", header.c_str());
  std::printf("%8s %12s %12s %12s %12s %12s\n", "step", "time", "mean", "rms", "max|u|",
              "<|grad u|^2>");
  for (const auto& [step, s] : stats) {
    std::printf("%8d %12.5f %12.3e %12.5e %12.5e %12.5e\n", step, step * run.dt, s.mean, s.rms,
                s.max, s.gradient2);
    json["snapshots"].push_back({{"step", step},
                                 {"mean", s.mean},
                                 {"rms", s.rms},
                                 {"max", s.max},
                                 {"gradient2", s.gradient2}});
  }
  double rate = 0;
  if (stats.size() >= 2) {
    const auto &a = stats.front(), &b = stats.back();
    rate = std::log(a.second.rms / b.second.rms) / ((b.first - a.first) * run.dt);
    std::printf("decay rate %.5f, exact %.5f (relative difference %.2e)\n", rate, 3 * run.nu,
                std::abs(rate - 3 * run.nu) / (3 * run.nu));
  }
  std::fflush(stdout);
  json["decay_rate"] = rate;
  json["exact_decay_rate"] = 3 * run.nu;
  return json;
}

}  // namespace topo::apps
