// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/sim/workload.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace tdpipe::sim {
namespace {

// splitmix64: the same numbers from a seed on every platform.
class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed) {}
  double uniform() {  // in (0, 1)
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double(z >> 11) + 0.5) / 9007199254740992.0;
  }
  double normal() {  // Box-Muller
    double u = uniform(), v = uniform();
    return std::sqrt(-2 * std::log(u)) * std::cos(2 * M_PI * v);
  }

 private:
  std::uint64_t state_;
};

int lognormal(Random& r, double mu, double sigma, int low, int high) {
  double x = std::exp(mu + sigma * r.normal());
  return std::clamp(int(std::lround(x)), low, high);
}

}  // namespace

std::vector<SimRequest> sharegpt_like(int count, std::uint64_t seed, double rate,
                                      const WorkloadShape& shape) {
  Random r(seed);
  std::vector<SimRequest> out;
  double clock = 0;
  for (int i = 0; i < count; ++i) {
    SimRequest q;
    q.id = std::uint64_t(i);
    q.prompt =
        lognormal(r, shape.prompt_mu, shape.prompt_sigma, shape.min_tokens, shape.max_prompt);
    q.output =
        lognormal(r, shape.output_mu, shape.output_sigma, shape.min_tokens, shape.max_output);
    q.output = std::min(q.output, shape.max_total - q.prompt);
    if (rate > 0) clock += -std::log(r.uniform()) / rate;
    q.arrival = clock;
    out.push_back(q);
  }
  return out;
}

std::vector<SimRequest> read_workload(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read the workload " + path);
  std::vector<SimRequest> out;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line[0] == '#' || line.rfind("prompt", 0) == 0) continue;
    std::stringstream row(line);
    std::string prompt, output, arrival;
    std::getline(row, prompt, ',');
    std::getline(row, output, ',');
    std::getline(row, arrival, ',');
    SimRequest q;
    q.id = out.size();
    try {
      std::size_t a = 0, b = 0;
      q.prompt = std::stoi(prompt, &a);
      q.output = std::stoi(output, &b);
      if (a != prompt.size() || b != output.size()) throw std::invalid_argument("trailing");
      if (!arrival.empty()) q.arrival = std::stod(arrival);
    } catch (const std::exception&) {
      throw std::runtime_error(path + ":" + std::to_string(number) +
                               ": expected prompt_tokens,output_tokens[,arrival_s]");
    }
    if (q.prompt < 1 || q.output < 1 || q.arrival < 0)
      throw std::runtime_error(path + ":" + std::to_string(number) +
                               ": lengths must be at least 1 and arrivals not negative");
    out.push_back(q);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const SimRequest& a, const SimRequest& b) { return a.arrival < b.arrival; });
  return out;
}

}  // namespace tdpipe::sim
