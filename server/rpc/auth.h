#pragma once

// API-key authentication, enforced in one place for every RPC: an AuthMetadataProcessor
// installed on the server's TLS credentials rejects a call without a valid
// `authorization: Bearer <key>` before any service sees it (UNAUTHENTICATED). The standard
// health service and server reflection stay open, so probes and tooling need no key.
//
// Keys file (`--api-keys-file`), one entry per line, '#' starts a comment:
//
//   # sha256-hex-of-key                                               tenant (or * = operator)
//   9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08  acme
//
// Only SHA-256 digests are stored; a presented key is hashed and compared with every
// entry in constant time (CRYPTO_memcmp, no early exit).
//
// Tenant hook (for tenant isolation): Authenticator::TenantOf(context) gives the tenant a
// call authenticated as, re-derived from that call's own metadata. It is deliberately not
// stored in the AuthContext, which gRPC shares between all calls of a connection.

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/auth_metadata_processor.h>

#include <array>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/digest.h"

namespace flowmonkey::rpc {

// The tenant of an operator key: every tenant.
inline constexpr char kAnyTenant[] = "*";

class ApiKeys {
 public:
  // Parses the keys file format above; INVALID_ARGUMENT naming the line on a bad entry.
  static absl::StatusOr<ApiKeys> Parse(absl::string_view text);
  static absl::StatusOr<ApiKeys> Load(const std::string& path);

  // The tenant bound to `key`, or NOT_FOUND.
  absl::StatusOr<std::string> TenantFor(absl::string_view key) const;
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::array<unsigned char, 32> digest;
    std::string tenant;
  };
  std::vector<Entry> entries_;
};

// Lower-case hex SHA-256 of a key: what the keys file stores (core/digest.h).
using ::flowmonkey::Sha256Hex;

class Authenticator {
 public:
  explicit Authenticator(ApiKeys keys);

  // Replaces the keys (e.g. on SIGHUP after a key was revoked from the file).
  void Replace(ApiKeys keys);

  // The tenant of a call carrying `authorization` metadata (the header's value), else
  // UNAUTHENTICATED.
  absl::StatusOr<std::string> Authenticate(absl::string_view authorization) const;
  // The tenant the call behind `context` authenticated as (the hook for tenant isolation).
  absl::StatusOr<std::string> TenantOf(const grpc::ServerContextBase& context) const;

  // True for RPCs open without a key: grpc.health.v1.Health and server reflection.
  static bool IsOpenMethod(absl::string_view path);

  // The processor to install on the server's credentials.
  std::shared_ptr<grpc::AuthMetadataProcessor> Processor();

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const ApiKeys> keys_;
};

}  // namespace flowmonkey::rpc
