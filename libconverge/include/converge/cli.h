// SPDX-License-Identifier: GPL-2.0-or-later
//
// The one command-line layer of every Converge program, over CLI11: options
// are declared (name, type, range, required), so a misspelt option or a bad
// value is a one-line error naming the option, never silently ignored, and
// every program has --help. Header-only: CLI11 is only for programs' mains.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <functional>
#include <string>

namespace converge::cli {

// Parses argv. --help prints the usage and exits 0; a parse error (unknown
// option, bad or missing value) prints one line and exits 2. `print` false:
// parse quietly (the other ranks of an MPI program); the exit is the same.
inline void parse(CLI::App& app, int argc, char** argv, bool print = true) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    if (print) std::fputs(app.help().c_str(), stdout);
    throw;
  } catch (const CLI::CallForAllHelp&) {
    if (print) std::fputs(app.help("", CLI::AppFormatMode::All).c_str(), stdout);
    throw;
  } catch (const CLI::ParseError& e) {
    if (print) {
      // A misspelt option also leaves its value to be taken for something
      // else: the arguments nothing took are the clearer message.
      std::string message = e.what();
      if (auto unknown = app.remaining(true); !unknown.empty()) {
        message = "unknown argument(s):";
        for (const auto& arg : unknown) message += " " + arg;
      }
      for (char& c : message)
        if (c == '\n') c = ' ';
      std::fprintf(stderr, "%s: error: %s (see --help)\n", app.get_name().c_str(), message.c_str());
    }
    throw;
  }
}

// Exit status for a CLI11 parse exception: 0 for --help, 2 for errors.
inline int exit_code(const CLI::ParseError& e) {
  return e.get_exit_code() == 0 ? 0 : 2;
}

// Runs a program's body: parse errors end with exit_code(); any other
// exception is "PROGRAM: error: WHAT" on one line and exit status 1.
inline int run(const std::string& program, const std::function<int()>& body) {
  try {
    return body();
  } catch (const CLI::ParseError& e) {
    return exit_code(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: %s\n", program.c_str(), e.what());
    return 1;
  }
}

}  // namespace converge::cli
