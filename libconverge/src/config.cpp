// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/config.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace converge::config {
namespace {

std::string type_name(const Json& v) {
  if (v.is_number_integer()) return "integer";
  if (v.is_number()) return "number";
  return v.type_name();
}

std::string escape_pointer_token(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

Json parse(std::string_view text, std::string_view origin) {
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& e) {
    // Turn nlohmann's byte offset into line and column for the user.
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i + 1 < e.byte && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    std::string what = e.what();
    if (auto pos = what.find("syntax error "); pos != std::string::npos) what = what.substr(pos);
    throw Error(fmt::format("{}:{}:{}: invalid JSON: {}", origin, line, column, what));
  }
}

Json load_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(fmt::format("{}: cannot read config file", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse(buffer.str(), path);
}

Node::Node(const Json& value, std::string origin, std::string pointer)
    : value_(&value), origin_(std::move(origin)), pointer_(std::move(pointer)) {}

void Node::fail(std::string_view why) const {
  throw Error(fmt::format("{}: {}: {}", origin_, pointer_.empty() ? "/" : pointer_, why));
}

void Node::expect_object() const {
  if (!value_->is_object()) fail(fmt::format("expected an object, got {}", type_name(*value_)));
}

bool Node::has(std::string_view key) const {
  expect_object();
  return value_->contains(key);
}

Node Node::at(std::string_view key) const {
  auto found = find(key);
  if (!found) fail(fmt::format("missing required key \"{}\"", key));
  return *found;
}

std::optional<Node> Node::find(std::string_view key) const {
  expect_object();
  auto it = value_->find(key);
  if (it == value_->end()) return std::nullopt;
  return Node(*it, origin_, pointer_ + "/" + escape_pointer_token(key));
}

std::vector<Node> Node::elements() const {
  if (!value_->is_array()) fail(fmt::format("expected an array, got {}", type_name(*value_)));
  std::vector<Node> out;
  for (std::size_t i = 0; i < value_->size(); ++i) {
    out.emplace_back((*value_)[i], origin_, fmt::format("{}/{}", pointer_, i));
  }
  return out;
}

std::string Node::as_string() const {
  if (!value_->is_string()) fail(fmt::format("expected a string, got {}", type_name(*value_)));
  return value_->get<std::string>();
}

bool Node::as_bool() const {
  if (!value_->is_boolean())
    fail(fmt::format("expected true or false, got {}", type_name(*value_)));
  return value_->get<bool>();
}

double Node::as_number() const {
  if (!value_->is_number()) fail(fmt::format("expected a number, got {}", type_name(*value_)));
  return value_->get<double>();
}

std::int64_t Node::as_int(std::int64_t min, std::int64_t max) const {
  if (!value_->is_number_integer()) {
    fail(fmt::format("expected an integer, got {}", type_name(*value_)));
  }
  // Unsigned values beyond int64 are out of range by construction.
  if (value_->is_number_unsigned() &&
      value_->get<std::uint64_t>() > static_cast<std::uint64_t>(max)) {
    fail(fmt::format("{} is out of range [{}, {}]", value_->dump(), min, max));
  }
  auto v = value_->get<std::int64_t>();
  if (v < min || v > max) fail(fmt::format("{} is out of range [{}, {}]", v, min, max));
  return v;
}

std::string Node::as_enum(std::initializer_list<std::string_view> allowed) const {
  std::string v = as_string();
  if (std::find(allowed.begin(), allowed.end(), v) != allowed.end()) return v;
  fail(fmt::format("\"{}\" is not one of: {}", v, fmt::join(allowed, ", ")));
}

void Node::allow_only(std::initializer_list<std::string_view> allowed) const {
  expect_object();
  for (const auto& item : value_->items()) {
    const std::string& key = item.key();
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    auto best = std::min_element(allowed.begin(), allowed.end(), [&](auto a, auto b) {
      return edit_distance(key, a) < edit_distance(key, b);
    });
    std::string hint;
    if (best != allowed.end() && edit_distance(key, *best) <= 3) {
      hint = fmt::format(" (did you mean \"{}\"?)", *best);
    }
    Node(item.value(), origin_, pointer_ + "/" + escape_pointer_token(key))
        .fail(fmt::format("unknown key{}", hint));
  }
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace converge::config
