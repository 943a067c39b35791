// The API keys file format and key lookup (server/rpc/auth.h).

#include <gtest/gtest.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "server/rpc/auth.h"

namespace flowmonkey::rpc {
namespace {

TEST(ApiKeys, Sha256HexIsTheStandardDigest) {
  EXPECT_EQ(Sha256Hex("test"), "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
}

TEST(ApiKeys, ParsesEntriesCommentsAndBlankLines) {
  const std::string text = absl::StrCat("# operators\n", Sha256Hex("op-key"), " *\n\n", "  ",
                                        Sha256Hex("acme-key"), "\tacme   # the acme engine\n");
  absl::StatusOr<ApiKeys> keys = ApiKeys::Parse(text);
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(keys->size(), 2u);
  EXPECT_EQ(*keys->TenantFor("op-key"), "*");
  EXPECT_EQ(*keys->TenantFor("acme-key"), "acme");
  EXPECT_EQ(keys->TenantFor("other").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(keys->TenantFor("").status().code(), absl::StatusCode::kNotFound);
}

TEST(ApiKeys, UpperCaseHexIsAccepted) {
  std::string hex = Sha256Hex("k");
  for (char& c : hex) c = static_cast<char>(toupper(c));
  EXPECT_EQ(*ApiKeys::Parse(hex + " t")->TenantFor("k"), "t");
}

TEST(ApiKeys, RejectsMalformedLinesNamingTheLine) {
  const std::vector<std::string> bad_lines = {"abc tenant", Sha256Hex("k"), Sha256Hex("k") + " a b",
                                              std::string(64, 'g') + " t", "plain-text-key tenant"};
  for (const std::string& bad : bad_lines) {
    absl::StatusOr<ApiKeys> keys = ApiKeys::Parse("# header\n" + bad + "\n");
    ASSERT_EQ(keys.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(keys.status().message().find("line 2"), absl::string_view::npos);
  }
}

TEST(Authenticator, WantsABearerKey) {
  Authenticator auth(*ApiKeys::Parse(Sha256Hex("secret") + " acme"));
  EXPECT_EQ(*auth.Authenticate("Bearer secret"), "acme");
  EXPECT_EQ(auth.Authenticate("").status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(auth.Authenticate("secret").status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(auth.Authenticate("Bearer wrong").status().code(), absl::StatusCode::kUnauthenticated);
  auth.Replace(*ApiKeys::Parse(""));
  EXPECT_EQ(auth.Authenticate("Bearer secret").status().code(), absl::StatusCode::kUnauthenticated);
}

TEST(Authenticator, HealthAndReflectionAreOpen) {
  EXPECT_TRUE(Authenticator::IsOpenMethod("/grpc.health.v1.Health/Check"));
  EXPECT_TRUE(Authenticator::IsOpenMethod(
      "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"));
  EXPECT_FALSE(Authenticator::IsOpenMethod("/flowmonkey.v1.ExecutionStore/Get"));
  EXPECT_FALSE(Authenticator::IsOpenMethod("/grpc.health.v1.HealthX/Check"));
}

}  // namespace
}  // namespace flowmonkey::rpc
