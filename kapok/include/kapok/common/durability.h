// SPDX-License-Identifier: GPL-2.0-or-later
//
// When a metadata server acknowledges a change: see daemon/metadata_engine.h.
#pragma once

namespace kapok {

enum class Durability { sync, group_commit };

}  // namespace kapok
