// Where kq looks for its default chat model (SmolLM2-135M-Instruct), shared by `kq chat` and the tests.
#pragma once

#include <cstdlib>
#include <string>

namespace kq::app {

constexpr const char* kDefaultModelFile = "SmolLM2-135M-Instruct.Q4_1.gguf";

// Returns ${KQ_MODEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kq/models}, the folder `scripts/setup --model`
// fills.
inline std::string default_model_dir() {
  const auto env = [](const char* name) -> std::string {
    const char* v = std::getenv(name);
    return v && *v ? std::string(v) : std::string();
  };
  if (std::string dir = env("KQ_MODEL_DIR"); !dir.empty()) return dir;
  std::string cache = env("XDG_CACHE_HOME");
  if (cache.empty()) cache = env("HOME") + "/.cache";
  return cache + "/kq/models";
}

inline std::string default_model_path() {
  return default_model_dir() + "/" + kDefaultModelFile;
}

}  // namespace kq::app
