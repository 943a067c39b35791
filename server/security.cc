#include "server/security.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace flowmonkey {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path, const char* what) {
  std::ifstream file(path);
  if (!file) return absl::NotFoundError(absl::StrCat(what, " ", path, ": cannot read"));
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

}  // namespace

absl::StatusOr<std::unique_ptr<rpc::Authenticator>> LoadAuthenticator(
    const SecurityOptions& options) {
  if (options.api_keys_file.empty()) return nullptr;
  absl::StatusOr<rpc::ApiKeys> keys = rpc::ApiKeys::Load(options.api_keys_file);
  if (!keys.ok()) return keys.status();
  return std::make_unique<rpc::Authenticator>(*std::move(keys));
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const SecurityOptions& options, rpc::Authenticator* authenticator) {
  const bool tls = !options.tls_cert_file.empty();
  if (tls != !options.tls_key_file.empty()) {
    return absl::InvalidArgumentError("tls: set both --tls-cert and --tls-key");
  }
  if (!tls && !options.tls_client_ca_file.empty()) {
    return absl::InvalidArgumentError("tls: --tls-client-ca needs --tls-cert and --tls-key");
  }
  if (!tls && authenticator != nullptr) {
    return absl::InvalidArgumentError(
        "api keys: --api-keys-file needs TLS (--tls-cert, --tls-key); keys are never accepted "
        "in plain text");
  }
  if (!tls) return grpc::InsecureServerCredentials();

  grpc::SslServerCredentialsOptions ssl;
  absl::StatusOr<std::string> cert = ReadFile(options.tls_cert_file, "tls certificate");
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadFile(options.tls_key_file, "tls key");
  if (!key.ok()) return key.status();
  ssl.pem_key_cert_pairs.push_back({*key, *cert});
  if (!options.tls_client_ca_file.empty()) {
    absl::StatusOr<std::string> ca = ReadFile(options.tls_client_ca_file, "tls client ca");
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *ca;
    ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::SslServerCredentials(ssl);
  if (authenticator != nullptr) credentials->SetAuthMetadataProcessor(authenticator->Processor());
  return credentials;
}

}  // namespace flowmonkey
