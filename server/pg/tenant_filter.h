#pragma once

// The optional `tenant_id` filter of the list requests (executions, jobs, events): unset
// means every tenant. A tenant-bound API key always sets it (server/rpc/tenant_guard.h).
// Each statement spells out its filter on its own parameter, e.g.
// " AND ($3::text IS NULL OR tenant_id = $3)".

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "core/validation.h"

namespace flowmonkey::pg {

template <typename Request>
absl::Status ValidateTenantFilter(const Request& request) {
  return request.has_tenant_id() ? ValidateId(request.tenant_id(), "tenant_id") : absl::OkStatus();
}

// The filter as a query parameter.
template <typename Request>
std::optional<std::string> TenantFilter(const Request& request) {
  if (!request.has_tenant_id()) return std::nullopt;
  return request.tenant_id();
}

}  // namespace flowmonkey::pg
