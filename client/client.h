#pragma once

// The C++ client: one call connects to a FlowMonkey Store server and returns the stores,
// each implementing the same core/ interface as the server's PostgreSQL stores (the seed's
// createPgStores, remotely).
//
//   auto stores = flowmonkey::client::Connect({.target = "127.0.0.1:50051"});
//   if (!stores.ok()) ...;
//   stores->executions->Get(request);

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/call.h"
#include "core/execution_store.h"

namespace flowmonkey::client {

struct ClientOptions {
  std::string target = "127.0.0.1:50051";
  // Per-attempt deadline of each call.
  absl::Duration timeout = absl::Seconds(10);
  // Attempts for calls that are safe to repeat (see RemoteExecutionStore).
  int max_attempts = 3;
  // How long Connect waits for the channel to become ready.
  absl::Duration connect_timeout = absl::Seconds(5);
  // Defaults to insecure (plain-text) credentials.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  std::string api_key;
};

struct Stores {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<ExecutionStore> executions;
};

// UNAVAILABLE when the server cannot be reached within connect_timeout.
absl::StatusOr<Stores> Connect(const ClientOptions& options);

}  // namespace flowmonkey::client
