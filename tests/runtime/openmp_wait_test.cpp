// set_default_openmp_wait: sets GOMP_SPINCOUNT only when neither wait variable is in the environment.
#include "runtime/openmp_wait.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <optional>
#include <string>

namespace {

// Restores one environment variable's value (or its absence) when it goes out of scope.
class SavedEnv {
 public:
  explicit SavedEnv(const char* name) : name_(name) {
    if (const char* v = std::getenv(name)) value_ = v;
  }
  ~SavedEnv() {
    if (value_) {
      setenv(name_, value_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> value_;
};

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

TEST_CASE("set_default_openmp_wait sets the spin count only when the user chose none", "[openmp_wait]") {
  const SavedEnv spin("GOMP_SPINCOUNT"), policy("OMP_WAIT_POLICY");
  unsetenv("GOMP_SPINCOUNT");
  unsetenv("OMP_WAIT_POLICY");

  SECTION("neither set: kq's default") {
    CHECK(kq::set_default_openmp_wait());
    CHECK(env_or_empty("GOMP_SPINCOUNT") == kq::kOpenmpSpinCount);
    CHECK(env_or_empty("OMP_WAIT_POLICY").empty());
  }
  SECTION("GOMP_SPINCOUNT set, even to an empty value: untouched") {
    setenv("GOMP_SPINCOUNT", "", 1);
    CHECK_FALSE(kq::set_default_openmp_wait());
    CHECK(std::getenv("GOMP_SPINCOUNT") != nullptr);
    CHECK(env_or_empty("GOMP_SPINCOUNT").empty());
  }
  SECTION("OMP_WAIT_POLICY set: no spin count added") {
    setenv("OMP_WAIT_POLICY", "passive", 1);
    CHECK_FALSE(kq::set_default_openmp_wait());
    CHECK(std::getenv("GOMP_SPINCOUNT") == nullptr);
    CHECK(env_or_empty("OMP_WAIT_POLICY") == "passive");
  }
}
