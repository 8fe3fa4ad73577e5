// `kq chat` end to end: a session driven through a pseudo-terminal, piped stdin, and start-up errors.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "apps/kq/default_model.h"
#include "tests/support/run_command.h"
#include "tests/support/testdata.h"

namespace {

using Clock = std::chrono::steady_clock;

// Generous: CI also runs this under ASan+UBSan on 2 shared cores.
constexpr int kTimeoutSeconds = 300;

std::string default_model_or_fail() {
  const std::string path = kq::app::default_model_path();
  if (!std::filesystem::exists(path)) FAIL("default model missing at " << path << ": run scripts/setup --model");
  return path;
}

// A kq process whose stdin, stdout and stderr are the slave side of a pseudo-terminal, as when a
// person runs it in a terminal. Uses posix_openpt (libc), so no -lutil and no real terminal needed.
class PtyProcess {
 public:
  explicit PtyProcess(const std::vector<std::string>& args) {
    master_ = posix_openpt(O_RDWR | O_NOCTTY);
    REQUIRE(master_ >= 0);
    REQUIRE(grantpt(master_) == 0);
    REQUIRE(unlockpt(master_) == 0);
    const std::string slave_name = ptsname(master_);
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_ = fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      // Child: a new session whose controlling terminal is the slave, so Ctrl-C and isatty work.
      setsid();
      const int slave = open(slave_name.c_str(), O_RDWR);
      if (slave < 0) _exit(127);
      dup2(slave, 0), dup2(slave, 1), dup2(slave, 2);
      if (slave > 2) close(slave);
      close(master_);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  ~PtyProcess() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (master_ >= 0) close(master_);
  }

  void send(const std::string& text) { REQUIRE(write(master_, text.data(), text.size()) == ssize_t(text.size())); }

  // Reads until `needle` appears in the output after position `from`; returns its position or npos on timeout/EOF.
  size_t read_until(const std::string& needle, size_t from) {
    const auto deadline = Clock::now() + std::chrono::seconds(kTimeoutSeconds);
    for (;;) {
      const size_t at = out_.find(needle, from);
      if (at != std::string::npos) return at;
      if (Clock::now() > deadline || !read_some(deadline)) return std::string::npos;
    }
  }

  // Waits for the process to end, draining its output; returns the exit status or -1 on timeout.
  int wait_exit() {
    const auto deadline = Clock::now() + std::chrono::seconds(kTimeoutSeconds);
    while (Clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        while (read_some(Clock::now() + std::chrono::milliseconds(200))) {
        }
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      read_some(Clock::now() + std::chrono::milliseconds(100));
    }
    return -1;
  }

  const std::string& output() const { return out_; }

 private:
  // Appends what is readable before the deadline; false on EOF, error or timeout.
  bool read_some(Clock::time_point deadline) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    pollfd p{master_, POLLIN, 0};
    if (poll(&p, 1, int(std::max<long long>(0, ms))) <= 0) return false;
    char buf[4096];
    const ssize_t n = read(master_, buf, sizeof buf);
    if (n <= 0) return false;  // EIO once the child closed the slave
    out_.append(buf, size_t(n));
    return true;
  }

  int master_ = -1;
  pid_t pid_ = -1;
  bool exited_ = false;
  std::string out_;
};

}  // namespace

TEST_CASE("kq chat in a terminal: question, streamed answer, /exit", "[cli]") {
  default_model_or_fail();
  // No -m: the default model, found the way the tests found it.
  PtyProcess chat({kq::test::kq_binary(), "chat", "-t", "1", "--temp", "0", "-n", "12", "-c", "256"});
  const size_t prompt1 = chat.read_until("> ", 0);
  INFO("output so far:\n" << chat.output());
  REQUIRE(prompt1 != std::string::npos);

  const std::string question = "What is the capital of France?";
  chat.send(question + "\n");
  // The terminal echoes the line; the answer follows it and ends at the next prompt.
  const size_t echo = chat.read_until(question, prompt1);
  REQUIRE(echo != std::string::npos);
  const size_t echo_end = chat.read_until("\n", echo);
  REQUIRE(echo_end != std::string::npos);
  const size_t answer_from = echo_end + 1;
  const size_t prompt2 = chat.read_until("> ", answer_from);
  INFO("output so far:\n" << chat.output());
  REQUIRE(prompt2 != std::string::npos);
  std::string answer = chat.output().substr(answer_from, prompt2 - answer_from);
  while (!answer.empty() && (answer.back() == '\n' || answer.back() == '\r' || answer.back() == ' ')) answer.pop_back();
  INFO("answer: '" << answer << "'");
  CHECK_FALSE(answer.empty());
  std::printf("kq chat answered: %s\n", answer.c_str());

  chat.send("/exit\n");
  CHECK(chat.wait_exit() == 0);
}

TEST_CASE("kq chat in a terminal: Ctrl-D at the prompt quits cleanly", "[cli]") {
  default_model_or_fail();
  PtyProcess chat({kq::test::kq_binary(), "chat", "-t", "1", "-c", "64", "--quiet"});
  REQUIRE(chat.read_until("> ", 0) != std::string::npos);
  chat.send("\x04");  // VEOF: read() returns 0
  CHECK(chat.wait_exit() == 0);
}

TEST_CASE("kq chat in a terminal: Ctrl-C at the prompt quits cleanly", "[cli]") {
  default_model_or_fail();
  PtyProcess chat({kq::test::kq_binary(), "chat", "-t", "1", "-c", "64", "--quiet"});
  REQUIRE(chat.read_until("> ", 0) != std::string::npos);
  chat.send("\x03");  // the terminal turns it into SIGINT, which may land before the read blocks
  CHECK(chat.wait_exit() == 0);
}

TEST_CASE("kq chat in a terminal: Ctrl-C stops a reply and returns to the prompt", "[cli]") {
  default_model_or_fail();
  PtyProcess chat({kq::test::kq_binary(), "chat", "-t", "1", "--temp", "0", "-c", "512", "--quiet"});
  const size_t prompt1 = chat.read_until("> ", 0);
  REQUIRE(prompt1 != std::string::npos);
  const std::string question = "Write a long story about a dragon.";
  chat.send(question + "\n");
  const size_t echo_end = chat.read_until("\n", chat.read_until(question, prompt1));
  REQUIRE(echo_end != std::string::npos);
  // Wait for the reply to start streaming, then interrupt it (the terminal turns ^C into SIGINT).
  REQUIRE(chat.read_until(" ", echo_end + 1) != std::string::npos);
  chat.send("\x03");
  const size_t stopped = chat.read_until("reply stopped", echo_end);
  INFO("output so far:\n" << chat.output());
  REQUIRE(stopped != std::string::npos);
  REQUIRE(chat.read_until("> ", stopped) != std::string::npos);
  chat.send("/exit\n");
  CHECK(chat.wait_exit() == 0);
}

TEST_CASE("kq chat with piped stdin: no prompts, and a later turn reuses the cache exactly", "[cli]") {
  const std::string model = default_model_or_fail();
  // -b 1 makes every token go through the same single-token path, so reusing the cache across
  // turns must give bit-identical logits to evaluating the whole conversation at once.
  const std::string flags = " -t 1 --temp 0 -n 8 -c 256 -b 1 --cache-type f32 --quiet --system 'Be brief.'";
  const kq::test::CommandResult chat =
      kq::test::run_command({"/bin/sh", "-c",
                             "printf 'What is the capital of France?\\nAnd of Germany?\\n/exit\\n' | '" +
                                 kq::test::kq_binary() + "' chat" + flags});
  INFO("stdout: " << chat.out << "\nstderr: " << chat.err);
  REQUIRE(chat.exit_code == 0);
  CHECK(chat.out.find("> ") == std::string::npos);
  const size_t nl = chat.out.find('\n');
  REQUIRE(nl != std::string::npos);
  const std::string first = chat.out.substr(0, nl);
  const std::string second = chat.out.substr(nl + 1, chat.out.size() - nl - 2);
  CHECK_FALSE(first.empty());
  CHECK_FALSE(second.empty());

  const std::string conversation =
      "<|im_start|>system\nBe brief.<|im_end|>\n"
      "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n" +
      first + "<|im_end|>\n<|im_start|>user\nAnd of Germany?<|im_end|>\n<|im_start|>assistant\n";
  std::vector<std::string> run = {kq::test::kq_binary(), "run", "-m", model, "-p", conversation};
  for (const char* f : {"-t", "1", "--temp", "0", "-n", "8", "-c", "256", "-b", "1", "--cache-type", "f32", "--quiet"})
    run.emplace_back(f);
  const kq::test::CommandResult whole = kq::test::run_command(run);
  REQUIRE(whole.exit_code == 0);
  CHECK(whole.out == second);
}

TEST_CASE("kq chat: a model without a template or ChatML tokens is a one-line error", "[cli]") {
  const kq::test::CommandResult r =
      kq::test::run_kq({"chat", "-m", kq::test::testdata_file("stories260K.gguf"), "-t", "1", "--quiet"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("<|im_start|>, <|im_end|>") != std::string::npos);
  const kq::test::CommandResult missing =
      kq::test::run_command({"/usr/bin/env", "KQ_MODEL_DIR=/nonexistent", kq::test::kq_binary(), "chat"});
  CHECK(missing.exit_code == 1);
  CHECK(missing.err.find("scripts/setup --model") != std::string::npos);
}

TEST_CASE("kq chat --fit --quiet prints no start-up line, --fit alone says the context", "[cli]") {
  const std::string model = default_model_or_fail();
  // stdin is /dev/null: chat starts, finds the end of its input at the first prompt and exits.
  const kq::test::CommandResult quiet = kq::test::run_kq({"chat", "-m", model, "-t", "1", "--fit", "--quiet"});
  INFO(quiet.err);
  CHECK(quiet.exit_code == 0);
  CHECK(quiet.err.empty());
  const kq::test::CommandResult loud = kq::test::run_kq({"chat", "-m", model, "-t", "1", "--fit"});
  INFO(loud.err);
  CHECK(loud.exit_code == 0);
  CHECK(loud.err.find("kq chat: --fit: context ") == 0);
}
