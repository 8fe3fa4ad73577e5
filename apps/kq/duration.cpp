// Durations as text for progress lines.
#include "apps/kq/duration.h"

#include <cstdio>

namespace kq::app {

std::string minutes_seconds(double seconds) {
  const long total = seconds > 0 ? long(seconds + 0.5) : 0;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%ld:%02ld", total / 60, total % 60);
  return buf;
}

}  // namespace kq::app
