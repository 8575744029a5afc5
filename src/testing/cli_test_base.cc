// CliTestBase: a TempDir per test and Process runs to completion.
#include "testing/cli_test_base.h"

namespace onceflow::testing {

void CliTestBase::SetUp() {
  dir_ = std::make_unique<TempDir>("cli-test");
  ASSERT_FALSE(dir_->path().empty());
  tmp_ = dir_->path();
  data_ = tmp_ + "/data";
}

void CliTestBase::TearDown() { dir_.reset(); }

std::string CliTestBase::TempPath(std::string_view what) {
  return tmp_ + "/" + std::string(what) + "." + std::to_string(++files_);
}

RunResult CliTestBase::Run(const std::vector<std::string>& args, std::string_view input,
                           const std::map<std::string, std::string>& env) {
  const std::string in = TempPath("stdin");
  WriteWholeFile(in, input);
  Process p(args, in, TempPath("stdout"), TempPath("stderr"), env);
  RunResult r;
  r.exit_code = p.Wait();
  r.out = p.out();
  r.err = p.err();
  return r;
}

RunResult CliTestBase::RunData(std::vector<std::string> args, std::string_view input) {
  args.push_back("--data");
  args.push_back(data_);
  return Run(args, input);
}

}  // namespace onceflow::testing
