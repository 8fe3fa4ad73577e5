// Conformance: every llama.cpp tokenizer test vector in testdata/vocab/ (ids without BOS).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "formats/gguf.h"
#include "runtime/tokenizer.h"
#include "tests/support/testdata.h"

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Inputs are separated by "\n__ggml_vocab_test__\n" exactly: the newline before a separator
// belongs to it, so an input may be empty or consist of newlines only.
std::vector<std::string> split_inputs(const std::string& raw) {
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> inputs;
  for (size_t pos = 0; pos < raw.size();) {
    const size_t next = raw.find(sep, pos);
    if (next == std::string::npos) {
      inputs.push_back(raw.substr(pos));
      break;
    }
    inputs.push_back(raw.substr(pos, next - pos));
    pos = next + sep.size();
  }
  return inputs;
}

std::vector<std::vector<int32_t>> read_expected(const std::string& raw) {
  std::vector<std::vector<int32_t>> rows;
  std::istringstream in(raw);
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::vector<int32_t> ids;
    for (int32_t id; fields >> id;) ids.push_back(id);
    rows.push_back(std::move(ids));
  }
  return rows;
}

std::string escaped(const std::string& s) {
  std::string out;
  for (const unsigned char c : s) {
    if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else if (c == '\r')
      out += "\\r";
    else
      out += static_cast<char>(c);
  }
  return out;
}

std::string joined(const std::vector<int32_t>& ids) {
  std::string out;
  for (const int32_t id : ids) {
    if (!out.empty()) out += ' ';
    out += std::to_string(id);
  }
  return out;
}

}  // namespace

TEST_CASE("tokenizer matches llama.cpp on every vocab test vector", "[tokenizer][conformance]") {
  const std::string dir = kq::test::testdata_dir() + "/vocab";
  std::vector<std::string> vocabs;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (entry.path().extension() == ".gguf") vocabs.push_back(entry.path().string());
  std::sort(vocabs.begin(), vocabs.end());
  REQUIRE(!vocabs.empty());

  for (const std::string& path : vocabs) {
    const std::vector<std::string> inputs = split_inputs(read_file(path + ".inp"));
    const std::vector<std::vector<int32_t>> expected = read_expected(read_file(path + ".out"));
    INFO(path);
    REQUIRE(inputs.size() == expected.size());

    const kq::GgufFile file = kq::GgufFile::open(path);
    const auto tok = kq::Tokenizer::from_gguf(file);
    size_t passed = 0;
    for (size_t i = 0; i < inputs.size(); ++i) {
      const std::vector<int32_t> got = tok->encode(inputs[i], /*add_special=*/false, /*parse_special=*/false);
      if (got == expected[i]) {
        ++passed;
        continue;
      }
      UNSCOPED_INFO("input " << i << " '" << escaped(inputs[i]) << "'\n  expected " << joined(expected[i])
                             << "\n  got      " << joined(got));
    }
    std::printf("%s: %zu/%zu vectors match\n", std::filesystem::path(path).filename().c_str(), passed, inputs.size());
    CHECK(passed == inputs.size());
  }
}
