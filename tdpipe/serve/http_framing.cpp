// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/serve/http_framing.h"

#include <charconv>
#include <optional>
#include <string>

namespace tdpipe {
namespace {

bool same_letters(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Each header line of the head (after the request line): name and value.
template <typename Visit>
void for_each_header(std::string_view head, Visit visit) {
  std::size_t start = head.find("\r\n");
  while (start != std::string_view::npos) {
    start += 2;
    std::size_t end = head.find("\r\n", start);
    if (end == std::string_view::npos || end == start) return;
    std::string_view line = head.substr(start, end - start);
    std::size_t colon = line.find(':');
    if (colon != std::string_view::npos)
      visit(line.substr(0, colon), trimmed(line.substr(colon + 1)), start, end + 2);
    start = end;
  }
}

}  // namespace

RequestFrame frame_request(std::string_view bytes, std::size_t max_head_bytes,
                           std::size_t max_body_bytes) {
  RequestFrame frame;
  std::size_t blank = bytes.find("\r\n\r\n");
  if (blank == std::string_view::npos || blank + 4 > max_head_bytes) {
    if (bytes.size() >= max_head_bytes) frame.state = RequestFrame::State::head_too_large;
    return frame;
  }
  frame.head_size = blank + 4;
  std::string_view head = bytes.substr(0, frame.head_size);
  std::optional<std::size_t> length;
  bool chunked = false, contradicts = false, expect = false;
  for_each_header(
      head, [&](std::string_view name, std::string_view value, std::size_t, std::size_t) {
        if (same_letters(name, "transfer-encoding")) {
          chunked = true;
        } else if (same_letters(name, "expect")) {
          expect = same_letters(value, "100-continue");
        } else if (same_letters(name, "content-length")) {
          std::size_t n = 0;
          auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), n);
          if (error != std::errc() || end != value.data() + value.size() || value.empty() ||
              (length && *length != n))
            contradicts = true;
          length = n;
        }
      });
  if (contradicts) {
    frame.state = RequestFrame::State::malformed;
  } else if (chunked) {
    frame.state = RequestFrame::State::length_required;
  } else if (length.value_or(0) > max_body_bytes) {
    frame.state = RequestFrame::State::body_too_large;
  } else {
    frame.size = frame.head_size + length.value_or(0);
    frame.state = bytes.size() >= frame.size ? RequestFrame::State::complete
                                             : RequestFrame::State::incomplete;
    frame.expects_continue = expect && frame.state == RequestFrame::State::incomplete;
  }
  return frame;
}

std::size_t drop_expect_header(std::string& bytes, std::size_t head_size) {
  std::size_t removed = 0;
  std::size_t from = 0, to = 0;
  for_each_header(std::string_view(bytes).substr(0, head_size),
                  [&](std::string_view name, std::string_view, std::size_t begin, std::size_t end) {
                    if (!removed && same_letters(name, "expect")) {
                      from = begin;
                      to = end;
                      removed = end - begin;
                    }
                  });
  if (removed) bytes.erase(from, to - from);
  return removed;
}

}  // namespace tdpipe
