// The progress bar of `run --until-caught-up`: its rendering, and the real binary with its stderr
// a pseudo-terminal (a bar redrawn in place, ending at 100 % and the exact count) or a file
// (the plain lines only).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "cli/progress_bar.h"
#include "testing/cli_test_base.h"

namespace onceflow::testing {
namespace {

using cli::RenderProgressBar;

TEST(ProgressBarTest, RendersBarPercentCountRateAndEta) {
  EXPECT_EQ(RenderProgressBar(500, 1000, 250, 120),
            "[####################....................]  50 % 500/1000 records, 250 "
            "records/s, ETA 0:02");
  EXPECT_EQ(RenderProgressBar(1000, 1000, 100, 120),
            "[########################################] 100 % 1000/1000 records, 100 "
            "records/s");
  // More than the backlog at start (records appended meanwhile): 100 %, the count as it is.
  EXPECT_EQ(RenderProgressBar(12, 10, -1, 79),
            "[########################################] 100 % 12/12 records");
  EXPECT_EQ(RenderProgressBar(1, 7200 * 10 + 1, 10, 200).substr(0, 12), "[...........");
  EXPECT_NE(RenderProgressBar(1, 7200 * 10 + 1, 10, 200).find("ETA 2:00:00"), std::string::npos);
  // No backlog known, or no room for a bar: the text alone.
  EXPECT_EQ(RenderProgressBar(7, 0, -1, 79), "7 records");
  EXPECT_EQ(RenderProgressBar(5, 10, -1, 30), " 50 % 5/10 records");
}

class CliProgressBarTest : public CliTestBase {
 protected:
  // 1000 records in two partitions, a pipeline that takes them in 20+ batches into SQLite.
  std::string MakePipeline() {
    EXPECT_EQ(RunData({"topics", "create", "events", "-p", "2"}).exit_code, 0);
    std::string input;
    for (int i = 0; i < 1000; ++i) input += "{\"id\":\"e" + std::to_string(i) + "\"}\n";
    EXPECT_EQ(RunData({"produce", "events"}, input).exit_code, 0);
    const std::string toml = tmp_ + "/events.toml";
    WriteWholeFile(toml, R"toml(name = "events"
batch_interval_ms = 1
max_records_per_partition = 25
[source]
type = "log"
topic = "events"
starting_offsets = "earliest"
format = "json"
[sink]
type = "sqlite"
path = "events.db"
init = ["CREATE TABLE IF NOT EXISTS events(id TEXT)"]
mode = "statements"
statements = ["INSERT INTO events(id) VALUES(:id)"]
)toml");
    return toml;
  }

  // Runs `onceflow args...` with its stderr a pseudo-terminal 100 columns wide (stdin and stdout
  // /dev/null); returns the exit code and puts what it wrote to the terminal in *err.
  int RunInPty(const std::vector<std::string>& args, std::string* err) {
    int master = -1, slave = -1;
    winsize ws{};
    ws.ws_row = 24;
    ws.ws_col = 100;
    if (::openpty(&master, &slave, nullptr, nullptr, &ws) != 0) {
      ADD_FAILURE() << "openpty failed";
      return -1;
    }
    // Raw: the bytes as written (no "\n" to "\r\n" on the way).
    termios raw{};
    ::tcgetattr(slave, &raw);
    ::cfmakeraw(&raw);
    ::tcsetattr(slave, TCSANOW, &raw);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(OnceflowBinary()));
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
      const int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, 0);
      ::dup2(null, 1);
      ::dup2(slave, 2);
      ::close(master);
      ::setenv("TERM", "xterm", 1);
      ::unsetenv("ONCEFLOW_NO_PROGRESS");
      ::unsetenv("ONCEFLOW_DATA");
      ::execv(OnceflowBinary(), argv.data());
      ::_exit(127);
    }
    ::close(slave);
    // Read until the child's side is closed (EIO once no process holds the terminal).
    const auto deadline = std::chrono::steady_clock::now() + kHangGuard;
    char buf[4096];
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{master, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const ssize_t n = ::read(master, buf, sizeof(buf));
      if (n <= 0) break;
      err->append(buf, static_cast<size_t>(n));
    }
    ::close(master);
    int status = 0;
    if (std::chrono::steady_clock::now() >= deadline) {
      ADD_FAILURE() << "the run did not end within the hang guard";
      ::kill(pid, SIGKILL);
    }
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
};

// The last state of the bar: the text after the last carriage return, up to the line's end.
std::string FinalBar(const std::string& out) {
  const size_t cr = out.rfind('\r', out.find("caught up:"));
  if (cr == std::string::npos) return "";
  return out.substr(cr + 1, out.find('\n', cr) - cr - 1);
}

TEST_F(CliProgressBarTest, TerminalGetsABarThatEndsAtTheWholeBacklog) {
  const std::string toml = MakePipeline();
  std::string err;
  ASSERT_EQ(RunInPty({"run", toml, "--until-caught-up", "--data", data_}, &err), 0) << err;
  const std::string bar = FinalBar(err);
  // The final state: the whole backlog of 1000 records (no header records in JSON input).
  EXPECT_NE(bar.find("[########################################] 100 % 1000/1000 records"),
            std::string::npos)
      << bar;
  EXPECT_NE(bar.find("records/s"), std::string::npos) << bar;
  EXPECT_NE(err.find("caught up: "), std::string::npos) << err;
  EXPECT_EQ(err.find("records/s); last batch"), std::string::npos) << "a plain line: " << err;
}

// `demo`: transfers committed of all of them, across its kills and restarts.
TEST_F(CliProgressBarTest, DemoOnATerminalEndsAtAllTransfers) {
  std::string err;
  ASSERT_EQ(RunInPty({"demo", "-n", "3000", "--kills", "1", "--seed", "7", "--data", data_}, &err),
            0)
      << err;
  const size_t end = err.rfind("100 % 3000/3000 records");
  ASSERT_NE(end, std::string::npos) << err;
  EXPECT_EQ(err.substr(err.rfind('\r', end) + 1, 2), "[#") << err;
  EXPECT_TRUE(err.ends_with("\n")) << err;  // the final state ends its line
}

TEST_F(CliProgressBarTest, TerminalWithNoProgressGetsPlainLines) {
  const std::string toml = MakePipeline();
  std::string err;
  ASSERT_EQ(RunInPty({"run", toml, "--until-caught-up", "--data", data_, "--no-progress",
                      "--progress-interval", "0.001"},
                     &err),
            0)
      << err;
  EXPECT_EQ(err.find('\r'), std::string::npos) << err;
  EXPECT_NE(err.find("records/s); last batch"), std::string::npos) << err;
  EXPECT_NE(err.find("caught up: "), std::string::npos) << err;
}

TEST_F(CliProgressBarTest, PipeGetsPlainLines) {
  const std::string toml = MakePipeline();
  RunResult r =
      RunData({"run", toml, "--until-caught-up", "--progress-interval", "0.001"});  // a file
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find('\r'), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('%'), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("records/s); last batch"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("caught up: "), std::string::npos) << r.err;
}

}  // namespace
}  // namespace onceflow::testing
