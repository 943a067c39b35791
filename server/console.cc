#include "server/console.h"

#include <httplib.h>

#include <chrono>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "core/clock.h"
#include "core/validation.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"
#include "server/rpc/method.h"
#include "spdlog/spdlog.h"

namespace flowmonkey {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

struct ConsoleApi::Endpoint {
  const rpc::Method* method;  // its policy, for the tenant guard
  bool action;
  std::function<std::unique_ptr<Message>()> new_request;
  std::function<absl::StatusOr<std::unique_ptr<Message>>(const Message&)> run;
};

namespace {

constexpr size_t kMaxReasonBytes = 1000;

int HttpStatusOf(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kFailedPrecondition:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

HttpReply JsonReply(int status, std::string body) {
  return {status, "application/json", std::move(body)};
}

HttpReply ErrorReply(int status, const std::string& code, const std::string& message) {
  nlohmann::json body = {{"code", code}, {"message", message}};
  return JsonReply(status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

HttpReply ErrorReply(const absl::Status& status) {
  const int http = HttpStatusOf(status.code());
  if (http == 500) spdlog::warn("console: {}", status.ToString());
  return ErrorReply(http, absl::StatusCodeToString(status.code()), std::string(status.message()));
}

absl::StatusOr<std::string> ToJson(const Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  std::string out;
  const auto status = google::protobuf::util::MessageToJsonString(message, &out, options);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("console: cannot print ", message.GetTypeName(), " as JSON"));
  }
  return out;
}

absl::Status FromJson(std::string_view body, Message& message) {
  const std::string text =
      absl::StripAsciiWhitespace(absl::string_view(body.data(), body.size())).empty()
          ? "{}"
          : std::string(body);
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = google::protobuf::util::JsonStringToMessage(text, &message, options);
  if (!status.ok()) {
    const auto why = status.message();
    return absl::InvalidArgumentError(
        absl::StrCat("request body: not a ", message.GetDescriptor()->name(),
                     " in JSON: ", std::string(why.data(), why.size())));
  }
  return absl::OkStatus();
}

// Lists: a missing, zero or larger limit becomes kMaxPage.
void CapLimit(Message& request) {
  const FieldDescriptor* limit = request.GetDescriptor()->FindFieldByName("limit");
  if (limit == nullptr || limit->cpp_type() != FieldDescriptor::CPPTYPE_INT32 ||
      limit->is_repeated()) {
    return;
  }
  const auto* reflection = request.GetReflection();
  const int32_t value = reflection->GetInt32(request, limit);
  if (value <= 0 || value > ConsoleApi::kMaxPage) {
    reflection->SetInt32(&request, limit, ConsoleApi::kMaxPage);
  }
}

// Resume token values never leave the console, in any message.
void StripTokens(Message& message) {
  const auto* reflection = message.GetReflection();
  if (message.GetDescriptor() == v1::ResumeToken::descriptor()) {
    static_cast<v1::ResumeToken&>(message).clear_token();
    return;
  }
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || field->is_map()) continue;
    if (field->is_repeated()) {
      for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
        StripTokens(*reflection->MutableRepeatedMessage(&message, field, i));
      }
    } else {
      StripTokens(*reflection->MutableMessage(&message, field));
    }
  }
}

bool Ended(v1::ExecutionStatus status) {
  return status == v1::EXECUTION_STATUS_COMPLETED || status == v1::EXECUTION_STATUS_FAILED ||
         status == v1::EXECUTION_STATUS_CANCELLED;
}

}  // namespace

template <typename Store, typename Request, typename Response>
void ConsoleApi::Bind(std::string name, Store& store,
                      absl::StatusOr<Response> (Store::*call)(const Request&), bool action) {
  auto endpoint = std::make_unique<Endpoint>();
  endpoint->method =
      &rpc::Method::Named(absl::StrCat("flowmonkey.v1.", absl::StrReplaceAll(name, {{"/", "."}})));
  endpoint->action = action;
  endpoint->new_request = [] { return std::make_unique<Request>(); };
  endpoint->run = [&store,
                   call](const Message& request) -> absl::StatusOr<std::unique_ptr<Message>> {
    absl::StatusOr<Response> response = (store.*call)(static_cast<const Request&>(request));
    if (!response.ok()) return response.status();
    return std::make_unique<Response>(*std::move(response));
  };
  endpoints_.emplace(std::move(name), std::move(endpoint));
}

ConsoleApi::ConsoleApi(ConsoleStores stores, const rpc::Authenticator* authenticator,
                       rpc::CallGuard* guard, size_t max_response_bytes)
    : stores_(stores),
      authenticator_(authenticator),
      guard_(guard),
      max_response_bytes_(max_response_bytes) {
  constexpr bool kRead = false;
  constexpr bool kAction = true;
  Bind("ExecutionStore/FindByStatus", stores_.executions, &ExecutionStore::FindByStatus, kRead);
  Bind("ExecutionStore/CountByStatus", stores_.executions, &ExecutionStore::CountByStatus, kRead);
  Bind("ExecutionStore/Get", stores_.executions, &ExecutionStore::Get, kRead);
  Bind("ExecutionStore/GetLock", stores_.executions, &ExecutionStore::GetLock, kRead);
  Bind("EventStore/GetByExecution", stores_.events, &EventStore::GetByExecution, kRead);
  Bind("JobStore/Get", stores_.jobs, &JobStore::Get, kRead);
  Bind("JobStore/ListByExecution", stores_.jobs, &JobStore::ListByExecution, kRead);
  Bind("JobStore/ListByStatus", stores_.jobs, &JobStore::ListByStatus, kRead);
  Bind("ResumeTokens/ListByExecution", stores_.tokens, &ResumeTokens::ListByExecution, kRead);
  Bind("FlowStore/List", stores_.flows, &FlowStore::List, kRead);
  Bind("FlowStore/Versions", stores_.flows, &FlowStore::Versions, kRead);
  Bind("FlowStore/Get", stores_.flows, &FlowStore::Get, kRead);
  Bind("ContextStorage/List", stores_.contexts, &ContextStorage::List, kRead);
  Bind("ContextStorage/Get", stores_.contexts, &ContextStorage::Get, kRead);
  Bind("JobStore/Retry", stores_.jobs, &JobStore::Retry, kAction);
  Bind("JobStore/ResetStalled", stores_.jobs, &JobStore::ResetStalled, kAction);
  Bind("ResumeTokens/Revoke", stores_.tokens, &ResumeTokens::Revoke, kAction);
  Bind("FlowStore/SetStatus", stores_.flows, &FlowStore::SetStatus, kAction);
  // Composed of Get, Update and the jobs' Cancel; the guard judges it as Update.
  auto cancel = std::make_unique<Endpoint>();
  cancel->method = &rpc::Method::Named("flowmonkey.v1.ExecutionStore.Update");
  cancel->action = kAction;
  cancel->new_request = [] { return std::make_unique<v1::CancelExecutionRequest>(); };
  cancel->run = [this](const Message& request) -> absl::StatusOr<std::unique_ptr<Message>> {
    absl::StatusOr<v1::CancelExecutionResponse> response =
        CancelExecution(static_cast<const v1::CancelExecutionRequest&>(request));
    if (!response.ok()) return response.status();
    return std::make_unique<v1::CancelExecutionResponse>(*std::move(response));
  };
  endpoints_.emplace("Console/CancelExecution", std::move(cancel));
}

ConsoleApi::~ConsoleApi() = default;

absl::StatusOr<rpc::CallScope> ConsoleApi::ScopeOf(std::string_view authorization) const {
  rpc::CallScope scope;
  if (authenticator_ == nullptr) return scope;
  absl::StatusOr<std::string> tenant =
      authenticator_->Authenticate(absl::string_view(authorization.data(), authorization.size()));
  if (!tenant.ok()) return tenant.status();
  if (*tenant != rpc::kAnyTenant) scope.tenant = *std::move(tenant);
  return scope;
}

HttpReply ConsoleApi::Session(std::string_view authorization) const {
  absl::StatusOr<rpc::CallScope> scope = ScopeOf(authorization);
  if (!scope.ok()) return ErrorReply(scope.status());
  v1::ConsoleSession session;
  session.set_keys_required(authenticator_ != nullptr);
  session.set_is_operator(!scope->restricted());
  if (scope->restricted()) session.set_tenant(*scope->tenant);
  session.set_now(NowMs());
  absl::StatusOr<std::string> json = ToJson(session);
  if (!json.ok()) return ErrorReply(json.status());
  return JsonReply(200, *std::move(json));
}

HttpReply ConsoleApi::Call(std::string_view name, std::string_view authorization,
                           std::string_view body) const {
  const auto found = endpoints_.find(std::string(name));
  if (found == endpoints_.end()) {
    return ErrorReply(404, "NOT_FOUND", absl::StrCat("no console method ", std::string(name)));
  }
  const Endpoint& endpoint = *found->second;
  absl::StatusOr<rpc::CallScope> scope = ScopeOf(authorization);
  if (!scope.ok()) return ErrorReply(scope.status());
  if (endpoint.action && scope->restricted()) {
    return ErrorReply(absl::PermissionDeniedError(absl::StrCat(
        std::string(name), " is an operator action: it needs an operator key (tenant *)")));
  }
  std::unique_ptr<Message> request = endpoint.new_request();
  if (absl::Status s = FromJson(body, *request); !s.ok()) return ErrorReply(s);
  CapLimit(*request);
  if (scope->restricted()) {
    if (absl::Status s = guard_->Admit(*scope, *endpoint.method, *request); !s.ok()) {
      return ErrorReply(s);
    }
  }
  absl::StatusOr<std::unique_ptr<Message>> response = endpoint.run(*request);
  if (!response.ok()) return ErrorReply(response.status());
  if (scope->restricted()) {
    if (absl::Status s = guard_->Screen(*scope, *endpoint.method, **response); !s.ok()) {
      return ErrorReply(s);
    }
  }
  StripTokens(**response);
  absl::StatusOr<std::string> json = ToJson(**response);
  if (!json.ok()) return ErrorReply(json.status());
  if (json->size() > max_response_bytes_) {
    return ErrorReply(
        413, "RESOURCE_EXHAUSTED",
        absl::StrCat("the response is ", json->size(), " bytes, over the console's cap of ",
                     max_response_bytes_, " bytes: ask for fewer records (limit)"));
  }
  return JsonReply(200, *std::move(json));
}

absl::StatusOr<v1::CancelExecutionResponse> ConsoleApi::CancelExecution(
    const v1::CancelExecutionRequest& request) const {
  if (auto s = ValidateId(request.execution_id(), "execution_id"); !s.ok()) return s;
  if (request.reason().size() > kMaxReasonBytes) {
    return absl::InvalidArgumentError(absl::StrCat("reason: at most ", kMaxReasonBytes, " bytes"));
  }
  // Optimistic: a write between our Get and Update (the engine moving it on) makes us read
  // again and decide anew.
  for (int attempt = 0; attempt < 5; ++attempt) {
    v1::GetExecutionRequest get;
    get.set_execution_id(request.execution_id());
    absl::StatusOr<v1::GetExecutionResponse> current = stores_.executions.Get(get);
    if (!current.ok()) return current.status();
    v1::Execution execution = current->execution();
    if (Ended(execution.status())) {
      return absl::FailedPreconditionError(
          absl::StrCat("execution ", execution.id(), " already ended (",
                       v1::ExecutionStatus_Name(execution.status()), ")"));
    }
    const int64_t now = NowMs();
    execution.set_status(v1::EXECUTION_STATUS_CANCELLED);
    execution.set_updated_at(now);
    execution.clear_wake_at();
    v1::Cancellation& cancellation = *execution.mutable_cancellation();
    cancellation.set_source(v1::CANCELLATION_SOURCE_USER);
    cancellation.set_reason(request.reason().empty() ? "cancelled from the console"
                                                     : request.reason());
    cancellation.set_cancelled_at(now);
    v1::UpdateExecutionRequest update;
    update.set_expected_version(execution.version());
    *update.mutable_execution() = execution;
    absl::StatusOr<v1::UpdateExecutionResponse> updated = stores_.executions.Update(update);
    if (!updated.ok() && updated.status().code() == absl::StatusCode::kAborted) continue;
    if (!updated.ok()) return updated.status();
    execution.set_version(updated->version());
    execution.set_updated_at(updated->updated_at());
    v1::CancelExecutionResponse response;
    // Its jobs that could still run: no worker should pick them up now.
    v1::ListJobsByExecutionRequest list;
    list.set_execution_id(execution.id());
    list.set_limit(kMaxPage);
    for (;;) {
      absl::StatusOr<v1::ListJobsByExecutionResponse> jobs = stores_.jobs.ListByExecution(list);
      if (!jobs.ok()) return jobs.status();
      for (const v1::Job& job : jobs->jobs()) {
        if (job.status() != v1::JOB_STATUS_PENDING && job.status() != v1::JOB_STATUS_RUNNING) {
          continue;
        }
        v1::CancelJobRequest cancel;
        cancel.set_job_id(job.id());
        cancel.set_reason(cancellation.reason());
        absl::StatusOr<v1::CancelJobResponse> cancelled = stores_.jobs.Cancel(cancel);
        // A job that ended meanwhile is not an error: it simply was not cancelled.
        if (!cancelled.ok() && cancelled.status().code() != absl::StatusCode::kFailedPrecondition) {
          return cancelled.status();
        }
        if (cancelled.ok() && cancelled->cancelled()) {
          response.set_jobs_cancelled(response.jobs_cancelled() + 1);
        }
      }
      if (jobs->next_page_token().empty()) break;
      list.set_page_token(jobs->next_page_token());
    }
    *response.mutable_execution() = std::move(execution);
    return response;
  }
  return absl::AbortedError(
      absl::StrCat("execution ", request.execution_id(), " keeps changing: cancel again"));
}

// ---- the listener --------------------------------------------------------------------

namespace {

// What a browser may do with our responses: only our own scripts and styles, no framing.
void SetSecurityHeaders(httplib::Response& res) {
  res.set_header("Cache-Control", "no-store");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("Content-Security-Policy",
                 "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                 "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
                 "form-action 'none'; frame-ancestors 'none'");
}

void Send(httplib::Response& res, const HttpReply& reply) {
  SetSecurityHeaders(res);
  res.status = reply.status;
  res.set_content(reply.body, reply.content_type);
}

bool IsLoopback(const std::string& host) {
  return host == "localhost" || host == "::1" || absl::StartsWith(host, "127.");
}

// "host:port" ("127.0.0.1:8080", "[::1]:8080", "localhost:8080").
absl::StatusOr<std::pair<std::string, int>> SplitListen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("console listen: '", listen, "' is not host:port"));
  }
  std::string host = listen.substr(0, colon);
  if (absl::StartsWith(host, "[") && absl::EndsWith(host, "]")) {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("console listen: '", listen, "' names no address (use 0.0.0.0 for all)"));
  }
  return std::make_pair(host, port);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Console>> Console::Start(const ConsoleOptions& options,
                                                        std::unique_ptr<ConsoleApi> api,
                                                        bool keys_configured) {
  absl::StatusOr<std::pair<std::string, int>> listen = SplitListen(options.listen);
  if (!listen.ok()) return listen.status();
  if (!keys_configured && !IsLoopback(listen->first)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "console listen: ", options.listen,
        " is not a loopback address, and without --api-keys-file anyone who reaches it could "
        "read every tenant's data and act on it: configure API keys (and TLS), or listen on "
        "127.0.0.1"));
  }
  std::unique_ptr<Console> console(new Console());
  console->api_ = std::move(api);
  console->tls_ = !options.tls_cert_file.empty() && !options.tls_key_file.empty();
  if (console->tls_) {
    auto server = std::make_unique<httplib::SSLServer>(options.tls_cert_file.c_str(),
                                                       options.tls_key_file.c_str());
    if (!server->is_valid()) {
      return absl::InvalidArgumentError(absl::StrCat("console: cannot use the certificate ",
                                                     options.tls_cert_file, " with the key ",
                                                     options.tls_key_file));
    }
    console->server_ = std::move(server);
  } else {
    console->server_ = std::make_unique<httplib::Server>();
  }
  httplib::Server& server = *console->server_;
  const int threads = options.threads;
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_payload_max_length(options.max_request_bytes);
  server.set_read_timeout(std::chrono::seconds(30));
  const ConsoleApi& endpoints = *console->api_;
  const size_t max_request_bytes = options.max_request_bytes;

  server.Get("/api/session", [&endpoints](const httplib::Request& req, httplib::Response& res) {
    Send(res, endpoints.Session(req.get_header_value("Authorization")));
  });
  server.Post(R"(/api/([A-Za-z]+/[A-Za-z]+))", [&endpoints](const httplib::Request& req,
                                                            httplib::Response& res) {
    // A JSON content type: a page of another origin cannot send it without a
    // CORS preflight, which the console never grants.
    if (!absl::StartsWith(absl::AsciiStrToLower(req.get_header_value("Content-Type")),
                          "application/json")) {
      Send(res, ErrorReply(415, "INVALID_ARGUMENT", "Content-Type must be application/json"));
      return;
    }
    Send(res,
         endpoints.Call(req.matches[1].str(), req.get_header_value("Authorization"), req.body));
  });
  server.Get(R"(/api/.*)", [](const httplib::Request&, httplib::Response& res) {
    Send(res, ErrorReply(405, "INVALID_ARGUMENT", "console methods are called with POST"));
  });
  for (const ConsoleAsset& asset : ConsoleAssets()) {
    const std::string path = std::string(asset.path) == "/index.html" ? "/" : asset.path;
    server.Get(path, [&asset](const httplib::Request&, httplib::Response& res) {
      Send(res, {200, asset.content_type, std::string(asset.content)});
    });
  }
  // Whatever the library answers by itself (no route, a body over the limit, a bad
  // request line), as a JSON error like every other. (It is called for our own 4xx and 5xx
  // replies too.)
  server.set_error_handler([max_request_bytes](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;  // one of ours: already a JSON error
    const std::string code = res.status == 413   ? "RESOURCE_EXHAUSTED"
                             : res.status == 404 ? "NOT_FOUND"
                                                 : "INVALID_ARGUMENT";
    const std::string message =
        res.status == 413   ? absl::StrCat("request body over ", max_request_bytes, " bytes")
        : res.status == 404 ? std::string("no such page or console method")
                            : absl::StrCat("bad request (HTTP ", res.status, ")");
    const int status = res.status;
    Send(res, ErrorReply(status, code, message));
  });

  const int port = listen->second == 0 ? server.bind_to_any_port(listen->first)
                   : server.bind_to_port(listen->first, listen->second) ? listen->second
                                                                        : -1;
  if (port <= 0) {
    return absl::UnavailableError(absl::StrCat("cannot serve the console on ", options.listen));
  }
  console->port_ = port;
  console->thread_ = std::thread([s = console->server_.get()] { s->listen_after_bind(); });
  // Running before we return, so that a stop() right away is not lost.
  for (int i = 0; i < 5000 && !server.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return console;
}

Console::~Console() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace flowmonkey
