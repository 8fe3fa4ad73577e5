// The kq subcommands; each takes its argv (args[0] is the command name) and returns an exit code.
#pragma once

#include <string>
#include <vector>

namespace kq::app {

int cmd_info(const std::vector<std::string>& args);
int cmd_quantize(const std::vector<std::string>& args);
int cmd_imatrix(const std::vector<std::string>& args);
int cmd_tokenize(const std::vector<std::string>& args);
int cmd_run(const std::vector<std::string>& args);
int cmd_ppl(const std::vector<std::string>& args);
int cmd_chat(const std::vector<std::string>& args);
int cmd_bench(const std::vector<std::string>& args);
int cmd_fit(const std::vector<std::string>& args);

}  // namespace kq::app
