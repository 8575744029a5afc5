// The aggregate transform in the pipeline file: the issue's spend-per-user example as written,
// windows, and one clear error (naming the full key) per kind of mistake.
#include <gtest/gtest.h>

#include "config/pipeline_config.h"

namespace onceflow::config {
namespace {

// The example of the issue and the README, verbatim.
constexpr std::string_view kSpendPerUser = R"toml(name = "spend-per-user"
[source]
type = "log"
topic = "purchases"
format = "json"
[[transform]]
type = "aggregate"
key = ["user"]
aggregates = { purchases = "count", spent = "sum(amount)" }
[sink]
type = "sqlite"
path = "spend.db"
init = ["CREATE TABLE IF NOT EXISTS spend(user TEXT PRIMARY KEY, purchases INTEGER, spent INTEGER)"]
mode = "upsert"
table = "spend"
key = ["user"]
)toml";

constexpr std::string_view kHead = R"toml(name = "p"
[source]
topic = "t"
[[transform]]
type = "aggregate"
)toml";
constexpr std::string_view kSink = R"toml([sink]
path = "/data/out.db"
table = "out"
)toml";

std::string ErrorOf(std::string_view body) {
  std::string text = std::string(kHead) + std::string(body) + std::string(kSink);
  Result<PipelineConfig> config = ParsePipelineConfig(text, "p.toml");
  if (config.has_value()) return "";
  return config.error().message();
}

TEST(AggregateConfigTest, SpendPerUserExampleParses) {
  Result<PipelineConfig> config = ParsePipelineConfig(kSpendPerUser, "/srv/spend.toml");
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  ASSERT_EQ(config->transforms.size(), 1u);
  const AggregateConfig& a = config->transforms[0].aggregate;
  EXPECT_EQ(config->transforms[0].type, TransformConfig::Type::kAggregate);
  EXPECT_EQ(a.key, std::vector<std::string>{"user"});
  ASSERT_EQ(a.aggregates.size(), 2u);
  EXPECT_EQ(a.aggregates[0].name, "purchases");  // file order, not the TOML table's
  EXPECT_EQ(a.aggregates[0].function, AggregateConfig::Function::kCount);
  EXPECT_EQ(a.aggregates[1].name, "spent");
  EXPECT_EQ(a.aggregates[1].function, AggregateConfig::Function::kSum);
  EXPECT_EQ(a.aggregates[1].field, "amount");
  EXPECT_FALSE(a.windowed);
  EXPECT_TRUE(a.combine);
  EXPECT_EQ(config->state_tasks, 4);
  EXPECT_EQ(config->state_cache_mb, 256);
}

TEST(AggregateConfigTest, CombiningAndTheStateCacheAreSettable) {
  std::string text = "state_cache_mb = 0\n" + std::string(kHead) + R"toml(key = ["user"]
aggregates = { n = "count" }
combine = false
)toml" + std::string(kSink);
  Result<PipelineConfig> config = ParsePipelineConfig(text, "p.toml");
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_FALSE(config->transforms[0].aggregate.combine);
  EXPECT_EQ(config->state_cache_mb, 0);
  auto bad = ParsePipelineConfig("state_cache_mb = -1\n" + std::string(kHead) +
                                     "key = [\"user\"]\naggregates = { n = \"count\" }\n" +
                                     std::string(kSink),
                                 "p.toml");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("state_cache_mb"), std::string::npos)
      << bad.error().message();
  auto not_bool = ParsePipelineConfig(std::string(kHead) +
                                          "key = [\"user\"]\naggregates = { n = \"count\" }\n"
                                          "combine = \"yes\"\n" +
                                          std::string(kSink),
                                      "p.toml");
  ASSERT_FALSE(not_bool.has_value());
  EXPECT_NE(not_bool.error().message().find("combine"), std::string::npos)
      << not_bool.error().message();
}

TEST(AggregateConfigTest, WindowsParseWithDurations) {
  std::string text = std::string(kHead) + R"toml(key = ["user", "shop"]
aggregates = { low = "min(price)", high = "max( price )", mean = "avg(price)", n = "count" }
window = { type = "sliding", size = "1m", slide = "10s", time_field = "ts", allowed_lateness = 2500, emit = "final" }
)toml" + std::string(kSink);
  Result<PipelineConfig> config = ParsePipelineConfig(text, "p.toml");
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  const AggregateConfig& a = config->transforms[0].aggregate;
  ASSERT_TRUE(a.windowed);
  EXPECT_EQ(a.window.type, AggregateConfig::Window::Type::kSliding);
  EXPECT_EQ(a.window.size_ms, 60000);
  EXPECT_EQ(a.window.slide_ms, 10000);
  EXPECT_EQ(a.window.time_field, "ts");
  EXPECT_EQ(a.window.allowed_lateness_ms, 2500);
  EXPECT_EQ(a.window.emit, AggregateConfig::Window::Emit::kFinal);
  EXPECT_EQ(a.window.idle_timeout_ms, 30000);  // the default
  EXPECT_FALSE(a.window.emit_open_windows_at_end);
  ASSERT_EQ(a.aggregates.size(), 4u);
  EXPECT_EQ(a.aggregates[1].field, "price");
  EXPECT_EQ(a.aggregates[2].function, AggregateConfig::Function::kAvg);
}

TEST(AggregateConfigTest, IdleTimeoutAndEmittingOpenWindowsAtTheEnd) {
  std::string text = std::string(kHead) + R"toml(key = ["user"]
aggregates = { n = "count" }
window = { type = "tumbling", size = "1m", time_field = "ts", emit = "final", idle_timeout = "5s", emit_open_windows_at_end = true }
)toml" + std::string(kSink);
  Result<PipelineConfig> config = ParsePipelineConfig(text, "p.toml");
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  const AggregateConfig& a = config->transforms[0].aggregate;
  EXPECT_EQ(a.window.idle_timeout_ms, 5000);
  EXPECT_TRUE(a.window.emit_open_windows_at_end);
}

TEST(AggregateConfigTest, MistakesNameTheFullKey) {
  EXPECT_EQ(ErrorOf("aggregates = { n = \"count\" }\n"), "p.toml: transform[0].key: required");
  EXPECT_EQ(ErrorOf("key = [\"u\"]\n"), "p.toml: transform[0].aggregates: required");
  EXPECT_EQ(ErrorOf("key = [\"u\"]\naggregates = { n = \"median(x)\" }\n"),
            "p.toml: transform[0].aggregates.n: cannot parse 'median(x)': unknown function "
            "'median' (expected count, sum, min, max or avg)");
  EXPECT_EQ(ErrorOf("key = [\"u\"]\naggregates = { n = \"sum()\" }\n"),
            "p.toml: transform[0].aggregates.n: cannot parse 'sum()': sum() needs a field");
  EXPECT_EQ(ErrorOf("key = [\"u\"]\naggregates = { u = \"count\" }\n"),
            "p.toml: transform[0].aggregates.u: 'u' is also a key field");
  EXPECT_EQ(ErrorOf("key = [\"u\"]\naggregates = { n = \"count\" }\nwindow = { type = "
                    "\"tumbling\", size = \"10 parsecs\", time_field = \"ts\" }\n"),
            "p.toml: transform[0].window.size: expected a duration such as \"500ms\", \"10s\", "
            "\"5m\", \"1h\" or \"1d\", got '10 parsecs'");
  EXPECT_EQ(ErrorOf("key = [\"u\"]\naggregates = { n = \"count\" }\nwindow = { type = "
                    "\"tumbling\", size = 1000, slide = 10, time_field = \"ts\" }\n"),
            "p.toml: transform[0].window.slide: only for a sliding window (a tumbling window "
            "slides by its size)");
  EXPECT_EQ(ErrorOf("key = [\"u\"]\naggregates = { n = \"count\" }\nwindow = { type = "
                    "\"sliding\", size = 1000, slide = 2000, time_field = \"ts\" }\n"),
            "p.toml: transform[0].window.slide: must not exceed window.size (records between "
            "windows would be counted in none)");
  EXPECT_EQ(ErrorOf("key = [\"u\"]\naggregates = { n = \"count\" }\nwindow = { type = "
                    "\"tumbling\", size = 1000 }\n"),
            "p.toml: transform[0].window.time_field: required");
  EXPECT_EQ(ErrorOf("key = [\"u\"]\naggregates = { n = \"count\" }\nwindow = { type = "
                    "\"tumbling\", size = 1000, time_field = \"ts\", emit = \"sometimes\" }\n"),
            "p.toml: transform[0].window.emit: expected one of update, final, got 'sometimes'");
  EXPECT_EQ(ErrorOf("key = [\"u\"]\naggregates = { n = \"count\" }\nwindow = { type = "
                    "\"tumbling\", size = 1000, time_field = \"ts\", lateness = 5 }\n"),
            "p.toml: transform[0].window.lateness: unknown key (known keys: type, size, slide, "
            "time_field, allowed_lateness, emit, idle_timeout, emit_open_windows_at_end)");
  EXPECT_EQ(ErrorOf("key = [\"u\"]\naggregates = { n = \"count\" }\nwindow = { type = "
                    "\"tumbling\", size = 1000, time_field = \"ts\", "
                    "emit_open_windows_at_end = true }\n"),
            "p.toml: transform[0].window.emit_open_windows_at_end: needs emit = \"final\" (with "
            "\"update\" every window is emitted as it changes)");
  std::string not_last = std::string(kHead) + "key = [\"u\"]\naggregates = { n = \"count\" }\n" +
                         "[[transform]]\ntype = \"select\"\nfields = [\"u\"]\n" +
                         std::string(kSink);
  Result<PipelineConfig> config = ParsePipelineConfig(not_last, "p.toml");
  ASSERT_FALSE(config.has_value());
  EXPECT_EQ(config.error().message(),
            "p.toml: transform[0].type: an aggregate must be the last transform (its output rows "
            "go to the sink)");
}

}  // namespace
}  // namespace onceflow::config
