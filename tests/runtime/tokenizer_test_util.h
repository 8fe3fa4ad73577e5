// Shared helpers for the tokenizer tests: loading vocabularies and the default model.
#pragma once

#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>
#include <string>

#include "apps/kq/default_model.h"
#include "formats/gguf.h"
#include "runtime/tokenizer.h"
#include "tests/support/testdata.h"

namespace kq::test {

// A tokenizer together with the GGUF it was read from.
struct LoadedTokenizer {
  GgufFile file;
  std::unique_ptr<Tokenizer> tok;
  const Tokenizer* operator->() const { return tok.get(); }
};

inline LoadedTokenizer load_tokenizer(const std::string& path) {
  GgufFile file = GgufFile::open(path);
  auto tok = Tokenizer::from_gguf(file);
  return {std::move(file), std::move(tok)};
}

inline LoadedTokenizer load_testdata_tokenizer(const std::string& rel) {
  return load_tokenizer(testdata_file(rel));
}

// The default model (SmolLM2-135M-Instruct Q4_1) that `scripts/setup --model` fetches; FAILs if absent.
inline std::string default_model_path() {
  const std::string path = app::default_model_path();
  if (!std::filesystem::exists(path)) FAIL("default model missing at " << path << " (run scripts/setup --model)");
  return path;
}

}  // namespace kq::test
