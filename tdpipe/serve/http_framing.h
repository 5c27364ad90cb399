// SPDX-License-Identifier: GPL-2.0-or-later
//
// Where one HTTP/1.1 request ends in the bytes read so far, so the
// listener can gather a whole request before a connection thread sees it:
// a client that sends slowly, or not at all, then costs a few bytes of
// buffer, never a thread. Only framing is checked here (head size,
// Content-Length); httplib parses the request itself.
#pragma once

#include <cstddef>
#include <string_view>

namespace tdpipe {

struct RequestFrame {
  enum class State {
    incomplete,       // more bytes needed
    complete,         // `size` bytes hold one whole request
    head_too_large,   // no end of the head within the limit: 431
    body_too_large,   // Content-Length over the limit: 413
    length_required,  // a body without Content-Length (chunked): 411
    malformed,        // an unreadable or contradictory Content-Length: 400
  };
  State state = State::incomplete;
  std::size_t head_size = 0;  // through the blank line, once it has arrived
  std::size_t size = 0;       // head and body, once the head has arrived
  // The head asks for "100 Continue" and the body has not all arrived.
  bool expects_continue = false;
};

RequestFrame frame_request(std::string_view bytes, std::size_t max_head_bytes,
                           std::size_t max_body_bytes);

// Removes the head's "Expect: 100-continue" line (once the listener has
// answered it, so the server does not answer it a second time). Returns the
// number of bytes removed.
std::size_t drop_expect_header(std::string& bytes, std::size_t head_size);

}  // namespace tdpipe
