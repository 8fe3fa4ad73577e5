// GGUF container: a validated, mmap-backed reader (GgufFile) and an atomic writer (GgufWriter).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "formats/gguf_value.h"
#include "quant/registry.h"

namespace kq {

constexpr uint32_t kGgufDefaultAlignment = 32;

struct GgufTensorInfo {
  std::string name;
  uint32_t n_dims = 0;
  std::array<int64_t, 4> ne{1, 1, 1, 1};  // ggml order: ne[0] is the row length
  QType type = QType::F32;
  uint64_t offset = 0;        // relative to the data section
  uint64_t nbytes = 0;        // row_size(type, ne[0]) * ne[1] * ne[2] * ne[3]
  const uint8_t* data = nullptr;  // into the mapping; valid while the GgufFile lives

  int64_t n_elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
  int64_t n_rows() const { return ne[1] * ne[2] * ne[3]; }
};

// A parsed GGUF file. Every size, count and offset is validated against the file on open;
// any problem is a kq::Error naming the file, the field and the byte offset.
class GgufFile {
 public:
  // Maps the file read-only and parses it.
  static GgufFile open(const std::string& path);
  // Parses bytes owned by the caller (they must outlive the GgufFile). Used by tests and the fuzzer.
  static GgufFile from_memory(const void* data, size_t size, std::string name = "<memory>");

  GgufFile(GgufFile&&) noexcept;
  GgufFile& operator=(GgufFile&&) noexcept;
  ~GgufFile();

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // absolute start of the tensor data section
  uint64_t file_size() const { return size_; }
  const uint8_t* bytes() const { return base_; }
  bool mapped() const { return map_ != nullptr; }  // the bytes are a private file mapping (open)

  // Metadata in file order.
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return kv_; }
  const GgufValue* find(std::string_view key) const;  // nullptr when absent
  // Convenience getters with defaults; a present key of an unusable type throws kq::Error.
  std::string get_string(std::string_view key, const std::string& def = "") const;
  int64_t get_int(std::string_view key, int64_t def) const;
  double get_float(std::string_view key, double def) const;
  bool get_bool(std::string_view key, bool def) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(std::string_view name) const;  // nullptr when absent

 private:
  GgufFile() = default;
  void parse();

  std::string path_;
  const uint8_t* base_ = nullptr;
  uint64_t size_ = 0;
  void* map_ = nullptr;  // non-null when this object owns an mmap
  uint32_t version_ = 0;
  uint32_t alignment_ = kGgufDefaultAlignment;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<GgufTensorInfo> tensors_;
};

// Builds a GGUF v3 file: metadata, tensor infos, aligned tensor data. write() goes to
// "<path>.tmp.<pid>" and renames it over <path> only on success.
class GgufWriter {
 public:
  // Fills `dst` (exactly nbytes) with the tensor's bytes; called once, during write().
  using Producer = std::function<void(uint8_t* dst, size_t nbytes)>;

  // Sets a key, replacing an existing one in place (order kept) or appending it.
  void set(const std::string& key, GgufValue value);
  void remove(const std::string& key);
  const GgufValue* find(std::string_view key) const;
  // Copies every metadata key of `src` in order.
  void copy_metadata(const GgufFile& src);

  // Adds a tensor whose bytes live elsewhere (must stay valid until write() returns).
  void add_tensor(const std::string& name, QType type, const std::vector<int64_t>& ne, const void* data);
  // Adds a tensor whose bytes are produced during write(), so whole models need not sit in memory.
  void add_tensor(const std::string& name, QType type, const std::vector<int64_t>& ne, Producer produce);

  // Writes the file; alignment comes from general.alignment when set (else 32).
  void write(const std::string& path) const;

 private:
  struct Tensor {
    std::string name;
    QType type;
    std::vector<int64_t> ne;
    uint64_t nbytes;
    const void* data;
    Producer produce;
  };
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<Tensor> tensors_;
};

}  // namespace kq
