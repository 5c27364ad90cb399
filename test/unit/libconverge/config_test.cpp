// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/config.h"
#include "converge/service_descriptor.h"
#include "converge/site_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using converge::SiteConfig;
using converge::config::Error;
using converge::config::Node;
using converge::config::parse;

namespace {

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(Config, SyntaxErrorNamesLineAndColumn) {
  std::string message = error_of([] { parse("{\n  \"a\": 1,\n  \"b\": ]\n}", "site.json"); });
  EXPECT_NE(message.find("site.json:3:"), std::string::npos) << message;
  EXPECT_NE(message.find("invalid JSON"), std::string::npos) << message;
}

TEST(Config, MissingFileIsAnError) {
  EXPECT_THROW(converge::config::load_file("/nonexistent/converge.json"), Error);
}

TEST(Config, TypeErrorsNameThePointer) {
  auto json = parse(R"({"scheduler": {"interval_ms": "fast"}})", "c.json");
  std::string message = error_of([&] { SiteConfig::from_json(json, "c.json"); });
  EXPECT_EQ(message, "c.json: /scheduler/interval_ms: expected an integer, got string");
}

TEST(Config, RangeErrors) {
  auto json = parse(R"({"scheduler": {"interval_ms": 5}})", "c.json");
  EXPECT_EQ(error_of([&] { SiteConfig::from_json(json, "c.json"); }),
            "c.json: /scheduler/interval_ms: 5 is out of range [100, 600000]");
}

TEST(Config, UnknownKeySuggestsTheClosest) {
  auto json = parse(R"({"log_levl": "debug"})", "c.json");
  EXPECT_EQ(error_of([&] { SiteConfig::from_json(json, "c.json"); }),
            "c.json: /log_levl: unknown key (did you mean \"log_level\"?)");
}

TEST(Config, EnumListsTheChoices) {
  auto json = parse(R"({"log_level": "loud"})", "c.json");
  EXPECT_EQ(error_of([&] { SiteConfig::from_json(json, "c.json"); }),
            "c.json: /log_level: \"loud\" is not one of: error, warning, info, verbose, debug");
}

TEST(Config, ValidFileLoads) {
  auto json = parse(R"({"log_level": "debug", "scheduler": {"interval_ms": 250}})", "c.json");
  SiteConfig c = SiteConfig::from_json(json, "c.json");
  EXPECT_EQ(c.log_level, converge::log::Level::debug);
  EXPECT_EQ(c.scheduler_interval.count(), 250);
}

TEST(Config, ShippedExampleIsValid) {
  SiteConfig c = SiteConfig::load_file(CONVERGE_SOURCE_DIR "/configs/converge.json");
  EXPECT_EQ(c.log_level, converge::log::Level::info);
}

TEST(Config, RequiredKeyAndArrays) {
  auto json = parse(R"({"list": [1, "x"]})", "c.json");
  Node root(json, "c.json");
  EXPECT_EQ(error_of([&] { root.at("missing"); }), "c.json: /: missing required key \"missing\"");
  auto items = root.at("list").elements();
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].as_int(0, 10), 1);
  EXPECT_EQ(error_of([&] { items[1].as_int(0, 10); }),
            "c.json: /list/1: expected an integer, got string");
}

TEST(Config, EditDistance) {
  EXPECT_EQ(converge::config::edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(converge::config::edit_distance("", "abc"), 3u);
  EXPECT_EQ(converge::config::edit_distance("same", "same"), 0u);
}

TEST(ServiceDescriptor, RolesTakeTheirPortsFromTheLauncherUnlessTheySayOtherwise) {
  auto descriptor = [](const std::string& role) {
    return converge::ServiceDescriptor::from_json(
        parse(R"({"name": "s", "roles": [)" + role + "]}", "s.json"), "s.json");
  };
  auto ours = descriptor(R"({"name": "a", "program": "p", "ports": 1})");
  EXPECT_TRUE(ours.roles.at(0).inherits_ports);
  auto theirs = descriptor(R"({"name": "a", "program": "p", "ports": 1, "inherit_ports": false})");
  EXPECT_FALSE(theirs.roles.at(0).inherits_ports);
  std::string message =
      error_of([&] { descriptor(R"({"name": "a", "program": "p", "inherit_ports": "no"})"); });
  EXPECT_NE(message.find("inherit_ports"), std::string::npos) << message;
}
