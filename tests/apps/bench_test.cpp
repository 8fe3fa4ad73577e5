// `kq bench`: the table and JSON on a tiny synthetic model and on stories260K, --membw, and bad input.
#include <catch2/catch.hpp>
#include <regex>
#include <string>
#include <vector>

#include "common/json.h"
#include "tests/support/run_command.h"
#include "tests/support/testdata.h"

namespace {

using kq::test::CommandResult;
using kq::test::run_kq;

const char* kTiny = "dim=128,layers=2,heads=4,kv_heads=2,ff=256,vocab=64";

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    const size_t nl = text.find('\n', start);
    out.push_back(text.substr(start, nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}

// The table rows (lines starting with "| " that are not the header or the rule).
std::vector<std::string> table_rows(const std::string& out) {
  std::vector<std::string> rows;
  for (const std::string& l : lines_of(out))
    if (l.rfind("| ", 0) == 0 && l.find("| model") == std::string::npos && l.find("---") == std::string::npos)
      rows.push_back(l);
  return rows;
}

}  // namespace

TEST_CASE("kq bench --synthetic prints a llama-bench table", "[app][bench]") {
  const CommandResult r = run_kq({"bench", "--synthetic", kTiny, "--type", "Q8_0", "-p", "8", "-n", "4", "-r", "1",
                                  "-t", "1,2"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  const std::vector<std::string> lines = lines_of(r.out);
  REQUIRE(lines.size() >= 4);
  CHECK(std::regex_search(lines[0], std::regex("^kq bench: kernels (scalar|avx2|avx512|neon), CPU ")));
  CHECK(r.out.find("| model") != std::string::npos);
  const std::vector<std::string> rows = table_rows(r.out);
  REQUIRE(rows.size() == 4);  // pp8 and tg4 for 1 and 2 threads
  const std::regex row(
      R"(^\| synthetic dim=\S+ +\| +[0-9.]+ MiB \| +[0-9.]+ [KMB] \| Q8_0 +\| +([12]) \| (pp8|tg4) +\| +[0-9.]+ ± [0-9.]+ \|$)");
  for (const std::string& l : rows) CHECK(std::regex_match(l, row));
  CHECK(rows[0].find("pp8") != std::string::npos);
  CHECK(rows[1].find("tg4") != std::string::npos);
  // Progress goes to stderr.
  CHECK(r.err.find("kq bench: tg4, 2 threads") != std::string::npos);
}

TEST_CASE("kq bench --json has every field", "[app][bench]") {
  const CommandResult r = run_kq({"bench", "--synthetic", kTiny, "-p", "8", "-n", "4", "-r", "2", "-t", "1", "--json",
                                  "--quiet"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.empty());
  const kq::json::Value d = kq::json::parse(r.out);
  CHECK(d.at("model").as_string() == std::string("synthetic ") + kTiny);
  CHECK(d.at("synthetic").as_string() == kTiny);
  CHECK(d.at("file_type").as_string() == "Q4_K_M");
  CHECK(d.at("size_bytes").as_number() > 0);
  // 2 layers × (q, k, v, o, gate, up, down + 2 norms) + embedding, output and its norm.
  const double params = 2 * (128 * 128 * 2 + 128 * 64 * 2 + 128 * 256 * 3 + 128 * 2) + 128 * 64 * 2 + 128;
  CHECK(d.at("n_params").as_number() == params);
  CHECK(d.at("n_batch").as_int() == 512);
  CHECK(d.at("repetitions").as_int() == 2);
  CHECK(d.at("cache_type").as_string() == "F16");
  CHECK_FALSE(d.at("isa").as_string().empty());
  CHECK(d.find("membw") == nullptr);
  const kq::json::Value& results = d.at("results");
  REQUIRE(results.size() == 2);
  const kq::json::Value& pp = results[0];
  CHECK(pp.at("test").as_string() == "pp8");
  CHECK(pp.at("n_prompt").as_int() == 8);
  CHECK(pp.at("n_gen").as_int() == 0);
  CHECK(pp.at("n_threads").as_int() == 1);
  REQUIRE(pp.at("samples_ts").size() == 2);
  REQUIRE(pp.at("samples_ns").size() == 2);
  const double mean = (pp.at("samples_ts")[0].as_number() + pp.at("samples_ts")[1].as_number()) / 2;
  CHECK(pp.at("avg_ts").as_number() == Approx(mean));
  CHECK(pp.at("samples_ts")[0].as_number() == Approx(8e9 / pp.at("samples_ns")[0].as_number()));
  CHECK(pp.at("stddev_ts").as_number() >= 0);
  const kq::json::Value& tg = results[1];
  CHECK(tg.at("test").as_string() == "tg4");
  CHECK(tg.at("n_gen").as_int() == 4);
  CHECK(tg.at("avg_ts").as_number() > 0);
  CHECK(tg.at("bytes_per_token").as_number() > 0);
}

TEST_CASE("kq bench --membw adds bandwidth and the decode roofline", "[app][bench]") {
  const CommandResult r = run_kq({"bench", "--synthetic", kTiny, "-p", "0", "-n", "4", "-r", "1", "-t", "2",
                                  "--membw", "--membw-size", "16M", "--json"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  const kq::json::Value d = kq::json::parse(r.out);
  const kq::json::Value& bw = d.at("membw");
  REQUIRE(bw.size() == 2);  // 1 thread and the -t count
  CHECK(bw[0].at("n_threads").as_int() == 1);
  CHECK(bw[1].at("n_threads").as_int() == 2);
  CHECK(bw[0].at("read_gb_per_s").as_number() > 0);
  const kq::json::Value& results = d.at("results");
  REQUIRE(results.size() == 1);
  const kq::json::Value& tg = results[0];
  CHECK(tg.at("roofline_ts").as_number() ==
        Approx(bw[1].at("read_gb_per_s").as_number() * 1e9 / tg.at("bytes_per_token").as_number()));
  CHECK(tg.at("roofline_fraction").as_number() == Approx(tg.at("avg_ts").as_number() / tg.at("roofline_ts").as_number()));

  const CommandResult t = run_kq({"bench", "--synthetic", kTiny, "-p", "8", "-n", "4", "-r", "1", "-t", "1",
                                  "--membw", "--membw-size", "16M"});
  INFO(t.out << t.err);
  REQUIRE(t.exit_code == 0);
  CHECK(std::regex_search(t.out, std::regex("read [0-9.]+ GB/s \\(1 thread\\)")));
  CHECK(t.out.find("roofline t/s |") != std::string::npos);
  CHECK(std::regex_search(t.out, std::regex(R"(\| tg4 +\| +[0-9.]+ ± [0-9.]+ \| +[0-9.]+ \([0-9]+%\) \|)")));

  const CommandResult alone = run_kq({"bench", "--membw", "--membw-size", "16M", "-t", "2"});
  INFO(alone.out << alone.err);
  REQUIRE(alone.exit_code == 0);
  CHECK(std::regex_search(alone.out, std::regex(R"(\| +2 \| +[0-9.]+ \|)")));
}

TEST_CASE("kq bench runs a model file", "[app][bench]") {
  const CommandResult r = run_kq({"bench", "-m", kq::test::testdata_file("stories260K.gguf"), "-p", "16", "-n", "4",
                                  "-r", "1", "-t", "1"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  const std::vector<std::string> rows = table_rows(r.out);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].find("pp16") != std::string::npos);
  CHECK(rows[1].find("tg4") != std::string::npos);
}

TEST_CASE("kq bench --save writes a synthetic model other commands can run", "[app][bench]") {
  const std::string path = kq::test::scratch_dir() + "/synthetic-saved.gguf";
  CommandResult r = run_kq({"bench", "--synthetic", "dim=64,layers=2,heads=4,kv_heads=2,ff=128,vocab=300", "--type",
                            "Q8_0", "--save", path, "--quiet"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  r = run_kq({"info", path});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("Q8_0") != std::string::npos);
  // Byte fallback: " Hi" (SentencePiece's space prefix) is BOS, then the byte tokens of U+2581 and
  // of 'H', 'i' (id = 3 + byte).
  r = run_kq({"tokenize", "-m", path, "-p", "Hi"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == "1 229 153 132 75 108\n");
  r = run_kq({"run", "-m", path, "-p", "Hello", "-n", "4", "--temp", "0", "--quiet"});
  CHECK(r.exit_code == 0);
  r = run_kq({"bench", "-m", path, "--save", path + ".2"});
  CHECK(r.exit_code == 2);
}

TEST_CASE("kq bench rejects bad input", "[app][bench]") {
  const auto first_line = [](const std::string& s) { return s.substr(0, s.find('\n')); };

  CommandResult r = run_kq({"bench", "--synthetic", "llama-70b"});
  CHECK(r.exit_code == 2);
  CHECK(first_line(r.err).find("unknown synthetic shape 'llama-70b' (known: llama-1b, llama-3b, llama-7b, llama-8b") !=
        std::string::npos);

  r = run_kq({"bench", "--synthetic", kTiny, "--frobnicate"});
  CHECK(r.exit_code == 2);
  CHECK(first_line(r.err) == "kq bench: unknown option '--frobnicate'");

  r = run_kq({"bench", "--synthetic", kTiny, "--type", "Q9_K"});
  CHECK(r.exit_code == 2);
  CHECK(first_line(r.err).find("unknown file type 'Q9_K'") != std::string::npos);

  r = run_kq({"bench", "--synthetic", kTiny, "-p", "0", "-n", "0"});
  CHECK(r.exit_code == 2);
  CHECK(first_line(r.err).find("nothing to run") != std::string::npos);

  r = run_kq({"bench", "--synthetic", kTiny, "-t", "1,x"});
  CHECK(r.exit_code == 2);

  r = run_kq({"bench", "--synthetic", kTiny, "-t", "0"});
  CHECK(r.exit_code == 2);

  r = run_kq({"bench", "-m", "x.gguf", "--type", "Q8_0"});
  CHECK(r.exit_code == 2);

  r = run_kq({"bench"});
  CHECK(r.exit_code == 2);
  CHECK(first_line(r.err) == "kq bench: missing -m MODEL or --synthetic SHAPE");

  r = run_kq({"bench", "-m", "/nonexistent/model.gguf", "-p", "8", "-n", "0"});
  CHECK(r.exit_code == 1);
  CHECK(r.err_lines() == 1);

  r = run_kq({"bench", "--help"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("usage: kq bench") != std::string::npos);
  CHECK(r.out.find("--synthetic") != std::string::npos);
}
