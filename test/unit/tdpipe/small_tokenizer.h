// SPDX-License-Identifier: GPL-2.0-or-later
//
// A small SentencePiece vocabulary of 300 tokens for tests: <unk>, <s>,
// </s>, the 256 byte tokens, then pieces whose scores favour longer merges
// ("▁hello" is 271, "▁world" 275), then unused ones.
#pragma once

#include "tdpipe/model/tokenizer.h"

#include <cstdio>
#include <string>
#include <vector>

namespace tdpipe::testing {

inline Tokenizer small_tokenizer() {
  std::vector<std::string> pieces{"<unk>", "<s>", "</s>"};
  std::vector<int> types{2, 3, 3};
  char buffer[8];
  for (int b = 0; b < 256; ++b) {
    std::snprintf(buffer, sizeof buffer, "<0x%02X>", b);
    pieces.push_back(buffer);
    types.push_back(6);
  }
  const std::string space = "\xe2\x96\x81";
  for (const std::string& p :
       {space, std::string("h"), std::string("e"), std::string("l"), std::string("o"),
        std::string("w"), std::string("r"), std::string("d"), std::string("he"), std::string("ll"),
        std::string("llo"), std::string("hello"), space + "hello", std::string("or"), space + "w",
        space + "wor", space + "world", std::string("ld")}) {
    pieces.push_back(p);
    types.push_back(1);
  }
  std::vector<float> scores;
  scores.reserve(pieces.size());
  for (const auto& p : pieces) scores.push_back(float(p.size()));
  pieces.resize(300, "<unused>");
  types.resize(300, 1);
  scores.resize(300, -100.0f);
  return Tokenizer(pieces, scores, types, 1, 2);
}

}  // namespace tdpipe::testing
