// `kq bench`: llama-bench style prompt (pp) and decode (tg) throughput of a model file or a synthetic
// model, with an optional memory-bandwidth probe and the decode roofline it implies.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "apps/kq/args.h"
#include "apps/kq/commands.h"
#include "common/error.h"
#include "common/json.h"
#include "quant/kernels.h"
#include "quant/mix.h"
#include "runtime/membw.h"
#include "runtime/model.h"
#include "runtime/session.h"
#include "runtime/synthetic_model.h"

namespace kq::app {

namespace {

constexpr const char* kBenchUsage =
    "usage: kq bench (-m MODEL | --synthetic SHAPE [--type TYPE]) [options]\n"
    "       kq bench --membw [-t N,...]\n"
    "  -m, --model MODEL        GGUF model\n"
    "  --synthetic SHAPE        random weights built in memory: llama-1b, llama-3b, llama-7b, llama-8b, or\n"
    "                           dim=N,layers=N,heads=N,kv_heads=N,ff=N[,vocab=N,head_dim=N,ctx=N,rope_base=N]\n"
    "  --type TYPE              file type of the synthetic model, as kq quantize makes it (default Q4_K_M;\n"
    "                           Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K_M, Q4_K_S, Q5_K_M, Q6_K, IQ4_XS, F16, ...)\n"
    "  -p, --n-prompt N,...     prompt tests: time an N-token prompt (in -b batches) from an empty cache\n"
    "                           (default 512; 0 skips)\n"
    "  -n, --n-gen N,...        decode runs: time N single-token steps from an empty cache (default 128; 0 skips)\n"
    "  -t, --threads N,...      thread counts (default: physical cores)\n"
    "  -b, --batch-size N       tokens per forward pass (default 512)\n"
    "  -r, --repetitions N      timed runs per test after one warm-up (default 5)\n"
    "  --cache-type T           KV cache type: f32, f16 (default) or q8_0\n"
    "  --membw                  measure read bandwidth (1 thread and each -t) and show the decode roofline\n"
    "  --membw-size SIZE        bytes the bandwidth probe streams (default 1G)\n"
    "  --save FILE              write the synthetic model (with a byte-fallback vocabulary) to a GGUF file\n"
    "                           and exit, so kq run, quantize, ppl and fit can open it\n"
    "  --no-hugepages           no madvise(MADV_HUGEPAGE) on synthetic weights and the bandwidth probe\n"
    "  --repack, --no-repack    interleave Q8_0 weights at load for the AVX-512 VNNI repacked kernel, or\n"
    "                           keep the file's layout (the default: repacking measured no faster yet)\n"
    "  --json                   print one JSON object instead of the table\n"
    "  --quiet                  no progress lines on stderr\n";

struct BenchOptions {
  std::string model;
  std::optional<SyntheticShape> shape;
  std::string type_name = "Q4_K_M";
  bool have_type = false;
  std::vector<int> n_prompt{512};
  std::vector<int> n_gen{128};
  std::vector<int> threads;
  int n_batch = 512;
  int repetitions = 5;
  QType cache_type = QType::F16;
  bool membw = false;
  std::string save;  // --save FILE: write the synthetic model instead of benchmarking
  uint64_t membw_bytes = kMembwDefaultBytes;
  bool huge_pages = true;
  bool repack = false;
  bool json = false;
  bool quiet = false;
};

// Parses "1,2,4": each a whole number >= min_value.
std::vector<int> parse_list(const std::string& flag, const std::string& value, int min_value) {
  std::vector<int> out;
  size_t start = 0;
  while (start <= value.size()) {
    const size_t comma = std::min(value.find(',', start), value.size());
    const int v = parse_int(flag, value.substr(start, comma - start));
    if (v < min_value) throw UsageError("option " + flag + " needs values >= " + std::to_string(min_value));
    out.push_back(v);
    start = comma + 1;
  }
  return out;
}

BenchOptions parse_bench_args(const std::vector<std::string>& args) {
  BenchOptions o;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-m" || a == "--model") {
      o.model = flag_value(args, i);
    } else if (a == "--synthetic") {
      try {
        o.shape = parse_synthetic_shape(flag_value(args, i));
      } catch (const UsageError&) {
        throw;  // the flag's value is missing
      } catch (const Error& e) {
        throw UsageError(e.what());  // a bad shape is a bad command line
      }
    } else if (a == "--type") {
      o.type_name = flag_value(args, i);
      o.have_type = true;
    } else if (a == "-p" || a == "--n-prompt") {
      o.n_prompt = parse_list(a, flag_value(args, i), 0);
    } else if (a == "-n" || a == "--n-gen") {
      o.n_gen = parse_list(a, flag_value(args, i), 0);
    } else if (a == "-t" || a == "--threads") {
      o.threads = parse_list(a, flag_value(args, i), 1);
    } else if (a == "-b" || a == "--batch-size") {
      o.n_batch = parse_int(a, flag_value(args, i));
      if (o.n_batch < 1) throw UsageError("option " + a + " needs a count >= 1");
    } else if (a == "-r" || a == "--repetitions") {
      o.repetitions = parse_int(a, flag_value(args, i));
      if (o.repetitions < 1) throw UsageError("option " + a + " needs a count >= 1");
    } else if (a == "--cache-type") {
      const std::string v = flag_value(args, i);
      const TypeTraits* t = find_type(v);
      if (!t || (t->type != QType::F32 && t->type != QType::F16 && t->type != QType::Q8_0))
        throw UsageError("option --cache-type takes f32, f16 or q8_0, got '" + v + "'");
      o.cache_type = t->type;
    } else if (a == "--membw") {
      o.membw = true;
    } else if (a == "--membw-size") {
      o.membw_bytes = parse_size(a, flag_value(args, i));
    } else if (a == "--save") {
      o.save = flag_value(args, i);
    } else if (a == "--no-hugepages") {
      o.huge_pages = false;
    } else if (a == "--repack" || a == "--no-repack") {
      o.repack = a == "--repack";
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--quiet") {
      o.quiet = true;
    } else {
      throw UsageError("unknown option '" + a + "'");
    }
  }
  if (!o.model.empty() && o.shape) throw UsageError("give either -m MODEL or --synthetic SHAPE, not both");
  if (o.model.empty() && !o.shape && !o.membw) throw UsageError("missing -m MODEL or --synthetic SHAPE");
  if (o.have_type && !o.shape) throw UsageError("--type applies to --synthetic models only");
  if (o.have_type && !parse_file_type(o.type_name)) {
    std::string known;
    for (const FileType ft : all_file_types()) known += std::string(known.empty() ? "" : ", ") + file_type_name(ft);
    throw UsageError("unknown file type '" + o.type_name + "' (known: " + known + ")");
  }
  const bool any_test = std::any_of(o.n_prompt.begin(), o.n_prompt.end(), [](int n) { return n > 0; }) ||
                        std::any_of(o.n_gen.begin(), o.n_gen.end(), [](int n) { return n > 0; });
  if (!o.save.empty() && !o.shape) throw UsageError("--save writes --synthetic models only");
  if ((!o.model.empty() || o.shape) && !any_test && o.save.empty())
    throw UsageError("nothing to run: every -p and -n is 0");
  if (o.threads.empty()) o.threads = {physical_cores()};
  return o;
}

struct TestResult {
  std::string name;  // "pp512", "tg128"
  int n_prompt = 0, n_gen = 0, n_threads = 0;
  std::vector<double> ns;  // per timed run
  std::vector<double> ts;  // tokens per second per run
  double avg = 0, stddev = 0;
  double bytes_per_token = 0;  // tg only
};

void finish_stats(TestResult& r) {
  const double n = double(r.ts.size());
  double sum = 0;
  for (const double v : r.ts) sum += v;
  r.avg = sum / n;
  double sq = 0;
  for (const double v : r.ts) sq += (v - r.avg) * (v - r.avg);
  r.stddev = r.ts.size() > 1 ? std::sqrt(sq / (n - 1)) : 0.0;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// One pp or tg test: a warm-up run, then `reps` timed runs, each from an empty cache.
TestResult run_test(Session& s, int n_prompt, int n_gen, int reps, std::mt19937& rng, bool quiet) {
  TestResult r;
  r.n_prompt = n_prompt;
  r.n_gen = n_gen;
  r.n_threads = s.n_threads();
  r.name = n_prompt > 0 ? "pp" + std::to_string(n_prompt) : "tg" + std::to_string(n_gen);
  std::uniform_int_distribution<int32_t> token(0, s.n_vocab() - 1);
  if (!quiet) 
    std::fprintf(stderr, "kq bench: %s, %d thread%s: warm-up + %d run%s\n", r.name.c_str(), r.n_threads,
                 r.n_threads == 1 ? "" : "s", reps, reps == 1 ? "" : "s");
  for (int rep = -1; rep < reps; ++rep) {
    s.truncate(0);
    double sec = 0;
    if (n_prompt > 0) {
      std::vector<int32_t> prompt(static_cast<size_t>(n_prompt));
      for (int32_t& t : prompt) t = token(rng);
      const auto t0 = std::chrono::steady_clock::now();
      s.eval(prompt);
      sec = seconds_since(t0);
    } else {
      // The warm-up is one step (it pages every weight in); the timed runs take all n_gen.
      const int steps = rep < 0 ? 1 : n_gen;
      std::vector<int32_t> one{token(rng)};
      const auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < steps; ++i) {
        s.eval(one);
        one[0] = token(rng);
      }
      sec = seconds_since(t0);
    }
    if (rep < 0) continue;
    r.ns.push_back(sec * 1e9);
    r.ts.push_back(double(n_prompt > 0 ? n_prompt : n_gen) / sec);
    if (!quiet && reps > 1)
      std::fprintf(stderr, "kq bench: %s run %d/%d: %.2f t/s\n", r.name.c_str(), rep + 1, reps, r.ts.back());
  }
  finish_stats(r);
  return r;
}

std::string human_bytes(double b) {
  char buf[32];
  if (b >= 1024.0 * 1024 * 1024) std::snprintf(buf, sizeof buf, "%.2f GiB", b / (1024.0 * 1024 * 1024));
  else std::snprintf(buf, sizeof buf, "%.2f MiB", b / (1024.0 * 1024));
  return buf;
}

std::string human_count(double n) {
  char buf[32];
  if (n >= 1e9) std::snprintf(buf, sizeof buf, "%.2f B", n / 1e9);
  else if (n >= 1e6) std::snprintf(buf, sizeof buf, "%.2f M", n / 1e6);
  else std::snprintf(buf, sizeof buf, "%.2f K", n / 1e3);
  return buf;
}

// What the table and the JSON say about the model.
struct ModelFacts {
  std::string name, file_type, source;
  double size = 0, params = 0;
};

ModelFacts model_facts(const Model& m, const BenchOptions& o) {
  ModelFacts f;
  const GgufFile& g = m.gguf();
  if (o.shape) {
    f.name = "synthetic " + o.shape->name;
    f.source = "synthetic";
  } else {
    f.name = g.get_string("general.name", "");
    if (f.name.empty()) f.name = o.model.substr(o.model.find_last_of('/') + 1);
    f.source = o.model;
  }
  const GgufValue* ft = g.find("general.file_type");
  f.file_type = ft && ft->is_integer() ? file_type_label(ft->as_int()) : "?";
  f.size = double(m.weight_bytes());
  for (const GgufTensorInfo& t : g.tensors()) f.params += double(t.n_elements());
  return f;
}

const MembwResult* membw_for(const std::vector<MembwResult>& bw, int n_threads) {
  for (const MembwResult& b : bw)
    if (b.n_threads == n_threads) return &b;
  return nullptr;
}

std::vector<MembwResult> probe_bandwidth(const BenchOptions& o) {
  std::vector<int> counts{1};
  for (const int t : o.threads)
    if (std::find(counts.begin(), counts.end(), t) == counts.end()) counts.push_back(t);
  if (!o.quiet)
    std::fprintf(stderr, "kq bench: measuring read bandwidth (%s buffer)\n", human_bytes(double(o.membw_bytes)).c_str());
  return measure_read_bandwidth(counts, size_t(o.membw_bytes), 5, o.huge_pages);
}

std::string header_line(const std::vector<MembwResult>& bw) {
  std::string s = std::string("kq bench: kernels ") + isa_name(kernels().isa) + ", CPU " + cpu_features().model;
  for (const MembwResult& b : bw) {
    char buf[64];
    std::snprintf(buf, sizeof buf, ", read %.1f GB/s (%d thread%s)", b.gb_per_s, b.n_threads, b.n_threads > 1 ? "s" : "");
    s += buf;
  }
  return s;
}

json::Value membw_json(const std::vector<MembwResult>& bw) {
  json::Value a = json::Value::array();
  for (const MembwResult& b : bw) {
    json::Value row = json::Value::object();
    row.set("n_threads", b.n_threads);
    row.set("read_gb_per_s", b.gb_per_s);
    a.push_back(std::move(row));
  }
  return a;
}

json::Value numbers(const std::vector<double>& v) {
  json::Value a = json::Value::array();
  for (const double x : v) a.push_back(x);
  return a;
}

// Display width of UTF-8 text (code points; "±" is two bytes but one column).
size_t columns(const std::string& s) {
  size_t n = 0;
  for (const char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// Prints a Markdown table like llama-bench's: every column as wide as its widest cell; `right`
// marks the right-aligned (numeric) columns.
void print_markdown(const std::vector<std::string>& header, const std::vector<bool>& right,
                    const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t c = 0; c < header.size(); ++c) {
    width[c] = columns(header[c]);
    for (const auto& row : rows) width[c] = std::max(width[c], columns(row[c]));
  }
  const auto line = [&](const std::vector<std::string>& cells) {
    std::string out = "|";
    for (size_t c = 0; c < cells.size(); ++c) {
      const size_t pad = width[c] - columns(cells[c]);
      out += ' ';
      if (right[c]) out.append(pad, ' ');
      out += cells[c];
      if (!right[c]) out.append(pad, ' ');
      out += " |";
    }
    std::puts(out.c_str());
  };
  line(header);
  std::string rule = "|";
  for (size_t c = 0; c < header.size(); ++c) {
    rule += ' ';
    rule.append(width[c] - (right[c] ? 1 : 0), '-');
    rule += right[c] ? ": |" : " |";
  }
  std::puts(rule.c_str());
  for (const auto& row : rows) line(row);
}

void print_table(const ModelFacts& f, const std::vector<TestResult>& results, const std::vector<MembwResult>& bw) {
  std::printf("%s\n\n", header_line(bw).c_str());
  const bool roof = !bw.empty();
  std::vector<std::string> header{"model", "size", "params", "type", "threads", "test", "t/s"};
  std::vector<bool> right{false, true, true, false, true, false, true};
  if (roof) {
    header.push_back("roofline t/s");
    right.push_back(true);
  }
  std::vector<std::vector<std::string>> rows;
  for (const TestResult& r : results) {
    char ts[64];
    std::snprintf(ts, sizeof ts, "%.2f ± %.2f", r.avg, r.stddev);
    rows.push_back({f.name, human_bytes(f.size), human_count(f.params), f.file_type, std::to_string(r.n_threads),
                    r.name, ts});
    if (roof) {
      char limit_text[64] = "";
      const MembwResult* b = membw_for(bw, r.n_threads);
      if (r.n_gen > 0 && b) {
        const double limit = b->gb_per_s * 1e9 / r.bytes_per_token;
        std::snprintf(limit_text, sizeof limit_text, "%.2f (%.0f%%)", limit, 100.0 * r.avg / limit);
      }
      rows.back().push_back(limit_text);
    }
  }
  print_markdown(header, right, rows);
}

json::Value result_json(const ModelFacts& f, const BenchOptions& o, const std::vector<TestResult>& results,
                        const std::vector<MembwResult>& bw) {
  json::Value out = json::Value::object();
  out.set("kq_version", KQ_VERSION);
  out.set("isa", isa_name(kernels().isa));
  out.set("cpu", cpu_features().model);
  out.set("model", f.name);
  out.set("model_source", f.source);
  if (o.shape) out.set("synthetic", o.shape->name);
  out.set("file_type", f.file_type);
  out.set("size_bytes", f.size);
  out.set("n_params", f.params);
  out.set("n_batch", o.n_batch);
  out.set("cache_type", type_name(o.cache_type));
  out.set("repetitions", o.repetitions);
  if (!bw.empty()) out.set("membw", membw_json(bw));
  json::Value tests = json::Value::array();
  for (const TestResult& r : results) {
    json::Value t = json::Value::object();
    t.set("test", r.name);
    t.set("n_prompt", r.n_prompt);
    t.set("n_gen", r.n_gen);
    t.set("n_threads", r.n_threads);
    t.set("avg_ts", r.avg);
    t.set("stddev_ts", r.stddev);
    t.set("samples_ts", numbers(r.ts));
    t.set("samples_ns", numbers(r.ns));
    if (r.n_gen > 0) {
      t.set("bytes_per_token", r.bytes_per_token);
      if (const MembwResult* b = membw_for(bw, r.n_threads)) {
        const double limit = b->gb_per_s * 1e9 / r.bytes_per_token;
        t.set("roofline_ts", limit);
        t.set("roofline_fraction", r.avg / limit);
      }
    }
    tests.push_back(std::move(t));
  }
  out.set("results", std::move(tests));
  return out;
}

int bench_membw_only(const BenchOptions& o) {
  const std::vector<MembwResult> bw = probe_bandwidth(o);
  if (o.json) {
    json::Value out = json::Value::object();
    out.set("isa", isa_name(kernels().isa));
    out.set("cpu", cpu_features().model);
    out.set("membw", membw_json(bw));
    std::puts(json::dump(out, 2).c_str());
    return 0;
  }
  std::printf("%s\n\n", header_line({}).c_str());
  std::vector<std::vector<std::string>> rows;
  for (const MembwResult& b : bw) {
    char gbs[32];
    std::snprintf(gbs, sizeof gbs, "%.2f", b.gb_per_s);
    rows.push_back({std::to_string(b.n_threads), gbs});
  }
  print_markdown({"threads", "read GB/s"}, {true, true}, rows);
  return 0;
}

std::unique_ptr<Model> open_model(const BenchOptions& o) {
  LoadOptions load;
  load.repack = o.repack;
  if (!o.shape) return Model::load(o.model, load);
  SyntheticOptions so;
  so.file_type = *parse_file_type(o.type_name);
  so.huge_pages = o.huge_pages;
  so.repack = o.repack && o.save.empty();  // --save writes the file's layout
  if (!o.quiet) std::fprintf(stderr, "kq bench: building synthetic %s %s\n", o.shape->name.c_str(), o.type_name.c_str());
  const auto t0 = std::chrono::steady_clock::now();
  auto m = build_synthetic_model(*o.shape, so);
  if (!o.quiet)
    std::fprintf(stderr, "kq bench: built %s of weights in %.1f s (%d tensors repacked, %s)\n",
                 human_bytes(double(m->weight_bytes())).c_str(), seconds_since(t0), m->repacked_tensors(),
                 human_bytes(double(m->repacked_bytes())).c_str());
  return m;
}

int bench(const BenchOptions& o) {
  if (!o.shape && o.model.empty()) return bench_membw_only(o);
  const std::unique_ptr<Model> model = open_model(o);
  if (!o.save.empty()) {
    save_synthetic_model(*model, o.save);
    if (!o.quiet) std::fprintf(stderr, "kq bench: wrote %s\n", o.save.c_str());
    return 0;
  }
  const ModelFacts facts = model_facts(*model, o);
  const std::vector<MembwResult> bw = o.membw ? probe_bandwidth(o) : std::vector<MembwResult>{};

  int n_ctx = 1;
  for (const int p : o.n_prompt) n_ctx = std::max(n_ctx, p);
  for (const int n : o.n_gen) n_ctx = std::max(n_ctx, n);
  std::mt19937 rng(1234);
  std::vector<TestResult> results;
  for (const int nt : o.threads) {
    SessionOptions so;
    so.n_ctx = n_ctx;
    so.n_batch = o.n_batch;
    so.n_threads = nt;
    so.cache_type = o.cache_type;
    Session s(*model, so);
    for (const int p : o.n_prompt)
      if (p > 0) results.push_back(run_test(s, p, 0, o.repetitions, rng, o.quiet));
    for (const int n : o.n_gen) {
      if (n <= 0) continue;
      TestResult r = run_test(s, 0, n, o.repetitions, rng, o.quiet);
      // Step i reads the cache at depth i + 1: the mean depth of a run is (n + 1) / 2.
      r.bytes_per_token = decode_bytes_per_token(*model, (n + 1) / 2.0, o.cache_type);
      results.push_back(std::move(r));
    }
  }
  if (o.json) {
    std::puts(json::dump(result_json(facts, o, results, bw), 2).c_str());
  } else {
    print_table(facts, results, bw);
  }
  return 0;
}

}  // namespace

int cmd_bench(const std::vector<std::string>& args) {
  return run_command("bench", kBenchUsage, args, [&] { return bench(parse_bench_args(args)); });
}

}  // namespace kq::app
