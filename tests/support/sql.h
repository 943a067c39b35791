#pragma once

// Direct SQL against a backend's tables, for seeding bulk data and for assertions about
// what is stored. `sql` names tables with the default prefix (fm_jobs); they become the
// tables of `prefix`. Header-only.

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>
#include <regex>
#include <string>

#include "absl/strings/str_cat.h"
#include "server/pg/params.h"
#include "tests/support/backends.h"

namespace flowmonkey::testing {

// Runs `sql` in autocommit on the tables of `prefix` and hands the rows to `read`. Aborts
// the test process on a database error.
template <typename T>
T RunSqlRead(const std::string& prefix, const std::string& sql,
             const std::function<T(const pqxx::result&)>& read) {
  std::unique_ptr<pg::ConnectionPool> pool = TestPool(prefix, 1);
  // Test SQL names tables as fm_xxx for readability; the server's SQL uses the marker.
  const std::string text = pool->Sql(std::regex_replace(sql, std::regex(R"(\bfm_)"), "{fm_}"));
  absl::StatusOr<T> result = pool->Run<T>("test sql", [&](pg::Session& s) -> absl::StatusOr<T> {
    pqxx::nontransaction tx(s.connection());
    return read(tx.exec(text));
  });
  if (!result.ok()) {
    std::cerr << "test sql failed: " << result.status() << "\n" << text << "\n";
    std::abort();
  }
  return *std::move(result);
}

// Runs `sql`; returns the first column of the first row as an integer (0 when there is
// none), or the number of rows affected when `affected` is set.
inline int64_t RunSql(const std::string& prefix, const std::string& sql, bool affected = false) {
  return RunSqlRead<int64_t>(prefix, sql, [affected](const pqxx::result& rows) -> int64_t {
    if (affected) return static_cast<int64_t>(rows.affected_rows());
    if (rows.empty() || rows[0][0].is_null()) return 0;
    return rows[0][0].as<int64_t>();
  });
}

// Runs `sql`; returns the first column of the first row as text ("" when there is none,
// or it is NULL).
inline std::string RunSqlText(const std::string& prefix, const std::string& sql) {
  return RunSqlRead<std::string>(prefix, sql, [](const pqxx::result& rows) -> std::string {
    if (rows.empty() || rows[0][0].is_null()) return "";
    return rows[0][0].c_str();
  });
}

// The text of EXPLAIN of `pool`'s registered statement `name` with `params` (one line per
// plan line), or the failure.
inline absl::StatusOr<std::string> ExplainStatement(pg::ConnectionPool& pool,
                                                    const std::string& name,
                                                    const pg::Params& params) {
  const std::string sql = pool.SqlFor(name);
  return pool.Run<std::string>("explain", [&](pg::Session& s) -> absl::StatusOr<std::string> {
    pqxx::work tx(s.connection());  // rolled back: EXPLAIN of an UPDATE changes nothing anyway
    const pqxx::result rows =
        tx.exec_params("EXPLAIN " + sql, pqxx::prepare::make_dynamic_params(params.values()));
    std::string text;
    for (const auto& row : rows) absl::StrAppend(&text, row[0].c_str(), "\n");
    return text;
  });
}

}  // namespace flowmonkey::testing
