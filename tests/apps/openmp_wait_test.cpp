// kq's default OpenMP wait policy reaches libgomp (read back through OMP_DISPLAY_ENV), and the user's choice wins.
#include <algorithm>
#include <catch2/catch.hpp>
#include <regex>
#include <string>
#include <vector>

#include "runtime/openmp_wait.h"
#include "tests/support/run_command.h"
#include "tests/support/testdata.h"

namespace {

// Runs `kq --version` with both wait variables removed from the environment, then `settings` set,
// and returns the run.
kq::test::CommandResult run_version(const std::vector<std::string>& settings) {
  std::vector<std::string> argv{"/usr/bin/env", "-u", "GOMP_SPINCOUNT", "-u", "OMP_WAIT_POLICY",
                                "OMP_DISPLAY_ENV=verbose"};
  argv.insert(argv.end(), settings.begin(), settings.end());
  argv.push_back(kq::test::kq_binary());
  argv.push_back("--version");
  return kq::test::run_command(argv);
}

// Returns the value of `name` in the last OpenMP environment display on stderr (libgomp prints
// one per process, so a re-exec'd kq shows the first process's and then its own).
std::string last_display(const std::string& err, const std::string& name) {
  const std::regex line("  " + name + " = '([^']*)'");
  std::string value;
  for (auto it = std::sregex_iterator(err.begin(), err.end(), line); it != std::sregex_iterator(); ++it)
    value = (*it)[1];
  return value;
}

}  // namespace

TEST_CASE("kq runs with its bounded spin when the user set no wait policy", "[openmp_wait]") {
  const kq::test::CommandResult r = run_version({});
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.rfind("kq ", 0) == 0);  // printed once: the first process exec'd before printing
  CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 1);
  CHECK(last_display(r.err, "GOMP_SPINCOUNT") == kq::kOpenmpSpinCount);
}

TEST_CASE("kq leaves the user's GOMP_SPINCOUNT and OMP_WAIT_POLICY alone", "[openmp_wait]") {
  SECTION("GOMP_SPINCOUNT") {
    const kq::test::CommandResult r = run_version({"GOMP_SPINCOUNT=777"});
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(last_display(r.err, "GOMP_SPINCOUNT") == "777");
  }
  SECTION("OMP_WAIT_POLICY") {
    const kq::test::CommandResult r = run_version({"OMP_WAIT_POLICY=active"});
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(last_display(r.err, "OMP_WAIT_POLICY") == "ACTIVE");
    const std::string spin = last_display(r.err, "GOMP_SPINCOUNT");
    CHECK(!spin.empty());
    CHECK(spin != kq::kOpenmpSpinCount);
  }
}
