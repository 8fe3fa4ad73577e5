// `kq fit`: the plan of a file and of a shape agree, --json and the table, the GPU plan, bad input,
// and the plan's context-dependent bytes against the peak RSS `kq run` really reaches.
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/json.h"
#include "formats/gguf.h"
#include "tests/support/run_command.h"
#include "tests/support/testdata.h"

extern char** environ;

namespace {

using kq::test::CommandResult;
using kq::test::run_kq;

kq::json::Value fit_json(std::vector<std::string> args) {
  args.insert(args.begin(), "fit");
  args.insert(args.end(), {"--json", "--bandwidth", "10", "-t", "2"});
  const CommandResult r = run_kq(args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return kq::json::parse(r.out);
}

uint64_t component(const kq::json::Value& v, const char* key) {
  return uint64_t(v.at("components").at(key).as_int());
}

// Peak RSS (bytes) of one `kq ARGS` child, from its own rusage (wait4), output discarded.
uint64_t peak_rss(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {kq::test::kq_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (std::string& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(rc == 0);
  int status = 0;
  struct rusage ru {};
  REQUIRE(wait4(pid, &status, 0, &ru) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  return uint64_t(ru.ru_maxrss) * 1024;
}

}  // namespace

TEST_CASE("kq fit --json: the components sum to total_bytes", "[apps]") {
  const std::string model = kq::test::testdata_file("stories260K.gguf");
  const kq::json::Value v = fit_json({"-m", model, "-c", "256", "--ram", "1G"});
  uint64_t sum = 0;
  for (const char* key : {"weights", "embeddings", "file_header", "kv_cache", "scratch", "output", "tokenizer", "overhead"})
    sum += component(v, key);
  CHECK(uint64_t(v.at("total_bytes").as_int()) == sum);
  CHECK(v.at("n_ctx").as_int() == 256);
  CHECK(component(v, "kv_cache") == 256u * 5 * 4 * 8 * 2 * 2);  // n_ctx × layers × Hkv × D × (K, V) × f16
  CHECK(v.at("fits").as_bool());
  CHECK(v.at("budget_bytes").as_int() == 1 << 30);
  CHECK(v.at("max_ctx").as_int() == 128);  // stories260K's trained context
  // 10 GB/s over the bytes one token reads.
  CHECK(v.at("predicted_tg_empty").as_number() == Approx(1e10 / v.at("decode_bytes_per_token").as_number()));
}

TEST_CASE("kq fit: verdict and largest context against a tight budget", "[apps]") {
  const std::string model = kq::test::testdata_file("stories260K.gguf");
  const kq::json::Value at100 = fit_json({"-m", model, "-c", "100"});
  const uint64_t total = uint64_t(at100.at("total_bytes").as_int());
  const kq::json::Value v = fit_json({"-m", model, "-c", "120", "--ram", std::to_string(total)});
  CHECK_FALSE(v.at("fits").as_bool());
  CHECK(uint64_t(v.at("short_by_bytes").as_int()) == uint64_t(v.at("total_bytes").as_int()) - total);
  CHECK(v.at("max_ctx").as_int() == 100);

  const CommandResult r = run_kq({"fit", "-m", model, "-c", "120", "--ram", std::to_string(total), "--bandwidth", "5"});
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("does not fit, short by"));
  CHECK_THAT(r.out, Catch::Contains("largest context that fits: 100"));
  CHECK_THAT(r.out, Catch::Contains("KV cache"));
}

TEST_CASE("kq fit --shape plans the file kq bench --save writes", "[apps]") {
  const std::string spec = "dim=128,layers=2,heads=4,kv_heads=2,ff=256,vocab=300";
  const std::string file = kq::test::scratch_dir() + "/fit-shape.gguf";
  const CommandResult saved = run_kq({"bench", "--synthetic", spec, "--type", "Q4_K_M", "--save", file, "-p", "0", "-n", "0"});
  INFO(saved.err);
  REQUIRE(saved.exit_code == 0);
  const kq::json::Value from_shape = fit_json({"--shape", spec, "--type", "Q4_K_M", "-c", "128"});
  const kq::json::Value from_file = fit_json({"-m", file, "-c", "128"});
  for (const char* key : {"weights", "embeddings", "kv_cache", "scratch", "output", "tokenizer", "overhead"}) {
    CAPTURE(key);
    CHECK(component(from_shape, key) == component(from_file, key));
  }
  // The shape's header size is an estimate of the writer's metadata: within 1 KiB.
  CHECK(std::abs(double(component(from_shape, "file_header")) - double(component(from_file, "file_header"))) < 1024);
}

TEST_CASE("kq fit --gpu-mem: whole layers from the last, labelled as a plan", "[apps]") {
  const std::string model = kq::test::testdata_file("stories260K.gguf");
  const kq::json::Value v = fit_json({"-m", model, "-c", "512", "--gpu-mem", "300K"});
  const kq::json::Value& g = v.at("gpu");
  CHECK(g.at("plan_only").as_bool());
  // A stories260K layer is ~195 KiB of weights + 64 KiB of f16 KV at 512: one fits in 300 KiB, two do not.
  CHECK(g.at("n_layers").as_int() == 1);
  CHECK(g.at("first_layer").as_int() == 4);
  // Which tensors move: every tensor of blk.4, named without the prefix, in the file's order.
  std::vector<std::string> names;
  for (const kq::json::Value& n : g.at("layer_tensors").items()) names.push_back(n.as_string());
  std::vector<std::string> want;
  const kq::GgufFile file = kq::GgufFile::open(model);
  for (const kq::GgufTensorInfo& t : file.tensors())
    if (t.name.rfind("blk.4.", 0) == 0) want.push_back(t.name.substr(6));
  CHECK(want.size() == 9);
  CHECK(names == want);
  const CommandResult r = run_kq({"fit", "-m", model, "--gpu-mem", "300K", "--bandwidth", "5"});
  CHECK_THAT(r.out, Catch::Contains("no GPU backend built"));
  CHECK_THAT(r.out, Catch::Contains("1 of 5 layers would fit: blk.4 .. blk.4"));
  CHECK_THAT(r.out, Catch::Contains("tensors of each of those layers: attn_q.weight attn_k.weight"));
}

TEST_CASE("kq fit: bad input is one clear error", "[apps]") {
  const std::string model = kq::test::testdata_file("stories260K.gguf");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"fit"}, {"fit", "-m", model, "--ram", "lots"}, {"fit", "--shape", "llama-2b"},
        {"fit", "-m", model, "--shape", "llama-1b"}, {"fit", "-m", model, "--type", "Q4_0"},
        {"fit", "--shape", "llama-1b", "--type", "Q9_K"}, {"fit", "-m", model, "--cache-type", "q4_0"},
        {"fit", "-m", model, "--bandwidth", "0"}, {"fit", "-m", model, "--frobnicate"}}) {
    const CommandResult r = run_kq(args);
    CAPTURE(args);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::StartsWith("kq fit: "));
  }
  const CommandResult missing = run_kq({"fit", "-m", "/nonexistent.gguf"});
  CHECK(missing.exit_code == 1);
  CHECK(missing.err_lines() == 1);
  CHECK(run_kq({"fit", "--help"}).exit_code == 0);
}

TEST_CASE("kq fit: the plan grows with the context as kq run's peak RSS does", "[apps]") {
  // The context-dependent bytes (KV cache, attention scores; ~25 MB from 512 to 16384, far above the
  // ~0.3 MB run-to-run noise of peak RSS) are what the planner must get right;
  // the difference of two runs cancels the fixed overhead, which differs under sanitizers and qemu.
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer's allocator keeps freed and quarantined memory resident and maps the KV cache
  // its own way, so peak RSS does not follow the plan there (measured: it shrank by 0.2 MB).
  WARN("skipped under AddressSanitizer: its allocator decides the RSS");
  return;
#endif
  const std::string model = kq::test::testdata_file("stories260K.gguf");
  const auto run_rss = [&](int n_ctx) {
    return peak_rss({"run", "-m", model, "-c", std::to_string(n_ctx), "-n", "64", "-t", "2", "-p", "Once upon a time",
                     "--quiet"});
  };
  const auto plan = [&](int n_ctx) {
    return uint64_t(fit_json({"-m", model, "-c", std::to_string(n_ctx)}).at("total_bytes").as_int());
  };
  const double rss_growth = double(run_rss(16384)) - double(run_rss(512));
  const double plan_growth = double(plan(16384)) - double(plan(512));
  CAPTURE(rss_growth, plan_growth);
  CHECK(plan_growth > 2e7);
  CHECK(std::abs(plan_growth - rss_growth) <= 0.03 * plan_growth);
}

TEST_CASE("kq run --fit chooses the context and says so", "[apps]") {
  const std::string model = kq::test::testdata_file("stories260K.gguf");
  // stories260K needs a few MiB: any machine that runs the tests fits its whole trained context of 128.
  const CommandResult r = run_kq({"run", "-m", model, "--fit", "-n", "4", "--temp", "0", "-p", "Once"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, Catch::Contains("kq run: --fit: context 128 of the model's 128"));
  CHECK_THAT(r.err, Catch::Contains("(context 128,"));
  // --quiet leaves out the --fit line too, and the text is the same.
  const CommandResult quiet = run_kq({"run", "-m", model, "--fit", "-n", "4", "--temp", "0", "-p", "Once", "--quiet"});
  REQUIRE(quiet.exit_code == 0);
  CHECK(quiet.err.empty());
  CHECK(quiet.out == r.out);
  for (const char* cmd : {"run", "chat"}) {
    const CommandResult both = run_kq({cmd, "-m", model, "--fit", "-c", "64"});
    CAPTURE(cmd);
    CHECK(both.exit_code == 2);
    CHECK_THAT(both.err, Catch::StartsWith(std::string("kq ") + cmd + ": give -c N or --fit, not both"));
  }
}
