#include "server/pg/execution_codec.h"

#include <array>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/execution_rules.h"
#include "nlohmann/json.hpp"

namespace flowmonkey::pg {
namespace {

using nlohmann::json;

std::string ErrorJson(const v1::ExecutionError& error) {
  json doc = {{"code", error.code()}, {"message", error.message()}};
  if (error.has_step_id()) doc["stepId"] = error.step_id();
  if (!error.details_json().empty()) doc["details"] = json::parse(error.details_json());
  if (error.timestamp() != 0) doc["timestamp"] = error.timestamp();
  return doc.dump();
}

std::string CancellationJson(const v1::Cancellation& c) {
  return json{{"source", *CancellationSourceName(c.source())},
              {"reason", c.reason()},
              {"cancelledAt", c.cancelled_at()}}
      .dump();
}

std::string TimeoutJson(const v1::TimeoutConfig& t) {
  json doc = json::object();
  if (t.has_execution_timeout_ms()) doc["executionTimeoutMs"] = t.execution_timeout_ms();
  if (t.has_wait_timeout_ms()) doc["waitTimeoutMs"] = t.wait_timeout_ms();
  return doc.dump();
}

std::string RetryJson(const google::protobuf::Map<std::string, int32_t>& attempts) {
  json doc = json::object();
  for (const auto& [step, count] : attempts) doc[step] = count;
  return doc.dump();
}

template <typename T>
T Get(const json& doc, const char* key, T fallback) {
  auto it = doc.find(key);
  return it != doc.end() && !it->is_null() ? it->get<T>() : fallback;
}

void ReadExecutionError(const std::string& text, v1::ExecutionError& error) {
  const json doc = json::parse(text);
  error.set_code(Get<std::string>(doc, "code", ""));
  error.set_message(Get<std::string>(doc, "message", ""));
  if (doc.contains("stepId") && doc["stepId"].is_string()) error.set_step_id(doc["stepId"]);
  if (doc.contains("details") && !doc["details"].is_null()) {
    error.set_details_json(doc["details"].dump());
  }
  error.set_timestamp(Get<int64_t>(doc, "timestamp", 0));
}

void ReadCancellation(const std::string& text, v1::Cancellation& c) {
  const json doc = json::parse(text);
  c.set_source(CancellationSourceFromName(Get<std::string>(doc, "source", "")));
  c.set_reason(Get<std::string>(doc, "reason", ""));
  c.set_cancelled_at(Get<int64_t>(doc, "cancelledAt", 0));
}

void ReadTimeouts(const std::string& text, v1::TimeoutConfig& t) {
  const json doc = json::parse(text);
  if (doc.contains("executionTimeoutMs")) t.set_execution_timeout_ms(doc["executionTimeoutMs"]);
  if (doc.contains("waitTimeoutMs")) t.set_wait_timeout_ms(doc["waitTimeoutMs"]);
}

}  // namespace

namespace {

enum class Written {
  kAlways,
  kKey,          // id: the conflict target, never SET
  kFirstWriter,  // created_at: an update keeps a stored value, an upsert never changes it
};

struct Column {
  const char* name;
  const char* type;
  Written written;
  void (*add)(Params&, const v1::Execution&, int64_t now);
};

using E = const v1::Execution&;
constexpr std::array<Column, 22> kColumns{{
    {"id", "text", Written::kKey, [](Params& p, E e, int64_t) { p.Add(e.id()); }},
    {"flow_id", "text", Written::kAlways, [](Params& p, E e, int64_t) { p.Add(e.flow_id()); }},
    {"flow_version", "text", Written::kAlways,
     [](Params& p, E e, int64_t) { p.Add(e.flow_version()); }},
    {"current_step", "text", Written::kAlways,
     [](Params& p, E e, int64_t) { p.Add(e.current_step_id()); }},
    {"status", "text", Written::kAlways,
     [](Params& p, E e, int64_t) { p.Add(*ExecutionStatusName(e.status())); }},
    {"context", "jsonb", Written::kAlways,
     [](Params& p, E e, int64_t) {
       p.Add(e.context_json().empty() ? std::string_view("{}")
                                      : std::string_view(e.context_json()));
     }},
    {"wake_at", "bigint", Written::kAlways,
     [](Params& p, E e, int64_t) { e.has_wake_at() ? p.Add(e.wake_at()) : p.AddNull(); }},
    {"wait_reason", "text", Written::kAlways,
     [](Params& p, E e, int64_t) { e.has_wait_reason() ? p.Add(e.wait_reason()) : p.AddNull(); }},
    {"error", "jsonb", Written::kAlways,
     [](Params& p, E e, int64_t) { e.has_error() ? p.Add(ErrorJson(e.error())) : p.AddNull(); }},
    {"step_count", "int", Written::kAlways, [](Params& p, E e, int64_t) { p.Add(e.step_count()); }},
    {"history", "jsonb", Written::kAlways,
     [](Params& p, E e, int64_t) { p.AddOrNull(e.history_json()); }},
    {"tenant_id", "text", Written::kAlways,
     [](Params& p, E e, int64_t) { e.has_tenant_id() ? p.Add(e.tenant_id()) : p.AddNull(); }},
    {"metadata", "jsonb", Written::kAlways,
     [](Params& p, E e, int64_t) { p.AddOrNull(e.metadata_json()); }},
    {"created_at", "bigint", Written::kFirstWriter,
     [](Params& p, E e, int64_t now) { p.Add(e.created_at() != 0 ? e.created_at() : now); }},
    {"updated_at", "bigint", Written::kAlways,
     [](Params& p, E e, int64_t now) { p.Add(e.updated_at() != 0 ? e.updated_at() : now); }},
    {"idempotency_key", "text", Written::kAlways,
     [](Params& p, E e, int64_t) {
       e.has_idempotency_key() ? p.Add(e.idempotency_key()) : p.AddNull();
     }},
    {"idempotency_expires_at", "bigint", Written::kAlways,
     [](Params& p, E e, int64_t) {
       e.has_idempotency_expires_at() ? p.Add(e.idempotency_expires_at()) : p.AddNull();
     }},
    {"cancellation", "jsonb", Written::kAlways,
     [](Params& p, E e, int64_t) {
       e.has_cancellation() ? p.Add(CancellationJson(e.cancellation())) : p.AddNull();
     }},
    {"parent_execution_id", "text", Written::kAlways,
     [](Params& p, E e, int64_t) {
       e.has_parent_execution_id() ? p.Add(e.parent_execution_id()) : p.AddNull();
     }},
    {"wait_started_at", "bigint", Written::kAlways,
     [](Params& p, E e, int64_t) {
       e.has_wait_started_at() ? p.Add(e.wait_started_at()) : p.AddNull();
     }},
    {"timeout_config", "jsonb", Written::kAlways,
     [](Params& p, E e, int64_t) {
       e.has_timeout_config() ? p.Add(TimeoutJson(e.timeout_config())) : p.AddNull();
     }},
    {"retry_attempts", "jsonb", Written::kAlways,
     [](Params& p, E e, int64_t) {
       e.retry_attempts().empty() ? p.AddNull() : p.Add(RetryJson(e.retry_attempts()));
     }},
}};

ExecutionWriteSql DeriveWriteSql() {
  ExecutionWriteSql sql;
  sql.count = static_cast<int>(kColumns.size());
  std::vector<std::string> columns, values, unnest, update_set, upsert_set;
  for (size_t i = 0; i < kColumns.size(); ++i) {
    const Column& c = kColumns[i];
    const std::string param = absl::StrCat("$", i + 1, "::", c.type);
    columns.emplace_back(c.name);
    values.push_back(param);
    unnest.push_back(absl::StrCat(param, "[]"));
    if (c.written == Written::kKey) continue;
    update_set.push_back(c.written == Written::kFirstWriter
                             ? absl::StrCat(c.name, " = COALESCE(", c.name, ", ", param, ")")
                             : absl::StrCat(c.name, " = ", param));
    if (c.written == Written::kAlways) {
      upsert_set.push_back(absl::StrCat(c.name, " = EXCLUDED.", c.name));
    }
  }
  update_set.emplace_back("version = version + 1");
  upsert_set.emplace_back("version = t.version + 1");
  sql.columns = absl::StrJoin(columns, ", ");
  sql.values = absl::StrJoin(values, ", ");
  sql.unnest = absl::StrJoin(unnest, ", ");
  sql.update_set = absl::StrJoin(update_set, ", ");
  sql.upsert_set = absl::StrJoin(upsert_set, ", ");
  return sql;
}

}  // namespace

const ExecutionWriteSql& ExecutionWrite() {
  static const ExecutionWriteSql sql = DeriveWriteSql();
  return sql;
}

void AddExecutionParams(Params& p, const v1::Execution& e, int64_t now) {
  for (const Column& column : kColumns) column.add(p, e, now);
}

v1::Execution ExecutionFromRow(const pqxx::row& r) {
  v1::Execution e;
  e.set_id(r[0].c_str());
  e.set_flow_id(r[1].c_str());
  e.set_flow_version(r[2].c_str());
  e.set_current_step_id(r[3].c_str());
  e.set_status(ExecutionStatusFromName(r[4].c_str()));
  e.set_context_json(r[5].c_str());
  if (!r[6].is_null()) e.set_wake_at(r[6].as<int64_t>());
  if (!r[7].is_null()) e.set_wait_reason(r[7].c_str());
  if (!r[8].is_null()) ReadExecutionError(r[8].c_str(), *e.mutable_error());
  e.set_step_count(r[9].as<int32_t>());
  if (!r[10].is_null()) e.set_history_json(r[10].c_str());
  if (!r[11].is_null()) e.set_tenant_id(r[11].c_str());
  if (!r[12].is_null()) e.set_metadata_json(r[12].c_str());
  e.set_created_at(r[13].as<int64_t>());
  e.set_updated_at(r[14].as<int64_t>());
  if (!r[15].is_null()) e.set_idempotency_key(r[15].c_str());
  if (!r[16].is_null()) e.set_idempotency_expires_at(r[16].as<int64_t>());
  if (!r[17].is_null()) ReadCancellation(r[17].c_str(), *e.mutable_cancellation());
  if (!r[18].is_null()) e.set_parent_execution_id(r[18].c_str());
  if (!r[19].is_null()) e.set_wait_started_at(r[19].as<int64_t>());
  if (!r[20].is_null()) ReadTimeouts(r[20].c_str(), *e.mutable_timeout_config());
  if (!r[21].is_null()) {
    const nlohmann::json attempts = nlohmann::json::parse(r[21].c_str());
    for (const auto& [step, count] : attempts.items()) {
      (*e.mutable_retry_attempts())[step] = count.get<int32_t>();
    }
  }
  e.set_version(r[22].as<int64_t>());
  return e;
}

}  // namespace flowmonkey::pg
