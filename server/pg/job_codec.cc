#include "server/pg/job_codec.h"

#include "core/job_rules.h"
#include "nlohmann/json.hpp"

namespace flowmonkey::pg {
namespace {

using nlohmann::json;

std::string StringOr(const json& doc, const char* key) {
  auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
}

void ReadJobError(const std::string& text, v1::JobError& error) {
  const json doc = json::parse(text);
  error.set_code(StringOr(doc, "code"));
  error.set_message(StringOr(doc, "message"));
  if (auto it = doc.find("details"); it != doc.end() && !it->is_null()) {
    error.set_details_json(it->dump());
  }
}

void ReadProgress(const std::string& text, v1::JobProgress& progress) {
  const json doc = json::parse(text);
  if (auto it = doc.find("percent"); it != doc.end() && it->is_number()) {
    progress.set_percent(it->get<int32_t>());
  }
  progress.set_message(StringOr(doc, "message"));
}

}  // namespace

std::string JobErrorJson(const v1::JobError& error) {
  json doc = {{"code", error.code()}, {"message", error.message()}};
  if (!error.details_json().empty()) doc["details"] = json::parse(error.details_json());
  return doc.dump();
}

std::string JobProgressJson(const v1::JobProgress& progress) {
  json doc = {{"percent", progress.percent()}};
  if (!progress.message().empty()) doc["message"] = progress.message();
  return doc.dump();
}

v1::Job JobFromRow(const pqxx::row& r) {
  v1::Job job;
  job.set_id(r[0].c_str());
  job.set_execution_id(r[1].c_str());
  job.set_step_id(r[2].c_str());
  job.set_handler(r[3].c_str());
  job.set_status(JobStatusFromName(r[4].c_str()));
  job.set_input_json(r[5].c_str());
  if (!r[6].is_null()) job.set_result_json(r[6].c_str());
  if (!r[7].is_null()) ReadJobError(r[7].c_str(), *job.mutable_error());
  if (!r[8].is_null()) job.set_runner_id(r[8].c_str());
  if (!r[9].is_null()) job.set_heartbeat_at(r[9].as<int64_t>());
  job.set_heartbeat_ms(r[10].as<int32_t>());
  job.set_attempts(r[11].as<int32_t>());
  job.set_max_attempts(r[12].as<int32_t>());
  job.set_created_at(r[13].as<int64_t>());
  job.set_updated_at(r[14].as<int64_t>());
  if (!r[15].is_null()) job.set_instance_id(r[15].c_str());
  if (!r[16].is_null()) job.set_checkpoint_json(r[16].c_str());
  if (!r[17].is_null()) ReadProgress(r[17].c_str(), *job.mutable_progress());
  const int64_t run_at = r[18].as<int64_t>();
  job.set_run_at(run_at == 0 ? job.created_at() : run_at);
  job.set_priority(r[19].as<int32_t>());
  if (!r[20].is_null()) {
    job.mutable_retry()->set_initial_backoff_ms(r[20].as<int64_t>());
    job.mutable_retry()->set_max_backoff_ms(r[21].as<int64_t>());
  }
  return job;
}

}  // namespace flowmonkey::pg
