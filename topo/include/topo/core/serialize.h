// SPDX-License-Identifier: GPL-2.0-or-later
//
// How dataset elements travel between ranks and into files: a byte encoding
// for trivially copyable values, std::string, std::pair, std::tuple and
// std::vector, nested freely. Values are written in the host's byte order:
// every rank of a Topo program runs on the same kind of machine.
#pragma once

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace topo {

template <typename T>
struct is_pair : std::false_type {};
template <typename A, typename B>
struct is_pair<std::pair<A, B>> : std::true_type {};

template <typename T>
struct is_tuple : std::false_type {};
template <typename... A>
struct is_tuple<std::tuple<A...>> : std::true_type {};

template <typename T>
struct is_vector : std::false_type {};
template <typename V, typename A>
struct is_vector<std::vector<V, A>> : std::true_type {};

// Appends encoded values to a byte buffer.
class Writer {
 public:
  explicit Writer(std::vector<char>& out) : out_(out) {}

  void bytes(const void* data, std::size_t n) {
    const char* p = static_cast<const char*>(data);
    out_.insert(out_.end(), p, p + n);
  }

  template <typename T>
  void put(const T& value) {
    if constexpr (is_pair<T>::value) {
      put(value.first);
      put(value.second);
    } else if constexpr (is_tuple<T>::value) {
      std::apply([&](const auto&... field) { (put(field), ...); }, value);
    } else if constexpr (std::is_same_v<T, std::string>) {
      put(static_cast<std::uint64_t>(value.size()));
      bytes(value.data(), value.size());
    } else if constexpr (is_vector<T>::value) {
      put(static_cast<std::uint64_t>(value.size()));
      if constexpr (std::is_trivially_copyable_v<typename T::value_type>) {
        bytes(value.data(), value.size() * sizeof(typename T::value_type));
      } else {
        for (const auto& x : value) put(x);
      }
    } else {
      static_assert(std::is_trivially_copyable_v<T>, "no encoding for this element type");
      bytes(&value, sizeof(T));
    }
  }

 private:
  std::vector<char>& out_;
};

// Reads values back; running past the end is a std::runtime_error.
class Reader {
 public:
  Reader(const char* data, std::size_t size) : at_(data), end_(data + size) {}
  explicit Reader(const std::vector<char>& in) : Reader(in.data(), in.size()) {}

  bool done() const { return at_ == end_; }

  void bytes(void* to, std::size_t n) {
    if (static_cast<std::size_t>(end_ - at_) < n)
      throw std::runtime_error("topo: truncated record");
    if (n) std::memcpy(to, at_, n);
    at_ += n;
  }

  template <typename T>
  T get() {
    if constexpr (is_pair<T>::value) {
      auto first = get<typename T::first_type>();
      return T(std::move(first), get<typename T::second_type>());
    } else if constexpr (is_tuple<T>::value) {
      return get_tuple<T>(std::make_index_sequence<std::tuple_size_v<T>>{});
    } else if constexpr (std::is_same_v<T, std::string>) {
      std::string s(length(1), '\0');
      bytes(s.data(), s.size());
      return s;
    } else if constexpr (is_vector<T>::value) {
      using V = typename T::value_type;
      T v;
      if constexpr (std::is_trivially_copyable_v<V>) {
        v.resize(length(sizeof(V)));
        bytes(v.data(), v.size() * sizeof(V));
      } else {
        std::size_t n = length(1);
        v.reserve(n);
        for (std::size_t i = 0; i < n; ++i) v.push_back(get<V>());
      }
      return v;
    } else {
      static_assert(std::is_trivially_copyable_v<T>, "no encoding for this element type");
      T value;
      bytes(&value, sizeof(T));
      return value;
    }
  }

 private:
  // A length prefix, checked against what is left so a corrupt record
  // cannot ask for a huge allocation.
  std::size_t length(std::size_t min_bytes_each) {
    auto n = get<std::uint64_t>();
    if (n > static_cast<std::size_t>(end_ - at_) / min_bytes_each)
      throw std::runtime_error("topo: truncated record");
    return static_cast<std::size_t>(n);
  }

  template <typename T, std::size_t... I>
  T get_tuple(std::index_sequence<I...>) {
    // Braced initialisation evaluates in order.
    return T{get<std::tuple_element_t<I, T>>()...};
  }

  const char* at_;
  const char* end_;
};

// The encoded size of every value of T when it is the same for all of them
// (trivially copyable types and pairs and tuples of them), else 0. Such
// values are encoded straight into place by encode_fixed/decode_fixed.
template <typename T>
constexpr std::size_t fixed_size() {
  if constexpr (is_pair<T>::value) {
    constexpr std::size_t a = fixed_size<typename T::first_type>();
    constexpr std::size_t b = fixed_size<typename T::second_type>();
    return a && b ? a + b : 0;
  } else if constexpr (is_tuple<T>::value) {
    return []<std::size_t... I>(std::index_sequence<I...>) {
      constexpr std::size_t sizes[] = {fixed_size<std::tuple_element_t<I, T>>()..., 1};
      std::size_t total = 0;
      for (std::size_t i = 0; i < sizeof...(I); ++i) {
        if (sizes[i] == 0) return std::size_t{0};
        total += sizes[i];
      }
      return total;
    }
    (std::make_index_sequence<std::tuple_size_v<T>>{});
  } else if constexpr (std::is_same_v<T, std::string> || is_vector<T>::value) {
    return 0;
  } else if constexpr (std::is_trivially_copyable_v<T>) {
    return sizeof(T);
  } else {
    return 0;
  }
}

// For fixed_size<T>() > 0: writes value at `to` and returns the end.
template <typename T>
char* encode_fixed(const T& value, char* to) {
  if constexpr (is_pair<T>::value) {
    return encode_fixed(value.second, encode_fixed(value.first, to));
  } else if constexpr (is_tuple<T>::value) {
    std::apply([&](const auto&... field) { ((to = encode_fixed(field, to)), ...); }, value);
    return to;
  } else {
    std::memcpy(to, &value, sizeof(T));
    return to + sizeof(T);
  }
}

template <typename T>
T decode_fixed(const char*& from) {
  if constexpr (is_pair<T>::value) {
    auto first = decode_fixed<typename T::first_type>(from);
    return T(std::move(first), decode_fixed<typename T::second_type>(from));
  } else if constexpr (is_tuple<T>::value) {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      return T{decode_fixed<std::tuple_element_t<I, T>>(from)...};
    }
    (std::make_index_sequence<std::tuple_size_v<T>>{});
  } else {
    T value;
    std::memcpy(&value, from, sizeof(T));
    from += sizeof(T);
    return value;
  }
}

template <typename T>
std::vector<char> encode(const std::vector<T>& values) {
  std::vector<char> out;
  Writer w(out);
  if constexpr (std::is_trivially_copyable_v<T>) {
    w.bytes(values.data(), values.size() * sizeof(T));
  } else if constexpr (fixed_size<T>() > 0) {
    out.resize(values.size() * fixed_size<T>());
    char* at = out.data();
    for (const T& v : values) at = encode_fixed(v, at);
  } else {
    for (const T& v : values) w.put(v);
  }
  return out;
}

template <typename T>
void decode_into(const char* data, std::size_t size, std::vector<T>& out) {
  if constexpr (std::is_trivially_copyable_v<T>) {
    if (size % sizeof(T)) throw std::runtime_error("topo: truncated record");
    std::size_t first = out.size();
    out.resize(first + size / sizeof(T));
    if (size) std::memcpy(out.data() + first, data, size);
  } else if constexpr (fixed_size<T>() > 0) {
    if (size % fixed_size<T>()) throw std::runtime_error("topo: truncated record");
    out.reserve(out.size() + size / fixed_size<T>());
    for (const char* at = data; at < data + size;) out.push_back(decode_fixed<T>(at));
  } else {
    Reader r(data, size);
    while (!r.done()) out.push_back(r.get<T>());
  }
}

template <typename T>
std::vector<T> decode(const std::vector<char>& bytes) {
  std::vector<T> out;
  decode_into(bytes.data(), bytes.size(), out);
  return out;
}

}  // namespace topo
