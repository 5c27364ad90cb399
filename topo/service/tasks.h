// SPDX-License-Identifier: GPL-2.0-or-later
//
// What a Topo service worker can run: one task of an application, on the
// worker's own Topo context (its process alone, its FinD workers on the
// cores it was given). Adding an application means adding it here.
//   field-stats  {"path", "n", "h"}  -> {"mean", "rms", "max", "gradient2"}
//                the stencil analysis of one periodic n^3 field file
//   word-count   {"path"}            -> {"words", "distinct", "top": [[word, count], ...]}
#pragma once

#include "topo/core/context.h"

#include <nlohmann/json.hpp>

#include <string>

namespace topo::service {

// Throws std::invalid_argument for an unknown application or bad
// parameters, std::runtime_error when the work itself fails.
nlohmann::json run_task(Context& ctx, const std::string& app, const nlohmann::json& params);

}  // namespace topo::service
