// Memory budget: what this process may use, from /proc/meminfo and the cgroup (v2 or v1) limits above it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace kq {

// The safety margin left free: 5% of the available memory, and at least 256 MiB, for the page
// cache, the rest of the system and the estimate's own error.
constexpr double kBudgetMarginFraction = 0.05;
constexpr uint64_t kBudgetMarginMinBytes = uint64_t(256) << 20;

struct MemoryBudget {
  uint64_t mem_available = 0;              // MemAvailable of /proc/meminfo
  std::optional<uint64_t> cgroup_limit;    // the tightest memory.max of this cgroup and its ancestors
  std::optional<uint64_t> cgroup_free;     // that limit minus the cgroup's usage less its inactive file cache
  std::string cgroup;                      // the cgroup that sets the limit ("" when none)
  uint64_t available = 0;                  // the lower of mem_available and cgroup_free
  uint64_t margin = 0;
  uint64_t budget = 0;                     // available - margin (0 when the margin eats it all)
};

// Bytes of MemAvailable in a /proc/meminfo text ("MemAvailable:  123456 kB"); nullopt when absent.
std::optional<uint64_t> parse_meminfo_available(std::string_view meminfo);
// The cgroup v2 path of a /proc/self/cgroup text (the "0::/path" line); nullopt on cgroup v1 only.
std::optional<std::string> parse_cgroup_v2_path(std::string_view self_cgroup);
// The memory controller's path of a /proc/self/cgroup text on cgroup v1 ("4:memory:/path").
std::optional<std::string> parse_cgroup_v1_memory_path(std::string_view self_cgroup);
// A memory.max or memory.current value: bytes, or nullopt for "max" (no limit) and malformed text.
std::optional<uint64_t> parse_cgroup_bytes(std::string_view text);

// Reads a file's whole text, or nullopt when it cannot be read (tests pass a fake file system).
using FileReader = std::function<std::optional<std::string>(const std::string& path)>;

// Computes the budget from /proc/meminfo, /proc/self/cgroup and, for the process's cgroup and each
// ancestor, /sys/fs/cgroup/<path>/memory.{max,current,stat} (v2) or /sys/fs/cgroup/memory/<path>/
// memory.{limit_in_bytes,usage_in_bytes,stat} (v1), read through `read`. Throws kq::Error when meminfo has
// no MemAvailable.
MemoryBudget memory_budget(const FileReader& read);
// The same with the real files.
MemoryBudget memory_budget();

}  // namespace kq
