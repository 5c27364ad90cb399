// SPDX-License-Identifier: GPL-2.0-or-later
//
// GGUF models and their tokenizer: the format's bytes where the spec fixes
// them, round trips in F32 (exact), F16 and Q8_0 (exactly the quantized
// values), generation from a GGUF file, a tokenizer worked out by hand, and
// bad files refused with the reason.
#include "tdpipe/engine/generate.h"
#include "tdpipe/engine/reference.h"
#include "tdpipe/model/gguf.h"
#include "tdpipe/model/quantize.h"
#include "tdpipe/model/llama2c.h"
#include "tdpipe/model/load_model.h"
#include "tdpipe/model/synthetic.h"
#include "tdpipe/model/tokenizer.h"
#include "small_tokenizer.h"

#include <gtest/gtest.h>
#include <cmath>
#include <cstring>
#include <algorithm>
#include <chrono>
#include <random>
#include <map>

#include <cstring>
#include <fstream>
#include <iterator>

using namespace tdpipe;

namespace {

ModelConfig shape() {
  // dim, hidden, layers, heads, kv heads, vocabulary (the small tokenizer's), sequence length
  return ModelConfig{64, 96, 2, 4, 2, 300, 128};
}

std::string temp(const std::string& name) {
  return ::testing::TempDir() + "/" + name;
}

std::vector<char> bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

TEST(TdpipeGguf, HalfAndQ8BlocksAreLaidOutAsTheFormatSays) {
  EXPECT_EQ(to_half(1.0f), 0x3C00);
  EXPECT_EQ(to_half(-2.5f), 0xC100);
  EXPECT_EQ(from_half(0x3555), 0.333251953125f);
  float x[32];
  for (int i = 0; i < 32; ++i) x[i] = float(i - 16);  // amax 16: d = 16 / 127
  auto q = quantize_q8_0(x, 32);
  ASSERT_EQ(q.size(), 34u);
  std::uint16_t scale;
  std::memcpy(&scale, q.data(), 2);
  EXPECT_EQ(scale, to_half(16.0f / 127.0f));
  EXPECT_EQ(std::int8_t(q[2]), -127);      // -16 / d
  EXPECT_EQ(std::int8_t(q[2 + 16]), 0);    // 0
  EXPECT_EQ(std::int8_t(q[2 + 31]), 119);  // 15 / d = 119.06
  float back[32];
  dequantize_q8_0(q.data(), back, 32);
  for (int i = 0; i < 32; ++i) EXPECT_NEAR(back[i], x[i], 16.0 / 127 / 2 + 0.01) << i;
}

TEST(TdpipeGguf, F32RoundTripsExactlyAndGeneratesTheSameTokens) {
  Weights w = synthetic_weights(shape(), 5);
  const std::string path = temp("model-f32.gguf");
  save_gguf(path, w, GgufType::f32, nullptr, "synthetic");
  auto file = bytes_of(path);
  ASSERT_GT(file.size(), 24u);
  EXPECT_EQ(std::string(file.data(), 4), "GGUF");
  std::uint32_t version;
  std::memcpy(&version, file.data() + 4, 4);
  EXPECT_EQ(version, 3u);
  LoadedModel m = load_model(path);
  EXPECT_EQ(m.name, "synthetic");
  EXPECT_FALSE(m.tokenizer);
  EXPECT_EQ(m.weights.token_embedding, w.token_embedding);
  EXPECT_EQ(m.weights.layers[1].w2, w.layers[1].w2);
  EXPECT_EQ(m.weights.layers[0].wk, w.layers[0].wk);
  EXPECT_EQ(m.weights.final_norm, w.final_norm);
  Request r;
  r.prompt = {1, 5, 9};
  r.max_tokens = 20;
  ReferenceModel a(w), b(m.weights);
  EXPECT_EQ(generate(a, r).tokens, generate(b, r).tokens);
}

TEST(TdpipeGguf, F16AndQ8HoldExactlyTheirQuantizedValues) {
  Weights w = synthetic_weights(shape(), 6);
  w.config.shared_classifier = false;
  w.classifier = w.token_embedding;
  w.classifier[7] = 0.5f;
  for (GgufType type : {GgufType::f16, GgufType::q8_0}) {
    const std::string path = temp("model-q.gguf");
    save_gguf(path, w, type);
    Weights m = load_gguf(path).weights;
    EXPECT_FALSE(m.config.shared_classifier);
    const auto& original = w.layers[1].w1;
    std::vector<float> expected(original.size());
    if (type == GgufType::f16) {
      for (std::size_t i = 0; i < original.size(); ++i)
        expected[i] = from_half(to_half(original[i]));
    } else {
      auto q = quantize_q8_0(original.data(), original.size());
      dequantize_q8_0(q.data(), expected.data(), expected.size());
    }
    EXPECT_EQ(m.layers[1].w1, expected);
    EXPECT_EQ(m.layers[1].ffn_norm, w.layers[1].ffn_norm);  // norms stay F32
    EXPECT_NEAR(m.classifier[7], 0.5f, 0.01);
  }
}

TEST(TdpipeHalf, TheSoftwareConversionsAgreeWithTheCompilersBitForBit) {
#ifndef __FLT16_MANT_DIG__
  GTEST_SKIP() << "this compiler has no _Float16 to compare with";
#else
  auto is_nan_half = [](std::uint16_t h) { return (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu); };
  for (std::uint32_t h = 0; h < 0x10000u; ++h) {
    auto bits = static_cast<std::uint16_t>(h);
    float soft = from_half_in_software(bits), hard = from_half(bits);
    if (is_nan_half(bits)) {
      EXPECT_TRUE(std::isnan(soft) && std::isnan(hard)) << h;
    } else {
      std::uint32_t a, b;
      std::memcpy(&a, &soft, 4);
      std::memcpy(&b, &hard, 4);
      ASSERT_EQ(a, b) << "half " << h;
    }
  }
  // Every 4099th float bit pattern, and the edges: rounding, subnormals, overflow.
  std::vector<std::uint32_t> patterns;
  for (std::uint64_t f = 0; f <= 0xffffffffu; f += 4099) patterns.push_back(std::uint32_t(f));
  for (std::uint32_t base : {0x33000000u, 0x33800000u, 0x387fc000u, 0x38800000u, 0x477fe000u,
                             0x477ff000u, 0x47800000u, 0x3f800000u, 0x7f800000u})
    for (std::uint32_t d = 0; d < 4096; ++d) {
      patterns.push_back(base + d);
      patterns.push_back(base - d);
      patterns.push_back((base + d) | 0x80000000u);
    }
  for (std::uint32_t p : patterns) {
    float x;
    std::memcpy(&x, &p, 4);
    if (std::isnan(x)) continue;
    ASSERT_EQ(to_half_in_software(x), to_half(x)) << std::hex << "float bits 0x" << p;
  }
#endif
}

TEST(TdpipeTokenizer, MergesTheBestScoringPairsAndFallsBackToBytes) {
  Tokenizer t = tdpipe::testing::small_tokenizer();
  const int hello = 259 + 12, world = 259 + 16;  // "▁hello", "▁world"
  EXPECT_EQ(t.encode("hello world", true), (std::vector<int>{1, hello, world}));
  // "é" is not a piece: its two bytes are.
  EXPECT_EQ(t.encode("hé", false), (std::vector<int>{259 + 0, 259 + 1, 3 + 0xC3, 3 + 0xA9}));
  EXPECT_EQ(t.decode(t.encode("hello world", true)), "hello world");
  EXPECT_EQ(t.decode(t.encode("hé", true)), "hé");
  EXPECT_EQ(t.decode(1, 2), "");  // control tokens say nothing
}

namespace {

// The plain BPE loop (rescan every pair for every merge) as the oracle for
// the heap-based encoder: on pieces' ids after the byte fallback.
std::vector<int> quadratic_merge(const Tokenizer& t, std::vector<int> symbols) {
  std::map<std::string, int> index;
  for (int i = 0; i < t.size(); ++i) {
    const auto& p = t.pieces()[std::size_t(i)];
    if (p.rfind("<0x", 0) != 0) index.emplace(p, i);
  }
  while (true) {
    float best = -1e30f;
    int best_id = -1;
    std::size_t best_at = 0;
    for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
      auto it =
          index.find(t.pieces()[std::size_t(symbols[i])] + t.pieces()[std::size_t(symbols[i + 1])]);
      if (it != index.end() && t.scores()[std::size_t(it->second)] > best) {
        best = t.scores()[std::size_t(it->second)];
        best_id = it->second;
        best_at = i;
      }
    }
    if (best_id < 0) return symbols;
    symbols[best_at] = best_id;
    symbols.erase(symbols.begin() + long(best_at) + 1);
  }
}

}  // namespace

TEST(TdpipeTokenizer, TheFastMergeAgreesWithThePlainLoop) {
  Tokenizer t = tdpipe::testing::small_tokenizer();
  std::mt19937 rng(11);
  const std::vector<std::string> letters{"h", "e", "l", "o", "w", "r", "d", " ", "\xc3\xa9", "x"};
  for (int round = 0; round < 300; ++round) {
    std::string text;
    for (int n = int(rng() % 60); n > 0; --n) text += letters[rng() % letters.size()];
    // The unmerged symbols: what encode() would merge, one piece or byte each.
    std::vector<int> unmerged;
    std::string normal = "\xe2\x96\x81";
    for (char c : text) normal += c == ' ' ? std::string("\xe2\x96\x81") : std::string(1, c);
    for (std::size_t at = 0; at < normal.size();) {
      std::size_t n = (static_cast<unsigned char>(normal[at]) >> 5) == 0x6   ? 2
                      : (static_cast<unsigned char>(normal[at]) >> 4) == 0xE ? 3
                                                                             : 1;
      auto piece = normal.substr(at, n);
      auto it = std::find(t.pieces().begin(), t.pieces().end(), piece);
      if (it != t.pieces().end() && piece.rfind("<0x", 0) != 0) {
        unmerged.push_back(int(it - t.pieces().begin()));
      } else {
        for (std::size_t k = 0; k < n; ++k)
          unmerged.push_back(3 + static_cast<unsigned char>(normal[at + k]));
      }
      at += n;
    }
    if (text.empty()) unmerged.clear();
    EXPECT_EQ(t.encode(text, false), quadratic_merge(t, unmerged)) << "text: " << text;
  }
}

TEST(TdpipeTokenizer, LongPromptsEncodeInLinearishTime) {
  Tokenizer t = tdpipe::testing::small_tokenizer();
  auto text_of = [](std::size_t chars) {
    std::string text;
    while (text.size() < chars) text += "hello world ";
    return text;
  };
  // How the time grows, not seconds (a sanitizer build is slower alike):
  // ten times the text takes 15-25 times as long here (36 under
  // ThreadSanitizer: caches), a hundred times with the old quadratic merge
  // loop. The fastest of three, against noise.
  auto fastest = [&](const std::string& text) {
    auto best = std::chrono::steady_clock::duration::max();
    for (int i = 0; i < 3; ++i) {
      auto start = std::chrono::steady_clock::now();
      t.encode(text, false);
      best = std::min(best, std::chrono::steady_clock::now() - start);
    }
    return best;
  };
  const std::string text = text_of(200'000);
  auto small = fastest(text_of(20'000)), large = fastest(text);
  EXPECT_LT(large, 50 * small) << "20k characters: " << small.count()
                               << " ns, 200k: " << large.count() << " ns";
  EXPECT_LT(large, std::chrono::seconds(60));
  auto tokens = t.encode(text, false);
  EXPECT_EQ(tokens.size(), 2 * (text.size() / 12) + 1);  // "▁hello", "▁world"; the last space
  EXPECT_GE(t.longest_piece(), std::string("\xe2\x96\x81world").size());
}

TEST(TdpipeGguf, TheTokenizerTravelsWithTheModel) {
  Weights w = synthetic_weights(shape(), 7);
  Tokenizer t = tdpipe::testing::small_tokenizer();
  const std::string path = temp("model-tok.gguf");
  save_gguf(path, w, GgufType::q8_0, &t);
  LoadedModel m = load_model(path);
  ASSERT_TRUE(m.tokenizer);
  EXPECT_EQ(m.tokenizer->pieces(), t.pieces());
  EXPECT_EQ(m.tokenizer->scores(), t.scores());
  EXPECT_EQ(m.eos, 2);
  EXPECT_EQ(m.tokenizer->encode("hello world", true), t.encode("hello world", true));
}

TEST(TdpipeGguf, BadFilesAreRefusedWithTheReason) {
  auto refused = [](const std::string& path, const std::string& says) {
    try {
      load_gguf(path);
      ADD_FAILURE() << path << " was accepted";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  };
  Weights w = synthetic_weights(shape(), 8);
  const std::string good = temp("good.gguf");
  save_gguf(good, w, GgufType::f16);
  auto file = bytes_of(good);
  auto write = [](const std::string& path, const std::vector<char>& b) {
    std::ofstream(path, std::ios::binary).write(b.data(), std::streamsize(b.size()));
  };
  const std::string truncated = temp("truncated.gguf");
  write(truncated, std::vector<char>(file.begin(), file.begin() + long(file.size() / 2)));
  refused(truncated, "past the end");
  std::vector<char> v1 = file;
  v1[4] = 1;
  const std::string old = temp("v1.gguf");
  write(old, v1);
  refused(old, "version 1");
  // Mark the first matrix (token_embd, F16 = 1) as Q4_K (12).
  std::vector<char> q4 = file;
  const std::string name = "token_embd.weight";
  auto at = std::search(q4.begin(), q4.end(), name.begin(), name.end());
  ASSERT_NE(at, q4.end());
  std::size_t type_at = std::size_t(at - q4.begin()) + name.size() + 4 + 16;
  ASSERT_EQ(q4[type_at], 1);
  q4[type_at] = 12;
  const std::string k = temp("q4k.gguf");
  write(k, q4);
  refused(k, "Q4_K; F32, F16 and Q8_0 are read");
  const std::string llama2c = temp("not.gguf");
  save_llama2c(w, llama2c);
  refused(llama2c, "not a GGUF file");
}

TEST(TdpipeGguf, AStageLoadsOnlyItsLayers) {
  Weights w = synthetic_weights(shape(), 9);
  w.config.shared_classifier = false;
  w.classifier = w.token_embedding;
  const std::string gguf = temp("staged.gguf"), bin = temp("staged.bin");
  save_gguf(gguf, w, GgufType::f32);
  save_llama2c(w, bin);
  for (const std::string& path : {gguf, bin}) {
    Weights first = load_model(path, "", 0, 2).weights, last = load_model(path, "", 1, 2).weights;
    EXPECT_EQ(first.layers[0].wq, w.layers[0].wq) << path;
    EXPECT_TRUE(first.layers[1].wq.empty()) << path;
    EXPECT_EQ(first.token_embedding, w.token_embedding) << path;
    EXPECT_TRUE(first.classifier.empty()) << path;
    EXPECT_TRUE(last.layers[0].w1.empty()) << path;
    EXPECT_EQ(last.layers[1].w2, w.layers[1].w2) << path;
    EXPECT_TRUE(last.token_embedding.empty()) << path;  // not shared: only the classifier
    EXPECT_EQ(last.classifier, w.classifier) << path;
    EXPECT_TRUE(last.missing_for(1, 2).empty()) << path;
    EXPECT_FALSE(last.missing_for(0, 2).empty()) << path;
    EXPECT_THROW(ReferenceModel{last}, std::invalid_argument);
  }
}
