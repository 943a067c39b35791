#pragma once

// Client request ids (event.proto, resume_token.proto): the writes that are not idempotent
// by themselves carry one, so that a retry after UNKNOWN returns the first result instead
// of writing again. The client sets one when the caller did not, once per logical call:
// every retry of that call sends the same id.

#include <string>

#include "absl/strings/str_cat.h"
#include "core/resume_token_rules.h"

namespace flowmonkey::client {

// 256 random bits (OpenSSL's CSPRNG), base64url: unique without coordination.
inline std::string NewRequestId() {
  absl::StatusOr<std::string> random = NewResumeToken();
  // The CSPRNG failing is not a reason to fail the call: it then goes without an id.
  return random.ok() ? absl::StrCat("req-", *random) : std::string();
}

// `request` with a request_id: its own, or a new one.
template <typename Request>
Request WithRequestId(const Request& request) {
  if (request.has_request_id()) return request;
  Request copy = request;
  if (std::string id = NewRequestId(); !id.empty()) copy.set_request_id(std::move(id));
  return copy;
}

}  // namespace flowmonkey::client
