// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/sched/scheduler_status.h"

#include <fmt/format.h>

#include <cstdio>
#include <fstream>

namespace converge::sched {
namespace {

using Json = nlohmann::json;

// Reads a required member, naming it in the error.
template <typename T>
T field(const Json& object, const char* key, const std::string& where) {
  if (!object.is_object() || !object.contains(key))
    throw StatusError(fmt::format("{}: no \"{}\"", where, key));
  try {
    return object.at(key).get<T>();
  } catch (const Json::exception&) {
    throw StatusError(fmt::format("{}: \"{}\" has the wrong type", where, key));
  }
}

}  // namespace

Json SchedulerStatus::to_json() const {
  Json j = {{"time", written},
            {"pull",
             {{"queued", queued},
              {"realtime", realtime},
              {"batch", queued - realtime},
              {"pulled", pulled},
              {"attempts", attempts}}},
            {"locality_prefixes", locality_prefixes},
            {"recent", Json::array()},
            {"pools", Json::object()},
            {"moves", Json::array()}};
  for (const auto& d : recent) {
    j["recent"].push_back({{"job", d.job},
                           {"node", d.node},
                           {"class", d.urgency},
                           {"reason", d.reason},
                           {"at", d.at}});
  }
  for (const auto& [name, p] : pools) {
    j["pools"][name] = {{"nodes", p.nodes},
                        {"min_nodes", p.min_nodes},
                        {"max_nodes", p.max_nodes},
                        {"load", {{"pending_cpus", p.pending_cpus}, {"idle_nodes", p.idle_nodes}}}};
  }
  for (const auto& m : moves) {
    j["moves"].push_back(
        {{"node", m.node}, {"from", m.from}, {"to", m.to}, {"reason", m.reason}, {"at", m.at}});
  }
  return j;
}

SchedulerStatus SchedulerStatus::from_json(const Json& j) {
  SchedulerStatus s;
  s.written = field<std::time_t>(j, "time", "status");
  const auto pull = field<Json>(j, "pull", "status");
  s.queued = field<std::uint64_t>(pull, "queued", "status: pull");
  s.realtime = field<std::uint64_t>(pull, "realtime", "status: pull");
  s.pulled = field<std::uint64_t>(pull, "pulled", "status: pull");
  s.attempts = field<std::uint64_t>(pull, "attempts", "status: pull");
  s.locality_prefixes = field<std::uint64_t>(j, "locality_prefixes", "status");
  const Json recent = field<Json>(j, "recent", "status");
  for (const auto& d : recent) {
    s.recent.push_back({field<std::uint32_t>(d, "job", "status: recent"),
                        field<std::string>(d, "node", "status: recent"),
                        field<std::string>(d, "class", "status: recent"),
                        field<std::string>(d, "reason", "status: recent"),
                        field<std::time_t>(d, "at", "status: recent")});
  }
  const Json pools = j.value("pools", Json::object());
  for (const auto& [name, p] : pools.items()) {
    std::string where = "status: pool " + name;
    Json load = p.value("load", Json::object());
    s.pools[name] = {
        field<std::vector<std::string>>(p, "nodes", where),
        field<std::uint32_t>(p, "min_nodes", where), field<std::uint32_t>(p, "max_nodes", where),
        load.value("pending_cpus", std::uint64_t{0}), load.value("idle_nodes", std::uint64_t{0})};
  }
  const Json moves = j.value("moves", Json::array());
  for (const auto& m : moves) {
    s.moves.push_back({field<std::string>(m, "node", "status: moves"),
                       field<std::string>(m, "from", "status: moves"),
                       field<std::string>(m, "to", "status: moves"),
                       field<std::string>(m, "reason", "status: moves"),
                       field<std::time_t>(m, "at", "status: moves")});
  }
  return s;
}

bool SchedulerStatus::write(const std::string& dir) const {
  std::string path = dir + "/" + kFileName, tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << to_json().dump(2) << "\n";
    if (!out) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

SchedulerStatus SchedulerStatus::read(const std::string& dir) {
  std::string path = dir + "/" + kFileName;
  std::ifstream in(path);
  if (!in) {
    throw StatusError(fmt::format(
        "{} does not exist: is SchedulerType=sched/converge, and has slurmctld been up a second?",
        path));
  }
  Json j = Json::parse(in, nullptr, false);
  if (j.is_discarded()) throw StatusError(fmt::format("{}: not valid JSON", path));
  try {
    return from_json(j);
  } catch (const StatusError& e) {
    throw StatusError(fmt::format("{}: {}", path, e.what()));
  }
}

}  // namespace converge::sched
