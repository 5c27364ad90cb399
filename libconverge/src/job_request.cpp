// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/job_request.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace converge {

std::string_view to_string(JobType type) {
  switch (type) {
    case JobType::sim:
      return "sim";
    case JobType::bigdata:
      return "bigdata";
    case JobType::ai:
      return "ai";
  }
  return "unknown";
}

JobType parse_job_type(std::string_view text) {
  for (JobType t : {JobType::sim, JobType::bigdata, JobType::ai}) {
    if (text == to_string(t)) return t;
  }
  throw JobRequestError(
      fmt::format("invalid --converge-type \"{}\": expected one of sim, bigdata, ai", text));
}

std::string_view to_string(PriorityClass priority) {
  return priority == PriorityClass::realtime ? "realtime" : "batch";
}

PriorityClass parse_priority_class(std::string_view text) {
  if (text == "realtime") return PriorityClass::realtime;
  if (text == "batch") return PriorityClass::batch;
  throw JobRequestError(
      fmt::format("invalid --converge-priority \"{}\": expected realtime or batch", text));
}

std::string_view to_string(CommPattern comm) {
  return comm == CommPattern::heavy ? "heavy" : "normal";
}

CommPattern parse_comm_pattern(std::string_view text) {
  if (text == "heavy") return CommPattern::heavy;
  if (text == "normal") return CommPattern::normal;
  throw JobRequestError(
      fmt::format("invalid --converge-comm \"{}\": expected heavy or normal", text));
}

std::string parse_data_path(std::string_view text) {
  if (text.empty() || text[0] != '/' || text.find('\0') != std::string_view::npos)
    throw JobRequestError(
        fmt::format("invalid --converge-data \"{}\": expected an absolute path", text));
  return std::string(text);
}

const std::vector<std::string>& builtin_services() {
  static const std::vector<std::string> services{"kapok", "topo", "tdpipe"};
  return services;
}

std::vector<std::string> parse_services(std::string_view list,
                                        const std::vector<std::string>& known) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    std::size_t comma = list.find(',', start);
    std::string_view name =
        list.substr(start, comma == std::string_view::npos ? comma : comma - start);
    if (name.empty()) {
      throw JobRequestError(
          fmt::format("invalid --converge-services \"{}\": empty service name", list));
    }
    bool well_formed = std::all_of(name.begin(), name.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    });
    if (!well_formed) {
      throw JobRequestError(fmt::format(
          "invalid --converge-services \"{}\": \"{}\" is not a service name (a-z, 0-9, - and _)",
          list, name));
    }
    if (!known.empty() && std::find(known.begin(), known.end(), name) == known.end()) {
      throw JobRequestError(
          fmt::format("invalid --converge-services \"{}\": unknown service \"{}\" (known: {})",
                      list, name, fmt::join(known, ", ")));
    }
    if (std::find(out.begin(), out.end(), name) != out.end()) {
      throw JobRequestError(
          fmt::format("invalid --converge-services \"{}\": \"{}\" given twice", list, name));
    }
    out.emplace_back(name);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string spank_option_variable(std::string_view plugin, std::string_view option) {
  auto canonical = [](std::string_view s) {
    std::string out(s);
    for (char& c : out) {
      if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    }
    return out;
  };
  return fmt::format("_SLURM_SPANK_OPTION_{}_{}", canonical(plugin), canonical(option));
}

JobRequest JobRequest::from_spank_env(const char* const* env, std::size_t count) {
  JobRequest request;
  const std::string type_var = spank_option_variable("converge", "converge-type") + "=";
  const std::string services_var = spank_option_variable("converge", "converge-services") + "=";
  const std::string priority_var = spank_option_variable("converge", "converge-priority") + "=";
  const std::string data_var = spank_option_variable("converge", "converge-data") + "=";
  const std::string comm_var = spank_option_variable("converge", "converge-comm") + "=";
  auto value_of = [](std::string_view entry,
                     std::string_view var) -> std::optional<std::string_view> {
    if (entry.starts_with("SPANK_")) entry.remove_prefix(6);
    if (!entry.starts_with(var)) return std::nullopt;
    return entry.substr(var.size());
  };
  for (std::size_t i = 0; env && i < count; ++i) {
    if (!env[i]) continue;
    std::string_view entry(env[i]);
    try {
      if (auto v = value_of(entry, type_var)) request.type = parse_job_type(*v);
      if (auto v = value_of(entry, services_var)) request.services = parse_services(*v, {});
      if (auto v = value_of(entry, priority_var)) request.priority = parse_priority_class(*v);
      if (auto v = value_of(entry, data_var)) request.data = parse_data_path(*v);
      if (auto v = value_of(entry, comm_var)) request.comm = parse_comm_pattern(*v);
    } catch (const JobRequestError&) {
      // Validated at submission; anything else here is ignored on purpose.
    }
  }
  return request;
}

}  // namespace converge
