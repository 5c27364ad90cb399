// SPDX-License-Identifier: GPL-2.0-or-later
//
// @NAME@ substitution for config templates (slurm.conf.in, service argument
// templates). An unknown or unterminated placeholder is an error, so a
// template and its caller cannot silently drift apart.
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

namespace converge {

class TemplateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string render_template(std::string_view text, const std::map<std::string, std::string>& values,
                            std::string_view origin);

}  // namespace converge
