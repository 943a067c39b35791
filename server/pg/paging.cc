#include "server/pg/paging.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace flowmonkey::pg {
namespace {

constexpr absl::string_view kCursorVersion = "p1";
constexpr size_t kMaxTokenBytes = 2048;

absl::Status NotOurs() {
  return absl::InvalidArgumentError("page_token: not a token from a previous page");
}

}  // namespace

std::string EncodePageToken(const PageKey& key) {
  std::string raw(kCursorVersion);
  for (const std::string& part : key) absl::StrAppend(&raw, part.size(), ":", part);
  return absl::WebSafeBase64Escape(raw);
}

absl::StatusOr<std::optional<PageKey>> DecodePageToken(absl::string_view token, size_t parts) {
  if (token.empty()) return std::nullopt;
  std::string raw;
  if (token.size() > kMaxTokenBytes || !absl::WebSafeBase64Unescape(token, &raw) ||
      !absl::StartsWith(raw, kCursorVersion)) {
    return NotOurs();
  }
  absl::string_view rest = absl::string_view(raw).substr(kCursorVersion.size());
  PageKey key;
  while (!rest.empty()) {
    const size_t colon = rest.find(':');
    size_t size = 0;
    if (colon == absl::string_view::npos || !absl::SimpleAtoi(rest.substr(0, colon), &size) ||
        size > rest.size() - colon - 1) {
      return NotOurs();
    }
    key.emplace_back(rest.substr(colon + 1, size));
    rest.remove_prefix(colon + 1 + size);
  }
  if (key.size() != parts) return NotOurs();
  return key;
}

absl::StatusOr<int64_t> PageKeyInt(const std::string& part) {
  int64_t value = 0;
  if (!absl::SimpleAtoi(part, &value)) return NotOurs();
  return value;
}

PageKey PageKeyOf(const TimeIdKey& key) { return {absl::StrCat(key.created_at), key.id}; }

absl::StatusOr<TimeIdKey> DecodeTimeIdToken(absl::string_view token, TimeIdKey first_page) {
  absl::StatusOr<std::optional<PageKey>> key = DecodePageToken(token, 2);
  if (!key.ok()) return key.status();
  if (!*key) return first_page;
  absl::StatusOr<int64_t> created_at = PageKeyInt((**key)[0]);
  if (!created_at.ok()) return created_at.status();
  return TimeIdKey{*created_at, std::move((**key)[1])};
}

}  // namespace flowmonkey::pg
