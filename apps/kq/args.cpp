// Command-line plumbing shared by every kq subcommand.
#include "apps/kq/args.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <exception>
#include <new>

namespace kq::app {

const std::string& flag_value(const std::vector<std::string>& args, size_t& i) {
  if (i + 1 >= args.size()) throw UsageError("option " + args[i] + " needs a value");
  return args[++i];
}

int parse_int(const std::string& flag, const std::string& value) {
  int v = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || end != value.data() + value.size())
    throw UsageError("option " + flag + " needs an integer, got '" + value + "'");
  return v;
}

double parse_number(const std::string& flag, const std::string& value) {
  double v = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || end != value.data() + value.size() || !std::isfinite(v))
    throw UsageError("option " + flag + " needs a number, got '" + value + "'");
  return v;
}

uint64_t parse_size(const std::string& flag, const std::string& value) {
  double v = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  std::string unit(end, value.data() + value.size());
  for (char& c : unit) c = char(std::toupper(static_cast<unsigned char>(c)));
  double scale = 0;
  if (unit.empty() || unit == "B") scale = 1;
  else if (unit == "K" || unit == "KB" || unit == "KIB") scale = 1024.0;
  else if (unit == "M" || unit == "MB" || unit == "MIB") scale = 1024.0 * 1024;
  else if (unit == "G" || unit == "GB" || unit == "GIB") scale = 1024.0 * 1024 * 1024;
  else if (unit == "T" || unit == "TB" || unit == "TIB") scale = 1024.0 * 1024 * 1024 * 1024;
  if (ec != std::errc() || scale == 0 || !(v >= 0) || v * scale > 1.8e19)
    throw UsageError("option " + flag + " needs a size like 512M or 4G, got '" + value + "'");
  return uint64_t(v * scale);
}

bool wants_help(const std::vector<std::string>& args) {
  for (size_t i = 1; i < args.size(); ++i)
    if (args[i] == "-h" || args[i] == "--help") return true;
  return false;
}

int run_command(std::string_view name, const char* usage, const std::vector<std::string>& args,
                const std::function<int()>& body) {
  const std::string prefix = "kq " + std::string(name) + ": ";
  try {
    if (wants_help(args)) {
      std::fputs(usage, stdout);
      return 0;
    }
    return body();
  } catch (const UsageError& e) {
    std::fprintf(stderr, "%s%s\n%s", prefix.c_str(), e.what(), usage);
    return 2;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "%sout of memory\n", prefix.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s%s\n", prefix.c_str(), e.what());
  } catch (...) {
    std::fprintf(stderr, "%sunexpected error\n", prefix.c_str());
  }
  return 1;
}

}  // namespace kq::app
