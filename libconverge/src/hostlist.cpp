// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/hostlist.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <optional>

namespace converge::hostlist {
namespace {

// Splits on commas that are not inside brackets.
std::vector<std::string_view> split_top_level(std::string_view text) {
  std::vector<std::string_view> parts;
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '[') ++depth;
    if (text[i] == ']') --depth;
    if (depth < 0) throw Error(fmt::format("unbalanced ']' in host list \"{}\"", text));
    if (text[i] == ',' && depth == 0) {
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  if (depth != 0) throw Error(fmt::format("unbalanced '[' in host list \"{}\"", text));
  parts.push_back(text.substr(start));
  return parts;
}

unsigned long parse_number(std::string_view digits, std::string_view whole) {
  unsigned long value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
    throw Error(fmt::format("bad number \"{}\" in host list \"{}\"", digits, whole));
  }
  return value;
}

void expand_item(std::string_view item, std::string_view whole, std::vector<std::string>& out) {
  if (item.empty()) throw Error(fmt::format("empty name in host list \"{}\"", whole));
  auto open = item.find('[');
  if (open == std::string_view::npos) {
    out.emplace_back(item);
    return;
  }
  auto close = item.find(']', open);
  if (item.find('[', open + 1) != std::string_view::npos) {
    throw Error(fmt::format("more than one range in \"{}\" is not supported", item));
  }
  std::string_view prefix = item.substr(0, open);
  std::string_view suffix = item.substr(close + 1);
  for (std::string_view range : split_top_level(item.substr(open + 1, close - open - 1))) {
    auto dash = range.find('-');
    std::string_view lo_text = range.substr(0, dash);
    std::string_view hi_text = dash == std::string_view::npos ? lo_text : range.substr(dash + 1);
    unsigned long lo = parse_number(lo_text, whole), hi = parse_number(hi_text, whole);
    if (hi < lo)
      throw Error(fmt::format("descending range \"{}\" in host list \"{}\"", range, whole));
    if (hi - lo > 1'000'000) throw Error(fmt::format("range \"{}\" is too large", range));
    std::size_t width = lo_text.size();
    for (unsigned long n = lo; n <= hi; ++n) {
      out.push_back(fmt::format("{}{:0{}}{}", prefix, n, width, suffix));
    }
  }
}

struct Split {
  std::string prefix;
  std::optional<unsigned long> number;
  std::size_t width = 0;
};

Split split_name(const std::string& name) {
  std::size_t i = name.size();
  while (i > 0 && std::isdigit(static_cast<unsigned char>(name[i - 1]))) --i;
  Split s{name.substr(0, i), std::nullopt, name.size() - i};
  if (i < name.size()) s.number = std::stoul(name.substr(i));
  return s;
}

}  // namespace

std::vector<std::string> expand(std::string_view expression) {
  std::vector<std::string> out;
  if (expression.empty()) return out;
  for (std::string_view item : split_top_level(expression)) expand_item(item, expression, out);
  return out;
}

std::string compress(const std::vector<std::string>& names) {
  std::vector<std::string> groups;
  std::size_t i = 0;
  while (i < names.size()) {
    Split first = split_name(names[i]);
    if (!first.number) {
      groups.push_back(names[i++]);
      continue;
    }
    // Collect consecutive names with the same prefix and width into ranges.
    std::vector<std::string> ranges;
    unsigned long lo = *first.number, hi = lo;
    std::size_t j = i + 1;
    auto flush = [&] {
      ranges.push_back(lo == hi ? fmt::format("{:0{}}", lo, first.width)
                                : fmt::format("{:0{}}-{:0{}}", lo, first.width, hi, first.width));
    };
    for (; j < names.size(); ++j) {
      Split next = split_name(names[j]);
      if (!next.number || next.prefix != first.prefix || next.width != first.width) break;
      if (*next.number == hi + 1) {
        hi = *next.number;
        continue;
      }
      flush();
      lo = hi = *next.number;
    }
    flush();
    if (j - i == 1) {
      groups.push_back(names[i]);
    } else {
      groups.push_back(fmt::format("{}[{}]", first.prefix, fmt::join(ranges, ",")));
    }
    i = j;
  }
  return fmt::format("{}", fmt::join(groups, ","));
}

}  // namespace converge::hostlist
