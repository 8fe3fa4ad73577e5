// The flags `kq ppl` and `kq imatrix` share: the model, the text and how it is cut into chunks.
#pragma once

#include <string>
#include <vector>

#include "runtime/perplexity.h"

namespace kq::app {

struct PerplexityArgs {
  std::string model;      // -m
  std::string text_file;  // -f
  PerplexityOptions ppl;  // -c, -b, -t, --chunks
};

// Consumes args[i] (and its value) when it is -m/--model, -f/--file, -c/--ctx-size (at least 4
// tokens), -b/--batch-size (>= 1), -t/--threads or --chunks (>= 1); returns whether it was one.
// Throws UsageError for a missing or out-of-range value.
bool parse_perplexity_flag(const std::vector<std::string>& args, size_t& i, PerplexityArgs& o);

}  // namespace kq::app
