#include "server/pg/errors.h"

#include <gtest/gtest.h>

#include <pqxx/except>

#include "common/grpc_status.h"
#include "server/pg/pool.h"

namespace flowmonkey::pg {
namespace {

TEST(StatusFromSqlState, MapsEachClassToItsCode) {
  const struct {
    const char* sqlstate;
    absl::StatusCode code;
  } cases[] = {
      {"23505", absl::StatusCode::kAlreadyExists},
      {"23503", absl::StatusCode::kNotFound},
      {"40001", absl::StatusCode::kAborted},
      {"40P01", absl::StatusCode::kAborted},
      {"08006", absl::StatusCode::kUnavailable},
      {"08001", absl::StatusCode::kUnavailable},
      {"57P01", absl::StatusCode::kUnavailable},
      {"53300", absl::StatusCode::kUnavailable},
      {"22P02", absl::StatusCode::kInvalidArgument},
      {"22001", absl::StatusCode::kInvalidArgument},
      {"23514", absl::StatusCode::kInvalidArgument},
      {"57014", absl::StatusCode::kDeadlineExceeded},
      {"54000", absl::StatusCode::kResourceExhausted},
      {"42P01", absl::StatusCode::kInternal},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(StatusFromSqlState(c.sqlstate, "op").code(), c.code) << c.sqlstate;
  }
}

TEST(StatusFromSqlState, NeverLeaksSqlText) {
  const absl::Status status = StatusFromSqlState("42P01", "get execution");
  EXPECT_EQ(status.message(), "get execution: database error 42P01");
}

TEST(GrpcStatus, RoundTripsEveryCode) {
  for (int code = 1; code <= 16; ++code) {
    const absl::Status in(static_cast<absl::StatusCode>(code), "message");
    const grpc::Status wire = ToGrpcStatus(in);
    EXPECT_EQ(static_cast<int>(wire.error_code()), code);
    EXPECT_EQ(wire.error_message(), "message");
    EXPECT_EQ(FromGrpcStatus(wire), in);
  }
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

TEST(GrpcStatus, CutsLongMessagesOnACharacterBoundary) {
  const std::string long_message = "field: " + std::string(5000, 'x') + "\u00e9";
  const grpc::Status cut = ToGrpcStatus(absl::InvalidArgumentError(long_message));
  EXPECT_LE(cut.error_message().size(), kMaxStatusMessageBytes);
  EXPECT_EQ(cut.error_message().substr(0, 7), "field: ");
  EXPECT_EQ(cut.error_message().substr(cut.error_message().size() - 3), "...");
  std::string two_byte;
  for (int i = 0; i < 1000; ++i) two_byte += "\u00e9";
  const std::string m = ToGrpcStatus(absl::NotFoundError("a" + two_byte)).error_message();
  EXPECT_LE(m.size(), kMaxStatusMessageBytes);
  // Cut between characters: what precedes "..." is "a" and whole two-byte characters.
  EXPECT_EQ((m.size() - 3 - 1) % 2, 0u);
  EXPECT_EQ(ToGrpcStatus(absl::NotFoundError("short")).error_message(), "short");
}

TEST(TablePrefix, AcceptsOnlySafeNames) {
  EXPECT_TRUE(ValidateTablePrefix("fm_").ok());
  EXPECT_TRUE(ValidateTablePrefix("tenant2_").ok());
  for (const char* bad : {"", "1fm_", "FM_", "fm-", "fm; DROP TABLE x", "fm_\"",
                          "a_very_long_prefix_that_goes_on_and_on_"}) {
    EXPECT_FALSE(ValidateTablePrefix(bad).ok()) << bad;
  }
}

TEST(TablePrefix, RewritesEveryMarkerAndNothingElse) {
  EXPECT_EQ(WithPrefix("SELECT * FROM {fm_}jobs JOIN {fm_}executions", "x_"),
            "SELECT * FROM x_jobs JOIN x_executions");
  EXPECT_EQ(WithPrefix("SELECT 1 FROM {fm_}jobs", "fm_"), "SELECT 1 FROM fm_jobs");
  EXPECT_EQ(WithPrefix("SELECT 'fm_x', fm_y FROM {fm_}jobs", "x_"),
            "SELECT 'fm_x', fm_y FROM x_jobs");
}

TEST(StatusFromException, ALostConnectionIsUnavailableOnlyWhenNothingCanHaveCommitted) {
  const pqxx::broken_connection lost("server closed the connection unexpectedly");
  EXPECT_EQ(StatusFromException(lost, "op").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(StatusFromException(lost, "op", Sent::kNothingCommitted).code(),
            absl::StatusCode::kUnavailable);
  const absl::Status after_write = StatusFromException(lost, "record event", Sent::kWrite);
  EXPECT_EQ(after_write.code(), absl::StatusCode::kUnknown);
  EXPECT_EQ(after_write.message(),
            "record event: outcome unknown: the connection was lost after the statement was "
            "sent; the write may have committed");
  EXPECT_TRUE(IsBatchWideFailure(after_write));
}

TEST(StatusFromException, ALostCommitIsUnknownWhateverWasSent) {
  const pqxx::in_doubt_error lost_commit("connection lost while committing");
  for (Sent sent : {Sent::kNothingCommitted, Sent::kWrite}) {
    EXPECT_EQ(StatusFromException(lost_commit, "op", sent).code(), absl::StatusCode::kUnknown);
  }
}

TEST(StatusFromException, ATerminatedBackendAfterAWriteIsUnknown) {
  // pg_terminate_backend / shutdown while the statement ran: 57P01 arrives as an error.
  const pqxx::sql_error terminated("terminating connection due to administrator command", "",
                                   "57P01");
  EXPECT_EQ(StatusFromException(terminated, "op").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(StatusFromException(terminated, "op", Sent::kWrite).code(), absl::StatusCode::kUnknown);
  // Other errors are the statement's own answer, whatever was sent.
  const pqxx::sql_error duplicate("duplicate key", "", "23505");
  EXPECT_EQ(StatusFromException(duplicate, "op", Sent::kWrite).code(),
            absl::StatusCode::kAlreadyExists);
}

TEST(MayWrite, FindsDataChangingStatementsByWord) {
  for (const char* write : {"INSERT INTO fm_events (id) VALUES ($1)",
                            "WITH gate AS (SELECT 1) insert into fm_x SELECT 1 FROM gate",
                            "UPDATE fm_jobs SET status = $1", "DELETE FROM fm_flows",
                            "SELECT id FROM fm_jobs FOR UPDATE SKIP LOCKED"}) {
    EXPECT_TRUE(MayWrite(write)) << write;
  }
  for (const char* read : {"SELECT 1", "SELECT updated_at, deleted_count FROM fm_flows",
                           "SELECT pg_advisory_xact_lock(1)"}) {
    EXPECT_FALSE(MayWrite(read)) << read;
  }
}

}  // namespace
}  // namespace flowmonkey::pg
