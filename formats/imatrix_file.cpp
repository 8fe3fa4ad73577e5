// Importance-matrix files: the GGUF reader and writer and the legacy .dat reader (formats.md C.4).
#include "formats/imatrix_file.h"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string_view>

#include "common/error.h"
#include "formats/gguf.h"

namespace kq {

Imatrix load_imatrix_gguf(const std::string& path) {
  const GgufFile f = GgufFile::open(path);
  Imatrix out;
  out.chunks = static_cast<int>(f.get_int("imatrix.chunk_count", -1));
  if (const GgufValue* d = f.find("imatrix.datasets");
      d && d->is_array() && d->size() > 0 && d->elem_type() == GgufType::STRING)
    out.dataset = d->string_at(0);
  constexpr std::string_view kSums = ".in_sum2";
  for (const GgufTensorInfo& t : f.tensors()) {
    if (t.name.size() <= kSums.size() || t.name.compare(t.name.size() - kSums.size(), kSums.size(), kSums) != 0)
      continue;
    const std::string weight = t.name.substr(0, t.name.size() - kSums.size());
    const GgufTensorInfo* counts = f.find_tensor(weight + ".counts");
    if (!counts) throw Error("imatrix '" + path + "': '" + t.name + "' has no '" + weight + ".counts'");
    if (t.type != QType::F32 || counts->type != QType::F32)
      throw Error("imatrix '" + path + "': '" + weight + "' is not F32");
    const int64_t n_mat = counts->n_elements();
    if (n_mat < 1 || t.n_elements() % n_mat != 0)
      throw Error("imatrix '" + path + "': '" + weight + "' has " + std::to_string(t.n_elements()) + " sums for " +
                  std::to_string(n_mat) + " counts");
    const int64_t per = t.n_elements() / n_mat;
    std::vector<float> sums(static_cast<size_t>(t.n_elements())), cnt(static_cast<size_t>(n_mat));
    std::memcpy(sums.data(), t.data, sums.size() * sizeof(float));
    std::memcpy(cnt.data(), counts->data, cnt.size() * sizeof(float));
    for (int64_t j = 0; j < n_mat; ++j)
      for (int64_t k = 0; k < per; ++k) {
        float& v = sums[size_t(j * per + k)];
        v = cnt[size_t(j)] > 0 ? v / cnt[size_t(j)] : 1.0f;  // an expert that saw no tokens: equal weights
      }
    out.entries[weight] = std::move(sums);
  }
  return out;
}

// The legacy .dat layout (formats.md C.4): i32 count, then per entry name, ncall, nval, values.
Imatrix load_imatrix_dat(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("imatrix '" + path + "': cannot open: " + std::strerror(errno));
  const auto read_i32 = [&](const char* what) {
    int32_t v = 0;
    if (!in.read(reinterpret_cast<char*>(&v), sizeof v)) throw Error("imatrix '" + path + "': truncated " + what);
    return v;
  };
  const int32_t n = read_i32("entry count");
  if (n < 1) throw Error("imatrix '" + path + "': no entries (not an imatrix file?)");
  Imatrix out;
  for (int32_t e = 0; e < n; ++e) {
    const int32_t len = read_i32("name length");
    if (len < 1 || len > 4096) throw Error("imatrix '" + path + "': bad name length " + std::to_string(len));
    std::string name(size_t(len), '\0');
    if (!in.read(name.data(), len)) throw Error("imatrix '" + path + "': truncated name");
    const int32_t ncall = read_i32("call count");
    const int32_t nval = read_i32("value count");
    if (nval < 1 || nval > (1 << 28)) throw Error("imatrix '" + path + "': bad value count for '" + name + "'");
    std::vector<float> v(static_cast<size_t>(nval));
    if (!in.read(reinterpret_cast<char*>(v.data()), std::streamsize(v.size() * sizeof(float))))
      throw Error("imatrix '" + path + "': truncated values of '" + name + "'");
    if (ncall > 0)
      for (float& x : v) x /= float(ncall);
    out.entries[name] = std::move(v);
  }
  // Optional trailer: i32 last_call (the chunk count), i32 length and the dataset name.
  int32_t last_call = 0, len = 0;
  if (in.read(reinterpret_cast<char*>(&last_call), sizeof last_call)) {
    out.chunks = last_call;
    if (in.read(reinterpret_cast<char*>(&len), sizeof len) && len > 0 && len < 4096) {
      std::string name(size_t(len), '\0');
      if (in.read(name.data(), len)) out.dataset = name;
    }
  }
  return out;
}

Imatrix load_imatrix(const std::string& path) {
  char magic[4] = {};
  std::ifstream(path, std::ios::binary).read(magic, 4);
  Imatrix m = std::memcmp(magic, "GGUF", 4) == 0 ? load_imatrix_gguf(path) : load_imatrix_dat(path);
  if (m.entries.empty()) throw Error("imatrix '" + path + "': no entries");
  return m;
}

void write_imatrix_gguf(const ImatrixSums& sums, const std::string& path) {
  GgufWriter w;
  w.set("general.type", GgufValue::string("imatrix"));
  w.set("imatrix.datasets", GgufValue::string_array(sums.datasets));
  w.set("imatrix.chunk_count", GgufValue::u32(uint32_t(sums.chunk_count)));
  w.set("imatrix.chunk_size", GgufValue::u32(uint32_t(sums.chunk_size)));
  // std::map keeps the names sorted, the order llama-imatrix writes them in.
  for (const auto& [name, e] : sums.entries) {
    const int64_t n_mat = int64_t(e.counts.size());
    if (n_mat < 1 || e.in_sum2.empty() || e.in_sum2.size() % e.counts.size() != 0)
      throw Error("imatrix '" + path + "': '" + name + "' has " + std::to_string(e.in_sum2.size()) + " sums for " +
                  std::to_string(n_mat) + " counts");
    w.add_tensor(name + ".in_sum2", QType::F32, {int64_t(e.in_sum2.size()) / n_mat, n_mat}, e.in_sum2.data());
    w.add_tensor(name + ".counts", QType::F32, {1, n_mat}, e.counts.data());
  }
  w.write(path);
}

}  // namespace kq
