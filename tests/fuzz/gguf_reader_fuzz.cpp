// libFuzzer entry for the GGUF reader: any input must parse or throw kq::Error, nothing else.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "common/error.h"
#include "formats/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const kq::GgufFile f = kq::GgufFile::from_memory(data, size, "fuzz.gguf");
    size_t sink = f.alignment() + f.data_offset();
    // Touch everything a consumer would: every value rendered, every tensor byte range read.
    for (const auto& [key, value] : f.metadata()) {
      sink += key.size() + value.to_display().size() + value.to_display(0).size() + value.size();
      if (value.is_integer()) {
        try {
          sink += size_t(value.as_int());
        } catch (const kq::Error&) {  // u64 above INT64_MAX
        }
      }
    }
    for (const auto& t : f.tensors()) {
      sink += size_t(t.n_elements()) + size_t(t.n_rows()) + t.name.size();
      if (t.nbytes) sink += size_t(t.data[0]) + size_t(t.data[t.nbytes - 1]);
      if (f.find_tensor(t.name) != &t) __builtin_trap();  // names are unique
    }
    // Keep the compiler from discarding the reads above.
    volatile size_t keep = sink;
    (void)keep;
  } catch (const kq::Error&) {
  }
  return 0;
}
