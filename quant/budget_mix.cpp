// The --fit knapsack and the per-type quantization errors it weighs (see budget_mix.h).
#include "quant/budget_mix.h"

#include <omp.h>

#include <algorithm>
#include <limits>

#include "common/error.h"
#include "quant/mix.h"

namespace kq {

std::vector<QType> budget_ladder(int64_t ne0) {
  static constexpr QType kLadder[] = {QType::Q2_K, QType::Q3_K, QType::IQ4_XS, QType::Q4_K,
                                      QType::Q5_K, QType::Q6_K, QType::Q8_0};
  std::vector<QType> out;
  for (QType t : kLadder) {
    const QType fitted = row_fallback(t, ne0);
    if (std::find(out.begin(), out.end(), fitted) == out.end()) out.push_back(fitted);
  }
  return out;
}

std::optional<std::vector<size_t>> solve_budget(const std::vector<std::vector<BudgetCandidate>>& items,
                                                uint64_t capacity, uint64_t max_buckets) {
  const size_t n = items.size();
  // Every item pays its cheapest candidate; the DP shares out only the bytes above that floor.
  std::vector<uint64_t> floor_bytes(n);
  uint64_t floor_total = 0;
  for (size_t i = 0; i < n; ++i) {
    if (items[i].empty()) throw Error("solve_budget: item " + std::to_string(i) + " has no candidates");
    uint64_t m = std::numeric_limits<uint64_t>::max();
    for (const BudgetCandidate& c : items[i]) m = std::min(m, c.bytes);
    floor_bytes[i] = m;
    floor_total += m;
  }
  if (floor_total > capacity) return std::nullopt;
  const uint64_t spare = capacity - floor_total;
  const uint64_t bucket = std::max<uint64_t>(1, (spare + max_buckets - 1) / std::max<uint64_t>(max_buckets, 1));
  const size_t n_buckets = size_t(spare / bucket) + 1;  // 0 .. spare/bucket buckets used

  // best[b]: least error of the items so far using exactly b buckets of extra bytes (inf: impossible).
  constexpr double kInf = std::numeric_limits<double>::infinity();
  std::vector<double> best(n_buckets, kInf), next(n_buckets);
  best[0] = 0;
  std::vector<std::vector<uint8_t>> choice(n, std::vector<uint8_t>(n_buckets, 0));
  for (size_t i = 0; i < n; ++i) {
    if (items[i].size() > 255) throw Error("solve_budget: more than 255 candidates for one item");
    std::fill(next.begin(), next.end(), kInf);
    for (size_t c = 0; c < items[i].size(); ++c) {
      const uint64_t extra = (items[i][c].bytes - floor_bytes[i] + bucket - 1) / bucket;  // rounded up: always fits
      if (extra >= n_buckets) continue;
      const double err = items[i][c].error;
      for (size_t b = size_t(extra); b < n_buckets; ++b) {
        const double v = best[b - extra] + err;
        if (v < next[b]) next[b] = v, choice[i][b] = uint8_t(c);
      }
    }
    best.swap(next);
  }
  size_t b = size_t(std::min_element(best.begin(), best.end()) - best.begin());
  std::vector<size_t> pick(n);
  for (size_t i = n; i-- > 0;) {
    pick[i] = choice[i][b];
    b -= size_t((items[i][pick[i]].bytes - floor_bytes[i] + bucket - 1) / bucket);
  }

  // Rounding up to buckets may leave bytes unused: spend them on the upgrades that remove the
  // most error per byte while they fit.
  uint64_t used = 0;
  for (size_t i = 0; i < n; ++i) used += items[i][pick[i]].bytes;
  for (;;) {
    double best_gain = 0;
    size_t bi = n, bc = 0;
    for (size_t i = 0; i < n; ++i) {
      const BudgetCandidate& cur = items[i][pick[i]];
      for (size_t c = 0; c < items[i].size(); ++c) {
        const BudgetCandidate& cand = items[i][c];
        if (cand.error >= cur.error) continue;
        if (cand.bytes > cur.bytes && cand.bytes - cur.bytes > capacity - used) continue;
        // A candidate no bigger that removes error is always taken first.
        const double gain = cand.bytes <= cur.bytes ? kInf : (cur.error - cand.error) / double(cand.bytes - cur.bytes);
        if (gain > best_gain) best_gain = gain, bi = i, bc = c;
      }
    }
    if (bi == n) break;
    used = used - items[bi][pick[bi]].bytes + items[bi][bc].bytes;
    pick[bi] = bc;
  }
  return pick;
}

std::vector<QuantError> measure_quant_errors(const RowReader& read, const RowImportance& importance, int64_t n,
                                             const std::vector<int64_t>& rows, const std::vector<QType>& types,
                                             int threads) {
  const size_t nt = types.size();
  size_t max_row_bytes = 0;
  for (QType t : types) max_row_bytes = std::max(max_row_bytes, row_size(t, n));
  // Per row, then summed in row order: the same plan whatever the thread count.
  std::vector<QuantError> per_row(rows.size() * nt);
#pragma omp parallel num_threads(std::max(threads, 1))
  {
    std::vector<float> x(static_cast<size_t>(n)), y(static_cast<size_t>(n));
    std::vector<uint8_t> q(max_row_bytes);
#pragma omp for schedule(dynamic, 4)
    for (size_t k = 0; k < rows.size(); ++k) {
      read(rows[k], x.data());
      const float* w = importance ? importance(rows[k]) : nullptr;
      double energy = 0;
      for (int64_t j = 0; j < n; ++j) energy += double(w ? w[j] : 1.0f) * double(x[size_t(j)]) * x[size_t(j)];
      for (size_t t = 0; t < nt; ++t) {
        const TypeTraits& tt = type_traits(types[t]);
        tt.from_float(x.data(), q.data(), n, w);
        tt.to_float(q.data(), y.data(), n);
        double err = 0;
        for (int64_t j = 0; j < n; ++j) {
          const double d = double(x[size_t(j)]) - y[size_t(j)];
          err += double(w ? w[j] : 1.0f) * d * d;
        }
        per_row[k * nt + t] = {err, energy};
      }
    }
  }
  std::vector<QuantError> total(nt);
  for (size_t k = 0; k < rows.size(); ++k)
    for (size_t t = 0; t < nt; ++t) {
      total[t].error += per_row[k * nt + t].error;
      total[t].energy += per_row[k * nt + t].energy;
    }
  return total;
}

std::vector<int64_t> sample_rows(int64_t n_rows, int64_t n, int64_t max_values) {
  const int64_t want = std::clamp<int64_t>(n > 0 ? max_values / n : n_rows, 1, std::max<int64_t>(n_rows, 1));
  std::vector<int64_t> rows;
  if (n_rows <= 0) return rows;
  const int64_t count = std::min(want, n_rows);
  rows.reserve(size_t(count));
  // Row k·n_rows/count, k = 0..count-1: spread over the whole weight (every expert of a stacked one).
  for (int64_t k = 0; k < count; ++k) rows.push_back(k * n_rows / count);
  return rows;
}

}  // namespace kq
