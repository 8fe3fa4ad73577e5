// Tests for common/sha256: FIPS 180-4 example vectors, and split updates.
#include "common/sha256.h"

#include <catch2/catch.hpp>
#include <string>

using kq::Sha256;

static std::string hash_of(const std::string& s) {
  Sha256 h;
  h.update(s.data(), s.size());
  return h.hex_digest();
}

TEST_CASE("sha256: known vectors", "[sha256]") {
  REQUIRE(hash_of("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  REQUIRE(hash_of("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  REQUIRE(hash_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  Sha256 h;
  const std::string a(1001, 'a');
  for (int i = 0; i < 1000; ++i) h.update(a.data(), i % 2 ? 999 : 1001);  // uneven chunks
  REQUIRE(h.hex_digest() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
