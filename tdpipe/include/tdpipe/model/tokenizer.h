// SPDX-License-Identifier: GPL-2.0-or-later
//
// The SentencePiece-style tokenizer Llama models use (llama.cpp's "llama"
// tokenizer, llama2.c's tokenizer.bin): a vocabulary of pieces with
// scores. Encoding starts from the text's characters (a space is "▁", a
// leading one is added), falls back to byte tokens <0xNN> for characters
// the vocabulary lacks, then merges the adjacent pair whose concatenation
// is the best-scoring piece until none is. Decoding concatenates pieces.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

namespace tdpipe {

class Tokenizer {
 public:
  // Pieces as GGUF stores them ("▁" for a space); `types` as llama.cpp's
  // token types (1 normal, 2 unknown, 3 control, 6 byte), may be empty.
  Tokenizer(std::vector<std::string> pieces, std::vector<float> scores, std::vector<int> types,
            int bos, int eos);

  std::vector<int> encode(const std::string& text, bool add_bos) const;
  // The text of `token` after `previous` (a leading space after BOS is dropped).
  std::string decode(int previous, int token) const;
  std::string decode(const std::vector<int>& tokens) const;

  int size() const { return int(pieces_.size()); }
  // The most bytes of text one token stands for: a text of more than
  // n * longest_piece() bytes cannot encode to n tokens or fewer.
  std::size_t longest_piece() const { return longest_piece_; }
  int bos() const { return bos_; }
  int eos() const { return eos_; }
  const std::vector<std::string>& pieces() const { return pieces_; }
  const std::vector<float>& scores() const { return scores_; }
  const std::vector<int>& types() const { return types_; }

 private:
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  void merge(std::vector<int>& symbols) const;
  static std::size_t next_alive(const std::vector<int>& symbols, std::size_t i);

  std::vector<std::string> pieces_;
  std::vector<float> scores_;
  std::vector<int> types_;
  std::unordered_map<std::string, int> index_;
  int byte_tokens_[256];  // <0xNN> ids, -1 if absent
  int bos_, eos_;
  std::size_t longest_piece_ = 1;
};

// llama2.c's tokenizer.bin (int32 max length, then per token a float32
// score, an int32 length and the bytes; spaces are plain spaces), for a
// model of `vocab` tokens. Throws std::runtime_error naming the file.
Tokenizer load_llama2c_tokenizer(const std::string& path, int vocab);

}  // namespace tdpipe
