// The conformance models of testdata and llama.cpp's refdumps of them.
#include "tests/support/conformance_models.h"

#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "formats/gguf.h"
#include "tests/support/testdata.h"

namespace kq::test {

const char* const kConformanceModels[21] = {
    "stories260K",           "synth-tiny-f32",         "synth-tiny-pure-F16",    "synth-tiny-pure-BF16",
    "synth-tiny-pure-Q8_0",  "synth-tiny-pure-Q4_0",   "synth-tiny-pure-Q4_1",   "synth-tiny-pure-Q5_0",
    "synth-tiny-pure-Q5_1",  "synth-tiny-pure-IQ4_NL", "synth-tiny-pure-IQ4_XS", "synth-tiny-pure-Q2_K",
    "synth-tiny-pure-Q3_K_S", "synth-tiny-pure-Q4_K_S", "synth-tiny-pure-Q5_K_S", "synth-tiny-pure-Q6_K",
    "synth-tiny-mix-Q2_K",   "synth-tiny-mix-Q3_K_M",  "synth-tiny-mix-Q4_K_M",  "synth-tiny-mix-Q5_K_M",
    "synth-tiny-mix-Q6_K",
};

std::string model_path(const std::string& name) {
  return testdata_file(name == "stories260K" ? name + ".gguf" : "quant/" + name + ".gguf");
}

bool is_unquantized(const std::string& name) {
  const GgufFile f = GgufFile::open(model_path(name));
  for (const GgufTensorInfo& t : f.tensors())
    if (type_traits(t.type).is_quantized) return false;
  return true;
}

bool llamacpp_rounds_activations(const std::string& name) {
  return name.size() >= 4 && name.compare(name.size() - 4, 4, "BF16") == 0;
}

double llamacpp_step0_diff_vs_f32(const std::string& name) {
  const RefDump r = read_refdump(name), f = read_refdump("synth-tiny-f32");
  double d = 0;
  for (const auto& [id, logit] : r.top5[0])
    for (const auto& [fid, flogit] : f.top5[0])
      if (id == fid) d = std::max(d, double(std::fabs(logit - flogit)));
  return d;
}

namespace {
std::vector<int32_t> parse_ids(std::istream& in) {
  std::vector<int32_t> ids;
  for (int32_t id; in >> id;) ids.push_back(id);
  return ids;
}
}  // namespace

RefDump read_refdump(const std::string& name) {
  std::ifstream in(testdata_file("refs/" + name + ".refdump.txt"));
  REQUIRE(in.good());
  RefDump r;
  for (std::string line; std::getline(in, line);) {
    std::istringstream ss(line);
    std::string head;
    ss >> head;
    if (head == "prompt_ids:") {
      r.prompt_ids = parse_ids(ss);
    } else if (head == "greedy_ids:") {
      r.greedy_ids = parse_ids(ss);
    } else if (head == "step") {
      std::string k, label, item;
      ss >> k >> label;
      std::vector<std::pair<int32_t, float>> row;
      while (ss >> item) {
        const size_t colon = item.find(':');
        row.emplace_back(std::stoi(item.substr(0, colon)), std::stof(item.substr(colon + 1)));
      }
      r.top5.push_back(row);
    }
  }
  REQUIRE(!r.prompt_ids.empty());
  REQUIRE(r.greedy_ids.size() >= 16);
  REQUIRE(!r.top5.empty());
  return r;
}

}  // namespace kq::test
