// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/model/gguf.h"

#include "tdpipe/model/layer_split.h"
#include "tdpipe/model/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <stdexcept>

namespace tdpipe {
namespace {

constexpr std::uint32_t kMagic = 0x46554747;  // "GGUF"
constexpr std::uint32_t kAlignment = 32;

// Metadata value types of the format.
enum : std::uint32_t {
  kU8 = 0,
  kI8,
  kU16,
  kI16,
  kU32,
  kI32,
  kF32,
  kBool,
  kString,
  kArray,
  kU64,
  kI64,
  kF64
};

struct Value {
  std::uint32_t type = 0;
  double number = 0;  // every numeric and boolean scalar
  std::string text;
  std::uint32_t element_type = 0;
  std::vector<double> numbers;       // numeric arrays
  std::vector<std::string> strings;  // string arrays
};

struct TensorInfo {
  std::vector<std::uint64_t> dims;
  std::uint32_t type = 0;
  std::uint64_t offset = 0;
  std::uint64_t count() const {
    std::uint64_t n = 1;
    for (auto d : dims) n *= d;
    return n;
  }
};

std::uint64_t bytes_of(std::uint32_t type, std::uint64_t count) {
  switch (type) {
    case std::uint32_t(GgufType::f32):
      return count * 4;
    case std::uint32_t(GgufType::f16):
      return count * 2;
    case std::uint32_t(GgufType::q8_0):
      return count / kQ8BlockValues * kQ8BlockBytes;
    default:
      return 0;
  }
}

std::string type_name(std::uint32_t type) {
  switch (type) {
    case 0:
      return "F32";
    case 1:
      return "F16";
    case 2:
      return "Q4_0";
    case 3:
      return "Q4_1";
    case 6:
      return "Q5_0";
    case 7:
      return "Q5_1";
    case 8:
      return "Q8_0";
    case 10:
      return "Q2_K";
    case 11:
      return "Q3_K";
    case 12:
      return "Q4_K";
    case 13:
      return "Q5_K";
    case 14:
      return "Q6_K";
    case 30:
      return "BF16";
    default:
      return "type " + std::to_string(type);
  }
}

class Reader {
 public:
  explicit Reader(const std::string& path) : path_(path), in_(path, std::ios::binary) {
    if (!in_) throw std::runtime_error(path + ": cannot open");
    in_.seekg(0, std::ios::end);
    size_ = std::uint64_t(in_.tellg());
    in_.seekg(0);
  }
  template <typename T>
  T get() {
    T v{};
    if (!in_.read(reinterpret_cast<char*>(&v), sizeof v)) fail("ends early");
    return v;
  }
  std::string string() {
    std::uint64_t n = get<std::uint64_t>();
    if (n > remaining()) fail("has a string longer than the file");
    std::string s(n, '\0');
    in_.read(s.data(), std::streamsize(n));
    return s;
  }
  Value value(std::uint32_t type) {
    Value v;
    v.type = type;
    switch (type) {
      case kU8:
        v.number = get<std::uint8_t>();
        break;
      case kI8:
        v.number = get<std::int8_t>();
        break;
      case kU16:
        v.number = get<std::uint16_t>();
        break;
      case kI16:
        v.number = get<std::int16_t>();
        break;
      case kU32:
        v.number = get<std::uint32_t>();
        break;
      case kI32:
        v.number = get<std::int32_t>();
        break;
      case kF32:
        v.number = get<float>();
        break;
      case kBool:
        v.number = get<std::uint8_t>();
        break;
      case kU64:
        v.number = double(get<std::uint64_t>());
        break;
      case kI64:
        v.number = double(get<std::int64_t>());
        break;
      case kF64:
        v.number = get<double>();
        break;
      case kString:
        v.text = string();
        break;
      case kArray: {
        v.element_type = get<std::uint32_t>();
        std::uint64_t n = get<std::uint64_t>();
        if (n > remaining()) fail("has an array longer than the file");
        if (v.element_type == kArray) fail("has nested arrays");
        for (std::uint64_t i = 0; i < n; ++i) {
          Value e = value(v.element_type);
          if (v.element_type == kString)
            v.strings.push_back(std::move(e.text));
          else
            v.numbers.push_back(e.number);
        }
        break;
      }
      default:
        fail("has a metadata value of unknown type " + std::to_string(type));
    }
    return v;
  }
  std::uint64_t position() { return std::uint64_t(in_.tellg()); }
  std::uint64_t size() const { return size_; }
  std::uint64_t remaining() { return size_ - position(); }
  void seek(std::uint64_t at) { in_.seekg(std::streamoff(at)); }
  void read(void* into, std::uint64_t bytes) {
    if (!in_.read(static_cast<char*>(into), std::streamsize(bytes))) fail("ends early");
  }
  [[noreturn]] void fail(const std::string& why) const {
    throw std::runtime_error(path_ + ": " + why);
  }

 private:
  std::string path_;
  std::ifstream in_;
  std::uint64_t size_ = 0;
};

class Writer {
 public:
  explicit Writer(const std::string& path) : out_(path, std::ios::binary | std::ios::trunc) {
    if (!out_) throw std::runtime_error(path + ": cannot create");
  }
  template <typename T>
  void put(T v) {
    out_.write(reinterpret_cast<const char*>(&v), sizeof v);
    written_ += sizeof v;
  }
  void string(const std::string& s) {
    put<std::uint64_t>(s.size());
    bytes(s.data(), s.size());
  }
  void bytes(const void* p, std::size_t n) {
    out_.write(static_cast<const char*>(p), std::streamsize(n));
    written_ += n;
  }
  void pad(std::uint64_t alignment) {
    while (written_ % alignment) put<std::uint8_t>(0);
  }
  void key(const std::string& k, std::uint32_t type) {
    string(k);
    put<std::uint32_t>(type);
  }
  bool good() const { return bool(out_); }

 private:
  std::ofstream out_;
  std::uint64_t written_ = 0;
};

// Each tensor of a Llama model with its GGUF name and matrix shape
// (rows x cols; rows 1 for a vector).
template <typename W, typename Each>
void for_each_tensor(W& w, Each each) {
  const ModelConfig& c = w.config;
  each("token_embd.weight", w.token_embedding, c.vocab_size, c.dim);
  for (int l = 0; l < c.n_layers; ++l) {
    auto& L = w.layers[std::size_t(l)];
    const std::string p = "blk." + std::to_string(l) + ".";
    each(p + "attn_norm.weight", L.attention_norm, 1, c.dim);
    each(p + "attn_q.weight", L.wq, c.dim, c.dim);
    each(p + "attn_k.weight", L.wk, c.kv_dim(), c.dim);
    each(p + "attn_v.weight", L.wv, c.kv_dim(), c.dim);
    each(p + "attn_output.weight", L.wo, c.dim, c.dim);
    each(p + "ffn_norm.weight", L.ffn_norm, 1, c.dim);
    each(p + "ffn_gate.weight", L.w1, c.hidden_dim, c.dim);
    each(p + "ffn_down.weight", L.w2, c.dim, c.hidden_dim);
    each(p + "ffn_up.weight", L.w3, c.hidden_dim, c.dim);
  }
  each("output_norm.weight", w.final_norm, 1, c.dim);
  if (!c.shared_classifier) each("output.weight", w.classifier, c.vocab_size, c.dim);
}

}  // namespace

bool is_gguf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::uint32_t magic = 0;
  return in.read(reinterpret_cast<char*>(&magic), 4) && magic == kMagic;
}

GgufModel load_gguf(const std::string& path) {
  return load_gguf(path, 0, 1);
}

GgufModel load_gguf(const std::string& path, int stage, int stages) {
  Reader r(path);
  if (r.get<std::uint32_t>() != kMagic) r.fail("not a GGUF file");
  const std::uint32_t version = r.get<std::uint32_t>();
  if (version != 2 && version != 3)
    r.fail("GGUF version " + std::to_string(version) + " (versions 2 and 3 are read)");
  const std::uint64_t tensors = r.get<std::uint64_t>(), pairs = r.get<std::uint64_t>();
  if (tensors > r.size() || pairs > r.size()) r.fail("has impossible counts in its header");
  std::map<std::string, Value> meta;
  for (std::uint64_t i = 0; i < pairs; ++i) {
    std::string key = r.string();
    meta[key] = r.value(r.get<std::uint32_t>());
  }
  std::map<std::string, TensorInfo> infos;
  for (std::uint64_t i = 0; i < tensors; ++i) {
    std::string name = r.string();
    TensorInfo t;
    std::uint32_t n = r.get<std::uint32_t>();
    if (n < 1 || n > 4) r.fail("tensor " + name + " has " + std::to_string(n) + " dimensions");
    for (std::uint32_t d = 0; d < n; ++d) t.dims.push_back(r.get<std::uint64_t>());
    t.type = r.get<std::uint32_t>();
    t.offset = r.get<std::uint64_t>();
    infos[name] = t;
  }
  auto number = [&](const std::string& key, std::optional<double> fallback = std::nullopt) {
    auto it = meta.find(key);
    if (it == meta.end() || it->second.type == kString || it->second.type == kArray) {
      if (fallback) return *fallback;
      r.fail("has no " + key);
    }
    return it->second.number;
  };
  auto text = [&](const std::string& key) {
    auto it = meta.find(key);
    return it != meta.end() && it->second.type == kString ? it->second.text : std::string();
  };
  const std::string arch = text("general.architecture");
  if (arch != "llama") r.fail("architecture \"" + arch + "\" (only llama models are read)");
  std::uint64_t alignment = std::uint64_t(number("general.alignment", kAlignment));
  if (alignment == 0 || alignment > 4096) r.fail("has an impossible alignment");
  const std::uint64_t data = (r.position() + alignment - 1) / alignment * alignment;

  ModelConfig c;
  c.dim = int(number("llama.embedding_length"));
  c.hidden_dim = int(number("llama.feed_forward_length"));
  c.n_layers = int(number("llama.block_count"));
  c.n_heads = int(number("llama.attention.head_count"));
  c.n_kv_heads = int(number("llama.attention.head_count_kv", c.n_heads));
  c.seq_len = int(number("llama.context_length"));
  c.norm_eps = float(number("llama.attention.layer_norm_rms_epsilon", 1e-5));
  c.rope_theta = float(number("llama.rope.freq_base", 10000.0));
  auto embedding = infos.find("token_embd.weight");
  if (embedding == infos.end() || embedding->second.dims.size() != 2)
    r.fail("has no token_embd.weight matrix");
  c.vocab_size = int(embedding->second.dims[1]);
  c.shared_classifier = !infos.count("output.weight");
  const int head_dim = c.n_heads > 0 ? c.dim / c.n_heads : 0;
  if (c.n_heads > 0 && number("llama.rope.dimension_count", head_dim) != head_dim)
    r.fail(
        "rotates part of each head (llama.rope.dimension_count); only whole heads are supported");
  if (auto p = c.problem(); !p.empty()) r.fail("has no usable Llama shape (" + p + ")");

  GgufModel m;
  m.name = text("general.name");
  auto [first, last] = split_layers(c.n_layers, stages).at(std::size_t(stage));
  m.weights = Weights::zeros(c, first, last);
  std::vector<std::uint8_t> raw;
  for_each_tensor(m.weights, [&](const std::string& name, std::vector<float>& t, int rows,
                                 int cols) {
    if (t.empty()) return;  // not this stage's
    auto it = infos.find(name);
    if (it == infos.end()) r.fail("has no tensor " + name);
    const TensorInfo& info = it->second;
    std::vector<std::uint64_t> expected{std::uint64_t(cols)};
    if (rows > 1 || info.dims.size() == 2) expected.push_back(std::uint64_t(rows));
    if (info.dims != expected)
      r.fail("tensor " + name + " does not have the shape the model's metadata implies");
    const std::uint64_t bytes = bytes_of(info.type, info.count());
    if (bytes == 0 || (info.type == std::uint32_t(GgufType::q8_0) && info.count() % kQ8BlockValues))
      r.fail("tensor " + name + " is " + type_name(info.type) + "; F32, F16 and Q8_0 are read");
    if (data + info.offset + bytes > r.size()) r.fail("tensor " + name + " lies past the end");
    raw.resize(bytes);
    r.seek(data + info.offset);
    r.read(raw.data(), bytes);
    if (info.type == std::uint32_t(GgufType::f32)) {
      std::memcpy(t.data(), raw.data(), bytes);
    } else if (info.type == std::uint32_t(GgufType::f16)) {
      for (std::size_t i = 0; i < t.size(); ++i) {
        std::uint16_t h;
        std::memcpy(&h, raw.data() + 2 * i, 2);
        t[i] = from_half(h);
      }
    } else {
      dequantize_q8_0(raw.data(), t.data(), t.size());
    }
  });

  if (text("tokenizer.ggml.model") == "llama" && meta.count("tokenizer.ggml.tokens")) {
    const Value& tokens = meta["tokenizer.ggml.tokens"];
    std::vector<float> scores(tokens.strings.size(), 0.0f);
    if (auto it = meta.find("tokenizer.ggml.scores"); it != meta.end())
      for (std::size_t i = 0; i < scores.size() && i < it->second.numbers.size(); ++i)
        scores[i] = float(it->second.numbers[i]);
    std::vector<int> types;
    if (auto it = meta.find("tokenizer.ggml.token_type"); it != meta.end())
      for (double t : it->second.numbers) types.push_back(int(t));
    if (types.size() != tokens.strings.size()) types.clear();
    if (int(tokens.strings.size()) != c.vocab_size)
      r.fail("has " + std::to_string(tokens.strings.size()) + " tokens for a vocabulary of " +
             std::to_string(c.vocab_size));
    m.tokenizer.emplace(tokens.strings, std::move(scores), std::move(types),
                        int(number("tokenizer.ggml.bos_token_id", 1)),
                        int(number("tokenizer.ggml.eos_token_id", 2)));
  }
  return m;
}

void save_gguf(const std::string& path, const Weights& weights, GgufType type,
               const Tokenizer* tokenizer, const std::string& name) {
  const ModelConfig& c = weights.config;
  if (!weights.holds_all()) throw std::invalid_argument("only whole models can be saved");
  struct Planned {
    std::string name;
    const std::vector<float>* data;
    int rows, cols;
    GgufType type;
    std::uint64_t offset;
  };
  std::vector<Planned> plan;
  std::uint64_t offset = 0;
  for_each_tensor(
      weights, [&](const std::string& n, const std::vector<float>& t, int rows, int cols) {
        GgufType t_type = rows == 1 ? GgufType::f32 : type;  // norms stay F32
        if (t_type == GgufType::q8_0 && cols % int(kQ8BlockValues))
          throw std::invalid_argument(n + ": Q8_0 needs rows of a multiple of 32 values");
        plan.push_back({n, &t, rows, cols, t_type, offset});
        offset +=
            (bytes_of(std::uint32_t(t_type), t.size()) + kAlignment - 1) / kAlignment * kAlignment;
      });
  const std::string partial = path + ".partial";
  {
    Writer w(partial);
    w.put<std::uint32_t>(kMagic);
    w.put<std::uint32_t>(3);
    w.put<std::uint64_t>(plan.size());
    std::uint64_t pairs = 12 + (name.empty() ? 0 : 1) + (tokenizer ? 6 : 0);
    w.put<std::uint64_t>(pairs);
    auto u32 = [&](const std::string& k, std::uint32_t v) {
      w.key(k, kU32);
      w.put<std::uint32_t>(v);
    };
    auto f32 = [&](const std::string& k, float v) {
      w.key(k, kF32);
      w.put<float>(v);
    };
    auto str = [&](const std::string& k, const std::string& v) {
      w.key(k, kString);
      w.string(v);
    };
    str("general.architecture", "llama");
    if (!name.empty()) str("general.name", name);
    u32("general.alignment", kAlignment);
    u32("llama.context_length", std::uint32_t(c.seq_len));
    u32("llama.embedding_length", std::uint32_t(c.dim));
    u32("llama.block_count", std::uint32_t(c.n_layers));
    u32("llama.feed_forward_length", std::uint32_t(c.hidden_dim));
    u32("llama.attention.head_count", std::uint32_t(c.n_heads));
    u32("llama.attention.head_count_kv", std::uint32_t(c.n_kv_heads));
    u32("llama.rope.dimension_count", std::uint32_t(c.head_size()));
    u32("llama.vocab_size", std::uint32_t(c.vocab_size));
    f32("llama.attention.layer_norm_rms_epsilon", c.norm_eps);
    f32("llama.rope.freq_base", c.rope_theta);
    if (tokenizer) {
      str("tokenizer.ggml.model", "llama");
      w.key("tokenizer.ggml.tokens", kArray);
      w.put<std::uint32_t>(kString);
      w.put<std::uint64_t>(tokenizer->pieces().size());
      for (const auto& p : tokenizer->pieces()) w.string(p);
      w.key("tokenizer.ggml.scores", kArray);
      w.put<std::uint32_t>(kF32);
      w.put<std::uint64_t>(tokenizer->scores().size());
      for (float s : tokenizer->scores()) w.put<float>(s);
      w.key("tokenizer.ggml.token_type", kArray);
      w.put<std::uint32_t>(kI32);
      std::vector<int> types = tokenizer->types();
      if (types.empty()) types.assign(tokenizer->pieces().size(), 1);
      w.put<std::uint64_t>(types.size());
      for (int t : types) w.put<std::int32_t>(t);
      u32("tokenizer.ggml.bos_token_id", std::uint32_t(tokenizer->bos()));
      u32("tokenizer.ggml.eos_token_id", std::uint32_t(tokenizer->eos()));
    }
    for (const auto& p : plan) {
      w.string(p.name);
      w.put<std::uint32_t>(p.rows == 1 ? 1 : 2);
      w.put<std::uint64_t>(std::uint64_t(p.cols));
      if (p.rows != 1) w.put<std::uint64_t>(std::uint64_t(p.rows));
      w.put<std::uint32_t>(std::uint32_t(p.type));
      w.put<std::uint64_t>(p.offset);
    }
    w.pad(kAlignment);
    for (const auto& p : plan) {
      const std::vector<float>& t = *p.data;
      if (p.type == GgufType::f32) {
        w.bytes(t.data(), t.size() * 4);
      } else if (p.type == GgufType::f16) {
        for (float v : t) w.put<std::uint16_t>(to_half(v));
      } else {
        auto q = quantize_q8_0(t.data(), t.size());
        w.bytes(q.data(), q.size());
      }
      w.pad(kAlignment);
    }
    if (!w.good()) throw std::runtime_error(partial + ": cannot write");
  }
  if (std::rename(partial.c_str(), path.c_str()) != 0)
    throw std::runtime_error(path + ": cannot rename the finished file into place");
}

}  // namespace tdpipe
