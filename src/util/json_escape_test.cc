#include "util/json_escape.h"

#include <gtest/gtest.h>

#include <string>

namespace onceflow {
namespace {

std::string Escaped(std::string_view s, InvalidUtf8 invalid) {
  std::string out;
  AppendJsonString(&out, s, invalid);
  return out;
}

TEST(JsonEscapeTest, QuotesAndBackslashGetABackslash) {
  EXPECT_EQ(Escaped(R"(a"b\c)", InvalidUtf8::kKeep), R"("a\"b\\c")");
  EXPECT_EQ(Escaped("", InvalidUtf8::kKeep), "\"\"");
}

TEST(JsonEscapeTest, ControlCharactersAreEscaped) {
  EXPECT_EQ(Escaped("\b\f\n\r\t", InvalidUtf8::kKeep), R"("\b\f\n\r\t")");
  EXPECT_EQ(Escaped(std::string("\x00\x01\x1f\x7f", 4), InvalidUtf8::kKeep),
            R"("\u0000\u0001\u001f\u007f")");
  // Every byte below 0x20 is escaped, none is left raw.
  for (int c = 0; c < 0x20; ++c) {
    const std::string out = Escaped(std::string(1, static_cast<char>(c)), InvalidUtf8::kKeep);
    for (size_t i = 1; i + 1 < out.size(); ++i) {
      EXPECT_GE(static_cast<unsigned char>(out[i]), 0x20) << "byte " << c << ": " << out;
    }
  }
  // Printable ASCII other than the quote and the backslash is copied.
  EXPECT_EQ(Escaped(" ~/<>'", InvalidUtf8::kKeep), "\" ~/<>'\"");
}

TEST(JsonEscapeTest, ValidUtf8PassesThrough) {
  const std::string s = "\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";  // e-acute, euro, emoji
  EXPECT_EQ(Escaped(s, InvalidUtf8::kReplace), "\"" + s + "\"");
  EXPECT_EQ(Escaped(s, InvalidUtf8::kKeep), "\"" + s + "\"");
}

TEST(JsonEscapeTest, InvalidUtf8IsReplacedByteByByte) {
  // A stray continuation byte, 0xff, a cut sequence, an overlong '/', a surrogate, past U+10FFFF.
  EXPECT_EQ(Escaped("a\x80z", InvalidUtf8::kReplace), R"("a\ufffdz")");
  EXPECT_EQ(Escaped("\xff\xfe", InvalidUtf8::kReplace), R"("\ufffd\ufffd")");
  EXPECT_EQ(Escaped("\xe2\x82", InvalidUtf8::kReplace), R"("\ufffd\ufffd")");
  EXPECT_EQ(Escaped("\xc0\xaf", InvalidUtf8::kReplace), R"("\ufffd\ufffd")");
  EXPECT_EQ(Escaped("\xed\xa0\x80", InvalidUtf8::kReplace), R"("\ufffd\ufffd\ufffd")");
  EXPECT_EQ(Escaped("\xf4\x90\x80\x80", InvalidUtf8::kReplace), R"("\ufffd\ufffd\ufffd\ufffd")");
  // A valid sequence right after an invalid byte is kept.
  EXPECT_EQ(Escaped("\xe2\xc3\xa9", InvalidUtf8::kReplace), "\"\\ufffd\xc3\xa9\"");
}

TEST(JsonEscapeTest, InvalidUtf8IsKeptAsIsWhenAsked) {
  const std::string s = "a\x80\xff\xe2\x82\"";
  EXPECT_EQ(Escaped(s, InvalidUtf8::kKeep), "\"a\x80\xff\xe2\x82\\\"\"");
}

TEST(JsonEscapeTest, RunsOfPlainTextBetweenEscapesAreCopiedWhole) {
  EXPECT_EQ(Escaped("abc\"def\\ghi\njkl", InvalidUtf8::kKeep), R"("abc\"def\\ghi\njkl")");
  EXPECT_EQ(Escaped("\"abc", InvalidUtf8::kKeep), R"("\"abc")");
  EXPECT_EQ(Escaped("abc\"", InvalidUtf8::kKeep), R"("abc\"")");
  EXPECT_EQ(Escaped("ab\xc3\xa9"
                    "cd\x80"
                    "ef",
                    InvalidUtf8::kReplace),
            "\"ab\xc3\xa9"
            "cd\\ufffd"
            "ef\"");
  const std::string long_text(1000, 'x');
  EXPECT_EQ(Escaped(long_text + "\t" + long_text, InvalidUtf8::kKeep),
            "\"" + long_text + "\\t" + long_text + "\"");
}

TEST(JsonEscapeTest, EscapedAppendsWithoutQuotes) {
  std::string out = "x=";
  AppendJsonEscaped(&out, "\"\n", InvalidUtf8::kKeep);
  EXPECT_EQ(out, R"(x=\"\n)");
}

}  // namespace
}  // namespace onceflow
