#pragma once

// Keyset paging, one way for every list (executions, jobs, resume tokens, context values,
// flows). A list statement orders by a unique key and takes the key of the previous page's
// last row as parameters; it is run for limit + 1 rows, and the extra row says there is a
// next page.
//
// One page-token format: base64url (no padding) of "p1" followed by each part of the last
// row's key as "<length>:<bytes>". Tokens are opaque to clients; anything else, including
// the formats of earlier versions, is INVALID_ARGUMENT "page_token: not a token from a
// previous page" (docs/adr/0008-one-batching-shape.md).

#include <functional>
#include <optional>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "server/pg/pool.h"

namespace flowmonkey::pg {

// The key of a row, in the list's sort order.
using PageKey = std::vector<std::string>;

std::string EncodePageToken(const PageKey& key);
// nullopt for the empty token (the first page); else exactly `parts` parts.
absl::StatusOr<std::optional<PageKey>> DecodePageToken(absl::string_view token, size_t parts);
// A part that holds an integer (e.g. created_at).
absl::StatusOr<int64_t> PageKeyInt(const std::string& part);

// The key of lists ordered by (created_at, id): jobs, resume tokens.
struct TimeIdKey {
  int64_t created_at = 0;
  std::string id;
};
PageKey PageKeyOf(const TimeIdKey& key);
// `first_page` for the empty token.
absl::StatusOr<TimeIdKey> DecodeTimeIdToken(absl::string_view token, TimeIdKey first_page);

// Runs `statement` with `params` and limit + 1, decodes rows into (response.*items)() with
// `decode`, and sets next_page_token from `key_of` the last item when there are more.
template <typename Response, typename Item>
absl::StatusOr<Response> FetchPage(ConnectionPool& pool, std::string_view what,
                                   const Statement& statement, Params params, int32_t limit,
                                   google::protobuf::RepeatedPtrField<Item>* (Response::*items)(),
                                   const std::function<Item(const pqxx::row&)>& decode,
                                   const std::function<PageKey(const Item&)>& key_of) {
  params.Add(static_cast<int32_t>(limit + 1));
  return pool.Run<Response>(what, [&](Session& s) -> absl::StatusOr<Response> {
    pqxx::nontransaction tx(s.connection());
    Response response;
    google::protobuf::RepeatedPtrField<Item>& out = *(response.*items)();
    for (const auto& row : s.Exec(tx, statement, params)) {
      if (out.size() == limit) {
        response.set_next_page_token(EncodePageToken(key_of(out.Get(limit - 1))));
        break;
      }
      *out.Add() = decode(row);
    }
    return response;
  });
}

}  // namespace flowmonkey::pg
