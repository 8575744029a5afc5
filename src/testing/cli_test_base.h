// CliTestBase: the fixture of the end-to-end tests that run the `onceflow` binary — a fresh
// temporary directory per test (the data directory is <tmp>/data) and runs of the binary to
// completion with their output captured.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "testing/process.h"
#include "testing/temp_dir.h"

namespace onceflow::testing {

class CliTestBase : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // A fresh file name in the temporary directory.
  std::string TempPath(std::string_view what);

  // Runs onceflow to completion with `input` on stdin.
  RunResult Run(const std::vector<std::string>& args, std::string_view input = "",
                const std::map<std::string, std::string>& env = {});

  // Runs onceflow with --data pointing at the test's data directory.
  RunResult RunData(std::vector<std::string> args, std::string_view input = "");

  std::string tmp_;
  std::string data_;
  int files_ = 0;

 private:
  std::unique_ptr<TempDir> dir_;
};

}  // namespace onceflow::testing
