// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/text_template.h"

#include <gtest/gtest.h>

using converge::render_template;
using converge::TemplateError;

TEST(TextTemplate, SubstitutesPlaceholders) {
  EXPECT_EQ(render_template("A=@X@ B=@Y_2@ @X@", {{"X", "1"}, {"Y_2", "two"}}, "t"), "A=1 B=two 1");
}

TEST(TextTemplate, LeavesOtherAtSignsAlone) {
  EXPECT_EQ(render_template("mail root@localhost @ x", {}, "t"), "mail root@localhost @ x");
}

TEST(TextTemplate, UnknownPlaceholderNamesTheLine) {
  try {
    render_template("a\nb=@MISSING@\n", {}, "slurm.conf.in");
    FAIL();
  } catch (const TemplateError& e) {
    EXPECT_STREQ(e.what(), "slurm.conf.in:2: no value for @MISSING@");
  }
}
