// quant/budget_mix: the knapsack against brute force, the candidate ladder, row sampling and the
// measured quantization errors.
#include "quant/budget_mix.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace {

using kq::BudgetCandidate;
using kq::QType;

using Items = std::vector<std::vector<BudgetCandidate>>;

// The least total error over every combination that fits (infinity when none does).
double brute_force(const Items& items, uint64_t capacity, size_t i = 0, uint64_t used = 0) {
  if (i == items.size()) return 0;
  double best = std::numeric_limits<double>::infinity();
  for (const BudgetCandidate& c : items[i])
    if (used + c.bytes <= capacity) best = std::min(best, c.error + brute_force(items, capacity, i + 1, used + c.bytes));
  return best;
}

Items random_items(std::mt19937& rng, size_t n, size_t max_cands) {
  std::uniform_int_distribution<int> n_cands(1, int(max_cands));
  std::uniform_int_distribution<uint64_t> bytes(1, 40);
  std::uniform_real_distribution<double> err(0.0, 10.0);
  Items items(n);
  for (auto& cands : items) {
    const int k = n_cands(rng);
    for (int c = 0; c < k; ++c) cands.push_back({QType::Q4_K, bytes(rng), err(rng)});
  }
  return items;
}

double total_error(const Items& items, const std::vector<size_t>& pick) {
  double e = 0;
  for (size_t i = 0; i < items.size(); ++i) e += items[i][pick[i]].error;
  return e;
}

uint64_t total_bytes(const Items& items, const std::vector<size_t>& pick) {
  uint64_t b = 0;
  for (size_t i = 0; i < items.size(); ++i) b += items[i][pick[i]].bytes;
  return b;
}

}  // namespace

TEST_CASE("solve_budget: the least error of any combination that fits (brute force)", "[quant][budget]") {
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 300; ++trial) {
    const Items items = random_items(rng, 1 + trial % 6, 4);
    const uint64_t capacity = std::uniform_int_distribution<uint64_t>(0, 160)(rng);
    const double want = brute_force(items, capacity);
    const auto pick = kq::solve_budget(items, capacity);
    INFO("trial " << trial << ", capacity " << capacity);
    if (std::isinf(want)) {
      CHECK_FALSE(pick.has_value());
      continue;
    }
    REQUIRE(pick.has_value());
    CHECK(total_bytes(items, *pick) <= capacity);
    CHECK(total_error(items, *pick) == Approx(want).epsilon(1e-12));
  }
}

TEST_CASE("solve_budget: with coarse buckets the choice still fits and stays near the optimum", "[quant][budget]") {
  std::mt19937 rng(99);
  for (int trial = 0; trial < 100; ++trial) {
    const Items items = random_items(rng, 6, 4);
    const uint64_t capacity = std::uniform_int_distribution<uint64_t>(60, 200)(rng);
    const double exact = brute_force(items, capacity);
    // 8 buckets: bytes are rounded up to ceil(spare / 8); the greedy fill then uses what is left.
    const auto pick = kq::solve_budget(items, capacity, 8);
    REQUIRE(pick.has_value() == !std::isinf(exact));
    if (!pick) continue;
    CHECK(total_bytes(items, *pick) <= capacity);
    CHECK(total_error(items, *pick) >= exact - 1e-9);
  }
}

TEST_CASE("solve_budget: exact at the floor, and one byte short of it is infeasible", "[quant][budget]") {
  const Items items = {{{QType::Q2_K, 10, 5.0}, {QType::Q4_K, 20, 1.0}},
                       {{QType::Q2_K, 7, 6.0}, {QType::Q8_0, 30, 0.0}}};
  CHECK_FALSE(kq::solve_budget(items, 16).has_value());
  CHECK(*kq::solve_budget(items, 17) == std::vector<size_t>{0, 0});
  CHECK(*kq::solve_budget(items, 27) == std::vector<size_t>{1, 0});  // error 7 (4 removed for 10 bytes)
  CHECK(*kq::solve_budget(items, 40) == std::vector<size_t>{0, 1});  // error 5 beats 7
  CHECK(*kq::solve_budget(items, 50) == std::vector<size_t>{1, 1});
}

TEST_CASE("budget_ladder: k-quants where rows are whole 256-blocks, llama.cpp's fallbacks elsewhere", "[quant][budget]") {
  CHECK(kq::budget_ladder(256) ==
        std::vector<QType>{QType::Q2_K, QType::Q3_K, QType::IQ4_XS, QType::Q4_K, QType::Q5_K, QType::Q6_K, QType::Q8_0});
  CHECK(kq::budget_ladder(576) == std::vector<QType>{QType::IQ4_NL, QType::Q5_0, QType::Q5_1, QType::Q8_0});
  CHECK(kq::budget_ladder(48) == std::vector<QType>{QType::F16});  // not even 32-blocks
}

TEST_CASE("sample_rows: all rows of a small weight, evenly spaced ones of a big one", "[quant][budget]") {
  CHECK(kq::sample_rows(4, 256, 1 << 18) == std::vector<int64_t>{0, 1, 2, 3});
  CHECK(kq::sample_rows(10, 100, 500) == std::vector<int64_t>{0, 2, 4, 6, 8});
  CHECK(kq::sample_rows(3, 1000, 10) == std::vector<int64_t>{0});  // at least one row
}

TEST_CASE("measure_quant_errors: energy is the weighted sum of squares and more bits give less error", "[quant][budget]") {
  const int64_t n = 256, rows = 8;
  std::mt19937 rng(7);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> data(static_cast<size_t>(n * rows));
  for (float& x : data) x = g(rng);
  std::vector<float> imp(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j) imp[size_t(j)] = 0.5f + float(j % 4);
  const kq::RowReader read = [&](int64_t r, float* out) {
    std::copy(data.begin() + r * n, data.begin() + (r + 1) * n, out);
  };
  const std::vector<QType> types = kq::budget_ladder(n);
  const std::vector<int64_t> all = kq::sample_rows(rows, n, 1 << 18);
  for (bool weighted : {false, true}) {
    kq::RowImportance importance;
    if (weighted) importance = [&](int64_t) { return imp.data(); };
    const auto errors = kq::measure_quant_errors(read, importance, n, all, types, 2);
    double energy = 0;
    for (size_t i = 0; i < data.size(); ++i) energy += double(weighted ? imp[i % size_t(n)] : 1.0f) * data[i] * data[i];
    REQUIRE(errors.size() == types.size());
    for (size_t t = 0; t < types.size(); ++t) {
      INFO(kq::type_name(types[t]) << (weighted ? " weighted" : ""));
      CHECK(errors[t].energy == Approx(energy).epsilon(1e-12));
      CHECK(errors[t].error > 0);
      if (t > 0 && types[t] != QType::Q4_K) CHECK(errors[t].error < errors[t - 1].error);
    }
    // Q8_0 keeps 8 bits per value: relative error about 1e-5 on Gaussian rows, far below Q2_K's.
    CHECK(errors.back().error / energy < 1e-4);
    CHECK(errors.front().error / energy > 0.05);
    // The same rows measured on one thread give the same sums (the order is fixed).
    const auto again = kq::measure_quant_errors(read, importance, n, all, types, 1);
    for (size_t t = 0; t < types.size(); ++t) CHECK(again[t].error == errors[t].error);
  }
}
