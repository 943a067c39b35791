#pragma once

// The operator console (docs/adr/0018-operator-console.md): a web page and the HTTP/JSON
// endpoints behind it, on a listener of its own (--console-listen), off by default.
//
//   GET  /  /console.js  /console.css    the page: files embedded in the binary
//   GET  /api/session                    ConsoleSession (console.proto): who the key is
//   POST /api/<Service>/<Method>         a store method: proto3 JSON of its request in, of
//                                        its response out (Content-Type: application/json)
//
// The endpoints are the core store interfaces the gRPC services serve, under the same rules:
// with API keys configured every /api call needs `Authorization: Bearer <key>`, and a
// tenant key's requests pass through the same CallGuard (server/tenant_guard.h) as its
// gRPC calls, so it sees its own tenant only. Actions (cancel an execution, retry or reset
// a job, revoke a resume token, archive a flow version) need an operator key. Reads are
// bounded: list limits are capped at kMaxPage and a response over max_response_bytes is
// refused (413), as is a request body over max_request_bytes. Resume token values never
// leave the console. Errors: the HTTP status of the code, body {"code", "message"}.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "core/context_storage.h"
#include "core/event_store.h"
#include "core/execution_store.h"
#include "core/flow_store.h"
#include "core/job_store.h"
#include "core/resume_tokens.h"
#include "flowmonkey/v1/console.pb.h"
#include "google/protobuf/message.h"
#include "server/rpc/auth.h"
#include "server/rpc/call_guard.h"

namespace httplib {
class Server;
}

namespace flowmonkey {

// The stores the console reads and acts through: the server's own.
struct ConsoleStores {
  ExecutionStore& executions;
  EventStore& events;
  JobStore& jobs;
  ResumeTokens& tokens;
  FlowStore& flows;
  ContextStorage& contexts;
};

struct ConsoleOptions {
  // host:port with an IP address (or localhost); port 0 picks a free one.
  std::string listen;
  // Both set: HTTPS with this certificate (the server's --tls-cert / --tls-key).
  std::string tls_cert_file;
  std::string tls_key_file;
  size_t max_request_bytes = 64 * 1024;
  size_t max_response_bytes = 4 * 1024 * 1024;
  int threads = 4;
};

struct HttpReply {
  int status = 200;
  std::string content_type;
  std::string body;
};

// The endpoints, without HTTP (tests call them directly; Console serves them).
class ConsoleApi {
 public:
  // The most records one list call returns: larger (or absent) limits are capped to it.
  static constexpr int32_t kMaxPage = 100;

  // authenticator and guard are null when no API keys are configured.
  ConsoleApi(ConsoleStores stores, const rpc::Authenticator* authenticator, rpc::CallGuard* guard,
             size_t max_response_bytes);
  ~ConsoleApi();
  ConsoleApi(const ConsoleApi&) = delete;
  ConsoleApi& operator=(const ConsoleApi&) = delete;

  // GET /api/session; `authorization` is the header's value ("" when absent).
  HttpReply Session(std::string_view authorization) const;
  // POST /api/<name>, name = "<Service>/<Method>".
  HttpReply Call(std::string_view name, std::string_view authorization,
                 std::string_view body) const;

  // Console/CancelExecution (console.proto), as an operator.
  absl::StatusOr<v1::CancelExecutionResponse> CancelExecution(
      const v1::CancelExecutionRequest& request) const;

 private:
  struct Endpoint;
  absl::StatusOr<rpc::CallScope> ScopeOf(std::string_view authorization) const;
  template <typename Store, typename Request, typename Response>
  void Bind(std::string name, Store& store, absl::StatusOr<Response> (Store::*call)(const Request&),
            bool action);

  ConsoleStores stores_;
  const rpc::Authenticator* authenticator_;
  rpc::CallGuard* guard_;
  size_t max_response_bytes_;
  absl::flat_hash_map<std::string, std::unique_ptr<Endpoint>> endpoints_;
};

// The page's files, embedded at build time (cmake/embed_files.cmake): path ("/console.js")
// to content.
struct ConsoleAsset {
  const char* path;
  const char* content_type;
  std::string_view content;
};
const std::vector<ConsoleAsset>& ConsoleAssets();

// The listener: cpp-httplib (Debian's libcpp-httplib), HTTPS with the server's certificate.
class Console {
 public:
  // INVALID_ARGUMENT for a bad listen address, or a non-loopback one without API keys
  // (anyone reaching it could act); UNAVAILABLE when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<Console>> Start(const ConsoleOptions& options,
                                                        std::unique_ptr<ConsoleApi> api,
                                                        bool keys_configured);
  ~Console();

  int port() const { return port_; }
  bool tls() const { return tls_; }

 private:
  Console() = default;

  std::unique_ptr<ConsoleApi> api_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;  // runs the listener
  int port_ = 0;
  bool tls_ = false;
};

}  // namespace flowmonkey
