// SPDX-License-Identifier: GPL-2.0-or-later
#include "topo/service/tasks.h"

#include "topo/apps/field_stats.h"
#include "topo/apps/word_count.h"
#include "topo/intermap/grid_dataset.h"

#include <filesystem>
#include <stdexcept>

namespace topo::service {
namespace {

using Json = nlohmann::json;

template <typename T>
T param(const Json& params, const char* name) {
  auto it = params.find(name);
  bool ok = it != params.end();
  if constexpr (std::is_same_v<T, std::string>)
    ok = ok && it->is_string();
  else if constexpr (std::is_floating_point_v<T>)
    ok = ok && it->is_number();
  else
    ok = ok && it->is_number_unsigned();
  if (!ok) throw std::invalid_argument(std::string("missing or wrong parameter \"") + name + "\"");
  return it->get<T>();
}

Json field_stats(Context& ctx, const Json& params) {
  auto n = param<std::uint64_t>(params, "n");
  auto path = param<std::string>(params, "path");
  // The field is n^3 doubles: check the file holds exactly that before
  // anything is allocated for it.
  constexpr std::uint64_t kLargestN = 1u << 12;
  if (n == 0 || n > kLargestN)
    throw std::invalid_argument("\"n\" must be in 1.." + std::to_string(kLargestN));
  std::error_code ec;
  auto bytes = std::filesystem::file_size(path, ec);
  if (ec) throw std::runtime_error(path + ": " + ec.message());
  if (bytes != n * n * n * sizeof(double)) {
    throw std::invalid_argument("the file holds " + std::to_string(bytes) + " bytes, not the " +
                                std::to_string(n * n * n * sizeof(double)) + " of an n^3 field");
  }
  Grid grid(ctx, {n, n, n}, {true, true, true});
  auto u = GridDataset<double>::read_raw(grid, path);
  auto s = apps::field_stats_intermap(u, param<double>(params, "h"));
  return {{"mean", s.mean}, {"rms", s.rms}, {"max", s.max}, {"gradient2", s.gradient2}};
}

Json word_count(Context& ctx, const Json& params) {
  auto counts = apps::word_count(
      Dataset<std::string>::read_text_chunks(ctx, param<std::string>(params, "path")));
  std::uint64_t words = 0;
  for (const auto& [w, c] : counts.local()) words += c;
  auto top = counts.take_ordered(5, [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  Json r{{"words", ctx.sum(words)}, {"distinct", counts.count()}, {"top", Json::array()}};
  for (const auto& [w, c] : top) r["top"].push_back({w, c});
  return r;
}

}  // namespace

Json run_task(Context& ctx, const std::string& app, const Json& params) {
  if (!params.is_object()) throw std::invalid_argument("task parameters are not a JSON object");
  if (app == "field-stats") return field_stats(ctx, params);
  if (app == "word-count") return word_count(ctx, params);
  throw std::invalid_argument("unknown application \"" + app + "\" (field-stats, word-count)");
}

}  // namespace topo::service
