// Quantizing to a byte budget: each weight's candidate block types (the k-quant ladder), the
// importance-weighted error each candidate adds, and the knapsack that picks one type per weight
// so that the bytes fit and the summed error is least.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "quant/registry.h"

namespace kq {

// The ladder --fit chooses from, cheapest first: Q2_K Q3_K IQ4_XS Q4_K Q5_K Q6_K Q8_0, each replaced
// by llama.cpp's row-length fallback (row_fallback in quant/mix.h) when ne0 is not whole blocks of it;
// duplicates dropped. For rows of 576 values (no 256-blocks) this is IQ4_NL Q5_0 Q5_1 Q8_0.
std::vector<QType> budget_ladder(int64_t ne0);

// One option for one weight: its type, its bytes, and the error it adds (any additive unit).
struct BudgetCandidate {
  QType type = QType::F32;
  uint64_t bytes = 0;
  double error = 0;
};

// Picks one candidate per item so that the bytes add up to at most `capacity` and the errors add up
// to the least possible; returns the chosen index per item, or nullopt when even the cheapest
// candidates do not fit. Exact dynamic programming over byte buckets: when the capacity exceeds
// `max_buckets` bytes, each candidate's bytes are rounded up to whole buckets of
// ceil(capacity / max_buckets) (so the choice always fits), then any bytes that rounding left unused
// are spent greedily on the upgrades that remove the most error per byte.
std::optional<std::vector<size_t>> solve_budget(const std::vector<std::vector<BudgetCandidate>>& items,
                                                uint64_t capacity, uint64_t max_buckets = uint64_t(1) << 16);

// Importance-weighted squared error of quantizing rows to one type: error = Σ w_j·(x − q(x))²,
// energy = Σ w_j·x² over the same values (w_j = importance[j], or 1 without an importance vector).
struct QuantError {
  double error = 0;
  double energy = 0;
};

// Fills `out` ([n]) with row r of a weight as float32.
using RowReader = std::function<void(int64_t row, float* out)>;
// Importance of row r's columns ([n] values), or nullptr for none.
using RowImportance = std::function<const float*(int64_t row)>;

// Measures, for each type in `types`, the error of quantizing `rows` (row indices of a weight with
// rows of n values) to it and back: the same quantizer (and importance) the real conversion uses.
// Rows are split over `threads`.
std::vector<QuantError> measure_quant_errors(const RowReader& read, const RowImportance& importance, int64_t n,
                                             const std::vector<int64_t>& rows, const std::vector<QType>& types,
                                             int threads);

// Evenly spaced row indices of a weight with n_rows rows of n values, so that at most max_values
// values are measured (all rows when the weight is that small).
std::vector<int64_t> sample_rows(int64_t n_rows, int64_t n, int64_t max_values);

}  // namespace kq
