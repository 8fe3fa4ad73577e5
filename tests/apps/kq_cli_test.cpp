// kq's command-line contract: --version/--help, exit codes 2 (misuse) and 1 (bad files), one-line errors.
#include <catch2/catch.hpp>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "tests/support/run_command.h"
#include "tests/support/testdata.h"

namespace {

using kq::test::CommandResult;
using kq::test::run_kq;

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

// Writes `bytes` to a scratch file and returns its path.
std::string scratch_file(const std::string& name, const std::string& bytes) {
  const std::string path = kq::test::scratch_dir() + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

// A misuse of the command line: exit 2, first stderr line is the message, usage follows, no stdout.
void check_usage_error(const CommandResult& r, const std::string& message) {
  INFO("stderr: " << r.err);
  CHECK(r.signal == 0);
  CHECK(r.exit_code == 2);
  CHECK(first_line(r.err) == message);
  CHECK(r.err.find("usage: kq") != std::string::npos);
  CHECK(r.out.empty());
}

// A bad input file: exit 1 and exactly one line on stderr starting with "kq".
void check_file_error(const CommandResult& r) {
  INFO("stderr: " << r.err);
  CHECK(r.signal == 0);
  CHECK(r.exit_code == 1);
  CHECK(r.err_lines() == 1);
  CHECK(r.err.rfind("kq", 0) == 0);
  CHECK(r.err.find("terminate called") == std::string::npos);
}

}  // namespace

TEST_CASE("kq --version prints the project version", "[app]") {
  const CommandResult r = run_kq({"--version"});
  CHECK(r.exit_code == 0);
  // The version comes from CMake's project(VERSION); the tests do not see it, so match its shape.
  CHECK(std::regex_match(r.out, std::regex("kq [0-9]+\\.[0-9]+\\.[0-9]+\n")));
  CHECK(r.err.empty());
}

TEST_CASE("kq --help lists the commands and exits 0", "[app]") {
  const CommandResult r = run_kq({"--help"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("info") != std::string::npos);
  CHECK(r.out.find("quantize") != std::string::npos);
  CHECK(r.err.empty());
  for (const char* cmd : {"info", "quantize"}) {
    for (const char* flag : {"--help", "-h"}) {
      const CommandResult h = run_kq({cmd, flag});
      INFO(cmd << " " << flag);
      CHECK(h.exit_code == 0);
      CHECK(h.out.rfind(std::string("usage: kq ") + cmd, 0) == 0);
      CHECK(h.err.empty());
    }
  }
}

TEST_CASE("kq without a command or with an unknown one exits 2", "[app]") {
  const CommandResult none = run_kq({});
  CHECK(none.exit_code == 2);
  CHECK(first_line(none.err) == "kq: missing command");
  check_usage_error(run_kq({"frobnicate"}), "kq: unknown command 'frobnicate'");
}

TEST_CASE("kq info: bad options and arguments exit 2 with one line and the usage", "[app]") {
  check_usage_error(run_kq({"info"}), "kq info: missing MODEL");
  check_usage_error(run_kq({"info", "x.gguf", "--foo"}), "kq info: unknown option '--foo'");
  check_usage_error(run_kq({"info", "a.gguf", "b.gguf"}), "kq info: unexpected argument 'b.gguf'");
}

TEST_CASE("kq quantize: bad options, types and thread counts exit 2", "[app]") {
  check_usage_error(run_kq({"quantize", "a.gguf", "b.gguf", "Q4_0", "--foo"}),
                    "kq quantize: unknown option '--foo'");
  check_usage_error(run_kq({"quantize", "a.gguf", "b.gguf"}), "kq quantize: expected IN OUT TYPE");
  check_usage_error(run_kq({"quantize", "a.gguf", "b.gguf", "Q4_0", "extra"}), "kq quantize: expected IN OUT TYPE");

  const CommandResult unknown = run_kq({"quantize", "a.gguf", "b.gguf", "Q9_9"});
  CHECK(unknown.exit_code == 2);
  CHECK(first_line(unknown.err).find("'Q9_9'") != std::string::npos);
  // The valid types are listed (in the usage that follows the message).
  for (const char* t : {"Q4_0", "Q4_K", "Q6_K", "IQ4_XS", "BF16"}) CHECK(unknown.err.find(t) != std::string::npos);

  for (const char* t : {"Q8_K", "q8_1"}) {
    const CommandResult act = run_kq({"quantize", "a.gguf", "b.gguf", t});
    INFO(act.err);
    CHECK(act.exit_code == 2);
    CHECK(first_line(act.err).find("activation-only") != std::string::npos);
  }
  for (const char* n : {"0", "-3", "abc", "4x", "99999999999999"}) {
    const CommandResult bad = run_kq({"quantize", "a.gguf", "b.gguf", "Q4_0", "-t", n});
    INFO("-t " << n << ": " << bad.err);
    CHECK(bad.exit_code == 2);
    CHECK(first_line(bad.err).rfind("kq quantize: ", 0) == 0);
  }
  check_usage_error(run_kq({"quantize", "a.gguf", "b.gguf", "Q4_0", "-t"}), "kq quantize: option -t needs a value");
}

TEST_CASE("kq info and quantize: a missing file exits 1 with one line", "[app]") {
  const std::string missing = kq::test::scratch_dir() + "/does-not-exist.gguf";
  check_file_error(run_kq({"info", missing}));
  check_file_error(run_kq({"quantize", missing, kq::test::scratch_dir() + "/out.gguf", "Q4_0"}));
}

TEST_CASE("kq info and quantize: corrupt GGUF files exit 1 with one line, no crash", "[app]") {
  std::ifstream in(kq::test::testdata_file("stories260K.gguf"), std::ios::binary);
  const std::string good((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(good.size() > 4096);

  std::string flipped_count = good;
  flipped_count[8] = '\x7f';  // tensor count low byte: far more tensors than the file holds
  std::string huge_string = good;
  for (int i = 24 + 1; i < 24 + 8; ++i) huge_string[size_t(i)] = '\xff';  // first key's length
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"empty.gguf", ""},
      {"garbage.gguf", std::string(1000, '\x5a')},
      {"magic-only.gguf", "GGUF"},
      {"truncated-header.gguf", good.substr(0, 2000)},
      {"truncated-data.gguf", good.substr(0, good.size() / 2)},
      {"bad-count.gguf", flipped_count},
      {"bad-key-length.gguf", huge_string},
  };
  for (const auto& [name, bytes] : cases) {
    const std::string path = scratch_file(name, bytes);
    INFO(name);
    check_file_error(run_kq({"info", path}));
    check_file_error(run_kq({"quantize", path, path + ".out", "Q8_0"}));
  }
}

TEST_CASE("kq quantize refuses to overwrite its input", "[app]") {
  const std::string src = kq::test::testdata_file("stories260K.gguf");
  const std::string copy = kq::test::scratch_dir() + "/same.gguf";
  std::ifstream in(src, std::ios::binary);
  std::ofstream(copy, std::ios::binary) << in.rdbuf();
  const CommandResult r = run_kq({"quantize", copy, copy, "Q8_0"});
  check_file_error(r);
  // A different spelling of the same path is the same file too.
  check_file_error(run_kq({"quantize", copy, kq::test::scratch_dir() + "/./same.gguf", "Q8_0"}));
}
