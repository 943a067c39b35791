#pragma once

// The optional `tenant_id` filter of the list requests (executions, jobs, events): unset
// means every tenant. A tenant-bound API key always sets it (server/rpc/tenant_guard.h).

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "core/validation.h"

// SQL: rows of the executions table whose tenant is `param` (a text parameter, NULL = any).
#define FM_TENANT_FILTER(param) " AND (" param "::text IS NULL OR tenant_id = " param ")"
// SQL: rows of a table with an execution_id column whose execution belongs to `param`.
#define FM_EXECUTION_TENANT_FILTER(param, table)                                          \
  " AND (" param "::text IS NULL OR EXISTS (SELECT 1 FROM fm_executions e WHERE e.id = " \
  table ".execution_id AND e.tenant_id = " param "))"

namespace flowmonkey::pg {

template <typename Request>
absl::Status ValidateTenantFilter(const Request& request) {
  return request.has_tenant_id() ? ValidateId(request.tenant_id(), "tenant_id")
                                 : absl::OkStatus();
}

// The filter as a query parameter.
template <typename Request>
std::optional<std::string> TenantFilter(const Request& request) {
  if (!request.has_tenant_id()) return std::nullopt;
  return request.tenant_id();
}

}  // namespace flowmonkey::pg
