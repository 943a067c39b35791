#include "server/pg/flow_store.h"

#include <pqxx/nontransaction>
#include <pqxx/result>

#include "absl/strings/str_cat.h"
#include "core/clock.h"
#include "core/flow_rules.h"
#include "core/validation.h"
#include "nlohmann/json.hpp"
#include "server/pg/array_literal.h"
#include "server/pg/paging.h"

namespace flowmonkey::pg {
namespace {

#define FM_FLOW_COLUMNS                                                                   \
  "id, version, name, description, status, array_to_json(tags)::text, definition::text, " \
  "visual::text, created_at, updated_at"
#define FM_FLOW_NEWEST_FIRST \
  "version_major DESC, version_minor DESC, version_patch DESC, version_pre_key DESC, version DESC"

constexpr Statement kInsertFlow{
    "flow_insert",
    "INSERT INTO {fm_}flows (id, version, name, description, status, tags, definition, visual,"
    " created_at, updated_at, version_major, version_minor, version_patch, version_pre_key)"
    " VALUES ($1, $2, $3, $4, $5, $6::text[], $7::jsonb, $8::jsonb, $9, $9, $10, $11, $12, $13)"
    " ON CONFLICT (id, version) DO NOTHING RETURNING created_at"};
// Same content: everything but status and timestamps (a version is immutable).
constexpr Statement kCompare{
    "flow_compare",
    "SELECT definition = $6::jsonb AND visual IS NOT DISTINCT FROM $7::jsonb"
    " AND name IS NOT DISTINCT FROM $3 AND description IS NOT DISTINCT FROM $4"
    " AND tags = $5::text[], " FM_FLOW_COLUMNS " FROM {fm_}flows WHERE id = $1 AND version = $2"};
constexpr Statement kGetFlow{
    "flow_get", "SELECT " FM_FLOW_COLUMNS " FROM {fm_}flows WHERE id = $1 AND version = $2"};
constexpr Statement kLatest{"flow_latest", "SELECT " FM_FLOW_COLUMNS
                                           " FROM {fm_}flows WHERE id = $1 AND status <> 'archived'"
                                           " ORDER BY " FM_FLOW_NEWEST_FIRST " LIMIT 1"};
constexpr Statement kVersions{
    "flow_versions",
    "SELECT " FM_FLOW_COLUMNS
    " FROM {fm_}flows WHERE id = $1 AND ($2::bigint IS NULL OR"
    " (version_major, version_minor, version_patch, version_pre_key, version)"
    " < ($2, $3, $4, $5::text, $6::text)) ORDER BY " FM_FLOW_NEWEST_FIRST " LIMIT $7"};
constexpr Statement kListFlows{"flow_list",
                               "SELECT DISTINCT ON (id) " FM_FLOW_COLUMNS
                               " FROM {fm_}flows WHERE status <> 'archived' AND id > $1"
                               " ORDER BY id, " FM_FLOW_NEWEST_FIRST " LIMIT $2"};
constexpr Statement kListAllPage{
    "flow_list_all_page",
    "SELECT " FM_FLOW_COLUMNS
    " FROM {fm_}flows WHERE id IN (SELECT DISTINCT id FROM {fm_}flows"
    " WHERE id > $1 ORDER BY id LIMIT $2) ORDER BY id, " FM_FLOW_NEWEST_FIRST};
constexpr Statement kSetStatus{"flow_set_status",
                               "UPDATE {fm_}flows SET status = $3, updated_at = $4"
                               " WHERE id = $1 AND version = $2 RETURNING " FM_FLOW_COLUMNS};
constexpr Statement kDeleteVersion{"flow_delete_version",
                                   "DELETE FROM {fm_}flows WHERE id = $1 AND version = $2"};
constexpr Statement kDeleteAll{"flow_delete_all", "DELETE FROM {fm_}flows WHERE id = $1"};

constexpr int32_t kListAllPageFlows = 100;

v1::Flow FlowFromRow(const pqxx::row& row, int offset = 0) {
  v1::Flow flow;
  flow.set_id(row[offset + 0].c_str());
  flow.set_version(row[offset + 1].c_str());
  if (!row[offset + 2].is_null()) flow.set_name(row[offset + 2].c_str());
  if (!row[offset + 3].is_null()) flow.set_description(row[offset + 3].c_str());
  flow.set_status(FlowStatusFromName(row[offset + 4].c_str()));
  for (const auto& tag : nlohmann::json::parse(row[offset + 5].c_str())) {
    flow.add_tags(tag.get<std::string>());
  }
  flow.set_definition_json(row[offset + 6].c_str());
  if (!row[offset + 7].is_null()) flow.set_visual_json(row[offset + 7].c_str());
  flow.set_created_at(row[offset + 8].as<int64_t>());
  flow.set_updated_at(row[offset + 9].as<int64_t>());
  return flow;
}

std::string Tags(const v1::Flow& flow) {
  ArrayLiteral tags;
  for (const std::string& tag : flow.tags()) tags.Add(tag);
  return tags.str();
}

absl::Status FlowNotFound(const std::string& flow_id, const std::string& version = "") {
  if (version.empty()) {
    return absl::NotFoundError(absl::StrCat("flow ", flow_id, ": no version that is not archived"));
  }
  return absl::NotFoundError(absl::StrCat("flow ", flow_id, " version ", version, " not found"));
}

}  // namespace

PgFlowStore::PgFlowStore(ConnectionPool& pool) : pool_(pool) {
  pool_.Register({kInsertFlow, kCompare, kGetFlow, kLatest, kVersions, kListFlows, kListAllPage,
                  kSetStatus, kDeleteVersion, kDeleteAll});
}

absl::StatusOr<v1::SaveFlowResponse> PgFlowStore::Save(const v1::SaveFlowRequest& request) {
  if (!request.has_flow()) return absl::InvalidArgumentError("flow: required");
  if (auto s = ValidateFlow(request.flow()); !s.ok()) return s;
  const v1::Flow& flow = request.flow();
  const SemVer version = *ParseSemVer(flow.version());
  const int64_t created_at = flow.created_at() != 0 ? flow.created_at() : NowMs();
  // Params keep pointers into their own storage, so each statement gets its own.
  auto add_content = [&](Params& params, bool with_status) {
    params.Add(flow.id()).Add(flow.version());
    params.Add(flow.has_name() ? std::optional<std::string>(flow.name()) : std::nullopt);
    params.Add(flow.has_description() ? std::optional<std::string>(flow.description())
                                      : std::nullopt);
    if (with_status) params.Add(*FlowStatusName(flow.status()));
    params.Add(Tags(flow)).Add(flow.definition_json()).AddOrNull(flow.visual_json());
  };
  Params params;
  add_content(params, /*with_status=*/false);
  Params insert;
  add_content(insert, /*with_status=*/true);
  insert.Add(created_at).Add(version.major).Add(version.minor).Add(version.patch);
  insert.Add(PreReleaseSortKey(version));
  // A version deleted between the conflicting insert and the comparison: insert again.
  for (int attempt = 0; attempt < 3; ++attempt) {
    absl::StatusOr<v1::SaveFlowResponse> result = pool_.Run<v1::SaveFlowResponse>(
        "save flow", [&](Session& s) -> absl::StatusOr<v1::SaveFlowResponse> {
          pqxx::nontransaction tx(s.connection());
          v1::SaveFlowResponse response;
          if (!s.Exec(tx, kInsertFlow, insert).empty()) {
            *response.mutable_flow() = flow;
            response.mutable_flow()->set_created_at(created_at);
            response.mutable_flow()->set_updated_at(created_at);
            response.set_created(true);
            return response;
          }
          const pqxx::result rows = s.Exec(tx, kCompare, params);
          if (rows.empty()) return absl::AbortedError("flow version deleted concurrently");
          if (!rows[0][0].as<bool>()) {
            return absl::AlreadyExistsError(
                absl::StrCat("flow ", flow.id(), " version ", flow.version(),
                             " already exists with different content; save a new version"));
          }
          *response.mutable_flow() = FlowFromRow(rows[0], 1);
          return response;
        });
    if (result.status().code() != absl::StatusCode::kAborted) return result;
  }
  return absl::AbortedError("save flow: contended, retry");
}

absl::StatusOr<v1::Flow> PgFlowStore::FindLatest(const std::string& flow_id) {
  Params params;
  params.Add(flow_id);
  return pool_.Run<v1::Flow>("get latest flow", [&](Session& s) -> absl::StatusOr<v1::Flow> {
    pqxx::nontransaction tx(s.connection());
    const pqxx::result rows = s.Exec(tx, kLatest, params);
    if (rows.empty()) return FlowNotFound(flow_id);
    return FlowFromRow(rows[0]);
  });
}

absl::StatusOr<v1::GetFlowResponse> PgFlowStore::Get(const v1::GetFlowRequest& request) {
  if (auto s = ValidateId(request.flow_id(), "flow_id"); !s.ok()) return s;
  v1::GetFlowResponse response;
  if (!request.has_version()) {
    absl::StatusOr<v1::Flow> flow = FindLatest(request.flow_id());
    if (!flow.ok()) return flow.status();
    *response.mutable_flow() = *std::move(flow);
    return response;
  }
  if (auto s = ValidateId(request.version(), "version"); !s.ok()) return s;
  Params params;
  params.Add(request.flow_id()).Add(request.version());
  return pool_.Run<v1::GetFlowResponse>(
      "get flow", [&](Session& s) -> absl::StatusOr<v1::GetFlowResponse> {
        pqxx::nontransaction tx(s.connection());
        const pqxx::result rows = s.Exec(tx, kGetFlow, params);
        if (rows.empty()) return FlowNotFound(request.flow_id(), request.version());
        *response.mutable_flow() = FlowFromRow(rows[0]);
        return response;
      });
}

absl::StatusOr<v1::LatestFlowResponse> PgFlowStore::Latest(const v1::LatestFlowRequest& request) {
  if (auto s = ValidateId(request.flow_id(), "flow_id"); !s.ok()) return s;
  absl::StatusOr<v1::Flow> flow = FindLatest(request.flow_id());
  if (!flow.ok()) return flow.status();
  v1::LatestFlowResponse response;
  *response.mutable_flow() = *std::move(flow);
  return response;
}

absl::StatusOr<v1::FlowVersionsResponse> PgFlowStore::Versions(
    const v1::FlowVersionsRequest& request) {
  if (auto s = ValidateId(request.flow_id(), "flow_id"); !s.ok()) return s;
  absl::StatusOr<int32_t> limit = EffectiveLimit(request.limit());
  if (!limit.ok()) return limit.status();
  absl::StatusOr<std::optional<PageKey>> last = DecodePageToken(request.page_token(), 1);
  if (!last.ok()) return last.status();
  Params params;
  params.Add(request.flow_id());
  if (!*last) {
    for (int i = 0; i < 5; ++i) params.AddNull();
  } else {
    const std::string& version = (**last)[0];
    absl::StatusOr<SemVer> after = ParseSemVer(version, "page_token");
    if (!after.ok()) return after.status();
    params.Add(after->major).Add(after->minor).Add(after->patch);
    params.Add(PreReleaseSortKey(*after)).Add(version);
  }
  return FetchPage<v1::FlowVersionsResponse, v1::Flow>(
      pool_, "list flow versions", kVersions, std::move(params), *limit,
      &v1::FlowVersionsResponse::mutable_flows, [](const pqxx::row& r) { return FlowFromRow(r); },
      [](const v1::Flow& f) { return PageKey{f.version()}; });
}

absl::StatusOr<v1::ListFlowsResponse> PgFlowStore::List(const v1::ListFlowsRequest& request) {
  absl::StatusOr<int32_t> limit = EffectiveLimit(request.limit());
  if (!limit.ok()) return limit.status();
  absl::StatusOr<std::optional<PageKey>> after = DecodePageToken(request.page_token(), 1);
  if (!after.ok()) return after.status();
  Params params;
  params.Add(*after ? (**after)[0] : std::string());
  return FetchPage<v1::ListFlowsResponse, v1::Flow>(
      pool_, "list flows", kListFlows, std::move(params), *limit,
      &v1::ListFlowsResponse::mutable_flows, [](const pqxx::row& r) { return FlowFromRow(r); },
      [](const v1::Flow& f) { return PageKey{f.id()}; });
}

absl::Status PgFlowStore::ListAll(const v1::ListAllFlowsRequest&,
                                  const std::function<bool(const v1::Flow&)>& each) {
  std::string after;
  for (;;) {
    Params params;
    params.Add(after).Add(kListAllPageFlows);
    // One page at a time, and `each` runs with no connection held (it may be slow).
    absl::StatusOr<std::vector<v1::Flow>> page = pool_.Run<std::vector<v1::Flow>>(
        "list all flows", [&](Session& s) -> absl::StatusOr<std::vector<v1::Flow>> {
          pqxx::nontransaction tx(s.connection());
          std::vector<v1::Flow> flows;
          for (const auto& row : s.Exec(tx, kListAllPage, params))
            flows.push_back(FlowFromRow(row));
          return flows;
        });
    if (!page.ok()) return page.status();
    if (page->empty()) return absl::OkStatus();
    for (const v1::Flow& flow : *page) {
      if (!each(flow)) return absl::OkStatus();
    }
    after = page->back().id();
  }
}

absl::StatusOr<v1::SetFlowStatusResponse> PgFlowStore::SetStatus(
    const v1::SetFlowStatusRequest& request) {
  if (auto s = ValidateId(request.flow_id(), "flow_id"); !s.ok()) return s;
  if (auto s = ValidateId(request.version(), "version"); !s.ok()) return s;
  if (auto s = ValidateFlowStatus(request.status(), "status"); !s.ok()) return s;
  Params params;
  params.Add(request.flow_id()).Add(request.version()).Add(*FlowStatusName(request.status()));
  params.Add(NowMs());
  return pool_.Run<v1::SetFlowStatusResponse>(
      "set flow status", [&](Session& s) -> absl::StatusOr<v1::SetFlowStatusResponse> {
        pqxx::nontransaction tx(s.connection());
        const pqxx::result rows = s.Exec(tx, kSetStatus, params);
        if (rows.empty()) return FlowNotFound(request.flow_id(), request.version());
        v1::SetFlowStatusResponse response;
        *response.mutable_flow() = FlowFromRow(rows[0]);
        return response;
      });
}

absl::StatusOr<v1::DeleteFlowResponse> PgFlowStore::Delete(const v1::DeleteFlowRequest& request) {
  if (auto s = ValidateId(request.flow_id(), "flow_id"); !s.ok()) return s;
  if (request.has_version()) {
    if (auto s = ValidateId(request.version(), "version"); !s.ok()) return s;
  }
  Params params;
  params.Add(request.flow_id());
  if (request.has_version()) params.Add(request.version());
  return pool_.Run<v1::DeleteFlowResponse>(
      "delete flow", [&](Session& s) -> absl::StatusOr<v1::DeleteFlowResponse> {
        pqxx::nontransaction tx(s.connection());
        const pqxx::result rows =
            s.Exec(tx, request.has_version() ? kDeleteVersion : kDeleteAll, params);
        v1::DeleteFlowResponse response;
        response.set_deleted_count(rows.affected_rows());
        response.set_deleted(rows.affected_rows() > 0);
        return response;
      });
}

}  // namespace flowmonkey::pg
