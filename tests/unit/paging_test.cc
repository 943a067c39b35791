// The one page-token format (server/pg/paging.h): opaque, round-trips any key, and refuses
// anything else, including the formats of earlier versions.

#include "server/pg/paging.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "absl/strings/str_cat.h"

namespace flowmonkey::pg {
namespace {

TEST(PageToken, RoundTripsKeysWithAnyBytes) {
  const PageKey key{"123", std::string("a:b\0c/é", 9), ""};
  const std::string token = EncodePageToken(key);
  for (char c : token) EXPECT_TRUE(isalnum(c) || c == '-' || c == '_') << token;
  absl::StatusOr<std::optional<PageKey>> decoded = DecodePageToken(token, 3);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_TRUE(decoded->has_value());
  EXPECT_EQ(**decoded, key);
}

TEST(PageToken, EmptyIsTheFirstPage) {
  absl::StatusOr<std::optional<PageKey>> decoded = DecodePageToken("", 1);
  ASSERT_TRUE(decoded.ok());
  EXPECT_FALSE(decoded->has_value());
  absl::StatusOr<TimeIdKey> first = DecodeTimeIdToken("", {-1, "x"});
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->created_at, -1);
  EXPECT_EQ(first->id, "x");
}

TEST(PageToken, TimeIdKeysRoundTrip) {
  const TimeIdKey key{std::numeric_limits<int64_t>::max(), "job-1"};
  absl::StatusOr<TimeIdKey> decoded = DecodeTimeIdToken(EncodePageToken(PageKeyOf(key)), {});
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->created_at, key.created_at);
  EXPECT_EQ(decoded->id, key.id);
}

TEST(PageToken, RefusesOldFormatsAndGarbage) {
  const std::string two_parts = EncodePageToken({"1", "a"});
  for (const std::string& bad :
       {std::string("exec-1"), std::string("1700000000000:job-1"), std::string("1.10.0"),
        std::string("not-a-cursor"), std::string(3000, 'p'), two_parts.substr(0, 6),
        EncodePageToken({"x", "a"})}) {
    absl::StatusOr<TimeIdKey> decoded = DecodeTimeIdToken(bad, {});
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  // The right format with the wrong number of parts.
  EXPECT_EQ(DecodePageToken(two_parts, 1).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace flowmonkey::pg
