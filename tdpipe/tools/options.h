// SPDX-License-Identifier: GPL-2.0-or-later
//
// Command-line options of the tdpipe tools: --name value pairs and bare
// --flags, with numbers checked whole (one-line errors naming the option).
#pragma once

#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace tdpipe {

class Options {
 public:
  Options(int argc, char** argv, const std::set<std::string>& flags) {
    for (int i = 1; i < argc; ++i) {
      std::string arg = argv[i];
      if (arg.rfind("--", 0) != 0) throw std::invalid_argument("unexpected argument " + arg);
      std::string name = arg.substr(2);
      if (flags.count(name)) {
        values_[name] = "";
        continue;
      }
      if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
      values_[name] = argv[++i];
    }
  }
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  std::string text(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end()) throw std::invalid_argument("--" + name + " is required");
    return it->second;
  }
  long number(const std::string& name, long fallback, long low, long high) const {
    if (!has(name)) return fallback;
    std::string t = text(name);
    std::size_t used = 0;
    long v = 0;
    try {
      v = std::stol(t, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != t.size() || t.empty() || v < low || v > high)
      throw std::invalid_argument("--" + name + ": expected a whole number in " +
                                  std::to_string(low) + ".." + std::to_string(high) + ", got \"" +
                                  t + "\"");
    return v;
  }
  double real(const std::string& name, double fallback) const {
    if (!has(name)) return fallback;
    std::string t = text(name);
    std::size_t used = 0;
    double v = 0;
    try {
      v = std::stod(t, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != t.size() || t.empty())
      throw std::invalid_argument("--" + name + ": not a number: " + t);
    return v;
  }
  // "1,2,3" -> {1, 2, 3}
  std::vector<int> ids(const std::string& name) const {
    std::vector<int> out;
    std::string t = text(name);
    std::size_t at = 0;
    while (at <= t.size()) {
      std::size_t comma = t.find(',', at);
      std::string item = t.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
      std::size_t used = 0;
      long v = -1;
      try {
        v = std::stol(item, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != item.size() || item.empty() || v < 0 || v > (1L << 30))
        throw std::invalid_argument("--" + name + ": \"" + item + "\" is not a token id");
      out.push_back(int(v));
      if (comma == std::string::npos) break;
      at = comma + 1;
    }
    return out;
  }

 private:
  std::map<std::string, std::string> values_;
};

}  // namespace tdpipe
