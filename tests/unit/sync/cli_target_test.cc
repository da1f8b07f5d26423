#include <gtest/gtest.h>

#include "sync/cli/target.h"
#include "sync/cli/text_util.h"

namespace georep::cli {
namespace {

TEST(ParseTarget, HostAndVolumeDefaultToRoot) {
  Result<Target> t = ParseTarget("snode1::gvs");
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->user, "root");
  EXPECT_FALSE(t->user_given);
  EXPECT_EQ(t->host, "snode1");
  EXPECT_EQ(t->volume, "gvs");
  EXPECT_EQ(t->Display(), "snode1::gvs");
}

TEST(ParseTarget, AccountIsTakenFromUserAt) {
  Result<Target> t = ParseTarget("geoaccount@snode1.example.com::gvs");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->user, "geoaccount");
  EXPECT_TRUE(t->user_given);
  EXPECT_EQ(t->host, "snode1.example.com");
  EXPECT_EQ(t->Display(), "geoaccount@snode1.example.com::gvs");
}

TEST(ParseTarget, MissingSeparatorNamesTheExpectedForm) {
  Result<Target> t = ParseTarget("snode1:gvs");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), Code::kInvalidArgument);
  EXPECT_NE(t.status().message().find("the '::' between host and volume is missing"), std::string::npos);
  EXPECT_NE(t.status().message().find("[<user>@]<host>::<secondary-volume>"), std::string::npos);
}

TEST(ParseTarget, MalformedPartsAreRefused) {
  for (const char* bad : {"::gvs", "snode1::", "snode1::g v", "Bad User@snode1::gvs", "@snode1::gvs",
                          "snode1::gvs::x", "-host::gvs", "snode1::-vol", "sn ode::gvs", "a..b::gvs"}) {
    EXPECT_FALSE(ParseTarget(bad).ok()) << bad;
  }
}

TEST(SessionName, JoinsPrimaryHostAndSecondary) {
  Result<Target> t = ParseTarget("geoaccount@snode1::gvs");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(SessionName("gvp", *t), "gvp__snode1__gvs");
}

TEST(PercentEncoding, RoundTripsEveryByteAndNeverStartsWithDash) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  std::string enc = PercentEncode("-" + all);
  EXPECT_EQ(enc[0], '%');
  EXPECT_EQ(enc.find('\n'), std::string::npos);
  EXPECT_EQ(enc.find(' '), std::string::npos);
  std::string dec;
  ASSERT_TRUE(PercentDecode(enc, &dec));
  EXPECT_EQ(dec, "-" + all);
}

TEST(PercentEncoding, TruncatedEscapeIsRejected) {
  std::string out;
  EXPECT_FALSE(PercentDecode("abc%4", &out));
  EXPECT_FALSE(PercentDecode("abc%", &out));
  EXPECT_FALSE(PercentDecode("%zz", &out));
}

TEST(KeyValues, LastValueWinsAndSetReplacesInPlace) {
  KeyValues kv = ParseKeyValues("# comment\na=1\n\nb = 2 \na=3\nnot a pair\n");
  EXPECT_EQ(Lookup(kv, "a"), "3");
  EXPECT_EQ(Lookup(kv, "b"), "2");
  SetValue(&kv, "a", "9");
  EXPECT_EQ(kv.size(), 2u);
  EXPECT_EQ(kv[0], (std::pair<std::string, std::string>("a", "9")));
  EraseKey(&kv, "a");
  EXPECT_FALSE(Has(kv, "a"));
}

TEST(ToInt, MalformedNumbersGiveTheFallbackInsteadOfThrowing) {
  EXPECT_EQ(ToInt("42", -1), 42);
  EXPECT_EQ(ToInt("-7", 0), -7);
  EXPECT_EQ(ToInt("", -1), -1);
  EXPECT_EQ(ToInt("12x", -1), -1);
  EXPECT_EQ(ToInt("99999999999999999999999", -1), -1);
}

}  // namespace
}  // namespace georep::cli
