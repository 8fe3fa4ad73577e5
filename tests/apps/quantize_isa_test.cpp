// `kq quantize` writes the same bytes whichever ISA level runs the scale searches (KQ_ISA=scalar is
// the reference), for every k-quant, with and without an importance matrix.
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "formats/gguf.h"
#include "quant/cpu_features.h"
#include "tests/support/run_command.h"
#include "tests/support/testdata.h"

namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

template <class T>
void put(std::ofstream& out, T v) {
  out.write(reinterpret_cast<const char*>(&v), sizeof v);
}

// A legacy .dat imatrix with random positive per-column values for every matrix of `model`.
void write_imatrix(const std::string& model, const std::string& path) {
  const kq::GgufFile f = kq::GgufFile::open(model);
  std::mt19937 g(5);
  std::uniform_real_distribution<float> dist(0.05f, 20.0f);
  std::vector<const kq::GgufTensorInfo*> mats;
  for (const kq::GgufTensorInfo& t : f.tensors())
    if (t.n_dims >= 2) mats.push_back(&t);
  std::ofstream out(path, std::ios::binary);
  put<int32_t>(out, int32_t(mats.size()));
  for (const kq::GgufTensorInfo* t : mats) {
    put<int32_t>(out, int32_t(t->name.size()));
    out.write(t->name.data(), std::streamsize(t->name.size()));
    put<int32_t>(out, 1);  // ncall
    put<int32_t>(out, int32_t(t->ne[0] * t->ne[2]));
    for (int64_t i = 0; i < t->ne[0] * t->ne[2]; ++i) put<float>(out, dist(g));
  }
}

}  // namespace

TEST_CASE("kq quantize: every ISA level writes the scalar searches' bytes, with and without an imatrix",
          "[kquant][app]") {
  const kq::CpuFeatures& cpu = kq::cpu_features();
  std::vector<std::string> levels;
  for (kq::Isa isa : {kq::Isa::kAvx2, kq::Isa::kAvx512, kq::Isa::kNeon})
    if (cpu.supports(isa)) levels.push_back(kq::isa_name(isa));
  if (levels.empty()) {
    WARN("no SIMD level on this CPU: nothing to compare with the scalar searches");
    return;
  }
  const std::string src = kq::test::testdata_file("quant/synth-tiny-f32.gguf");
  const std::string dir = kq::test::scratch_dir();
  const std::string imatrix = dir + "/isa-imatrix.dat";
  write_imatrix(src, imatrix);
  const auto quantize = [&](const std::string& isa, const char* type, bool with_imatrix) {
    const std::string out = dir + "/isa-" + isa + "-" + type + (with_imatrix ? "-im" : "") + ".gguf";
    std::vector<std::string> argv{"/usr/bin/env", "KQ_ISA=" + isa, kq::test::kq_binary(), "quantize", src, out, type,
                                  "--pure", "-t", "2"};
    if (with_imatrix) argv.insert(argv.end(), {"--imatrix", imatrix});
    const kq::test::CommandResult r = kq::test::run_command(argv);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return read_all(out);
  };
  for (const char* type : {"Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"}) {
    for (bool with_imatrix : {false, true}) {
      const std::string want = quantize("scalar", type, with_imatrix);
      REQUIRE(want.size() > 1000);
      for (const std::string& isa : levels) {
        INFO(type << (with_imatrix ? " with imatrix" : "") << " at " << isa);
        CHECK(quantize(isa, type, with_imatrix) == want);
      }
    }
  }
}
