// libFuzzer target over request validation and JSON handling: the checks every request
// passes before it reaches SQL (core/validation.h, core/execution_rules.h), fed both raw
// bytes and bytes parsed as a wire-format SaveExecutionRequest. Crashes, sanitizer reports
// and broken invariants (asserted below) are findings. Run by scripts/fuzz.

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "core/execution_rules.h"
#include "core/validation.h"
#include "flowmonkey/v1/execution.pb.h"
#include "google/protobuf/stubs/logging.h"

namespace {

void Check(bool invariant) {
  if (!invariant) std::abort();
}

void FuzzText(absl::string_view text) {
  const bool any = flowmonkey::ValidateJson(text, "f", flowmonkey::JsonKind::kAny).ok();
  const bool object = flowmonkey::ValidateJson(text, "f", flowmonkey::JsonKind::kObject).ok();
  const bool array = flowmonkey::ValidateJson(text, "f", flowmonkey::JsonKind::kArray).ok();
  Check(!object || any);  // an object is also a valid JSON value
  Check(!array || any);
  Check(text.empty() || !(object && array));  // never both
  Check(flowmonkey::ValidateJson(text, "f", flowmonkey::JsonKind::kAny, false).ok() ==
        (any && !text.empty()));
  const bool id = flowmonkey::ValidateId(text, "id").ok();
  Check(!id || (!text.empty() && text.size() <= flowmonkey::kMaxIdBytes));
  Check(!id || flowmonkey::ValidateText(text, "t").ok());  // an id is valid text
  (void)flowmonkey::ValidateOptionalId(text, "id");
}

void FuzzRequest(const uint8_t* data, size_t size) {
  flowmonkey::v1::SaveExecutionRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return;
  const flowmonkey::v1::Execution& execution = request.execution();
  if (flowmonkey::ValidateExecution(execution).ok()) {
    // What ValidateExecution accepts must satisfy the individual checks it is made of.
    Check(flowmonkey::ValidateId(execution.id(), "id").ok());
    Check(flowmonkey::ValidateJson(execution.context_json(), "c", flowmonkey::JsonKind::kObject)
              .ok());
    Check(flowmonkey::ExecutionStatusName(execution.status()).has_value());
    // Every time + duration sum the stores compute fits int64 (UBSan would also trap it).
    int64_t sum;
    const auto& t = execution.timeout_config();
    Check(!__builtin_add_overflow(execution.created_at(), flowmonkey::kMaxDurationMs, &sum));
    Check(!__builtin_add_overflow(execution.created_at(), t.execution_timeout_ms(), &sum));
    Check(!__builtin_add_overflow(execution.wait_started_at(), t.wait_timeout_ms(), &sum));
  }
  if (request.has_expected_version()) {
    (void)flowmonkey::ValidateExpectedVersion(request.expected_version());
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  google::protobuf::SetLogHandler(nullptr);  // invalid UTF-8 in strings is expected input
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzText(absl::string_view(reinterpret_cast<const char*>(data), size));
  FuzzRequest(data, size);
  return 0;
}
