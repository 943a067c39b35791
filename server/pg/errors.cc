#include "server/pg/errors.h"

#include <pqxx/except>

#include "absl/strings/str_cat.h"
#include "server/pg/log_limiter.h"
#include "spdlog/spdlog.h"

namespace flowmonkey::pg {
namespace {

constexpr std::string_view kUniqueViolation = "23505";
constexpr std::string_view kForeignKeyViolation = "23503";
constexpr std::string_view kCheckViolation = "23514";
constexpr std::string_view kSerializationFailure = "40001";
constexpr std::string_view kDeadlockDetected = "40P01";
constexpr std::string_view kQueryCanceled = "57014";
constexpr std::string_view kTooManyConnections = "53300";

}  // namespace

absl::Status StatusFromSqlState(std::string_view sqlstate, std::string_view what) {
  if (sqlstate == kUniqueViolation)
    return absl::AlreadyExistsError(absl::StrCat(std::string(what), ": already exists"));
  if (sqlstate == kForeignKeyViolation) {
    return absl::NotFoundError(
        absl::StrCat(std::string(what), ": a referenced record does not exist"));
  }
  if (sqlstate == kSerializationFailure || sqlstate == kDeadlockDetected) {
    return absl::AbortedError(absl::StrCat(std::string(what), ": concurrent update, retry"));
  }
  if (sqlstate == kQueryCanceled)
    return absl::DeadlineExceededError(absl::StrCat(std::string(what), ": timed out"));
  if (sqlstate == kTooManyConnections || sqlstate.starts_with("08") ||
      sqlstate.starts_with("57P")) {
    return absl::UnavailableError(absl::StrCat(std::string(what), ": database unavailable"));
  }
  if (sqlstate.starts_with("22") || sqlstate == kCheckViolation) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(what), ": value rejected by the database"));
  }
  if (sqlstate.starts_with("54") || sqlstate.starts_with("53")) {
    return absl::ResourceExhaustedError(
        absl::StrCat(std::string(what), ": database limit reached"));
  }
  return absl::InternalError(
      absl::StrCat(std::string(what), ": database error ", std::string(sqlstate)));
}

bool IsConnectionLoss(const std::exception& error) {
  if (dynamic_cast<const pqxx::broken_connection*>(&error) != nullptr) return true;
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&error)) {
    const std::string& state = sql->sqlstate();
    return state.starts_with("08") || state.starts_with("57P");
  }
  return false;
}

absl::Status StatusFromException(const std::exception& error, std::string_view what, Sent sent) {
  const bool in_doubt = dynamic_cast<const pqxx::in_doubt_error*>(&error) != nullptr;
  if (in_doubt || (sent == Sent::kWrite && IsConnectionLoss(error))) {
    spdlog::error("{}: connection lost after a write or COMMIT was sent, outcome unknown: {}", what,
                  error.what());
    return absl::UnknownError(absl::StrCat(
        std::string(what), ": outcome unknown: the connection was lost after the statement was",
        " sent; the write may have committed"));
  }
  if (dynamic_cast<const pqxx::broken_connection*>(&error) != nullptr) {
    // Every call in flight when the database goes away lands here: one line per 5 s.
    static LogLimiter* const connection_lost = new LogLimiter(absl::Seconds(5));
    connection_lost->Log(spdlog::level::warn,
                         absl::StrCat(std::string(what), ": connection lost: ", error.what()));
    return absl::UnavailableError(absl::StrCat(std::string(what), ": database connection lost"));
  }
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&error)) {
    // An events partition dropped (retention, DeleteOld) by another replica between this
    // one's check and its insert (event_partitions.h): the retry creates it again.
    if (sql->sqlstate() == kCheckViolation &&
        std::string_view(sql->what()).find("no partition of relation") != std::string_view::npos) {
      return absl::AbortedError(
          absl::StrCat(std::string(what), ": the events partition was dropped meanwhile, retry"));
    }
    absl::Status status = StatusFromSqlState(sql->sqlstate(), what);
    if (status.code() == absl::StatusCode::kInternal) {
      spdlog::error("{}: SQLSTATE {}: {}", what, sql->sqlstate(), sql->what());
    } else {
      spdlog::debug("{}: SQLSTATE {}: {}", what, sql->sqlstate(), sql->what());
    }
    return status;
  }
  spdlog::error("{}: unexpected error: {}", what, error.what());
  return absl::InternalError(absl::StrCat(std::string(what), ": unexpected server error"));
}

}  // namespace flowmonkey::pg
