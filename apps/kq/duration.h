// Durations as text for the progress lines of the long-running commands (kq quantize, kq imatrix).
#pragma once

#include <string>

namespace kq::app {

// Seconds as "M:SS", rounded to the nearest second; negative or NaN gives "0:00".
std::string minutes_seconds(double seconds);

}  // namespace kq::app
