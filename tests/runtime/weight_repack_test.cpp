// runtime/weight_repack: a Q8_0 model loaded with repacking gets interleaved copies of exactly the
// eligible matmul weights, counted in repacked_bytes, and still generates through `kq run --repack`.
#include "runtime/weight_repack.h"

#include <catch2/catch.hpp>

#include "quant/kernels.h"
#include "quant/repack.h"
#include "runtime/model.h"
#include "tests/support/run_command.h"
#include "tests/support/testdata.h"

TEST_CASE("weight repack: a Q8_0 model's eligible matmuls are repacked and counted", "[model]") {
  const std::string path = kq::test::testdata_file("quant/synth-tiny-pure-Q8_0.gguf");
  kq::LoadOptions on;
  on.repack = true;
  const auto model = kq::Model::load(path, on);
  const auto plain = kq::Model::load(path);  // the default keeps the file layout
  CHECK(plain->repacked_tensors() == 0);
  size_t expect = 0;
  int n = 0;
  for (const kq::LayerWeights& l : model->weights().layers)
    for (const kq::TensorView* t : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) {
      const size_t b = kq::repacked_bytes(t->type, t->n_rows(), t->n_cols());
      CHECK((t->repacked != nullptr) == (b > 0));
      expect += (b + 63) / 64 * 64;
      n += b > 0;
    }
  const kq::TensorView& out = model->weights().output;
  if (!model->weights().tied_output) {
    const size_t b = kq::repacked_bytes(out.type, out.n_rows(), out.n_cols());
    CHECK((out.repacked != nullptr) == (b > 0));
    expect += (b + 63) / 64 * 64;
    n += b > 0;
  }
  if (kq::kernels()[kq::QType::Q8_0].mul_repacked) CHECK(n > 0);  // the tiny shapes fill 16-row groups
  CHECK(model->weights().token_embd.repacked == nullptr);
  CHECK(model->repacked_tensors() == n);
  CHECK(model->repacked_bytes() == expect);
  CHECK(kq::repacked_weight_bytes(plain->weights()) == expect);  // what the planner can ask before loading

  const auto r = kq::test::run_kq({"run", "-m", path, "-p", "hello", "-n", "4", "--temp", "0", "--repack", "--quiet"});
  CHECK(r.exit_code == 0);
}
