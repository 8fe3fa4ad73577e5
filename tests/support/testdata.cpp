// Test-data lookup shared by the conformance and app tests.
#include "tests/support/testdata.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <unistd.h>

namespace kq::test {

std::string testdata_dir() {
  const char* env = std::getenv("KQ_TESTDATA");
  const std::string dir = (env && *env) ? std::string(env) : std::string(KQ_SOURCE_DIR) + "/../shared/testdata";
  if (!std::filesystem::is_directory(dir))
    FAIL("conformance data not found at '" << dir << "' (set KQ_TESTDATA)");
  return dir;
}

std::string testdata_file(const std::string& rel) {
  const std::string path = testdata_dir() + "/" + rel;
  if (!std::filesystem::exists(path)) FAIL("conformance file missing: " << path);
  return path;
}

std::string kq_binary() { return KQ_BINARY; }

std::string scratch_dir() {
  static const std::string dir = [] {
    auto p = std::filesystem::temp_directory_path() / ("kq-test-" + std::to_string(getpid()));
    std::filesystem::create_directories(p);
    return p.string();
  }();
  return dir;
}

}  // namespace kq::test
