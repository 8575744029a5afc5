#include "cli/server_flags.h"

#include <gtest/gtest.h>

#include "testing/temp_dir.h"
#include "util/file.h"

namespace onceflow::cli {
namespace {

TEST(ServerFlagsTest, HostPortSplitsAtTheLastColon) {
  std::string host;
  int port = -1;
  ASSERT_TRUE(ParseHostPort("127.0.0.1:4040", "--http", &host, &port).ok());
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 4040);
  ASSERT_TRUE(ParseHostPort("localhost:0", "--ui", &host, &port).ok());
  EXPECT_EQ(host, "localhost");
  EXPECT_EQ(port, 0);
}

TEST(ServerFlagsTest, AMalformedAddressNamesTheFlagAndTheValue) {
  for (const char* bad : {"127.0.0.1", ":80", "h:", "h:x", "h:80x", "h:-1", "h:65536"}) {
    std::string host = "unchanged";
    int port = 7;
    const Status s = ParseHostPort(bad, "--tcp", &host, &port);
    ASSERT_TRUE(s.IsInvalidArgument()) << bad;
    EXPECT_EQ(s.message(),
              std::string("--tcp '") + bad + "' must be HOST:PORT, e.g. 127.0.0.1:8080");
    EXPECT_EQ(host, "unchanged");
    EXPECT_EQ(port, 7);
  }
}

TEST(ServerFlagsTest, TokenFileIsTrimmedAndAnEmptyOneIsNamed) {
  testing::TempDir dir("server-flags");
  ASSERT_TRUE(WriteFileAtomically(dir.Join("t"), "  s3cret \r\n").ok());
  Result<std::string> token = ReadTokenFile(dir.Join("t"));
  ASSERT_TRUE(token.has_value()) << token.error().ToString();
  EXPECT_EQ(*token, "s3cret");

  ASSERT_TRUE(WriteFileAtomically(dir.Join("empty"), " \n\t").ok());
  Result<std::string> empty = ReadTokenFile(dir.Join("empty"));
  ASSERT_FALSE(empty.has_value());
  EXPECT_TRUE(empty.error().IsInvalidArgument());
  EXPECT_EQ(empty.error().message(), "token file " + dir.Join("empty") + " is empty");

  Result<std::string> missing = ReadTokenFile(dir.Join("none"));
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message().find(dir.Join("none")), std::string::npos)
      << missing.error().ToString();
}

}  // namespace
}  // namespace onceflow::cli
