// Runs a program (usually the kq binary) and captures its stdout, stderr and exit status.
#pragma once

#include <string>
#include <vector>

namespace kq::test {

struct CommandResult {
  int exit_code = -1;  // exit status; -1 when the process died from a signal
  int signal = 0;      // the terminating signal, 0 when it exited normally
  std::string out;     // everything written to stdout
  std::string err;     // everything written to stderr

  // Number of lines in `err` (a trailing newline does not start a new line).
  size_t err_lines() const;
};

// Runs argv[0] (a path, not searched in PATH) with argv, stdin from /dev/null, and waits for it.
// Throws std::runtime_error when the process cannot be started.
CommandResult run_command(const std::vector<std::string>& argv);
// Runs the built kq binary with `args` (the command name first, e.g. {"info", path}).
CommandResult run_kq(const std::vector<std::string>& args);

}  // namespace kq::test
