// ResumeTokens conformance: every test runs against the PostgreSQL store and against the
// remote client talking to a real server.

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/clock.h"
#include "core/resume_token_rules.h"
#include "nlohmann/json.hpp"
#include "tests/support/backends.h"
#include "tests/support/sql.h"

namespace flowmonkey::testing {
namespace {

using ::absl::StatusCode;

constexpr const char* kTokenExecution = "token-exec";
// Well-formed (43 base64url characters) but never generated.
constexpr const char* kUnknownToken = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

template <typename Backend>
class ResumeTokensTest : public ::testing::Test {
 protected:
  void SetUp() override {
    v1::CreateExecutionRequest request;
    v1::Execution& e = *request.mutable_execution();
    e.set_id(kTokenExecution);
    e.set_flow_id("flow");
    e.set_flow_version("1.0.0");
    e.set_current_step_id("approve");
    e.set_status(v1::EXECUTION_STATUS_WAITING);
    ASSERT_TRUE(backend_.executions().Create(request).ok());
  }

  ResumeTokens& tokens() { return backend_.tokens(); }

  v1::ResumeToken Generate(int64_t expires_in_ms = 0,
                           const std::string& metadata = R"({"approver":"m@x.io"})") {
    v1::GenerateResumeTokenRequest request;
    request.set_execution_id(kTokenExecution);
    request.set_step_id("approve");
    request.set_expires_in_ms(expires_in_ms);
    request.set_metadata_json(metadata);
    auto response = tokens().Generate(request);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? response->token() : v1::ResumeToken();
  }
  v1::ValidateResumeTokenResponse Validate(const std::string& token) {
    v1::ValidateResumeTokenRequest request;
    request.set_token(token);
    auto response = tokens().Validate(request);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? *response : v1::ValidateResumeTokenResponse();
  }
  absl::Status MarkUsed(const std::string& token) {
    v1::MarkResumeTokenUsedRequest request;
    request.set_token(token);
    return tokens().MarkUsed(request).status();
  }

  Backend backend_;
};

TYPED_TEST_SUITE(ResumeTokensTest, Backends, BackendNames);

TYPED_TEST(ResumeTokensTest, GenerateReturnsARandomTokenWithDefaultExpiry) {
  const v1::ResumeToken a = this->Generate();
  const v1::ResumeToken b = this->Generate();
  EXPECT_EQ(a.token().size(), kResumeTokenLength);
  EXPECT_TRUE(ValidateResumeToken(a.token(), "token").ok());
  EXPECT_NE(a.token(), b.token());
  EXPECT_EQ(a.id(), ResumeTokenHash(a.token()));
  EXPECT_EQ(a.status(), v1::RESUME_TOKEN_STATUS_PENDING);
  EXPECT_EQ(a.expires_at() - a.created_at(), kDefaultResumeTokenExpiryMs);

  v1::GetResumeTokenRequest get;
  get.set_token(a.token());
  auto got = this->tokens().Get(get);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->token().execution_id(), kTokenExecution);
  EXPECT_EQ(got->token().step_id(), "approve");
  EXPECT_EQ(nlohmann::json::parse(got->token().metadata_json())["approver"], "m@x.io");
  EXPECT_EQ(got->token().expires_at(), a.expires_at());
  get.set_token(kUnknownToken);
  EXPECT_EQ(this->tokens().Get(get).status().code(), StatusCode::kNotFound);
}

TYPED_TEST(ResumeTokensTest, ARepeatedRequestIdGivesTheOneTokenOfTheRequestANewValue) {
  v1::GenerateResumeTokenRequest request;
  request.set_execution_id(kTokenExecution);
  request.set_step_id("approve");
  request.set_expires_in_ms(3'600'000);
  request.set_request_id("token-request-1");
  auto first = this->tokens().Generate(request);
  ASSERT_TRUE(first.ok()) << first.status();
  auto again = this->tokens().Generate(request);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_NE(again->token().token(), first->token().token());
  EXPECT_EQ(again->token().id(), ResumeTokenHash(again->token().token()));
  EXPECT_EQ(again->token().created_at(), first->token().created_at());
  EXPECT_EQ(again->token().expires_at(), first->token().expires_at());
  EXPECT_EQ(this->Validate(first->token().token()).reason(), "not_found");
  EXPECT_TRUE(this->Validate(again->token().token()).valid());
  v1::ListResumeTokensByExecutionRequest list;
  list.set_execution_id(kTokenExecution);
  EXPECT_EQ(this->tokens().ListByExecution(list)->tokens_size(), 1);
  ASSERT_TRUE(this->MarkUsed(again->token().token()).ok());
  EXPECT_EQ(this->tokens().Generate(request).status().code(), StatusCode::kFailedPrecondition);
}

TYPED_TEST(ResumeTokensTest, GenerateForAnUnknownExecutionIsNotFound) {
  v1::GenerateResumeTokenRequest request;
  request.set_execution_id("no-such-execution");
  request.set_step_id("s");
  EXPECT_EQ(this->tokens().Generate(request).status().code(), StatusCode::kNotFound);
}

TYPED_TEST(ResumeTokensTest, TheRawTokenNeverReachesTheDatabase) {
  const v1::ResumeToken token = this->Generate();
  const std::string prefix = this->backend_.prefix();
  EXPECT_EQ(RunSql(prefix, "SELECT count(*) FROM fm_resume_tokens"), 1);
  EXPECT_EQ(
      RunSql(prefix, absl::StrCat("SELECT count(*) FROM fm_resume_tokens WHERE token_hash = '",
                                  token.id(), "'")),
      1);
  // No column of any row holds the token, in any position.
  EXPECT_EQ(RunSql(prefix, absl::StrCat("SELECT count(*) FROM fm_resume_tokens t WHERE"
                                        " strpos(row_to_json(t)::text, '",
                                        token.token(), "') > 0")),
            0);
}

TYPED_TEST(ResumeTokensTest, ValidateExplainsWhyATokenIsUnusable) {
  const v1::ResumeToken live = this->Generate();
  EXPECT_TRUE(this->Validate(live.token()).valid());
  EXPECT_TRUE(this->Validate(live.token()).reason().empty());
  EXPECT_EQ(this->Validate(kUnknownToken).reason(), "not_found");

  ASSERT_TRUE(this->MarkUsed(live.token()).ok());
  EXPECT_FALSE(this->Validate(live.token()).valid());
  EXPECT_EQ(this->Validate(live.token()).reason(), "used");

  const v1::ResumeToken revoked = this->Generate();
  v1::RevokeResumeTokenRequest revoke;
  revoke.set_token(revoked.token());
  EXPECT_TRUE(this->tokens().Revoke(revoke)->revoked());
  EXPECT_FALSE(this->tokens().Revoke(revoke)->revoked());
  EXPECT_EQ(this->Validate(revoked.token()).reason(), "revoked");
  EXPECT_EQ(this->MarkUsed(revoked.token()).code(), StatusCode::kFailedPrecondition);

  const v1::ResumeToken expiring = this->Generate(/*expires_in_ms=*/1);
  // Expired by time (no sleep needed: put its expiry in the past).
  RunSql(this->backend_.prefix(),
         absl::StrCat("UPDATE fm_resume_tokens SET expires_at = 1 WHERE token_hash = '",
                      expiring.id(), "'"),
         true);
  EXPECT_EQ(this->Validate(expiring.token()).reason(), "expired");
  EXPECT_EQ(this->MarkUsed(expiring.token()).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(this->MarkUsed(kUnknownToken).code(), StatusCode::kNotFound);
}

TYPED_TEST(ResumeTokensTest, SixtyFourThreadsRacingMarkUsedHaveOneWinner) {
  const v1::ResumeToken token = this->Generate();
  constexpr int kThreads = 64;
  std::atomic<int> won{0}, refused{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      const absl::Status status = this->MarkUsed(token.token());
      if (status.ok()) {
        won++;
      } else if (status.code() == StatusCode::kFailedPrecondition) {
        refused++;
      } else {
        other++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(refused.load(), kThreads - 1);
  EXPECT_EQ(other.load(), 0);
}

TYPED_TEST(ResumeTokensTest, ListByExecutionPagesAndRevokeById) {
  std::set<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.insert(this->Generate().id());
  v1::ListResumeTokensByExecutionRequest request;
  request.set_execution_id(kTokenExecution);
  request.set_limit(2);
  std::set<std::string> seen;
  for (int page = 0; page < 10; ++page) {
    auto response = this->tokens().ListByExecution(request);
    ASSERT_TRUE(response.ok()) << response.status();
    for (const auto& t : response->tokens()) {
      EXPECT_TRUE(t.token().empty());  // cannot be recovered
      seen.insert(t.id());
    }
    if (response->next_page_token().empty()) break;
    request.set_page_token(response->next_page_token());
  }
  EXPECT_EQ(seen, ids);

  v1::RevokeResumeTokenRequest revoke;
  revoke.set_token_id(*ids.begin());
  EXPECT_TRUE(this->tokens().Revoke(revoke)->revoked());
}

TYPED_TEST(ResumeTokensTest, CleanupExpiredMarksOnlyPendingTokensPastExpiry) {
  const v1::ResumeToken old_pending = this->Generate();
  const v1::ResumeToken old_used = this->Generate();
  const v1::ResumeToken fresh = this->Generate();
  ASSERT_TRUE(this->MarkUsed(old_used.token()).ok());
  RunSql(this->backend_.prefix(),
         absl::StrCat("UPDATE fm_resume_tokens SET expires_at = 1 WHERE token_hash IN ('",
                      old_pending.id(), "', '", old_used.id(), "')"),
         true);
  auto cleaned = this->tokens().CleanupExpired(v1::CleanupExpiredResumeTokensRequest());
  ASSERT_TRUE(cleaned.ok()) << cleaned.status();
  EXPECT_EQ(cleaned->count(), 1);
  EXPECT_EQ(this->tokens().CleanupExpired(v1::CleanupExpiredResumeTokensRequest())->count(), 0);
  v1::GetResumeTokenRequest get;
  get.set_token(old_pending.token());
  EXPECT_EQ(this->tokens().Get(get)->token().status(), v1::RESUME_TOKEN_STATUS_EXPIRED);
  get.set_token(old_used.token());
  EXPECT_EQ(this->tokens().Get(get)->token().status(), v1::RESUME_TOKEN_STATUS_USED);
  EXPECT_TRUE(this->Validate(fresh.token()).valid());
}

// ---- malformed requests: each gets its status code, never INTERNAL -------------------

struct BadTokenRequest {
  const char* name;
  StatusCode expected;
  std::function<absl::Status(ResumeTokens&)> call;
};

std::vector<BadTokenRequest> BadTokenRequests() {
  const StatusCode kInvalid = StatusCode::kInvalidArgument;
  auto generate = [](const std::function<void(v1::GenerateResumeTokenRequest&)>& edit) {
    return [edit](ResumeTokens& s) {
      v1::GenerateResumeTokenRequest r;
      r.set_execution_id(kTokenExecution);
      r.set_step_id("s");
      edit(r);
      return s.Generate(r).status();
    };
  };
  return {
      {"generate: empty execution_id", kInvalid,
       generate([](v1::GenerateResumeTokenRequest& r) { r.clear_execution_id(); })},
      {"generate: empty step_id", kInvalid,
       generate([](v1::GenerateResumeTokenRequest& r) { r.clear_step_id(); })},
      {"generate: negative expiry", kInvalid,
       generate([](v1::GenerateResumeTokenRequest& r) { r.set_expires_in_ms(-1); })},
      {"generate: expiry over a year", kInvalid, generate([](v1::GenerateResumeTokenRequest& r) {
         r.set_expires_in_ms(kMaxResumeTokenExpiryMs + 1);
       })},
      {"generate: metadata an array", kInvalid,
       generate([](v1::GenerateResumeTokenRequest& r) { r.set_metadata_json("[1]"); })},
      {"generate: metadata not JSON", kInvalid,
       generate([](v1::GenerateResumeTokenRequest& r) { r.set_metadata_json("{"); })},
      {"get: empty token", kInvalid,
       [](ResumeTokens& s) { return s.Get(v1::GetResumeTokenRequest()).status(); }},
      {"get: token too short", kInvalid,
       [](ResumeTokens& s) {
         v1::GetResumeTokenRequest r;
         r.set_token("abc");
         return s.Get(r).status();
       }},
      {"validate: token with '+' and '/'", kInvalid,
       [](ResumeTokens& s) {
         v1::ValidateResumeTokenRequest r;
         r.set_token(std::string(42, 'A') + "+");
         return s.Validate(r).status();
       }},
      {"mark used: empty token", kInvalid,
       [](ResumeTokens& s) { return s.MarkUsed(v1::MarkResumeTokenUsedRequest()).status(); }},
      {"mark used: NUL in token", kInvalid,
       [](ResumeTokens& s) {
         v1::MarkResumeTokenUsedRequest r;
         r.set_token(std::string(42, 'A') + std::string(1, '\0'));
         return s.MarkUsed(r).status();
       }},
      {"revoke: neither token nor id", kInvalid,
       [](ResumeTokens& s) { return s.Revoke(v1::RevokeResumeTokenRequest()).status(); }},
      {"revoke: both token and id", kInvalid,
       [](ResumeTokens& s) {
         v1::RevokeResumeTokenRequest r;
         r.set_token(kUnknownToken);
         r.set_token_id(std::string(64, 'a'));
         return s.Revoke(r).status();
       }},
      {"revoke: id not hex", kInvalid,
       [](ResumeTokens& s) {
         v1::RevokeResumeTokenRequest r;
         r.set_token_id(std::string(64, 'z'));
         return s.Revoke(r).status();
       }},
      {"revoke: unknown token", StatusCode::kNotFound,
       [](ResumeTokens& s) {
         v1::RevokeResumeTokenRequest r;
         r.set_token(kUnknownToken);
         return s.Revoke(r).status();
       }},
      {"list: empty execution", kInvalid,
       [](ResumeTokens& s) {
         return s.ListByExecution(v1::ListResumeTokensByExecutionRequest()).status();
       }},
      {"list: limit over maximum", kInvalid,
       [](ResumeTokens& s) {
         v1::ListResumeTokensByExecutionRequest r;
         r.set_execution_id(kTokenExecution);
         r.set_limit(10'001);
         return s.ListByExecution(r).status();
       }},
      {"list: garbage page token", kInvalid,
       [](ResumeTokens& s) {
         v1::ListResumeTokensByExecutionRequest r;
         r.set_execution_id(kTokenExecution);
         r.set_page_token("12:nothex");
         return s.ListByExecution(r).status();
       }},
  };
}

TYPED_TEST(ResumeTokensTest, MalformedRequestsGetTheirStatusCode) {
  const auto cases = BadTokenRequests();
  ASSERT_GE(cases.size(), 15u);
  for (const BadTokenRequest& c : cases) {
    const absl::Status status = c.call(this->tokens());
    EXPECT_EQ(status.code(), c.expected) << c.name << ": " << status;
    EXPECT_NE(status.code(), StatusCode::kInternal) << c.name;
  }
  EXPECT_EQ(RunSql(this->backend_.prefix(), "SELECT count(*) FROM fm_resume_tokens"), 0);
}

}  // namespace
}  // namespace flowmonkey::testing
