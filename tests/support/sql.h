#pragma once

// Direct SQL against a backend's tables, for seeding bulk data and for assertions about
// what is stored. `sql` names tables with the default prefix (fm_jobs); they become the
// tables of `prefix`. Header-only.

#include <cstdint>
#include <cstdlib>
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

// Runs `sql` in autocommit on the tables of `prefix`; returns the first column of the first
// row as an integer (0 when there is none), or the number of rows affected when
// `affected` is set. Aborts the test process on a database error.
inline int64_t RunSql(const std::string& prefix, const std::string& sql, bool affected = false) {
  std::unique_ptr<pg::ConnectionPool> pool = TestPool(prefix, 1);
  // Test SQL names tables as fm_xxx for readability; the server's SQL uses the marker.
  const std::string text = pool->Sql(std::regex_replace(sql, std::regex(R"(\bfm_)"), "{fm_}"));
  absl::StatusOr<int64_t> result =
      pool->Run<int64_t>("test sql", [&](pg::Session& s) -> absl::StatusOr<int64_t> {
        pqxx::nontransaction tx(s.connection());
        const pqxx::result rows = tx.exec(text);
        if (affected) return static_cast<int64_t>(rows.affected_rows());
        if (rows.empty() || rows[0][0].is_null()) return int64_t{0};
        return rows[0][0].as<int64_t>();
      });
  if (!result.ok()) {
    std::cerr << "test sql failed: " << result.status() << "\n" << text << "\n";
    std::abort();
  }
  return *result;
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
