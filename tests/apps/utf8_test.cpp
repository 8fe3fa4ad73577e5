// Tests of the UTF-8 helpers `kq run` and `kq chat` stream and print JSON through.
#include "apps/kq/utf8.h"

#include <catch2/catch.hpp>
#include <string>

namespace kq::app {

TEST_CASE("Utf8Stream holds back characters split across tokens", "[cli]") {
  Utf8Stream s;
  CHECK(s.push("ab") == "ab");
  // "é" is C3 A9; "日" is E6 97 A5; "😀" is F0 9F 98 80.
  CHECK(s.push("x\xC3") == "x");
  CHECK(s.push("\xA9y") == "\xC3\xA9y");
  CHECK(s.push("\xE6") == "");
  CHECK(s.push("\x97") == "");
  CHECK(s.push("\xA5\xF0\x9F") == "\xE6\x97\xA5");
  CHECK(s.push("\x98\x80") == "\xF0\x9F\x98\x80");
  CHECK(s.flush() == "");
  // An incomplete sequence at the very end still comes out on flush.
  CHECK(s.push("z\xE6\x97") == "z");
  CHECK(s.flush() == "\xE6\x97");
  // Stray continuation bytes cannot start a character: they pass straight through.
  CHECK(s.push("\x80\x80") == "\x80\x80");
}

TEST_CASE("sanitize_utf8 replaces invalid bytes with U+FFFD", "[cli]") {
  const std::string fffd = "\xEF\xBF\xBD";
  CHECK(sanitize_utf8("plain é 日 😀") == "plain é 日 😀");
  CHECK(sanitize_utf8("a\xFF"
                      "b") == "a" + fffd + "b");
  CHECK(sanitize_utf8("\xC3") == fffd);                                   // truncated
  CHECK(sanitize_utf8("\xC0\xAF") == fffd + fffd);                        // overlong
  CHECK(sanitize_utf8("\xED\xA0\x80") == fffd + fffd + fffd);             // surrogate
  CHECK(sanitize_utf8("\xF4\x90\x80\x80") == fffd + fffd + fffd + fffd);  // above U+10FFFF
  CHECK(sanitize_utf8("\xE6\x97"
                      "x") == fffd + fffd + "x");
}

}  // namespace kq::app
