#pragma once

// ContextStorage over gRPC: Set streams the value to the server in chunks of
// kContextChunkBytes (announcing its total size first), Get reassembles the chunks the
// server streams back. Every call is retried on UNAVAILABLE (Set overwrites with the same
// value, so repeating it is harmless; a retried Get starts over).

#include "flowmonkey/v1/context.fm_remote.h"

namespace flowmonkey::client {

// The unary methods are generated (context.fm_remote.h).
class RemoteContextStorage final : public RemoteContextStorageBase {
 public:
  using RemoteContextStorageBase::RemoteContextStorageBase;

  absl::StatusOr<v1::ContextReference> Set(const v1::ContextValue& value) override;
  absl::StatusOr<v1::ContextValue> Get(const v1::GetContextRequest& request) override;
};

}  // namespace flowmonkey::client
