// UTF-8 helpers for streamed and JSON output: hold back split characters, replace invalid bytes.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>

namespace kq::app {

// Holds back the bytes of a UTF-8 character split across tokens until it is complete, so that
// streamed output never shows half a character.
class Utf8Stream {
 public:
  // Appends bytes; returns the longest prefix of everything pending that ends on a character boundary.
  std::string push(std::string_view bytes);
  // Returns whatever is still pending (an incomplete sequence at the very end is passed through).
  std::string flush();

 private:
  std::string pending_;
};

// Returns text with every invalid UTF-8 sequence replaced by U+FFFD (JSON output must be valid UTF-8;
// byte-fallback tokens of a model can produce anything).
inline std::string sanitize_utf8(std::string_view text);

inline std::string Utf8Stream::push(std::string_view bytes) {
  pending_ += bytes;
  // Walk back over at most 3 continuation bytes to the last lead byte and see if its sequence is whole.
  const size_t n = pending_.size();
  size_t cut = n;
  for (size_t back = 1; back <= std::min<size_t>(4, n); ++back) {
    const auto c = static_cast<unsigned char>(pending_[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte
    const size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (need > back) cut = n - back;  // incomplete: hold it back
    break;
  }
  std::string out = pending_.substr(0, cut);
  pending_.erase(0, cut);
  return out;
}

inline std::string Utf8Stream::flush() {
  std::string out;
  out.swap(pending_);
  return out;
}

inline std::string sanitize_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    // Sequence length and the allowed range of the second byte (rejects overlongs and surrogates).
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c < 0x80)
      len = 1;
    else if (c >= 0xC2 && c <= 0xDF)
      len = 2;
    else if (c == 0xE0)
      len = 3, lo = 0xA0;
    else if (c >= 0xE1 && c <= 0xEF)
      len = 3, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c == 0xF0)
      len = 4, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3)
      len = 4;
    else if (c == 0xF4)
      len = 4, hi = 0x8F;
    bool ok = len > 0 && i + len <= text.size();
    for (size_t k = 1; ok && k < len; ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      ok = k == 1 ? (b >= lo && b <= hi) : (b & 0xC0) == 0x80;
    }
    if (ok) {
      out.append(text.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD for one bad byte; resynchronize at the next
      ++i;
    }
  }
  return out;
}

}  // namespace kq::app
