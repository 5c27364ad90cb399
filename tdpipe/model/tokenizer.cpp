// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/model/tokenizer.h"

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <queue>
#include <stdexcept>

namespace tdpipe {
namespace {

const std::string kSpace = "\xe2\x96\x81";  // U+2581, SentencePiece's space

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

std::size_t utf8_length(unsigned char lead) {
  return lead < 0x80           ? 1
         : (lead >> 5) == 0x6  ? 2
         : (lead >> 4) == 0xE  ? 3
         : (lead >> 3) == 0x1E ? 4
                               : 1;
}

}  // namespace

Tokenizer::Tokenizer(std::vector<std::string> pieces, std::vector<float> scores,
                     std::vector<int> types, int bos, int eos)
    : pieces_(std::move(pieces)),
      scores_(std::move(scores)),
      types_(std::move(types)),
      bos_(bos),
      eos_(eos) {
  if (scores_.size() != pieces_.size()) throw std::invalid_argument("one score per piece");
  if (!types_.empty() && types_.size() != pieces_.size())
    throw std::invalid_argument("one token type per piece");
  for (int& b : byte_tokens_) b = -1;
  for (int i = 0; i < int(pieces_.size()); ++i) {
    const std::string& p = pieces_[std::size_t(i)];
    unsigned byte = 0;
    char close = 0;
    if (p.size() == 6 && std::sscanf(p.c_str(), "<0x%2X%c", &byte, &close) == 2 && close == '>') {
      byte_tokens_[byte] = i;
      continue;
    }
    index_.emplace(p, i);  // the first of duplicates wins
    longest_piece_ = std::max(longest_piece_, p.size());
  }
  longest_piece_ = std::max<std::size_t>(longest_piece_, 1);
}

std::vector<int> Tokenizer::encode(const std::string& text, bool add_bos) const {
  std::vector<int> out;
  if (add_bos && bos_ >= 0) out.push_back(bos_);
  if (text.empty()) return out;
  const std::string normal = kSpace + replace_all(text, " ", kSpace);
  // Characters, or their bytes where the vocabulary lacks them.
  std::vector<int> symbols;
  for (std::size_t at = 0; at < normal.size();) {
    std::size_t n =
        std::min(utf8_length(static_cast<unsigned char>(normal[at])), normal.size() - at);
    auto it = index_.find(normal.substr(at, n));
    if (it != index_.end()) {
      symbols.push_back(it->second);
    } else {
      for (std::size_t k = 0; k < n; ++k) {
        int b = byte_tokens_[static_cast<unsigned char>(normal[at + k])];
        if (b < 0)
          throw std::invalid_argument("the text has a character the vocabulary cannot express");
        symbols.push_back(b);
      }
    }
    at += n;
  }
  merge(symbols);
  for (std::size_t i = 0; i < symbols.size(); i = next_alive(symbols, i))
    if (symbols[i] >= 0) out.push_back(symbols[i]);
  return out;
}

// Merges the best-scoring adjacent pair, the leftmost of equals, until no
// pair merges: SentencePiece's BPE. A heap of candidate pairs and a list of
// live symbols make it O(n log n); rescanning every pair for every merge
// was quadratic (a 20k-character prompt took seconds). Merged-away symbols
// become -1; candidates whose symbols changed since are skipped when popped.
void Tokenizer::merge(std::vector<int>& symbols) const {
  const std::size_t n = symbols.size();
  std::vector<std::size_t> next(n), prev(n);
  for (std::size_t i = 0; i < n; ++i) {
    next[i] = i + 1;
    prev[i] = i == 0 ? kNone : i - 1;
  }
  struct Candidate {
    float score;
    std::size_t left, right;
    int left_id, right_id, merged;
    bool operator<(const Candidate& o) const {  // the heap's top: best score, then leftmost
      return score != o.score ? score < o.score : left > o.left;
    }
  };
  std::priority_queue<Candidate> heap;
  auto consider = [&](std::size_t left) {
    if (left == kNone || left >= n) return;
    std::size_t right = next[left];
    if (right >= n) return;
    auto it =
        index_.find(pieces_[std::size_t(symbols[left])] + pieces_[std::size_t(symbols[right])]);
    if (it == index_.end()) return;
    heap.push(
        {scores_[std::size_t(it->second)], left, right, symbols[left], symbols[right], it->second});
  };
  for (std::size_t i = 0; i + 1 < n; ++i) consider(i);
  while (!heap.empty()) {
    Candidate c = heap.top();
    heap.pop();
    bool current =
        symbols[c.left] == c.left_id && next[c.left] == c.right && symbols[c.right] == c.right_id;
    if (!current) continue;
    symbols[c.left] = c.merged;
    symbols[c.right] = -1;
    next[c.left] = next[c.right];
    if (next[c.right] < n) prev[next[c.right]] = c.left;
    consider(prev[c.left]);
    consider(c.left);
  }
}

std::size_t Tokenizer::next_alive(const std::vector<int>& symbols, std::size_t i) {
  for (++i; i < symbols.size() && symbols[i] < 0;) ++i;
  return i;
}

std::string Tokenizer::decode(int previous, int token) const {
  if (token < 0 || token >= size()) return "";
  if (!types_.empty() && types_[std::size_t(token)] == 3) return "";  // control: BOS, EOS
  const std::string& p = pieces_[std::size_t(token)];
  unsigned byte = 0;
  char close = 0;
  if (p.size() == 6 && std::sscanf(p.c_str(), "<0x%2X%c", &byte, &close) == 2 && close == '>')
    return std::string(1, char(byte));
  std::string text = replace_all(p, kSpace, " ");
  if (previous == bos_ && !text.empty() && text[0] == ' ') text.erase(0, 1);
  return text;
}

std::string Tokenizer::decode(const std::vector<int>& tokens) const {
  std::string out;
  int previous = -1;
  for (int t : tokens) {
    out += decode(previous, t);
    previous = t;
  }
  return out;
}

Tokenizer load_llama2c_tokenizer(const std::string& path, int vocab) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::int32_t max_length = 0;
  in.read(reinterpret_cast<char*>(&max_length), 4);
  std::vector<std::string> pieces;
  std::vector<float> scores;
  for (int i = 0; i < vocab; ++i) {
    float score = 0;
    std::int32_t length = 0;
    in.read(reinterpret_cast<char*>(&score), 4);
    in.read(reinterpret_cast<char*>(&length), 4);
    if (!in || length < 0 || length > max_length || length > 1 << 16)
      throw std::runtime_error(path + ": not a llama2.c tokenizer for " + std::to_string(vocab) +
                               " tokens (token " + std::to_string(i) + ")");
    std::string piece(std::size_t(length), '\0');
    in.read(piece.data(), length);
    pieces.push_back(replace_all(piece, " ", kSpace));
    scores.push_back(score);
  }
  if (!in) throw std::runtime_error(path + ": too short");
  // llama2.c's vocabularies: 0 <unk>, 1 <s>, 2 </s>.
  std::vector<int> types(pieces.size(), 1);
  if (types.size() > 2) types[0] = 2, types[1] = types[2] = 3;
  return Tokenizer(std::move(pieces), std::move(scores), std::move(types), 1, 2);
}

}  // namespace tdpipe
