#include "client/client.h"

#include "absl/strings/str_cat.h"
#include "client/remote_execution_store.h"

namespace flowmonkey::client {

absl::StatusOr<Stores> Connect(const ClientOptions& options) {
  auto credentials = options.credentials ? options.credentials : grpc::InsecureChannelCredentials();
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
  Stores stores;
  stores.channel = grpc::CreateCustomChannel(options.target, credentials, args);
  const auto deadline =
      std::chrono::system_clock::now() + absl::ToChronoMilliseconds(options.connect_timeout);
  if (!stores.channel->WaitForConnected(deadline)) {
    return absl::UnavailableError(absl::StrCat("cannot reach ", options.target));
  }
  CallOptions call;
  call.timeout = options.timeout;
  call.max_attempts = options.max_attempts;
  call.api_key = options.api_key;
  stores.executions = std::make_unique<RemoteExecutionStore>(stores.channel, call);
  return stores;
}

}  // namespace flowmonkey::client
