#pragma once

// The C++ client: one call connects to a FlowMonkey Store server and returns the stores,
// each implementing the same core/ interface as the server's PostgreSQL stores (the seed's
// createPgStores, remotely).
//
//   auto stores = flowmonkey::client::Connect({.target = "127.0.0.1:50051"});
//   if (!stores.ok()) ...;
//   stores->executions->Get(request);

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/call.h"
#include "core/admin.h"
#include "core/context_storage.h"
#include "core/event_store.h"
#include "core/execution_store.h"
#include "core/flow_store.h"
#include "core/job_store.h"
#include "core/resume_tokens.h"
#include "core/transactions.h"

namespace flowmonkey::client {

// TLS towards the server, as PEM text (TlsOptionsFromFiles reads files).
struct TlsOptions {
  // CAs that sign the server's certificate; empty = the system's roots.
  std::string root_certs_pem;
  // Mutual TLS: this client's certificate chain and its private key.
  std::string client_cert_pem;
  std::string client_key_pem;
  // The name the server's certificate must carry when it is not the target's host.
  std::string server_name;
};

// Reads PEM files into TlsOptions; empty paths are left empty. NOT_FOUND if unreadable.
absl::StatusOr<TlsOptions> TlsOptionsFromFiles(const std::string& root_certs_file,
                                               const std::string& client_cert_file = "",
                                               const std::string& client_key_file = "");

struct ClientOptions {
  std::string target = "127.0.0.1:50051";
  // Per-attempt deadline of each call.
  absl::Duration timeout = absl::Seconds(10);
  // Attempts per call, the first included: UNAVAILABLE is retried for every call, UNKNOWN
  // only for calls that are safe to repeat (client/call.h, docs/operations.md "Retries").
  // Event Record/RecordBatch and token Generate get a request id when they have none, so
  // their retries write once.
  int max_attempts = 3;
  // How long Connect waits for the channel to become ready.
  absl::Duration connect_timeout = absl::Seconds(5);
  // TLS (and mutual TLS); plain text when unset.
  std::optional<TlsOptions> tls;
  // Any other channel credentials; take precedence over tls.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  // Sent as "authorization: Bearer <key>" on every call (servers accept keys only over TLS).
  std::string api_key;
};

struct Stores {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<ExecutionStore> executions;
  std::unique_ptr<ResumeTokens> tokens;
  std::unique_ptr<JobStore> jobs;
  std::unique_ptr<EventStore> events;
  std::unique_ptr<FlowStore> flows;
  std::unique_ptr<ContextStorage> contexts;
  std::unique_ptr<Admin> admin;
  // Several writes all or nothing (client/transaction.h builds the request).
  std::unique_ptr<Transactions> transactions;
};

// UNAVAILABLE when the server cannot be reached within connect_timeout.
absl::StatusOr<Stores> Connect(const ClientOptions& options);

}  // namespace flowmonkey::client
