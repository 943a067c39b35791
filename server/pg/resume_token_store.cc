#include "server/pg/resume_token_store.h"

#include <limits>
#include <pqxx/nontransaction>
#include <pqxx/result>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/clock.h"
#include "core/resume_token_rules.h"
#include "core/validation.h"
#include "server/pg/operations.h"
#include "server/pg/paging.h"

namespace flowmonkey::pg {
namespace {

#define FM_TOKEN_COLUMNS                                                                \
  "token_hash, execution_id, step_id, status, metadata::text, created_at, expires_at, " \
  "used_at, revoked_at"

constexpr Statement kInsertToken{
    "token_insert",
    "INSERT INTO {fm_}resume_tokens (token_hash, execution_id, step_id, status, metadata,"
    " created_at, expires_at) VALUES ($1, $2, $3, 'pending', $4::jsonb, $5, $6)"};
// With a client request id: at most one token per request id.
constexpr Statement kInsertWithRequest{
    "token_insert_with_request",
    "INSERT INTO {fm_}resume_tokens (token_hash, execution_id, step_id, status, metadata,"
    " created_at, expires_at, request_id) VALUES ($1, $2, $3, 'pending', $4::jsonb, $5, $6, $7)"
    " ON CONFLICT (request_id) WHERE request_id IS NOT NULL DO NOTHING RETURNING token_hash"};
// A retry of that request: the stored token only under a new value (the first value is
// lost with the reply, and only its hash is stored), while it is still pending.
constexpr Statement kRotate{
    "token_rotate",
    "UPDATE {fm_}resume_tokens SET token_hash = $1 WHERE request_id = $2 AND execution_id = $3"
    " AND status = 'pending' AND expires_at > $4 RETURNING " FM_TOKEN_COLUMNS};
constexpr Statement kGetToken{
    "token_get", "SELECT " FM_TOKEN_COLUMNS " FROM {fm_}resume_tokens WHERE token_hash = $1"};
constexpr Statement kMarkUsed{
    "token_mark_used",
    "UPDATE {fm_}resume_tokens SET status = 'used', used_at = $2 WHERE token_hash = $1"
    " AND status = 'pending' AND expires_at > $2 RETURNING " FM_TOKEN_COLUMNS};
constexpr Statement kRevoke{
    "token_revoke",
    "UPDATE {fm_}resume_tokens SET status = 'revoked', revoked_at = $2 WHERE token_hash = $1"
    " AND status = 'pending'"};
constexpr Statement kTokensByExecution{
    "token_by_execution",
    "SELECT " FM_TOKEN_COLUMNS
    " FROM {fm_}resume_tokens WHERE execution_id = $1"
    " AND (created_at, token_hash) < ($2, $3) ORDER BY created_at DESC, token_hash DESC"
    " LIMIT $4"};
constexpr Statement kCleanup{
    "token_cleanup",
    "UPDATE {fm_}resume_tokens SET status = 'expired' WHERE status = 'pending'"
    " AND expires_at <= $1"};

v1::ResumeToken TokenFromRow(const pqxx::row& r) {
  v1::ResumeToken token;
  token.set_id(r[0].c_str());
  token.set_execution_id(r[1].c_str());
  token.set_step_id(r[2].c_str());
  token.set_status(ResumeTokenStatusFromName(r[3].c_str()));
  if (!r[4].is_null()) token.set_metadata_json(r[4].c_str());
  token.set_created_at(r[5].as<int64_t>());
  token.set_expires_at(r[6].as<int64_t>());
  if (!r[7].is_null()) token.set_used_at(r[7].as<int64_t>());
  if (!r[8].is_null()) token.set_revoked_at(r[8].as<int64_t>());
  return token;
}

absl::Status NotFound() { return absl::NotFoundError("resume token not found"); }

}  // namespace

PgResumeTokenStore::PgResumeTokenStore(ConnectionPool& pool) : pool_(pool) {
  pool_.Register({kInsertToken, kInsertWithRequest, kRotate, kGetToken, kMarkUsed, kRevoke,
                  kTokensByExecution, kCleanup});
}

absl::StatusOr<v1::GenerateResumeTokenResponse> GenerateResumeTokenIn(
    Session& s, Tx& tx, const v1::GenerateResumeTokenRequest& request) {
  absl::StatusOr<std::string> secret = NewResumeToken();
  if (!secret.ok()) return secret.status();
  v1::GenerateResumeTokenResponse response;
  v1::ResumeToken& token = *response.mutable_token();
  token.set_id(ResumeTokenHash(*secret));
  token.set_token(*secret);
  token.set_execution_id(request.execution_id());
  token.set_step_id(request.step_id());
  token.set_status(v1::RESUME_TOKEN_STATUS_PENDING);
  token.set_metadata_json(request.metadata_json());
  token.set_created_at(NowMs());
  token.set_expires_at(SaturatingAdd(token.created_at(), request.expires_in_ms() > 0
                                                             ? request.expires_in_ms()
                                                             : kDefaultResumeTokenExpiryMs));
  Params params;
  params.Add(token.id()).Add(token.execution_id()).Add(token.step_id());
  params.AddOrNull(token.metadata_json()).Add(token.created_at()).Add(token.expires_at());
  if (!request.has_request_id()) {
    s.Exec(tx, kInsertToken, params);
    return response;
  }
  params.Add(request.request_id());
  if (!s.Exec(tx, kInsertWithRequest, params).empty()) return response;
  Params rotate;
  rotate.Add(token.id()).Add(request.request_id()).Add(request.execution_id()).Add(NowMs());
  const pqxx::result rows = s.Exec(tx, kRotate, rotate);
  if (rows.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "request_id ", request.request_id(),
        ": generated a token before, which is no longer pending (used, revoked or expired)"));
  }
  *response.mutable_token() = TokenFromRow(rows[0]);
  response.mutable_token()->set_token(*secret);
  return response;
}

absl::StatusOr<v1::GenerateResumeTokenResponse> PgResumeTokenStore::Generate(
    const v1::GenerateResumeTokenRequest& request) {
  if (auto s = ValidateGenerateResumeToken(request); !s.ok()) return s;
  if (request.has_request_id()) {
    if (auto s = ValidateId(request.request_id(), "request_id"); !s.ok()) return s;
  }
  return RunAlone(pool_, "generate resume token", &GenerateResumeTokenIn, request);
}

absl::StatusOr<std::optional<v1::ResumeToken>> PgResumeTokenStore::Find(const std::string& hash) {
  Params params;
  params.Add(hash);
  return pool_.Run<std::optional<v1::ResumeToken>>(
      "get resume token", [&](Session& s) -> absl::StatusOr<std::optional<v1::ResumeToken>> {
        pqxx::nontransaction tx(s.connection());
        const pqxx::result rows = s.Exec(tx, kGetToken, params);
        if (rows.empty()) return std::nullopt;
        return TokenFromRow(rows[0]);
      });
}

absl::StatusOr<v1::GetResumeTokenResponse> PgResumeTokenStore::Get(
    const v1::GetResumeTokenRequest& request) {
  if (auto s = ValidateResumeToken(request.token(), "token"); !s.ok()) return s;
  absl::StatusOr<std::optional<v1::ResumeToken>> found = Find(ResumeTokenHash(request.token()));
  if (!found.ok()) return found.status();
  if (!*found) return NotFound();
  v1::GetResumeTokenResponse response;
  *response.mutable_token() = **found;
  response.mutable_token()->set_token(request.token());
  return response;
}

absl::StatusOr<v1::ValidateResumeTokenResponse> PgResumeTokenStore::Validate(
    const v1::ValidateResumeTokenRequest& request) {
  if (auto s = ValidateResumeToken(request.token(), "token"); !s.ok()) return s;
  absl::StatusOr<std::optional<v1::ResumeToken>> found = Find(ResumeTokenHash(request.token()));
  if (!found.ok()) return found.status();
  v1::ValidateResumeTokenResponse response;
  if (!*found) {
    response.set_reason("not_found");
  } else if (auto reason = ResumeTokenUnusableReason(**found, NowMs())) {
    response.set_reason(std::string(*reason));
  } else {
    response.set_valid(true);
  }
  return response;
}

absl::StatusOr<v1::MarkResumeTokenUsedResponse> MarkResumeTokenUsedIn(
    Session& s, Tx& tx, const v1::MarkResumeTokenUsedRequest& request) {
  const int64_t now = NowMs();
  Params params;
  params.Add(ResumeTokenHash(request.token())).Add(now);
  if (const pqxx::result rows = s.Exec(tx, kMarkUsed, params); !rows.empty()) {
    v1::MarkResumeTokenUsedResponse response;
    *response.mutable_token() = TokenFromRow(rows[0]);
    response.mutable_token()->set_token(request.token());
    return response;
  }
  // Lost the compare-and-set: say why.
  Params hash;
  hash.Add(ResumeTokenHash(request.token()));
  const pqxx::result rows = s.Exec(tx, kGetToken, hash);
  if (rows.empty()) return NotFound();
  const auto reason = ResumeTokenUnusableReason(TokenFromRow(rows[0]), now);
  return absl::FailedPreconditionError(
      absl::StrCat("resume token ", reason ? std::string(*reason) : "not usable"));
}

absl::StatusOr<v1::MarkResumeTokenUsedResponse> PgResumeTokenStore::MarkUsed(
    const v1::MarkResumeTokenUsedRequest& request) {
  if (auto s = ValidateMarkResumeTokenUsed(request); !s.ok()) return s;
  return RunAlone(pool_, "mark resume token used", &MarkResumeTokenUsedIn, request);
}

absl::StatusOr<v1::RevokeResumeTokenResponse> RevokeResumeTokenIn(
    Session& s, Tx& tx, const v1::RevokeResumeTokenRequest& request) {
  const std::string hash =
      request.token().empty() ? request.token_id() : ResumeTokenHash(request.token());
  Params params;
  params.Add(hash).Add(NowMs());
  v1::RevokeResumeTokenResponse response;
  if (s.Exec(tx, kRevoke, params).affected_rows() > 0) {
    response.set_revoked(true);
    return response;
  }
  Params key;
  key.Add(hash);
  if (s.Exec(tx, kGetToken, key).empty()) return NotFound();
  return response;
}

absl::StatusOr<v1::RevokeResumeTokenResponse> PgResumeTokenStore::Revoke(
    const v1::RevokeResumeTokenRequest& request) {
  if (auto s = RevokedTokenId(request); !s.ok()) return s.status();
  return RunAlone(pool_, "revoke resume token", &RevokeResumeTokenIn, request);
}

absl::StatusOr<v1::ListResumeTokensByExecutionResponse> PgResumeTokenStore::ListByExecution(
    const v1::ListResumeTokensByExecutionRequest& request) {
  if (auto s = ValidateId(request.execution_id(), "execution_id"); !s.ok()) return s;
  absl::StatusOr<int32_t> limit = EffectiveLimit(request.limit());
  if (!limit.ok()) return limit.status();
  absl::StatusOr<TimeIdKey> after =
      DecodeTimeIdToken(request.page_token(), {std::numeric_limits<int64_t>::max(), ""});
  if (!after.ok()) return after.status();
  Params params;
  params.Add(request.execution_id()).Add(after->created_at).Add(after->id);
  return FetchPage<v1::ListResumeTokensByExecutionResponse, v1::ResumeToken>(
      pool_, "list resume tokens", kTokensByExecution, std::move(params), *limit,
      &v1::ListResumeTokensByExecutionResponse::mutable_tokens, TokenFromRow,
      [](const v1::ResumeToken& t) {
        return PageKeyOf({t.created_at(), t.id()});
      });
}

absl::StatusOr<v1::CleanupExpiredResumeTokensResponse> PgResumeTokenStore::CleanupExpired(
    const v1::CleanupExpiredResumeTokensRequest&) {
  Params params;
  params.Add(NowMs());
  return pool_.Run<v1::CleanupExpiredResumeTokensResponse>(
      "clean up expired resume tokens",
      [&](Session& s) -> absl::StatusOr<v1::CleanupExpiredResumeTokensResponse> {
        pqxx::nontransaction tx(s.connection());
        v1::CleanupExpiredResumeTokensResponse response;
        response.set_count(s.Exec(tx, kCleanup, params).affected_rows());
        return response;
      });
}

}  // namespace flowmonkey::pg
