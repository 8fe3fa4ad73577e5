// Memory budget: parsers for /proc/meminfo and cgroup v2 files, and the walk up the cgroup tree.
#include "runtime/memory_budget.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include "common/error.h"

namespace kq {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::optional<uint64_t> parse_u64(std::string_view s) {
  uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end == s.data() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// Calls fn(line) for each line of text.
template <class Fn>
void for_lines(std::string_view text, Fn&& fn) {
  while (!text.empty()) {
    const size_t nl = std::min(text.find('\n'), text.size());
    fn(text.substr(0, nl));
    text.remove_prefix(std::min(nl + 1, text.size()));
  }
}

}  // namespace

std::optional<uint64_t> parse_meminfo_available(std::string_view meminfo) {
  std::optional<uint64_t> bytes;
  for_lines(meminfo, [&](std::string_view line) {
    constexpr std::string_view kKey = "MemAvailable:";
    if (line.substr(0, kKey.size()) != kKey) return;
    std::string_view v = trim(line.substr(kKey.size()));
    uint64_t scale = 1;
    if (v.size() > 2 && v.substr(v.size() - 2) == "kB") {
      scale = 1024;
      v = trim(v.substr(0, v.size() - 2));
    }
    if (const auto n = parse_u64(v)) bytes = *n * scale;
  });
  return bytes;
}

std::optional<std::string> parse_cgroup_v2_path(std::string_view self_cgroup) {
  std::optional<std::string> path;
  for_lines(self_cgroup, [&](std::string_view line) {
    if (line.substr(0, 3) == "0::") path = std::string(trim(line.substr(3)));
  });
  return path;
}

std::optional<uint64_t> parse_cgroup_bytes(std::string_view text) {
  return parse_u64(trim(text));  // "max" and anything else non-numeric: no limit known
}

namespace {

// One cgroup hierarchy's files: v2 (unified) or v1's memory controller.
struct CgroupFiles {
  const char* root;      // mount point
  const char* limit;     // the limit, "max" (v2) or a huge number (v1) when there is none
  const char* usage;     // bytes charged, page cache included
  const char* inactive;  // key in memory.stat of the reclaimable file cache
};
constexpr CgroupFiles kCgroupV2 = {"/sys/fs/cgroup", "memory.max", "memory.current", "inactive_file"};
constexpr CgroupFiles kCgroupV1 = {"/sys/fs/cgroup/memory", "memory.limit_in_bytes", "memory.usage_in_bytes",
                                   "total_inactive_file"};

std::optional<uint64_t> stat_value(std::string_view stat, std::string_view key) {
  std::optional<uint64_t> v;
  for_lines(stat, [&](std::string_view line) {
    if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == ' ')
      v = parse_u64(trim(line.substr(key.size() + 1)));
  });
  return v;
}

// Walks from the cgroup at `path` up to the hierarchy's root; keeps the tightest free space (limit
// minus the working set: usage less inactive file cache, which the kernel reclaims first).
void tighten(MemoryBudget& b, const FileReader& read, const CgroupFiles& f, std::string p) {
  while (true) {
    const std::string dir = f.root + (p == "/" ? std::string() : p);
    const std::optional<std::string> max_text = read(dir + "/" + f.limit);
    const std::optional<uint64_t> limit = max_text ? parse_cgroup_bytes(*max_text) : std::nullopt;
    // v1 writes "no limit" as the page counter's maximum, 2^63 rounded down to a page.
    if (limit && *limit < (uint64_t(1) << 62)) {
      const std::optional<std::string> usage_text = read(dir + "/" + f.usage);
      const std::optional<std::string> stat_text = read(dir + "/memory.stat");
      uint64_t used = usage_text ? parse_cgroup_bytes(*usage_text).value_or(0) : 0;
      const uint64_t inactive = stat_text ? stat_value(*stat_text, f.inactive).value_or(0) : 0;
      used = used > inactive ? used - inactive : 0;
      const uint64_t free = *limit > used ? *limit - used : 0;
      if (!b.cgroup_free || free < *b.cgroup_free) {
        b.cgroup_limit = limit;
        b.cgroup_free = free;
        b.cgroup = p;
      }
    }
    if (p.empty() || p == "/") break;
    const size_t slash = p.rfind('/');
    p = slash == 0 || slash == std::string::npos ? "/" : p.substr(0, slash);
  }
}

}  // namespace

std::optional<std::string> parse_cgroup_v1_memory_path(std::string_view self_cgroup) {
  std::optional<std::string> path;
  for_lines(self_cgroup, [&](std::string_view line) {
    // "ID:controller[,controller...]:/path"
    const size_t c1 = line.find(':'), c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) return;
    std::string_view controllers = line.substr(c1 + 1, c2 - c1 - 1);
    while (!controllers.empty()) {
      const size_t comma = std::min(controllers.find(','), controllers.size());
      if (controllers.substr(0, comma) == "memory") path = std::string(trim(line.substr(c2 + 1)));
      controllers.remove_prefix(std::min(comma + 1, controllers.size()));
    }
  });
  return path;
}

MemoryBudget memory_budget(const FileReader& read) {
  MemoryBudget b;
  const std::optional<std::string> meminfo = read("/proc/meminfo");
  const std::optional<uint64_t> avail = meminfo ? parse_meminfo_available(*meminfo) : std::nullopt;
  if (!avail) throw Error("cannot read MemAvailable from /proc/meminfo (give the budget with --ram SIZE)");
  b.mem_available = *avail;
  b.available = *avail;

  // Every cgroup from the process's own up to the root limits it (v2, and v1's memory controller
  // on hybrid systems); the tightest free space wins when it is below MemAvailable.
  if (const std::optional<std::string> self = read("/proc/self/cgroup")) {
    if (const std::optional<std::string> path = parse_cgroup_v2_path(*self)) tighten(b, read, kCgroupV2, *path);
    if (const std::optional<std::string> path = parse_cgroup_v1_memory_path(*self)) tighten(b, read, kCgroupV1, *path);
  }
  if (b.cgroup_free && *b.cgroup_free < b.available) b.available = *b.cgroup_free;
  b.margin = std::max(kBudgetMarginMinBytes, uint64_t(double(b.available) * kBudgetMarginFraction));
  b.budget = b.available > b.margin ? b.available - b.margin : 0;
  return b;
}

MemoryBudget memory_budget() {
  return memory_budget([](const std::string& path) -> std::optional<std::string> {
    std::ifstream in(path);
    if (!in) return std::nullopt;
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  });
}

}  // namespace kq
