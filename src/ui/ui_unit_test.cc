// The UI server's parts apart from HTTP: masking secrets in the config snapshot, the JSON writer
// (always valid JSON, read back by simdjson), the Prometheus text and the lock probe.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <simdjson.h>
#include <sys/file.h>
#include <unistd.h>

#include "testing/process.h"
#include "testing/temp_dir.h"
#include "ui/config_snapshot.h"
#include "ui/json_writer.h"
#include "ui/pipeline_catalog.h"
#include "ui/prometheus_text.h"

namespace onceflow::ui {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(MaskSecretsTest, PasswordsTokensAndSaslSettingsAreMasked) {
  const std::string toml = R"(name = "p"
[source]
type = "kafka"
topic = "in"
"sasl.password" = "hunter2"
api_token = 'abc123'
[sink]
type = "postgres"
conninfo = "host=db port=5432 password=s3cret dbname=x"
other = "postgresql://bob:pa55@db:5432/x"
client_secret = """multi
line"""
table = "t"
)";
  const std::string masked = MaskSecrets(toml);
  for (const char* secret : {"hunter2", "abc123", "s3cret", "pa55", "multi"}) {
    EXPECT_THAT(masked, Not(HasSubstr(secret))) << masked;
  }
  EXPECT_THAT(masked, HasSubstr(R"("sasl.password" = "***")"));
  EXPECT_THAT(masked, HasSubstr(R"(api_token = "***")"));
  EXPECT_THAT(masked, HasSubstr("conninfo = \"host=db port=5432 password=*** dbname=x\""));
  EXPECT_THAT(masked, HasSubstr("postgresql://bob:***@db:5432/x"));
  // What is not a secret stays as it was.
  EXPECT_THAT(masked, HasSubstr("topic = \"in\""));
  EXPECT_THAT(masked, HasSubstr("table = \"t\""));
}

TEST(ConfigSnapshotTest, SavedSnapshotReadsBackWithItsSourcePath) {
  testing::TempDir dir("ui-snapshot");
  const std::string toml = "name = \"p\"\n[sink]\npath = \"out.db\"\ntable = \"t\"\n";
  ASSERT_TRUE(SaveConfigSnapshot(dir.Join("cp"), dir.Join("p.toml"), toml).ok());
  Result<ConfigSnapshot> s = ReadConfigSnapshot(dir.Join("cp"));
  ASSERT_TRUE(s.has_value()) << s.error().ToString();
  EXPECT_EQ(s->source_path, dir.Join("p.toml"));
  EXPECT_EQ(s->masked_toml, toml);
}

TEST(JsonWriterTest, AnyBytesGiveValidJson) {
  JsonWriter w;
  std::string raw = "quote \" backslash \\ newline \n tab \t bell \x07 ";
  raw += "\xff\xfe bad utf-8, \xc3\xa9 good, \xe2\x82 cut";
  w.BeginObject()
      .Member("raw", raw)
      .Member("n", int64_t{-5})
      .Member("x", 0.25)
      .Key("inf")
      .Double(1.0 / 0.0)
      .Key("list")
      .BeginArray()
      .Int(1)
      .Int(2)
      .BeginObject()
      .EndObject()
      .EndArray()
      .EndObject();
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(w.str()).get(doc), simdjson::SUCCESS) << w.str();
  std::string_view back;
  ASSERT_EQ(doc["raw"].get(back), simdjson::SUCCESS);
  const size_t bad = raw.find('\xff');
  EXPECT_EQ(back.substr(0, bad), std::string_view(raw).substr(0, bad));
  EXPECT_THAT(std::string(back), HasSubstr("\xef\xbf\xbd\xef\xbf\xbd bad utf-8, \xc3\xa9 good"));
  EXPECT_EQ(int64_t(doc["n"]), -5);
  EXPECT_EQ(double(doc["x"]), 0.25);
  EXPECT_TRUE(doc["inf"].is_null());
  EXPECT_EQ(simdjson::dom::array(doc["list"]).size(), 3u);
}

TEST(PrometheusTextTest, OneHelpAndTypePerFamilyAndCumulativeBuckets) {
  PrometheusText t;
  t.Counter("x_total", "Xs.", {{"pipeline", "a"}}, 3);
  t.Gauge("g", "A gauge.", {{"pipeline", "a\"b"}}, 0.5);
  t.Counter("x_total", "Xs.", {{"pipeline", "b"}}, 4);
  const double bounds[] = {0.1, 1};
  const double obs[] = {0.05, 0.5, 0.5, 7};
  t.Histogram("h_seconds", "H.", {}, bounds, obs);
  EXPECT_EQ(t.Render(), "# HELP x_total Xs.\n# TYPE x_total counter\nx_total{pipeline=\"a\"} 3\n"
                        "x_total{pipeline=\"b\"} 4\n"
                        "# HELP g A gauge.\n# TYPE g gauge\ng{pipeline=\"a\\\"b\"} 0.5\n"
                        "# HELP h_seconds H.\n# TYPE h_seconds histogram\n"
                        "h_seconds_bucket{le=\"0.1\"} 1\nh_seconds_bucket{le=\"1\"} 3\n"
                        "h_seconds_bucket{le=\"+Inf\"} 4\nh_seconds_sum 8.05\nh_seconds_count 4\n");
}

TEST(PipelineCatalogTest, LockHeldOnlyWhileAProcessHoldsIt) {
  testing::TempDir dir("ui-lock");
  EXPECT_FALSE(CheckpointLockHeld(dir.path()));  // no LOCK file
  const std::string lock = dir.Join("LOCK");
  const int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  EXPECT_FALSE(CheckpointLockHeld(dir.path()));
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  EXPECT_TRUE(CheckpointLockHeld(dir.path()));
  ::close(fd);
  EXPECT_FALSE(CheckpointLockHeld(dir.path()));
  // The probe took no lock: a driver can still take it.
  const int again = ::open(lock.c_str(), O_RDWR | O_CLOEXEC);
  EXPECT_EQ(::flock(again, LOCK_EX | LOCK_NB), 0);
  ::close(again);
}

}  // namespace
}  // namespace onceflow::ui
