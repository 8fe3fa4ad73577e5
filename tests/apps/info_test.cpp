// `kq info` on stories260K: the table, --json (checked against the GGUF read independently) and --tensors.
#include <catch2/catch.hpp>
#include <regex>
#include <string>

#include "common/json.h"
#include "formats/gguf.h"
#include "tests/support/run_command.h"
#include "tests/support/testdata.h"

namespace {

using kq::test::CommandResult;
using kq::test::run_kq;

// True when some line of `text` is `label`, spaces, then `value` (the table's two columns).
bool has_row(const std::string& text, const std::string& label, const std::string& value) {
  const std::regex row("(^|\n)" + label + " +" + value + "(\n|$)");
  return std::regex_search(text, row);
}

}  // namespace

TEST_CASE("kq info shows stories260K's architecture and sizes", "[app]") {
  const CommandResult r = run_kq({"info", kq::test::testdata_file("stories260K.gguf")});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(has_row(r.out, "architecture", "llama"));
  CHECK(has_row(r.out, "block_count", "5"));
  CHECK(has_row(r.out, "embedding_length", "64"));
  CHECK(r.out.find("512 tokens") != std::string::npos);
  CHECK(has_row(r.out, "chat template", "no"));
  CHECK(r.out.find("F32") != std::string::npos);
  // Tensor listing only with --tensors.
  CHECK(r.out.find("token_embd.weight") == std::string::npos);
}

TEST_CASE("kq info --json agrees with the GGUF file", "[app]") {
  const std::string path = kq::test::testdata_file("stories260K.gguf");
  const CommandResult r = run_kq({"info", path, "--json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const kq::json::Value d = kq::json::parse(r.out);
  REQUIRE(d.is_object());

  // Everything below is recomputed from the file, not taken from kq's own code.
  const kq::GgufFile f = kq::GgufFile::open(path);
  int64_t n_params = 0;
  uint64_t tensor_bytes = 0;
  for (const kq::GgufTensorInfo& t : f.tensors()) {
    n_params += t.ne[0] * t.ne[1] * t.ne[2] * t.ne[3];
    tensor_bytes += t.nbytes;
  }
  CHECK(d.at("architecture").as_string() == "llama");
  CHECK(d.at("n_params").as_int() == n_params);
  CHECK(d.at("file_size").as_int() == int64_t(f.file_size()));
  CHECK(d.at("tensor_count").as_int() == int64_t(f.tensors().size()));
  CHECK(d.at("bpw").as_number() == Approx(8.0 * double(tensor_bytes) / double(n_params)));
  CHECK(d.at("gguf_version").as_int() == f.version());
  CHECK(d.at("alignment").as_int() == f.alignment());

  const kq::json::Value& hp = d.at("hparams");
  CHECK(hp.at("block_count").as_int() == 5);
  CHECK(hp.at("embedding_length").as_int() == 64);
  CHECK(hp.at("context_length").as_int() == f.get_int("llama.context_length", -1));
  CHECK(hp.at("attention.head_count").as_int() == f.get_int("llama.attention.head_count", -1));
  CHECK(d.at("tokenizer").at("vocab_size").as_int() == 512);
  CHECK(d.at("tokenizer").at("model").as_string() == f.get_string("tokenizer.ggml.model"));
  CHECK(d.at("tokenizer").at("chat_template").as_bool() == false);

  int64_t counted = 0, bytes = 0;
  for (const kq::json::Value& row : d.at("tensor_types").items()) {
    CHECK(kq::find_type(row.at("type").as_string()) != nullptr);
    counted += row.at("count").as_int();
    bytes += row.at("bytes").as_int();
  }
  CHECK(counted == int64_t(f.tensors().size()));
  CHECK(bytes == int64_t(tensor_bytes));

  // Scalars appear as values, arrays as summaries.
  const kq::json::Value& meta = d.at("metadata");
  CHECK(meta.at("general.architecture").as_string() == "llama");
  CHECK(meta.at("llama.block_count").as_int() == 5);
  CHECK(meta.at("tokenizer.ggml.tokens").kind() == kq::json::Value::Kind::String);
  CHECK(meta.size() == f.metadata().size());
}

TEST_CASE("kq info --tensors lists every tensor", "[app]") {
  const std::string path = kq::test::testdata_file("stories260K.gguf");
  const CommandResult r = run_kq({"info", path, "--tensors"});
  REQUIRE(r.exit_code == 0);
  const kq::GgufFile f = kq::GgufFile::open(path);
  for (const kq::GgufTensorInfo& t : f.tensors()) {
    INFO(t.name);
    const std::regex row("(^|\n)" + std::regex_replace(t.name, std::regex("\\."), "\\.") + " +" +
                         kq::type_name(t.type) + " +\\[" + std::to_string(t.ne[0]) + "[^\n]* " +
                         std::to_string(t.nbytes) + "\n");
    CHECK(std::regex_search(r.out, row));
  }
  const CommandResult j = run_kq({"info", path, "--tensors", "--json"});
  REQUIRE(j.exit_code == 0);
  const kq::json::Value d = kq::json::parse(j.out);
  REQUIRE(d.at("tensors").size() == f.tensors().size());
  const kq::json::Value& first = d.at("tensors")[0];
  CHECK(first.at("name").as_string() == f.tensors()[0].name);
  CHECK(first.at("bytes").as_int() == int64_t(f.tensors()[0].nbytes));
}
