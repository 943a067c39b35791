#include "server/pg/migrations.h"

#include <pqxx/nontransaction>
#include <pqxx/transaction>

#include "spdlog/spdlog.h"

namespace flowmonkey::pg {
namespace {

// Migrations are DDL, run once per version; they are the only statements not prepared.
constexpr std::string_view kCreateMigrationsTable =
    "CREATE TABLE IF NOT EXISTS {fm_}schema_migrations ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";
constexpr std::string_view kMigrationLock =
    "SELECT pg_advisory_xact_lock(hashtext('{fm_}schema_migrations'))";
constexpr std::string_view kIsApplied = "SELECT 1 FROM {fm_}schema_migrations WHERE version = $1";
constexpr std::string_view kRecord =
    "INSERT INTO {fm_}schema_migrations (version, name, applied_at)"
    " VALUES ($1, $2, (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT)";
constexpr std::string_view kSchemaVersion =
    "SELECT COALESCE(MAX(version), 0) FROM {fm_}schema_migrations";
constexpr std::string_view kTableExists = "SELECT to_regclass($1) IS NOT NULL";

}  // namespace

int LatestKnownVersion() {
  const auto& all = EmbeddedMigrations();
  return all.empty() ? 0 : all.back().version;
}

absl::StatusOr<int> ApplyMigrations(ConnectionPool& pool, int up_to) {
  for (const Migration& m : EmbeddedMigrations()) {
    if (m.version > up_to) break;
    absl::Status applied = pool.RunVoid("migrate", [&](Session& s) {
      pqxx::work tx(s.connection());
      tx.exec(pool.Sql(kMigrationLock));
      tx.exec(pool.Sql(kCreateMigrationsTable));
      if (!tx.exec_params(pool.Sql(kIsApplied), m.version).empty()) return absl::OkStatus();
      spdlog::info("applying migration {} ({})", m.version, m.name);
      tx.exec(pool.Sql(m.sql));
      tx.exec_params(pool.Sql(kRecord), m.version, std::string(m.name));
      tx.commit();
      return absl::OkStatus();
    });
    if (!applied.ok()) return applied;
  }
  return SchemaVersion(pool);
}

absl::StatusOr<int> SchemaVersion(ConnectionPool& pool) {
  return pool.Run<int>("schema version", [&](Session& s) -> absl::StatusOr<int> {
    pqxx::nontransaction tx(s.connection());
    const std::string table = pool.options().table_prefix + "schema_migrations";
    if (!tx.exec_params(pool.Sql(kTableExists), table)[0][0].as<bool>()) return 0;
    return tx.exec(pool.Sql(kSchemaVersion))[0][0].as<int>();
  });
}

}  // namespace flowmonkey::pg
