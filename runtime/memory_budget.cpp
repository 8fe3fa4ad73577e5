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

MemoryBudget memory_budget(const FileReader& read) {
  MemoryBudget b;
  const std::optional<std::string> meminfo = read("/proc/meminfo");
  const std::optional<uint64_t> avail = meminfo ? parse_meminfo_available(*meminfo) : std::nullopt;
  if (!avail) throw Error("cannot read MemAvailable from /proc/meminfo (give the budget with --ram SIZE)");
  b.mem_available = *avail;
  b.available = *avail;

  // Every cgroup from the process's own up to the root limits it; the tightest free space wins.
  const std::optional<std::string> self = read("/proc/self/cgroup");
  if (const std::optional<std::string> path = self ? parse_cgroup_v2_path(*self) : std::nullopt) {
    std::string p = *path;
    while (true) {
      const std::string dir = "/sys/fs/cgroup" + (p == "/" ? std::string() : p);
      const std::optional<std::string> max_text = read(dir + "/memory.max");
      if (const std::optional<uint64_t> limit = max_text ? parse_cgroup_bytes(*max_text) : std::nullopt) {
        const std::optional<std::string> cur_text = read(dir + "/memory.current");
        const uint64_t used = cur_text ? parse_cgroup_bytes(*cur_text).value_or(0) : 0;
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
