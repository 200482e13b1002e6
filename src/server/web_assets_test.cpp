// Tests of the embedded dashboard: every file of web/ is in the binary, with the right
// content type, and path lookup refuses traversal.
#include "server/web_assets.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace fw::server {
namespace {

TEST(WebAssets, LookupTable) {
  const struct {
    std::string_view path;
    bool found;
    std::string_view type_prefix;
  } cases[] = {
      {"/", true, "text/html"},
      {"/index.html", true, "text/html"},
      {"/app.css", true, "text/css"},
      {"/js/app.js", true, "text/javascript"},
      {"/i18n/ru.json", true, "application/json"},
      {"/i18n/en.json", true, "application/json"},
      {"", false, ""},
      {"index.html", false, ""},
      {"/../index.html", false, ""},
      {"/js/../index.html", false, ""},
      {"//index.html", false, ""},
      {"/js\\app.js", false, ""},
      {"/nope.js", false, ""},
      {"/package.json", false, ""},
  };
  for (const auto& c : cases) {
    const WebAsset* a = find_web_asset(c.path);
    EXPECT_EQ(a != nullptr, c.found) << c.path;
    if (a) EXPECT_TRUE(a->content_type.starts_with(c.type_prefix)) << c.path;
  }
}

TEST(WebAssets, BytesMatchTheSourceTree) {
  const std::filesystem::path web = std::filesystem::path(FW_SOURCE_DIR) / "web";
  ASSERT_FALSE(web_assets().empty());
  for (const WebAsset& a : web_assets()) {
    std::ifstream in(web / std::string(a.path.substr(1)), std::ios::binary);
    ASSERT_TRUE(in) << a.path;
    std::stringstream ss;
    ss << in.rdbuf();
    EXPECT_EQ(ss.str(), a.body) << a.path;
    EXPECT_EQ(a.etag.size(), 18u) << a.path;
  }
}

TEST(WebAssets, SortedForBinarySearch) {
  auto all = web_assets();
  for (size_t i = 1; i < all.size(); ++i) EXPECT_LT(all[i - 1].path, all[i].path);
}

}  // namespace
}  // namespace fw::server
