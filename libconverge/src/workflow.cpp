// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/workflow.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <set>

namespace converge {
namespace fs = std::filesystem;

namespace {

std::vector<std::string> strings(const config::Node& array) {
  std::vector<std::string> out;
  for (const auto& e : array.elements()) out.push_back(e.as_string());
  return out;
}

bool valid_name(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

WorkflowStep parse_step(const config::Node& n, unsigned workflow_nodes) {
  n.allow_only({"name", "type", "nodes", "tasks", "mpi", "command", "inputs", "outputs", "after",
                "time_limit_minutes"});
  WorkflowStep s;
  s.name = n.at("name").as_string();
  if (!valid_name(s.name)) n.at("name").fail("letters, digits, '-', '_' and '.' only");
  try {
    s.type = parse_job_type(n.at("type").as_string());
  } catch (const std::exception& e) {
    n.at("type").fail(e.what());
  }
  if (auto v = n.find("nodes")) s.nodes = static_cast<unsigned>(v->as_int(1, workflow_nodes));
  s.tasks = s.nodes;
  if (auto v = n.find("tasks")) s.tasks = static_cast<unsigned>(v->as_int(s.nodes, 1 << 20));
  if (auto v = n.find("mpi")) s.mpi = v->as_bool();
  s.command = n.at("command").as_string();
  if (s.command.empty()) n.at("command").fail("must not be empty");
  if (auto v = n.find("inputs")) s.inputs = strings(*v);
  if (auto v = n.find("outputs")) s.outputs = strings(*v);
  if (auto v = n.find("after")) s.after = strings(*v);
  if (auto v = n.find("time_limit_minutes"))
    s.time_limit_minutes = static_cast<unsigned>(v->as_int(1, 100000));
  return s;
}

}  // namespace

Workflow Workflow::from_json(const config::Json& json, const std::string& origin) {
  config::Node root(json, origin);
  root.allow_only(
      {"name", "mode", "nodes", "services", "time_limit_minutes", "work_dir", "env", "steps"});
  Workflow w;
  w.name = root.at("name").as_string();
  if (!valid_name(w.name)) root.at("name").fail("letters, digits, '-', '_' and '.' only");
  if (auto v = root.find("mode"))
    w.mode = v->as_enum({"allocation", "jobs"}) == "jobs" ? WorkflowMode::jobs
                                                          : WorkflowMode::allocation;
  if (auto v = root.find("nodes")) w.nodes = static_cast<unsigned>(v->as_int(1, 1 << 16));
  if (auto v = root.find("services")) {
    w.services = strings(*v);
    try {
      std::string list;
      for (const auto& s : w.services) list += (list.empty() ? "" : ",") + s;
      if (!list.empty()) parse_services(list, {});  // sbatch checks they exist
    } catch (const std::exception& e) {
      v->fail(e.what());
    }
  }
  if (auto v = root.find("time_limit_minutes"))
    w.time_limit_minutes = static_cast<unsigned>(v->as_int(1, 100000));
  if (auto v = root.find("work_dir")) w.work_dir = v->as_string();
  if (auto v = root.find("env")) {
    if (!v->json().is_object()) v->fail("must be an object of NAME: value");
    for (const auto& [key, value] : v->json().items()) w.env[key] = v->at(key).as_string();
  }
  std::vector<WorkflowStep> parsed;
  auto steps = root.at("steps");
  auto elements = steps.elements();
  if (elements.empty()) steps.fail("needs at least one step");
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < elements.size(); ++i) {
    parsed.push_back(parse_step(elements[i], w.nodes));
    if (!index.emplace(parsed.back().name, i).second)
      elements[i].at("name").fail(fmt::format("step \"{}\" is defined twice", parsed.back().name));
  }
  for (std::size_t i = 0; i < parsed.size(); ++i) {
    for (const auto& dep : parsed[i].after) {
      if (!index.contains(dep))
        elements[i].at("after").fail(fmt::format("no step named \"{}\"", dep));
    }
  }
  // Dependency order (Kahn), keeping the file's order among ready steps.
  std::vector<bool> placed(parsed.size(), false);
  while (w.steps.size() < parsed.size()) {
    bool progress = false;
    for (std::size_t i = 0; i < parsed.size(); ++i) {
      if (placed[i]) continue;
      bool ready = std::all_of(parsed[i].after.begin(), parsed[i].after.end(),
                               [&](const std::string& d) { return placed[index[d]]; });
      if (!ready) continue;
      placed[i] = true;
      w.steps.push_back(parsed[i]);
      progress = true;
    }
    if (!progress) {
      std::vector<std::string> stuck;
      for (std::size_t i = 0; i < parsed.size(); ++i) {
        if (!placed[i]) stuck.push_back(parsed[i].name);
      }
      steps.fail(fmt::format("dependency cycle among steps {}", fmt::join(stuck, ", ")));
    }
  }
  return w;
}

Workflow Workflow::load_file(const std::string& path) {
  Workflow w = from_json(config::load_file(path), path);
  if (w.work_dir.empty()) {
    auto file = fs::absolute(path);
    w.work_dir = (file.parent_path() / (w.name + ".run")).string();
  }
  return w;
}

const WorkflowStep& Workflow::step(const std::string& name) const {
  for (const auto& s : steps) {
    if (s.name == name) return s;
  }
  throw std::out_of_range("no step " + name);
}

std::vector<std::string> Workflow::dependents(const std::string& name) const {
  std::set<std::string> found{name};
  std::vector<std::string> out;
  for (const auto& s : steps) {  // dependency order: one pass suffices
    bool depends = std::any_of(s.after.begin(), s.after.end(),
                               [&](const std::string& d) { return found.contains(d); });
    if (depends && found.insert(s.name).second) out.push_back(s.name);
  }
  return out;
}

std::string expand_variables(
    const std::string& text,
    const std::function<std::optional<std::string>(const std::string&)>& lookup) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$' || i + 1 == text.size()) {
      out += text[i];
      continue;
    }
    std::size_t start = i + 1, end;
    bool braced = text[start] == '{';
    if (braced) {
      end = text.find('}', start);
      if (end == std::string::npos) {
        out += text.substr(i);
        break;
      }
      out += lookup(text.substr(start + 1, end - start - 1)).value_or("");
      i = end;
      continue;
    }
    end = start;
    while (end < text.size() &&
           (std::isalnum(static_cast<unsigned char>(text[end])) || text[end] == '_'))
      ++end;
    if (end == start) {
      out += '$';
      continue;
    }
    out += lookup(text.substr(start, end - start)).value_or("");
    i = end - 1;
  }
  return out;
}

bool outputs_complete(const WorkflowStep& step,
                      const std::function<std::string(const std::string&)>& expand) {
  if (step.outputs.empty()) return false;
  std::error_code ec;
  fs::file_time_type oldest_output = fs::file_time_type::max();
  for (const auto& o : step.outputs) {
    auto path = expand(o);
    auto t = fs::last_write_time(path, ec);
    if (ec) return false;
    oldest_output = std::min(oldest_output, t);
  }
  for (const auto& i : step.inputs) {
    auto t = fs::last_write_time(expand(i), ec);
    if (!ec && t > oldest_output) return false;
  }
  return true;
}

}  // namespace converge
