#pragma once

// Transport security and authentication of the server: TLS (--tls-cert, --tls-key),
// mutual TLS (--tls-client-ca: client certificates required and verified against that
// CA) and API keys (--api-keys-file, see server/rpc/auth.h). API keys need TLS: a bearer
// key sent in plain text is a key given away, and gRPC runs an AuthMetadataProcessor
// only on secure credentials.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/rpc/auth.h"

namespace flowmonkey {

struct SecurityOptions {
  std::string tls_cert_file;       // PEM certificate chain; empty = plain text
  std::string tls_key_file;        // PEM private key of that certificate
  std::string tls_client_ca_file;  // PEM CA bundle; set = mutual TLS
  std::string api_keys_file;       // set = every call but health/reflection needs a key
};

// The authenticator for options.api_keys_file, or nullptr when it is empty.
absl::StatusOr<std::unique_ptr<rpc::Authenticator>> LoadAuthenticator(
    const SecurityOptions& options);

// Credentials for the listening port; installs authenticator's processor when non-null.
// INVALID_ARGUMENT for an inconsistent combination (a key without a certificate, client
// CA or API keys without TLS), NOT_FOUND for an unreadable file.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const SecurityOptions& options, rpc::Authenticator* authenticator);

}  // namespace flowmonkey
