// Checks the committed fuzz seed corpus: valid_* seeds parse, bad_* seeds are kq::Errors.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "common/error.h"
#include "formats/gguf.h"

TEST_CASE("gguf: fuzz seed corpus parses as labelled", "[gguf]") {
  const std::filesystem::path dir = std::filesystem::path(KQ_SOURCE_DIR) / "tests/fuzz/corpus";
  REQUIRE(std::filesystem::is_directory(dir));
  int valid = 0, bad = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    std::ifstream in(e.path(), std::ios::binary);
    const std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    INFO(name);
    if (name.rfind("valid_", 0) == 0) {
      CHECK_NOTHROW(kq::GgufFile::from_memory(bytes.data(), bytes.size(), name));
      ++valid;
    } else if (name.rfind("bad_", 0) == 0) {
      CHECK_THROWS_AS(kq::GgufFile::from_memory(bytes.data(), bytes.size(), name), kq::Error);
      ++bad;
    }
  }
  CHECK(valid >= 5);
  CHECK(bad >= 10);
}
