// `kq info --cpu`: the detected CPU features, the ISA levels available and the kernel chosen per type.
#pragma once

namespace kq::app {

// Prints the report (a table, or one JSON object) to stdout.
void print_cpu_report(bool as_json);

}  // namespace kq::app
