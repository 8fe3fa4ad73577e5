// Tests for runtime/memory_budget: meminfo and cgroup v2 parsing, and the budget from a fake file system.
#include "runtime/memory_budget.h"

#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "common/error.h"

namespace {

kq::FileReader fake(std::map<std::string, std::string> files) {
  return [files = std::move(files)](const std::string& path) -> std::optional<std::string> {
    const auto it = files.find(path);
    if (it == files.end()) return std::nullopt;
    return it->second;
  };
}

const char* kMeminfo =
    "MemTotal:       16318464 kB\n"
    "MemFree:         1203712 kB\n"
    "MemAvailable:    8388608 kB\n"
    "Buffers:          123456 kB\n";

}  // namespace

TEST_CASE("memory budget: parsers", "[runtime]") {
  CHECK(kq::parse_meminfo_available(kMeminfo) == uint64_t(8) << 30);
  CHECK_FALSE(kq::parse_meminfo_available("MemTotal: 100 kB\n").has_value());
  CHECK_FALSE(kq::parse_meminfo_available("MemAvailable: lots kB\n").has_value());
  CHECK(kq::parse_cgroup_v2_path("12:memory:/x\n0::/user.slice/session-3.scope\n") == "/user.slice/session-3.scope");
  CHECK_FALSE(kq::parse_cgroup_v2_path("4:memory:/docker/abc\n").has_value());
  CHECK(kq::parse_cgroup_v1_memory_path("5:cpu,cpuacct:/\n4:memory:/docker/abc\n0::/\n") == "/docker/abc");
  CHECK(kq::parse_cgroup_v1_memory_path("7:blkio,memory:/m\n") == "/m");
  CHECK_FALSE(kq::parse_cgroup_v1_memory_path("0::/\n8:memory_x:/n\n").has_value());
  CHECK(kq::parse_cgroup_bytes("4294967296\n") == uint64_t(4) << 30);
  CHECK_FALSE(kq::parse_cgroup_bytes("max\n").has_value());
  CHECK_FALSE(kq::parse_cgroup_bytes("").has_value());
}

TEST_CASE("memory budget: MemAvailable minus the margin without a cgroup limit", "[runtime]") {
  const kq::MemoryBudget b = kq::memory_budget(fake({{"/proc/meminfo", kMeminfo}, {"/proc/self/cgroup", "0::/\n"}}));
  CHECK(b.available == uint64_t(8) << 30);
  CHECK_FALSE(b.cgroup_limit.has_value());
  CHECK(b.margin == uint64_t(double(uint64_t(8) << 30) * 0.05));
  CHECK(b.budget == b.available - b.margin);
}

TEST_CASE("memory budget: the tightest cgroup on the path wins when lower", "[runtime]") {
  const uint64_t g = uint64_t(1) << 30;
  const kq::MemoryBudget b = kq::memory_budget(fake({
      {"/proc/meminfo", kMeminfo},
      {"/proc/self/cgroup", "0::/a/b\n"},
      {"/sys/fs/cgroup/a/b/memory.max", "max\n"},
      {"/sys/fs/cgroup/a/memory.max", std::to_string(4 * g) + "\n"},
      {"/sys/fs/cgroup/a/memory.current", std::to_string(g) + "\n"},
      {"/sys/fs/cgroup/memory.max", std::to_string(6 * g) + "\n"},
  }));
  CHECK(b.cgroup_limit == 4 * g);
  CHECK(b.cgroup_free == 3 * g);
  CHECK(b.cgroup == "/a");
  CHECK(b.available == 3 * g);
  CHECK(b.margin == kq::kBudgetMarginMinBytes);  // 5% of 3 GiB is below the 256 MiB minimum
  CHECK(b.budget == 3 * g - b.margin);

  // A limit above MemAvailable changes nothing.
  const kq::MemoryBudget loose = kq::memory_budget(fake({{"/proc/meminfo", kMeminfo},
                                                        {"/proc/self/cgroup", "0::/c\n"},
                                                        {"/sys/fs/cgroup/c/memory.max", std::to_string(64 * g)}}));
  CHECK(loose.available == 8 * g);
}

TEST_CASE("memory budget: a small machine keeps at least the minimum margin", "[runtime]") {
  const kq::MemoryBudget b =
      kq::memory_budget(fake({{"/proc/meminfo", "MemAvailable: 204800 kB\n"}}));  // 200 MiB
  CHECK(b.margin == kq::kBudgetMarginMinBytes);
  CHECK(b.budget == 0);
  CHECK_THROWS_AS(kq::memory_budget(fake({})), kq::Error);
}

TEST_CASE("memory budget: inactive file cache is not counted as used and cgroup v1 limits count", "[runtime]") {
  const uint64_t g = uint64_t(1) << 30;
  // v2: 2 GiB limit, 1.5 GiB charged of which 1 GiB is inactive page cache: 1.5 GiB free.
  const kq::MemoryBudget v2 = kq::memory_budget(fake({
      {"/proc/meminfo", kMeminfo},
      {"/proc/self/cgroup", "0::/k\n"},
      {"/sys/fs/cgroup/k/memory.max", std::to_string(2 * g)},
      {"/sys/fs/cgroup/k/memory.current", std::to_string(3 * g / 2)},
      {"/sys/fs/cgroup/k/memory.stat", "anon 1000\nactive_file 5\ninactive_file " + std::to_string(g) + "\n"},
  }));
  CHECK(v2.cgroup_free == 3 * g / 2);
  CHECK(v2.available == 3 * g / 2);
  // v1 (hybrid): the memory controller's limit and usage, total_inactive_file from memory.stat.
  const kq::MemoryBudget v1 = kq::memory_budget(fake({
      {"/proc/meminfo", kMeminfo},
      {"/proc/self/cgroup", "4:memory:/docker/abc\n0::/\n"},
      {"/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes", std::to_string(g)},
      {"/sys/fs/cgroup/memory/docker/abc/memory.usage_in_bytes", std::to_string(g / 2)},
      {"/sys/fs/cgroup/memory/docker/abc/memory.stat", "inactive_file 7\ntotal_inactive_file " + std::to_string(g / 4)},
      {"/sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712"},
  }));
  CHECK(v1.cgroup == "/docker/abc");
  CHECK(v1.cgroup_limit == g);
  CHECK(v1.available == g - g / 4);
  // v1's "no limit" (the root's 2^63 - 4096 above) is no limit.
  const kq::MemoryBudget none = kq::memory_budget(fake({{"/proc/meminfo", kMeminfo},
                                                       {"/proc/self/cgroup", "4:memory:/\n"},
                                                       {"/sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712"}}));
  CHECK_FALSE(none.cgroup_limit.has_value());
}
