#include "server/rpc/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace flowmonkey::rpc {
namespace {

constexpr absl::string_view kBearer = "Bearer ";

std::array<unsigned char, 32> Sha256(absl::string_view data) {
  std::array<unsigned char, 32> digest{};
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha256(), nullptr);
  return digest;
}

bool ParseHexDigest(absl::string_view hex, std::array<unsigned char, 32>& out) {
  if (hex.size() != 64) return false;
  for (size_t i = 0; i < 32; ++i) {
    int value = 0;
    for (char c : hex.substr(2 * i, 2)) {
      if (!absl::ascii_isxdigit(c)) return false;
      value = value * 16 + (absl::ascii_isdigit(c) ? c - '0' : absl::ascii_tolower(c) - 'a' + 10);
    }
    out[i] = static_cast<unsigned char>(value);
  }
  return true;
}

// Rejects every call except the open ones unless it carries a valid key. Keeps no state
// per call: gRPC shares the AuthContext between the calls of a connection.
class ApiKeyProcessor : public grpc::AuthMetadataProcessor {
 public:
  explicit ApiKeyProcessor(const Authenticator& authenticator) : authenticator_(authenticator) {}
  bool IsBlocking() const override { return false; }  // a hash and a few compares

  grpc::Status Process(const InputMetadata& metadata, grpc::AuthContext* /*context*/,
                       OutputMetadata* /*consumed*/, OutputMetadata* /*response*/) override {
    const auto path = metadata.find(":path");
    if (path != metadata.end() &&
        Authenticator::IsOpenMethod(absl::string_view(path->second.data(), path->second.size()))) {
      return grpc::Status::OK;
    }
    const auto header = metadata.find("authorization");
    const absl::string_view value =
        header == metadata.end() ? absl::string_view()
                                 : absl::string_view(header->second.data(), header->second.size());
    absl::StatusOr<std::string> tenant = authenticator_.Authenticate(value);
    if (tenant.ok()) return grpc::Status::OK;
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, std::string(tenant.status().message()));
  }

 private:
  const Authenticator& authenticator_;
};

}  // namespace

absl::StatusOr<ApiKeys> ApiKeys::Parse(absl::string_view text) {
  ApiKeys keys;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    Entry entry;
    if (fields.size() != 2 || !ParseHexDigest(fields[0], entry.digest)) {
      return absl::InvalidArgumentError(
          absl::StrCat("api keys line ", line_number, ": expected '<sha256-hex> <tenant or *>'"));
    }
    entry.tenant = std::string(fields[1]);
    keys.entries_.push_back(std::move(entry));
  }
  return keys;
}

absl::StatusOr<ApiKeys> ApiKeys::Load(const std::string& path) {
  std::ifstream file(path);
  if (!file) return absl::NotFoundError(absl::StrCat("api keys file ", path, ": cannot read"));
  std::stringstream text;
  text << file.rdbuf();
  return Parse(text.str());
}

absl::StatusOr<std::string> ApiKeys::TenantFor(absl::string_view key) const {
  const std::array<unsigned char, 32> digest = Sha256(key);
  const Entry* match = nullptr;
  for (const Entry& entry : entries_) {  // no early exit: the time does not depend on the match
    const bool equal = CRYPTO_memcmp(entry.digest.data(), digest.data(), digest.size()) == 0;
    if (equal && match == nullptr) match = &entry;
  }
  if (match == nullptr) return absl::NotFoundError("unknown api key");
  return match->tenant;
}

Authenticator::Authenticator(ApiKeys keys)
    : keys_(std::make_shared<const ApiKeys>(std::move(keys))) {}

void Authenticator::Replace(ApiKeys keys) {
  auto replacement = std::make_shared<const ApiKeys>(std::move(keys));
  std::lock_guard lock(mu_);
  keys_ = std::move(replacement);
}

absl::StatusOr<std::string> Authenticator::Authenticate(absl::string_view authorization) const {
  if (!absl::StartsWith(authorization, kBearer)) {
    return absl::UnauthenticatedError("missing 'authorization: Bearer <api key>'");
  }
  std::shared_ptr<const ApiKeys> keys;
  {
    std::lock_guard lock(mu_);
    keys = keys_;
  }
  absl::StatusOr<std::string> tenant = keys->TenantFor(authorization.substr(kBearer.size()));
  if (!tenant.ok()) return absl::UnauthenticatedError("invalid api key");
  return tenant;
}

absl::StatusOr<std::string> Authenticator::TenantOf(const grpc::ServerContextBase& context) const {
  const auto& metadata = context.client_metadata();
  const auto header = metadata.find("authorization");
  if (header == metadata.end()) return Authenticate(absl::string_view());
  return Authenticate(absl::string_view(header->second.data(), header->second.size()));
}

bool Authenticator::IsOpenMethod(absl::string_view path) {
  return absl::StartsWith(path, "/grpc.health.v1.Health/") ||
         absl::StartsWith(path, "/grpc.reflection.v1alpha.ServerReflection/") ||
         absl::StartsWith(path, "/grpc.reflection.v1.ServerReflection/");
}

std::shared_ptr<grpc::AuthMetadataProcessor> Authenticator::Processor() {
  return std::make_shared<ApiKeyProcessor>(*this);
}

}  // namespace flowmonkey::rpc
