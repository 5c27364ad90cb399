// SPDX-License-Identifier: GPL-2.0-or-later
//
// The one config format of every Converge service: JSON files read with
// nlohmann-json, checked field by field with errors that name the file, the
// JSON pointer of the offending value and what was expected.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace converge::config {

using Json = nlohmann::json;

// A configuration problem, already phrased for the user ("FILE: /a/b: why").
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses JSON text; syntax errors say "ORIGIN:LINE:COLUMN: ...".
Json parse(std::string_view text, std::string_view origin);
// Reads and parses a file; a missing or unreadable file is an Error too.
Json load_file(const std::string& path);

// A located view of one JSON value: every accessor either returns a value of
// the expected type and range or throws Error naming where and why.
class Node {
 public:
  Node(const Json& value, std::string origin, std::string pointer = "");

  const Json& json() const { return *value_; }
  const std::string& pointer() const { return pointer_; }

  bool has(std::string_view key) const;
  Node at(std::string_view key) const;  // required member of an object
  std::optional<Node> find(std::string_view key) const;
  std::vector<Node> elements() const;  // members of an array

  std::string as_string() const;
  bool as_bool() const;
  double as_number() const;
  std::int64_t as_int(std::int64_t min, std::int64_t max) const;
  // One of a fixed set of strings.
  std::string as_enum(std::initializer_list<std::string_view> allowed) const;

  // Rejects object members outside `allowed`, suggesting the closest one, so
  // a typo in a key is an error instead of a silently ignored setting.
  void allow_only(std::initializer_list<std::string_view> allowed) const;

  [[noreturn]] void fail(std::string_view why) const;

 private:
  void expect_object() const;

  const Json* value_;
  std::string origin_;
  std::string pointer_;
};

// A service's settings from its section of converge.json: S's defaults,
// then `section` applied (S::apply(const Node&)) if the file (empty: none)
// has it. Throws Error.
template <typename S>
S load_section(const std::string& config_file, std::string_view section) {
  S settings;
  if (config_file.empty()) return settings;
  Json json = load_file(config_file);
  Node root(json, config_file);
  if (auto node = root.find(section)) settings.apply(*node);
  return settings;
}

// Levenshtein distance, used for "did you mean" suggestions.
std::size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace converge::config
