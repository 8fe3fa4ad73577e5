// What the CPU can do (cpuid on x86, hwcaps on Arm) and the ISA levels kq's kernels target.
#pragma once

#include <string>

namespace kq {

enum class Isa { kScalar, kAvx2, kAvx512, kNeon };

// "scalar", "avx2", "avx512", "neon" (the KQ_ISA spellings).
const char* isa_name(Isa isa);

struct CpuFeatures {
  // x86
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512vnni = false, avx512bf16 = false, avxvnni = false;
  // Arm
  bool neon = false, dotprod = false, fp16 = false, i8mm = false;
  std::string model;  // brand string or "unknown"

  // True when every feature the level's kernels need is present (and the OS saves the registers).
  bool supports(Isa isa) const;
  // The best level supported.
  Isa best() const;
  // Space-separated list of the detected feature names, e.g. "avx2 fma f16c avx512f ...".
  std::string summary() const;
};

// Detected once.
const CpuFeatures& cpu_features();

}  // namespace kq
