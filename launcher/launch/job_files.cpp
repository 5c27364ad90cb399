// SPDX-License-Identifier: GPL-2.0-or-later
#include "job_files.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace converge::launch {

void write_json(const std::string& path, const nlohmann::json& value) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::string tmp = path + "." + std::to_string(getpid()) + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << value.dump(2) << "\n";
    if (!out) throw std::runtime_error("cannot write " + tmp);
  }
  std::filesystem::rename(tmp, path);
}

std::optional<nlohmann::json> read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

}  // namespace converge::launch
