// `kq info --cpu`: which prefill implementation each float weight type uses at the selected level.
#include <catch2/catch.hpp>
#include <string>

#include "common/json.h"
#include "quant/kernels.h"
#include "tests/support/run_command.h"

namespace {

// The "prefill" entry of `type`'s row in `kq info --cpu --json`.
std::string prefill_of(const kq::json::Value& d, const std::string& type) {
  const kq::json::Value& types = d.at("types");
  for (size_t i = 0; i < types.size(); ++i)
    if (types[i].at("type").as_string() == type) return types[i].at("prefill").as_string();
  FAIL("no row for " << type);
  return "";
}

}  // namespace

TEST_CASE("kq info --cpu names oneDNN for F32 prefill at the x86 SIMD levels, never at scalar", "[app]") {
  const kq::test::CommandResult r = kq::test::run_kq({"info", "--cpu", "--json"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  const kq::json::Value d = kq::json::parse(r.out);
  // The child inherits KQ_ISA, so it selects the same level as this process.
  const kq::Isa isa = kq::kernels().isa;
  REQUIRE(d.at("selected").as_string() == kq::isa_name(isa));
  const bool simd = isa == kq::Isa::kAvx2 || isa == kq::Isa::kAvx512;
  CHECK((prefill_of(d, "F32").rfind("onednn", 0) == 0) == simd);
  for (const char* t : {"F16", "BF16", "Q4_K", "Q8_0"})
    if (!simd || std::string(t).rfind("Q", 0) == 0) CHECK(prefill_of(d, t).find("onednn") == std::string::npos);
}
