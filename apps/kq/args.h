// Command-line plumbing shared by every kq subcommand: flag values, numbers, exit-code rules.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace kq::app {

// Misuse of the command line (unknown flag, missing value, bad number): exit code 2 plus usage.
class UsageError : public Error {
 public:
  using Error::Error;
};

// Returns the value after args[i] (advancing i), or throws UsageError naming the flag.
const std::string& flag_value(const std::vector<std::string>& args, size_t& i);
// Parses a whole decimal integer / number given to `flag`; throws UsageError otherwise.
int parse_int(const std::string& flag, const std::string& value);
double parse_number(const std::string& flag, const std::string& value);
// Parses sizes like 512M, 4G, 1.5GiB, 1000000 (bytes); throws UsageError otherwise.
uint64_t parse_size(const std::string& flag, const std::string& value);

// Whether args (after the command name) ask for -h / --help.
bool wants_help(const std::vector<std::string>& args);

// Runs a command body with kq's conventions: --help prints usage (exit 0); UsageError prints
// "kq NAME: message" and the usage on stderr (exit 2); any other error prints one line
// "kq NAME: message" (exit 1). Never lets an exception escape.
int run_command(std::string_view name, const char* usage, const std::vector<std::string>& args,
                const std::function<int()>& body);

}  // namespace kq::app
