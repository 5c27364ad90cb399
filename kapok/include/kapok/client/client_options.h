// SPDX-License-Identifier: GPL-2.0-or-later
//
// The options every Kapok client program (kapok, kapok-fuse) takes to find
// an instance's servers, declared once so that they cannot drift apart.
// Header-only: CLI11 belongs to programs' mains.
#pragma once

#include "kapok/client/client.h"

#include "converge/cli.h"

#include <string>

namespace kapok {

struct ClientOptions {
  std::string members_file;
  std::string config_file;

  // --members FILE (default $KAPOK_MEMBERS, required) and --config FILE.
  void add_to(CLI::App& app) {
    app.add_option("--members", members_file, "the servers: members.json (default $KAPOK_MEMBERS)")
        ->envname("KAPOK_MEMBERS")
        ->required();
    app.add_option("--config", config_file, "converge.json with a \"kapok\" section");
  }

  Members members() const { return Members::load(members_file); }
  Settings settings() const { return Settings::load(config_file); }
};

}  // namespace kapok
