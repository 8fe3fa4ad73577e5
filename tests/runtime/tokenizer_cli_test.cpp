// `kq tokenize`: ids on one line, --no-bos, --pieces, -f; misuse exits 2, unreadable models 1.
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <string>

#include "tests/support/testdata.h"

namespace {

struct RunResult {
  int status;
  std::string out;
};

// Runs `kq ARGS` through the shell, capturing stdout (stderr is dropped).
RunResult run_kq(const std::string& args) {
  std::string cmd = "'";
  cmd += kq::test::kq_binary();
  cmd += "' ";
  cmd += args;
  cmd += " 2>/dev/null";
  std::FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int raw = pclose(p);
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, out};
}

}  // namespace

TEST_CASE("kq tokenize prints ids, pieces and errors", "[tokenizer]") {
  const std::string model = "-m '" + kq::test::testdata_file("stories260K.gguf") + "'";

  RunResult r = run_kq("tokenize " + model + " -p 'Once upon a time'");
  CHECK(r.status == 0);
  CHECK(r.out == "1 429 491 433 295 429 444 445 265 262 263 342 430\n");

  r = run_kq("tokenize " + model + " -p 'Once upon a time' --no-bos");
  CHECK(r.out == "429 491 433 295 429 444 445 265 262 263 342 430\n");

  r = run_kq("tokenize " + model + " --no-bos --pieces -p 'a b'");
  CHECK(r.status == 0);
  CHECK(r.out == "262 ' a'\n294 ' b'\n");

  const std::string path = kq::test::scratch_dir() + "/tokenize-input.txt";
  std::ofstream(path, std::ios::binary) << "Once upon a time";
  r = run_kq("tokenize " + model + " -f '" + path + "'");
  CHECK(r.out == "1 429 491 433 295 429 444 445 265 262 263 342 430\n");

  CHECK(run_kq("tokenize " + model).status == 2);                    // no text
  CHECK(run_kq("tokenize -p x").status == 2);                        // no model
  CHECK(run_kq("tokenize -m /nonexistent.gguf -p x").status == 1);   // unreadable model
  CHECK(run_kq("tokenize " + model + " -p x --bogus").status == 2);  // unknown option
}
