// The embedded UI: every page, script and style of ui/ and uPlot's dist files are served from
// the binary byte for byte, with their content type; nothing else is.
#include "ui/static_assets.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace onceflow::ui {
namespace {

std::string ReadSourceFile(const std::string& relative) {
  std::ifstream in(std::string(ONCEFLOW_UI_SOURCE_DIR) + "/" + relative, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

TEST(StaticAssetTest, IndexIsServedAtRootAndIndexHtml) {
  auto root = StaticAsset("/");
  auto index = StaticAsset("/index.html");
  ASSERT_TRUE(root.has_value());
  ASSERT_TRUE(index.has_value());
  EXPECT_EQ(root->first, index->first);
  EXPECT_EQ(index->second, "text/html; charset=utf-8");
  EXPECT_EQ(std::string(index->first), ReadSourceFile("index.html"));
}

TEST(StaticAssetTest, PagesScriptAndStyleAreEmbeddedByteForByte) {
  for (const char* name : {"app.js", "style.css"}) {
    auto asset = StaticAsset(std::string("/assets/") + name);
    ASSERT_TRUE(asset.has_value()) << name;
    EXPECT_FALSE(asset->first.empty()) << name;
    EXPECT_EQ(std::string(asset->first), ReadSourceFile(name)) << name;
  }
  EXPECT_EQ(StaticAsset("/assets/app.js")->second, "text/javascript; charset=utf-8");
  EXPECT_EQ(StaticAsset("/assets/style.css")->second, "text/css; charset=utf-8");
}

TEST(StaticAssetTest, ChartLibraryIsEmbedded) {
  auto js = StaticAsset("/assets/uPlot.iife.min.js");
  auto css = StaticAsset("/assets/uPlot.min.css");
  ASSERT_TRUE(js.has_value());
  ASSERT_TRUE(css.has_value());
  EXPECT_EQ(std::string(js->first), ReadSourceFile("node_modules/uplot/dist/uPlot.iife.min.js"));
  EXPECT_EQ(std::string(css->first), ReadSourceFile("node_modules/uplot/dist/uPlot.min.css"));
}

TEST(StaticAssetTest, UnknownPathsAreNotFound) {
  EXPECT_FALSE(StaticAsset("/assets/nope.js").has_value());
  EXPECT_FALSE(StaticAsset("/api/v1/pipelines").has_value());
  EXPECT_FALSE(StaticAsset("/assets/../CMakeLists.txt").has_value());
  EXPECT_FALSE(StaticAsset("/assets/package.json").has_value());
}

}  // namespace
}  // namespace onceflow::ui
