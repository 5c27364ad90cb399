// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/service_descriptor.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>

namespace converge {
namespace {

std::vector<std::string> strings(const config::Node& array) {
  std::vector<std::string> out;
  for (const auto& e : array.elements()) out.push_back(e.as_string());
  return out;
}

ReadyCheck parse_ready(const config::Node& n) {
  n.allow_only({"rpc", "http_proof", "tcp", "mounted", "command", "timeout_ms"});
  ReadyCheck r;
  if (auto v = n.find("timeout_ms")) r.timeout = std::chrono::milliseconds(v->as_int(1, 3'600'000));
  int kinds = 0;
  if (auto v = n.find("rpc")) {
    r.kind = ReadyCheck::Kind::rpc;
    r.target = v->as_string();
    ++kinds;
  }
  if (auto v = n.find("http_proof")) {
    r.kind = ReadyCheck::Kind::http_proof;
    r.target = v->as_string();
    ++kinds;
  }
  if (auto v = n.find("tcp")) {
    r.kind = ReadyCheck::Kind::tcp;
    r.target = v->as_string();
    ++kinds;
  }
  if (auto v = n.find("mounted")) {
    r.kind = ReadyCheck::Kind::mounted;
    r.target = v->as_string();
    ++kinds;
  }
  if (auto v = n.find("command")) {
    r.kind = ReadyCheck::Kind::command;
    r.argv = strings(*v);
    if (r.argv.empty()) v->fail("must name a command");
    ++kinds;
  }
  if (kinds != 1)
    n.fail("needs exactly one of \"rpc\", \"http_proof\", \"tcp\", \"mounted\", \"command\"");
  return r;
}

ServiceRole parse_role(const config::Node& n) {
  n.allow_only({"name", "nodes", "program", "args", "ports", "inherit_ports", "bind", "ready",
                "phase", "directories"});
  ServiceRole role;
  role.name = n.at("name").as_string();
  if (role.name.empty()) n.at("name").fail("must not be empty");
  if (auto v = n.find("nodes")) {
    if (v->json().is_string()) {
      std::string all = v->as_enum({"all", "first"});
      if (all == "first") role.count = 1;
    } else {
      role.count = static_cast<unsigned>(v->as_int(1, 1 << 20));
    }
  }
  role.program = n.at("program").as_string();
  if (auto v = n.find("args")) role.args = strings(*v);
  if (auto v = n.find("ports")) role.ports = static_cast<unsigned>(v->as_int(0, 16));
  if (auto v = n.find("inherit_ports")) role.inherits_ports = v->as_bool();
  if (auto v = n.find("bind")) {
    std::string b = v->as_enum({"none", "reserved_core", "workers"});
    role.binding = b == "none"            ? Binding::none
                   : b == "reserved_core" ? Binding::reserved_core
                                          : Binding::workers;
  }
  if (auto v = n.find("ready")) role.ready = parse_ready(*v);
  if (auto v = n.find("phase")) role.phase = static_cast<unsigned>(v->as_int(1, 16));
  if (auto v = n.find("directories")) role.directories = strings(*v);
  return role;
}

}  // namespace

ServiceDescriptor ServiceDescriptor::from_json(const config::Json& json,
                                               const std::string& origin) {
  config::Node root(json, origin);
  root.allow_only({"name", "description", "roles", "files"});
  ServiceDescriptor d;
  d.name = root.at("name").as_string();
  if (auto v = root.find("description")) d.description = v->as_string();
  for (const auto& r : root.at("roles").elements()) {
    ServiceRole role = parse_role(r);
    for (const auto& other : d.roles) {
      if (other.name == role.name) r.at("name").fail("names a role twice");
    }
    d.roles.push_back(std::move(role));
  }
  if (d.roles.empty()) root.at("roles").fail("needs at least one role");
  if (auto files = root.find("files")) {
    for (const auto& f : files->elements()) {
      f.allow_only({"path", "lists"});
      GeneratedFile g;
      g.path = f.at("path").as_string();
      auto lists = f.at("lists");
      if (!lists.json().is_object()) lists.fail("must be an object of JSON key -> role name");
      for (const auto& [key, value] : lists.json().items()) {
        auto role = lists.at(key).as_string();
        bool known = std::any_of(d.roles.begin(), d.roles.end(),
                                 [&](const ServiceRole& r) { return r.name == role; });
        if (!known) lists.at(key).fail(fmt::format("no role named \"{}\"", role));
        g.lists[key] = role;
      }
      d.files.push_back(std::move(g));
    }
  }
  return d;
}

ServiceDescriptor ServiceDescriptor::load_file(const std::string& path) {
  return from_json(config::load_file(path), path);
}

std::vector<std::string> ServiceDescriptor::available(const std::string& dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> known;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".json") known.push_back(e.path().stem().string());
  }
  std::sort(known.begin(), known.end());
  return known;
}

ServiceDescriptor ServiceDescriptor::find(const std::string& dir, const std::string& name) {
  namespace fs = std::filesystem;
  std::string path = dir + "/" + name + ".json";
  if (!fs::exists(path)) {
    auto known = available(dir);
    throw config::Error(
        fmt::format("no descriptor for service \"{}\" in {} (known: {})", name, dir,
                    known.empty() ? "none" : fmt::format("{}", fmt::join(known, ", "))));
  }
  return load_file(path);
}

unsigned ServiceDescriptor::last_phase() const {
  unsigned last = 0;
  for (const auto& r : roles) last = std::max(last, r.phase);
  return last;
}

}  // namespace converge
