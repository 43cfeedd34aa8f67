#include "hdeploy/core/json_text.hpp"

#include <gtest/gtest.h>

namespace hdeploy {
namespace {

TEST(Utf8Escaped, KeepsValidUtf8AndEscapesEachInvalidByte) {
  bool escaped = false;
  EXPECT_EQ(utf8_escaped("plain.png", &escaped), "plain.png");
  EXPECT_EQ(utf8_escaped("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", &escaped),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  EXPECT_FALSE(escaped);
  EXPECT_EQ(utf8_escaped("img\xff.png", &escaped), "img\\xff.png");
  EXPECT_TRUE(escaped);
  // Latin-1 é, a truncated sequence at the end, an overlong '/', a surrogate, past U+10FFFF.
  EXPECT_EQ(utf8_escaped("caf\xe9"), "caf\\xe9");
  EXPECT_EQ(utf8_escaped("a\xe2\x82"), "a\\xe2\\x82");
  EXPECT_EQ(utf8_escaped("\xc0\xaf"), "\\xc0\\xaf");
  EXPECT_EQ(utf8_escaped("\xed\xa0\x80"), "\\xed\\xa0\\x80");
  EXPECT_EQ(utf8_escaped("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");
  // A valid sequence after an invalid byte stays whole.
  EXPECT_EQ(utf8_escaped("\xff\xc3\xa9"), "\\xff\xc3\xa9");
}

TEST(JsonText, DumpsValidDocumentsAsNlohmannDoes) {
  const nlohmann::json j = {{"a", 1}, {"b", {"x", "caf\xc3\xa9"}}};
  bool escaped = false;
  EXPECT_EQ(json_text(j, 2, &escaped), j.dump(2));
  EXPECT_FALSE(escaped);
}

TEST(JsonText, EscapesStringsAndKeysThatAreNotUtf8InsteadOfThrowing) {
  nlohmann::json j;
  j["images"] = nlohmann::json::array({"ok.png", "bad\xfe.png"});
  j["by\xff"] = {{"nested", "x\x80y"}};
  EXPECT_THROW((void)j.dump(), nlohmann::json::type_error);
  bool escaped = false;
  const std::string text = json_text(j, -1, &escaped);
  EXPECT_TRUE(escaped);
  const nlohmann::json back = nlohmann::json::parse(text);
  EXPECT_EQ(back["images"][1], "bad\\xfe.png");
  EXPECT_EQ(back["by\\xff"]["nested"], "x\\x80y");
  EXPECT_EQ(back["images"][0], "ok.png");
}

}  // namespace
}  // namespace hdeploy
