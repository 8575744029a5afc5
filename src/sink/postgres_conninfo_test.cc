// ConninfoSecrets, ParseConninfo and DescribeConninfo: a password never survives in any form
// libpq accepts (keyword=value, URI, URI query, a dbname that is itself one of those).
#include "sink/postgres_conninfo.h"

#include <gtest/gtest.h>

#include <map>

#include "sink/postgres_conn.h"

namespace onceflow::sink {
namespace {

// Every form of a connection string that carries the password "pw-S3cret" somewhere, with the
// description its server gets.
struct Form {
  const char* conninfo;
  const char* describe;
};
constexpr Form kForms[] = {
    {"host=h port=5 dbname=d user=u password=pw-S3cret", "postgres host=h port=5 dbname=d"},
    {"host=h dbname=d password = 'pw-S3cret'", "postgres host=h dbname=d"},
    {"postgresql://u:pw-S3cret@h:5/d", "postgres host=h port=5 dbname=d"},
    {"postgres://u:pw%2DS3cret@h/d", "postgres host=h dbname=d"},
    {"postgresql://u@h/d?password=pw-S3cret&sslmode=disable", "postgres host=h dbname=d"},
    {"dbname=postgresql://u:pw-S3cret@h:5/d", "postgres host=h port=5 dbname=d"},
    {"port=5 dbname='host=h password=pw-S3cret dbname=d'", "postgres host=h port=5 dbname=d"},
    {"dbname=postgresql://u@h/d?password=pw-S3cret", "postgres host=h dbname=d"},
    {"sslpassword=pw-S3cret host=h", "postgres host=h"},
};

TEST(PostgresConninfoTest, EverySecretFormIsFoundAndMasked) {
  for (const Form& f : kForms) {
    const std::vector<std::string> secrets = ConninfoSecrets(f.conninfo);
    const std::string masked = MaskSecrets(std::string("echo: ") + f.conninfo, secrets);
    EXPECT_EQ(masked.find("S3cret"), std::string::npos) << f.conninfo << " -> " << masked;
    EXPECT_NE(masked.find("***"), std::string::npos) << f.conninfo;
  }
}

TEST(PostgresConninfoTest, EscapedAndEncodedPasswordsAreMaskedDecodedAndAsWritten) {
  const std::string kv = R"(host=h password='it\'s S3cret')";
  const std::vector<std::string> secrets = ConninfoSecrets(kv);
  EXPECT_EQ(MaskSecrets("libpq said: it's S3cret", secrets).find("S3cret"), std::string::npos);
  EXPECT_EQ(MaskSecrets(kv, secrets).find("S3cret"), std::string::npos);
  const std::string uri = "postgresql://u:a%40S3cret@h/d";
  EXPECT_EQ(MaskSecrets("a@S3cret and a%40S3cret", ConninfoSecrets(uri)), "*** and ***");
}

TEST(PostgresConninfoTest, DescriptionNamesTheServerOfAnExpandedDbnameAndNoSecret) {
  for (const Form& f : kForms) {
    auto d = DescribeConninfo(f.conninfo);
    ASSERT_TRUE(d.has_value()) << f.conninfo << ": " << d.error().ToString();
    EXPECT_EQ(*d, f.describe) << f.conninfo;
  }
}

TEST(PostgresConninfoTest, LaterParametersOverrideAnExpandedDbnameAsInLibpq) {
  // libpq's keyword order puts user and password before dbname, host and port after it.
  auto p = ParseConninfo("port=7 user=a dbname='user=b port=9 dbname=d'");
  ASSERT_TRUE(p.has_value());
  std::map<std::string, std::string> m(p->begin(), p->end());
  EXPECT_EQ(m["user"], "b");
  EXPECT_EQ(m["port"], "7");
  EXPECT_EQ(m["dbname"], "d");
  auto q = ParseConninfo("host=x dbname='host=h dbname=d'");
  ASSERT_TRUE(q.has_value());
  const std::map<std::string, std::string> n(q->begin(), q->end());
  EXPECT_EQ(n.at("host"), "x");
}

TEST(PostgresConninfoTest, UnparsableStringsAreRefusedWithoutQuotingThem) {
  for (const char* bad : {"host=h password='pw-S3cret", "dbname='password=pw-S3cret x'"}) {
    auto d = DescribeConninfo(bad);
    ASSERT_FALSE(d.has_value()) << bad;
    EXPECT_TRUE(d.error().IsInvalidArgument());
    EXPECT_EQ(d.error().message().find("S3cret"), std::string::npos) << d.error().message();
    // Found anyway, for any message that might quote the string.
    EXPECT_EQ(MaskSecrets(bad, ConninfoSecrets(bad)).find("S3cret"), std::string::npos) << bad;
  }
}

}  // namespace
}  // namespace onceflow::sink
