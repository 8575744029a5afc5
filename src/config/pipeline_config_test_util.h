// The pipeline file tests' shared parts: the documented ledger example, a minimal valid file
// to build on, and the fixture that parses a text and returns its error message.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "config/pipeline_config.h"

namespace onceflow::config {

// The example of the pipeline file documentation, verbatim.
inline constexpr std::string_view kLedger = R"toml(name = "ledger"
batch_interval_ms = 20
[source]
type = "log"
topic = "transfers"
starting_offsets = "earliest"
format = "json"            # also "csv" (with header) and "raw"
[sink]
type = "sqlite"
path = "bank.db"
init = ["CREATE TABLE IF NOT EXISTS accounts(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)",
        "CREATE TABLE IF NOT EXISTS ledger(id INTEGER, src INTEGER, dst INTEGER, amount INTEGER)"]
mode = "statements"        # also "append" (with table = "...") and "upsert" (with key = [...])
statements = [
  "INSERT INTO accounts(id, balance) VALUES(:from, -:amount) ON CONFLICT(id) DO UPDATE SET balance = balance - :amount",
  "INSERT INTO accounts(id, balance) VALUES(:to, :amount) ON CONFLICT(id) DO UPDATE SET balance = balance + :amount",
  "INSERT INTO ledger(id, src, dst, amount) VALUES(:id, :from, :to, :amount)"]
)toml";

// A minimal valid file; tests append to it or replace parts of it.
inline constexpr std::string_view kHead = R"toml(name = "p"
[source]
topic = "t"
)toml";
inline constexpr std::string_view kAppendSink = R"toml([sink]
path = "/data/out.db"
table = "out"
)toml";

class PipelineConfigTest : public ::testing::Test {
 protected:
  // Parses `text` as the file "ledger.toml" and returns the error message ("" if it parsed).
  static std::string ErrorOf(std::string_view text) {
    Result<PipelineConfig> config = ParsePipelineConfig(text, "ledger.toml");
    if (config.has_value()) return "";
    EXPECT_TRUE(config.error().IsInvalidArgument()) << config.error().ToString();
    return config.error().message();
  }
  static std::string WithSink(std::string_view sink) {
    return std::string(kHead) + "[sink]\npath = \"/data/out.db\"\n" + std::string(sink);
  }
};

}  // namespace onceflow::config
