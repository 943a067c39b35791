#include "server/pg/transactions.h"

#include <pqxx/result>
#include <pqxx/transaction>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/clock.h"
#include "core/digest.h"
#include "server/pg/transaction_steps.h"

namespace flowmonkey::pg {
namespace {

constexpr int64_t kRememberMs = 24LL * 60 * 60 * 1000;

// $1 request id, $2 fingerprint, $3 expires_at, $4 now. Claims the id for this commit, or
// takes over an expired row; no row back when a live commit holds it. A concurrent commit
// with the same id waits here until this one commits or rolls back.
constexpr Statement kClaimRequest{
    "txn_claim_request",
    "INSERT INTO {fm_}commit_requests AS c (request_id, fingerprint, response, expires_at)"
    " VALUES ($1, $2, ''::bytea, $3) ON CONFLICT (request_id) DO UPDATE SET"
    " fingerprint = EXCLUDED.fingerprint, response = EXCLUDED.response,"
    " expires_at = EXCLUDED.expires_at WHERE c.expires_at <= $4 RETURNING 1"};
constexpr Statement kStoredRequest{
    "txn_stored_request",
    "SELECT fingerprint, encode(response, 'hex'), expires_at FROM {fm_}commit_requests"
    " WHERE request_id = $1"};
constexpr Statement kStoreResponse{
    "txn_store_response",
    "UPDATE {fm_}commit_requests SET response = decode($2, 'hex') WHERE request_id = $1"};

// Group commit: one savepoint per commit. (Transaction control cannot be prepared.)
constexpr std::string_view kSavepoint = "SAVEPOINT fm_commit";
constexpr std::string_view kRollbackToSavepoint = "ROLLBACK TO SAVEPOINT fm_commit";
constexpr std::string_view kReleaseSavepoint = "RELEASE SAVEPOINT fm_commit";

// The request id under which operations[index], a generate_resume_token, stores its token:
// tied to one claim of the commit's request id (its expires_at), so that a commit reusing
// an expired id never reaches the tokens of the first.
std::string TokenRequestId(const std::string& request_id, int64_t expires_at, int index) {
  return absl::StrCat("commit/", Sha256Hex(request_id), "/", expires_at, "/", index);
}

// What is stored of a response: token values are dropped (only their hashes are stored).
std::string StoredForm(v1::CommitResponse response) {
  for (v1::OperationResult& result : *response.mutable_results()) {
    if (result.has_generate_resume_token()) {
      result.mutable_generate_resume_token()->mutable_token()->clear_token();
    } else if (result.has_mark_resume_token_used()) {
      result.mutable_mark_resume_token_used()->mutable_token()->clear_token();
    }
  }
  return absl::BytesToHexString(response.SerializeAsString());
}

// Runs the conditions and operations in `tx`; the first failure, prefixed with its index.
absl::StatusOr<v1::CommitResponse> Run(Session& s, Tx& tx, const v1::CommitRequest& request,
                                       int64_t expires_at) {
  for (int i = 0; i < request.conditions_size(); ++i) {
    try {
      if (auto c = CheckCondition(s, tx, request.conditions(i)); !c.ok()) {
        return AtIndex(c, "conditions", i);
      }
    } catch (const pqxx::sql_error& e) {
      if (IsConnectionLoss(e)) throw;  // the pool's to judge (and to drop the connection)
      return AtIndex(StatusFromException(e, "commit condition"), "conditions", i);
    }
  }
  v1::CommitResponse response;
  for (int i = 0; i < request.operations_size(); ++i) {
    const v1::Operation& op = request.operations(i);
    const std::string token_request_id = request.has_request_id() && op.has_generate_resume_token()
                                             ? TokenRequestId(request.request_id(), expires_at, i)
                                             : std::string();
    try {
      if (auto applied = ApplyOperation(s, tx, op, token_request_id, *response.add_results());
          !applied.ok()) {
        return AtIndex(applied, "operations", i);
      }
    } catch (const pqxx::sql_error& e) {
      if (IsConnectionLoss(e)) throw;
      return AtIndex(StatusFromException(e, "commit operation"), "operations", i);
    }
  }
  return response;
}

// A repeat of a commit that committed: its stored response, with the resume tokens it
// generated issued again under new values, and the tokens it marked used filled in.
absl::StatusOr<v1::CommitResponse> Replay(Session& s, Tx& tx, const v1::CommitRequest& request,
                                          const std::string& fingerprint, const pqxx::row& stored) {
  if (stored[0].c_str() != fingerprint) {
    return absl::AlreadyExistsError(
        absl::StrCat("request_id ", request.request_id(), " was used for a different commit"));
  }
  v1::CommitResponse response;
  if (!response.ParseFromString(absl::HexStringToBytes(stored[1].c_str())) ||
      response.results_size() != request.operations_size()) {
    return absl::InternalError("commit: stored response unreadable");
  }
  const int64_t expires_at = stored[2].as<int64_t>();
  for (int i = 0; i < request.operations_size(); ++i) {
    const v1::Operation& op = request.operations(i);
    v1::OperationResult& result = *response.mutable_results(i);
    if (op.has_mark_resume_token_used()) {
      result.mutable_mark_resume_token_used()->mutable_token()->set_token(
          op.mark_resume_token_used().token());
    }
    if (!op.has_generate_resume_token()) continue;
    const absl::Status issued =
        ApplyOperation(s, tx, op, TokenRequestId(request.request_id(), expires_at, i), result);
    if (issued.code() == absl::StatusCode::kFailedPrecondition) {
      return AtIndex(absl::FailedPreconditionError(
                         "this commit ran before (same request_id); the resume token it "
                         "generated is no longer pending, so it cannot be issued again"),
                     "operations", i);
    }
    if (!issued.ok()) return AtIndex(issued, "operations", i);
  }
  return response;
}

// One commit in `tx` (the commit's transaction, or its savepoint in a group), without
// COMMIT: on failure the caller rolls `tx` back.
absl::StatusOr<v1::CommitResponse> CommitIn(Session& s, Tx& tx, const v1::CommitRequest& request) {
  const int64_t now = NowMs();
  const int64_t expires_at = now + kRememberMs;
  std::string fingerprint;
  if (request.has_request_id()) {
    fingerprint = CommitFingerprint(request);
    Params claim;
    claim.Add(request.request_id()).Add(fingerprint).Add(expires_at).Add(now);
    if (s.Exec(tx, kClaimRequest, claim).empty()) {
      Params id;
      id.Add(request.request_id());
      return Replay(s, tx, request, fingerprint, s.Exec(tx, kStoredRequest, id).at(0));
    }
  }
  absl::StatusOr<v1::CommitResponse> response = Run(s, tx, request, expires_at);
  if (!response.ok() || !request.has_request_id()) return response;
  Params store;
  store.Add(request.request_id()).Add(StoredForm(*response));
  s.Exec(tx, kStoreResponse, store);
  return response;
}

}  // namespace

PgTransactions::PgTransactions(ConnectionPool& pool) : pool_(pool) {
  pool_.Register({kClaimRequest, kStoredRequest, kStoreResponse});
  RegisterConditionStatements(pool_);
  RegisterLockStatements(pool_);
}

absl::StatusOr<v1::CommitResponse> PgTransactions::Commit(const v1::CommitRequest& request) {
  if (auto s = ValidateCommit(request); !s.ok()) return s;
  return CommitValid(request);
}

absl::StatusOr<v1::CommitResponse> PgTransactions::CommitValid(const v1::CommitRequest& request) {
  return pool_.Run<v1::CommitResponse>(
      "commit", [&](Session& s) -> absl::StatusOr<v1::CommitResponse> {
        pqxx::work tx(s.connection());
        absl::StatusOr<v1::CommitResponse> response = CommitIn(s, tx, request);
        if (response.ok()) tx.commit();  // otherwise rolled back with tx
        return response;
      });
}

absl::StatusOr<ManyResults<v1::CommitResponse>> PgTransactions::CommitMany(
    const Requests<v1::CommitRequest>& requests) {
  if (requests.size() == 1) return ManyResults<v1::CommitResponse>{CommitValid(*requests[0])};
  return pool_.Run<ManyResults<v1::CommitResponse>>(
      "commit group", [&](Session& s) -> absl::StatusOr<ManyResults<v1::CommitResponse>> {
        pqxx::work tx(s.connection());
        ManyResults<v1::CommitResponse> results;
        for (const v1::CommitRequest* request : requests) {
          tx.exec(std::string(kSavepoint));
          absl::StatusOr<v1::CommitResponse> response = CommitIn(s, tx, *request);
          // A failed commit alone is undone (also after a failed statement, which leaves the
          // transaction unusable until the rollback).
          if (!response.ok()) tx.exec(std::string(kRollbackToSavepoint));
          tx.exec(std::string(kReleaseSavepoint));
          results.push_back(std::move(response));
        }
        tx.commit();
        return results;
      });
}

}  // namespace flowmonkey::pg
