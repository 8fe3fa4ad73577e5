// SHA-256 (FIPS 180-4), used to compare tensor data against conformance hashes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace kq {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  std::array<uint8_t, 32> digest();  // finishes the hash; call once
  std::string hex_digest();          // lowercase hex of digest()

 private:
  void compress(const uint8_t* block);
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t buf_len_ = 0;
  uint64_t total_ = 0;
};

}  // namespace kq
