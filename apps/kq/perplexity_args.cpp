// The flags `kq ppl` and `kq imatrix` share.
#include "apps/kq/perplexity_args.h"

#include "apps/kq/args.h"

namespace kq::app {

bool parse_perplexity_flag(const std::vector<std::string>& args, size_t& i, PerplexityArgs& o) {
  const std::string& a = args[i];
  if (a == "-m" || a == "--model") {
    o.model = flag_value(args, i);
  } else if (a == "-f" || a == "--file") {
    o.text_file = flag_value(args, i);
  } else if (a == "-c" || a == "--ctx-size") {
    o.ppl.n_ctx = parse_int(a, flag_value(args, i));
    if (o.ppl.n_ctx < 4) throw UsageError("option " + a + " needs at least 4 tokens");
  } else if (a == "-b" || a == "--batch-size") {
    o.ppl.n_batch = parse_int(a, flag_value(args, i));
    if (o.ppl.n_batch < 1) throw UsageError("option " + a + " needs a size >= 1");
  } else if (a == "-t" || a == "--threads") {
    o.ppl.n_threads = parse_int(a, flag_value(args, i));
  } else if (a == "--chunks") {
    o.ppl.n_chunks = parse_int(a, flag_value(args, i));
    if (o.ppl.n_chunks < 1) throw UsageError("option " + a + " needs a count >= 1");
  } else {
    return false;
  }
  return true;
}

}  // namespace kq::app
