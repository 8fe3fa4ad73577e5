// GgufWriter: stream a GGUF v3 file tensor by tensor into a temp file, then rename it into place.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "common/error.h"
#include "formats/gguf.h"

namespace kq {

namespace {

constexpr uint32_t kGgufMagic = 0x46554747;
constexpr uint32_t kGgufVersion = 3;
constexpr size_t kMaxTensorName = 63;
constexpr size_t kBufferBytes = size_t(1) << 20;

// Buffered writes to a file descriptor; every failure throws with the path and errno text.
class FdWriter {
 public:
  FdWriter(int fd, const std::string& path) : fd_(fd), path_(path) { buf_.reserve(kBufferBytes); }

  void bytes(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    if (n >= kBufferBytes) {  // large tensor data: skip the copy into the buffer
      flush();
      raw_write(b, n);
      return;
    }
    if (buf_.size() + n > kBufferBytes) flush();
    buf_.insert(buf_.end(), b, b + n);
  }
  template <typename T>
  void pod(T v) {
    bytes(&v, sizeof v);
  }
  void string(const std::string& s) {
    pod<uint64_t>(s.size());
    bytes(s.data(), s.size());
  }
  void zeros(size_t n) {
    static const uint8_t kZero[64] = {};
    while (n) {
      const size_t k = n < sizeof kZero ? n : sizeof kZero;
      bytes(kZero, k);
      n -= k;
    }
  }
  void flush() {
    raw_write(buf_.data(), buf_.size());
    buf_.clear();
  }
  uint64_t written() const { return written_ + buf_.size(); }

 private:
  void raw_write(const uint8_t* p, size_t n) {
    while (n) {
      const ssize_t w = ::write(fd_, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        throw Error(path_ + ": write failed: " + std::strerror(errno));
      }
      p += w;
      n -= size_t(w);
      written_ += uint64_t(w);
    }
  }

  int fd_;
  const std::string& path_;
  std::vector<uint8_t> buf_;
  uint64_t written_ = 0;
};

void write_value(FdWriter& w, const GgufValue& v) {
  if (v.type() == GgufType::STRING) return w.string(v.as_string());
  if (!v.is_array()) return w.bytes(v.raw().data(), v.raw().size());
  w.pod<uint32_t>(uint32_t(v.elem_type()));
  w.pod<uint64_t>(v.size());
  if (v.elem_type() == GgufType::STRING) {
    for (const std::string& s : v.strings()) w.string(s);
  } else {
    w.bytes(v.raw().data(), v.raw().size());
  }
}

uint64_t padding(uint64_t x, uint64_t align) { return (align - x % align) % align; }

// Returns the alignment general.alignment asks for, validated as the reader would.
uint32_t alignment_of(const GgufValue* a) {
  if (!a) return kGgufDefaultAlignment;
  if (a->type() != GgufType::U32)
    throw Error(std::string("general.alignment must be u32, not ") + gguf_type_name(a->type()));
  const uint64_t al = a->as_uint();
  if (al == 0 || (al & (al - 1)) != 0)
    throw Error("general.alignment " + std::to_string(al) + " is not a non-zero power of two");
  return uint32_t(al);
}

// Removes the temp file unless released: an error or exception never leaves a partial file.
class TempFile {
 public:
  explicit TempFile(const std::string& final_path) : path_(final_path + ".tmp." + std::to_string(::getpid())) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) throw Error(final_path + ": cannot create temp file " + path_ + ": " + std::strerror(errno));
  }
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }

  // Makes the bytes durable, closes, and renames over `final_path`.
  void commit(const std::string& final_path) {
    if (::fsync(fd_) != 0) throw Error(path_ + ": fsync failed: " + std::strerror(errno));
    const int fd = std::exchange(fd_, -1);
    if (::close(fd) != 0) throw Error(path_ + ": close failed: " + std::strerror(errno));
    if (::rename(path_.c_str(), final_path.c_str()) != 0)
      throw Error(final_path + ": cannot rename " + path_ + " into place: " + std::strerror(errno));
    committed_ = true;
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool committed_ = false;
};

}  // namespace

void GgufWriter::set(const std::string& key, GgufValue value) {
  for (auto& [k, v] : kv_)
    if (k == key) {
      v = std::move(value);
      return;
    }
  kv_.emplace_back(key, std::move(value));
}

void GgufWriter::remove(const std::string& key) {
  std::erase_if(kv_, [&](const auto& kv) { return kv.first == key; });
}

const GgufValue* GgufWriter::find(std::string_view key) const {
  for (const auto& [k, v] : kv_)
    if (k == key) return &v;
  return nullptr;
}

void GgufWriter::copy_metadata(const GgufFile& src) {
  for (const auto& [k, v] : src.metadata()) set(k, v);
}

void GgufWriter::add_tensor(const std::string& name, QType type, const std::vector<int64_t>& ne, const void* data) {
  if (!data) throw Error("tensor '" + name + "': null data pointer");
  add_tensor(name, type, ne, Producer{});
  tensors_.back().data = data;
}

void GgufWriter::add_tensor(const std::string& name, QType type, const std::vector<int64_t>& ne, Producer produce) {
  const std::string field = "tensor '" + name + "'";
  if (name.size() > kMaxTensorName)
    throw Error(field + ": name length " + std::to_string(name.size()) + " > " + std::to_string(kMaxTensorName));
  for (const Tensor& t : tensors_)
    if (t.name == name) throw Error(field + ": duplicate tensor name");
  if (ne.empty() || ne.size() > 4) throw Error(field + ": n_dims " + std::to_string(ne.size()) + " not in 1..4");
  int64_t n = 1;
  for (size_t d = 0; d < ne.size(); ++d) {
    if (ne[d] <= 0) throw Error(field + ": ne[" + std::to_string(d) + "] = " + std::to_string(ne[d]) + " is not positive");
    if (__builtin_mul_overflow(n, ne[d], &n)) throw Error(field + ": element count overflows int64");
  }
  uint64_t nbytes = 0;
  try {
    nbytes = row_size(type, ne[0]);  // throws when ne[0] is not a whole number of blocks
  } catch (const Error& e) {
    throw Error(field + ": " + e.what());
  }
  for (size_t d = 1; d < ne.size(); ++d)
    if (__builtin_mul_overflow(nbytes, uint64_t(ne[d]), &nbytes)) throw Error(field + ": byte size overflows");
  if (nbytes > uint64_t(std::numeric_limits<size_t>::max() / 2)) throw Error(field + ": byte size too large");
  tensors_.push_back(Tensor{name, type, ne, nbytes, nullptr, std::move(produce)});
}

void GgufWriter::write(const std::string& path) const {
  const uint32_t align = alignment_of(find("general.alignment"));
  TempFile tmp(path);
  FdWriter w(tmp.fd(), tmp.path());

  w.pod<uint32_t>(kGgufMagic);
  w.pod<uint32_t>(kGgufVersion);
  w.pod<uint64_t>(tensors_.size());
  w.pod<uint64_t>(kv_.size());
  for (const auto& [k, v] : kv_) {
    w.string(k);
    w.pod<uint32_t>(uint32_t(v.type()));
    write_value(w, v);
  }
  uint64_t offset = 0;  // cumulative aligned layout, the only one ggml accepts
  for (const Tensor& t : tensors_) {
    w.string(t.name);
    w.pod<uint32_t>(uint32_t(t.ne.size()));
    for (int64_t d : t.ne) w.pod<uint64_t>(uint64_t(d));
    w.pod<uint32_t>(uint32_t(t.type));
    w.pod<uint64_t>(offset);
    offset += t.nbytes + padding(t.nbytes, align);
  }
  w.zeros(padding(w.written(), align));

  // One producer buffer, sized for the largest produced tensor, reused for each.
  size_t max_produced = 0;
  for (const Tensor& t : tensors_)
    if (!t.data && t.nbytes > max_produced) max_produced = size_t(t.nbytes);
  std::unique_ptr<uint8_t[]> buf(max_produced ? new uint8_t[max_produced] : nullptr);
  for (const Tensor& t : tensors_) {
    const void* src = t.data;
    if (!src) {
      if (!t.produce) throw Error(tmp.path() + ": tensor '" + t.name + "' has neither data nor a producer");
      t.produce(buf.get(), size_t(t.nbytes));
      src = buf.get();
    }
    w.bytes(src, size_t(t.nbytes));
    w.zeros(padding(t.nbytes, align));
  }
  w.flush();
  tmp.commit(path);
}

}  // namespace kq
