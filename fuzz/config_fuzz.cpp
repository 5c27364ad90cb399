// SPDX-License-Identifier: GPL-2.0-or-later
//
// What admins and users write: converge.json (the site's settings, the
// launcher's) and workflow files, and JSON from peers (bounded depth). Bad
// input is a config::Error or a JSON error naming the problem, never a crash.
#include "converge/bounded_json.h"
#include "converge/config.h"
#include "converge/launch_settings.h"
#include "converge/site_config.h"
#include "converge/workflow.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  nlohmann::json json;
  try {
    json = converge::parse_bounded_json(text);
  } catch (const std::exception&) {
    return 0;
  }
  try {
    converge::SiteConfig::from_json(json, "fuzz.json");
  } catch (const converge::config::Error&) {
  }
  try {
    converge::Workflow::from_json(json, "fuzz.json");
  } catch (const converge::config::Error&) {
  }
  return 0;
}
