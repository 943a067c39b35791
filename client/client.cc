#include "client/client.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "client/remote_context_storage.h"
#include "client/remote_flow_store.h"
#include "flowmonkey/v1/admin.fm_remote.h"
#include "flowmonkey/v1/event.fm_remote.h"
#include "flowmonkey/v1/execution.fm_remote.h"
#include "flowmonkey/v1/job.fm_remote.h"
#include "flowmonkey/v1/resume_token.fm_remote.h"
#include "flowmonkey/v1/transaction.fm_remote.h"

namespace flowmonkey::client {
namespace {

absl::Status ReadPem(const std::string& path, std::string& out) {
  if (path.empty()) return absl::OkStatus();
  std::ifstream file(path);
  if (!file) return absl::NotFoundError(absl::StrCat(path, ": cannot read"));
  std::stringstream text;
  text << file.rdbuf();
  out = text.str();
  return absl::OkStatus();
}

std::shared_ptr<grpc::ChannelCredentials> CredentialsFor(const ClientOptions& options,
                                                         grpc::ChannelArguments& args) {
  if (options.credentials) return options.credentials;
  if (!options.tls) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = options.tls->root_certs_pem;
  ssl.pem_cert_chain = options.tls->client_cert_pem;
  ssl.pem_private_key = options.tls->client_key_pem;
  if (!options.tls->server_name.empty()) args.SetSslTargetNameOverride(options.tls->server_name);
  return grpc::SslCredentials(ssl);
}

}  // namespace

absl::StatusOr<TlsOptions> TlsOptionsFromFiles(const std::string& root_certs_file,
                                               const std::string& client_cert_file,
                                               const std::string& client_key_file) {
  TlsOptions tls;
  for (auto [path, out] : {std::pair{&root_certs_file, &tls.root_certs_pem},
                           std::pair{&client_cert_file, &tls.client_cert_pem},
                           std::pair{&client_key_file, &tls.client_key_pem}}) {
    if (absl::Status read = ReadPem(*path, *out); !read.ok()) return read;
  }
  return tls;
}

absl::StatusOr<Stores> Connect(const ClientOptions& options) {
  grpc::ChannelArguments args;
  auto credentials = CredentialsFor(options, args);
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
  stores.executions = std::make_unique<RemoteExecutionStoreBase>(stores.channel, call);
  stores.tokens = std::make_unique<RemoteResumeTokens>(stores.channel, call);
  stores.jobs = std::make_unique<RemoteJobStoreBase>(stores.channel, call);
  stores.events = std::make_unique<RemoteEventStore>(stores.channel, call);
  stores.flows = std::make_unique<RemoteFlowStore>(stores.channel, call);
  stores.contexts = std::make_unique<RemoteContextStorage>(stores.channel, call);
  stores.admin = std::make_unique<RemoteAdmin>(stores.channel, call);
  stores.transactions = std::make_unique<RemoteTransactions>(stores.channel, call);
  return stores;
}

}  // namespace flowmonkey::client
