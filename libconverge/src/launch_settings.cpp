// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/launch_settings.h"

namespace converge {

LaunchSettings LaunchSettings::load(const std::string& config_file) {
  LaunchSettings s;
  if (config_file.empty()) return s;
  auto json = config::load_file(config_file);
  config::Node root(json, config_file);
  if (auto section = root.find("launcher")) s.apply(*section);
  return s;
}

void LaunchSettings::apply(const config::Node& l) {
  l.allow_only({"job_dir", "kapok_mount", "services_dir", "listen_host", "ready_timeout_ms",
                "fence_margin_ms"});
  auto absolute = [](const config::Node& n) {
    std::string v = n.as_string();
    if (v.empty() || v[0] != '/') n.fail("must be an absolute path");
    return v;
  };
  if (auto v = l.find("job_dir")) job_dir = absolute(*v);
  if (auto v = l.find("kapok_mount")) {
    kapok_mount = v->as_string();
    if (kapok_mount.rfind("%d", 0) != 0 && (kapok_mount.empty() || kapok_mount[0] != '/'))
      v->fail("must be an absolute path or start with %d");
  }
  if (auto v = l.find("services_dir")) services_dir = absolute(*v);
  if (auto v = l.find("listen_host")) listen_host = v->as_string();
  if (auto v = l.find("ready_timeout_ms"))
    ready_timeout = std::chrono::milliseconds(v->as_int(100, 3'600'000));
  if (auto v = l.find("fence_margin_ms"))
    fence_margin = std::chrono::milliseconds(v->as_int(1000, 3'600'000));
}

std::string expand_job_pattern(const std::string& pattern, const std::string& job_id,
                               const std::string& node, const std::string& job_dir) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '%' || i + 1 == pattern.size()) {
      out += pattern[i];
      continue;
    }
    char c = pattern[++i];
    if (c == 'j')
      out += job_id;
    else if (c == 'n')
      out += node;
    else if (c == 'd')
      out += job_dir;
    else if (c == '%')
      out += '%';
    else
      out += {'%', c};
  }
  return out;
}

std::string LaunchSettings::job_dir_of(const std::string& job_id) const {
  return expand_job_pattern(job_dir, job_id, "", "");
}

std::string LaunchSettings::kapok_mount_of(const std::string& job_id,
                                           const std::string& node) const {
  return expand_job_pattern(kapok_mount, job_id, node, job_dir_of(job_id));
}

std::string service_marker(const std::string& job_id, const std::string& node) {
  return "CONVERGE_SERVICE_OF=" + job_id + "/" + node;
}

}  // namespace converge
