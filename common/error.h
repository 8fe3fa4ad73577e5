// kq::Error: the one exception type; its message is meant for people (file, field, offset).
#pragma once

#include <stdexcept>
#include <string>

namespace kq {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace kq
