// ContextStorage conformance: every test runs against the PostgreSQL store and against the
// remote client talking to a real server (values over 1 MiB travel there in chunks).

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "tests/support/backends.h"
#include "tests/support/test_database.h"

namespace flowmonkey::testing {
namespace {

using ::absl::StatusCode;

v1::ContextValue Value(const std::string& execution_id, const std::string& key,
                       const std::string& json) {
  v1::ContextValue v;
  v.set_execution_id(execution_id);
  v.set_key(key);
  v.set_value_json(json);
  return v;
}

void CreateExecution(ExecutionStore& store, const std::string& id) {
  v1::CreateExecutionRequest request;
  v1::Execution* e = request.mutable_execution();
  e->set_id(id);
  e->set_flow_id("f");
  e->set_flow_version("1.0.0");
  e->set_current_step_id("s");
  e->set_status(v1::EXECUTION_STATUS_RUNNING);
  ASSERT_TRUE(store.Create(request).ok());
}

// A JSON object of about `bytes` bytes with varied content (so it does not compress to
// nothing), nested a little, with strings that need escaping and non-ASCII text.
std::string BigJson(size_t bytes) {
  nlohmann::json items = nlohmann::json::array();
  size_t size = 0;
  for (int i = 0; size < bytes; ++i) {
    nlohmann::json item = {
        {"i", i},
        {"name", absl::StrCat("item \"", i, "\" \\ caf\u00e9 \u2603 ", i * 7919)},
        {"price", i * 0.25},
        {"tags", {"a", i % 2 == 0, nullptr}}};
    size += item.dump().size() + 1;
    items.push_back(std::move(item));
  }
  return nlohmann::json({{"order", {{"id", 42}}}, {"items", items}}).dump();
}

template <typename Backend>
class ContextStorageTest : public ::testing::Test {
 protected:
  void SetUp() override { CreateExecution(backend_.executions(), "exec-1"); }
  ContextStorage& store() { return backend_.contexts(); }

  absl::StatusOr<v1::ContextValue> Get(const std::string& execution_id, const std::string& key) {
    v1::GetContextRequest request;
    request.set_execution_id(execution_id);
    request.set_key(key);
    return store().Get(request);
  }

  Backend backend_;
};

TYPED_TEST_SUITE(ContextStorageTest, Backends, BackendNames);

TYPED_TEST(ContextStorageTest, SetReturnsAReferenceAndGetTheValue) {
  const std::string json = R"({"customer":"ada","items":[1,2,3],"total":9.5})";
  auto reference = this->store().Set(Value("exec-1", "order", json));
  ASSERT_TRUE(reference.ok()) << reference.status();
  EXPECT_EQ(reference->ref(), "storage://exec-1/order");
  EXPECT_EQ(reference->summary(), "Object {customer, items, total}");
  EXPECT_EQ(reference->size_bytes(), static_cast<int64_t>(json.size()));
  EXPECT_GT(reference->created_at(), 0);

  auto got = this->Get("exec-1", "order");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(nlohmann::json::parse(got->value_json()), nlohmann::json::parse(json));
  EXPECT_EQ(got->reference().ref(), "storage://exec-1/order");
  EXPECT_EQ(got->reference().summary(), reference->summary());

  // Overwrite keeps created_at, any JSON value is allowed.
  auto again = this->store().Set(Value("exec-1", "order", R"("just a string")"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->created_at(), reference->created_at());
  EXPECT_EQ(again->summary(), "just a string");
  EXPECT_EQ(this->Get("exec-1", "order")->value_json(), R"("just a string")");
  EXPECT_EQ(this->Get("exec-1", "missing").status().code(), StatusCode::kNotFound);
}

TYPED_TEST(ContextStorageTest, UnknownExecutionIsNotFound) {
  auto reference = this->store().Set(Value("no-such-execution", "k", "1"));
  EXPECT_EQ(reference.status().code(), StatusCode::kNotFound) << reference.status();
}

TYPED_TEST(ContextStorageTest, ListDeleteAndClear) {
  for (const char* key : {"c", "a", "b", "d"}) {
    ASSERT_TRUE(this->store().Set(Value("exec-1", key, "[1,2]")).ok());
  }
  v1::ListContextRequest list;
  list.set_execution_id("exec-1");
  list.set_limit(3);
  auto page = this->store().List(list);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->references_size(), 3);
  EXPECT_EQ(page->references(0).key(), "a");
  EXPECT_EQ(page->references(0).summary(), "Array(2)");
  EXPECT_EQ(page->references(2).ref(), "storage://exec-1/c");
  list.set_page_token(page->next_page_token());
  page = this->store().List(list);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->references_size(), 1);
  EXPECT_EQ(page->references(0).key(), "d");
  EXPECT_EQ(page->next_page_token(), "");

  v1::DeleteContextRequest del;
  del.set_execution_id("exec-1");
  del.set_key("a");
  EXPECT_TRUE(this->store().Delete(del)->deleted());
  EXPECT_FALSE(this->store().Delete(del)->deleted());

  v1::ClearExecutionContextRequest clear;
  clear.set_execution_id("exec-1");
  auto cleared = this->store().ClearExecution(clear);
  ASSERT_TRUE(cleared.ok());
  EXPECT_EQ(cleared->deleted_count(), 3);
  EXPECT_EQ(this->store().ClearExecution(clear)->deleted_count(), 0);
}

TYPED_TEST(ContextStorageTest, DeletingTheExecutionDeletesItsValues) {
  CreateExecution(this->backend_.executions(), "exec-gone");
  ASSERT_TRUE(this->store().Set(Value("exec-gone", "k", R"({"a":1})")).ok());
  v1::DeleteExecutionRequest del;
  del.set_execution_id("exec-gone");
  ASSERT_TRUE(this->backend_.executions().Delete(del).ok());
  EXPECT_EQ(this->Get("exec-gone", "k").status().code(), StatusCode::kNotFound);
}

TYPED_TEST(ContextStorageTest, TwentyMebibyteValueRoundTrips) {
  const std::string json = BigJson(20u * 1024 * 1024);
  ASSERT_GT(json.size(), 20u * 1024 * 1024);
  auto reference = this->store().Set(Value("exec-1", "big", json));
  ASSERT_TRUE(reference.ok()) << reference.status();
  EXPECT_EQ(reference->size_bytes(), static_cast<int64_t>(json.size()));
  EXPECT_EQ(reference->summary(), "Object {items, order}");  // nlohmann::json sorts keys
  auto got = this->Get("exec-1", "big");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(nlohmann::json::parse(got->value_json()) == nlohmann::json::parse(json))
      << "the value changed in meaning";
}

// ---- malformed requests: each gets its status code, never INTERNAL -------------------

struct BadContextRequest {
  const char* name;
  StatusCode expected;
  std::function<absl::Status(ContextStorage&)> call;
};

std::vector<BadContextRequest> BadContextRequests() {
  const StatusCode kInvalid = StatusCode::kInvalidArgument;
  return {
      {"set: empty execution_id", kInvalid,
       [](ContextStorage& s) { return s.Set(Value("", "k", "1")).status(); }},
      {"set: empty key", kInvalid,
       [](ContextStorage& s) { return s.Set(Value("exec-1", "", "1")).status(); }},
      {"set: over-long key", kInvalid,
       [](ContextStorage& s) {
         return s.Set(Value("exec-1", std::string(300, 'k'), "1")).status();
       }},
      {"set: empty value", kInvalid,
       [](ContextStorage& s) { return s.Set(Value("exec-1", "k", "")).status(); }},
      {"set: invalid JSON", kInvalid,
       [](ContextStorage& s) { return s.Set(Value("exec-1", "k", "{nope")).status(); }},
      {"set: \\u0000 in value", kInvalid,
       [](ContextStorage& s) { return s.Set(Value("exec-1", "k", R"(["\u0000"])")).status(); }},
      {"set: JSON nested too deep", kInvalid,
       [](ContextStorage& s) {
         return s.Set(Value("exec-1", "k", std::string(100, '[') + std::string(100, ']'))).status();
       }},
      {"set: invalid UTF-8 in a string", kInvalid,
       [](ContextStorage& s) { return s.Set(Value("exec-1", "k", "\"a\xff\"")).status(); }},
      {"set: control character in key", kInvalid,
       [](ContextStorage& s) { return s.Set(Value("exec-1", "a\nb", "1")).status(); }},
      {"get: empty key", kInvalid,
       [](ContextStorage& s) {
         v1::GetContextRequest r;
         r.set_execution_id("exec-1");
         return s.Get(r).status();
       }},
      {"get: unknown value", StatusCode::kNotFound,
       [](ContextStorage& s) {
         v1::GetContextRequest r;
         r.set_execution_id("exec-1");
         r.set_key("never-set");
         return s.Get(r).status();
       }},
      {"delete: empty execution_id", kInvalid,
       [](ContextStorage& s) {
         v1::DeleteContextRequest r;
         r.set_key("k");
         return s.Delete(r).status();
       }},
      {"list: negative limit", kInvalid,
       [](ContextStorage& s) {
         v1::ListContextRequest r;
         r.set_execution_id("exec-1");
         r.set_limit(-3);
         return s.List(r).status();
       }},
      {"list: over-long page token", kInvalid,
       [](ContextStorage& s) {
         v1::ListContextRequest r;
         r.set_execution_id("exec-1");
         r.set_page_token(std::string(400, 'p'));
         return s.List(r).status();
       }},
      {"clear: empty execution_id", kInvalid,
       [](ContextStorage& s) {
         return s.ClearExecution(v1::ClearExecutionContextRequest()).status();
       }},
  };
}

TYPED_TEST(ContextStorageTest, MalformedRequestsGetTheirStatusCode) {
  for (const BadContextRequest& c : BadContextRequests()) {
    const absl::Status status = c.call(this->store());
    EXPECT_EQ(status.code(), c.expected) << c.name << ": " << status;
    EXPECT_NE(status.code(), StatusCode::kInternal) << c.name;
  }
  v1::ListContextRequest list;
  list.set_execution_id("exec-1");
  EXPECT_EQ(this->store().List(list)->references_size(), 0) << "a bad Set wrote something";
}

// The server's maximum (small here to keep the test light): a value over it is refused
// with RESOURCE_EXHAUSTED, remotely before it has been sent, and a multi-chunk value under
// it is stored.
TEST(ContextStorageLimit, ValuesOverTheServerMaximumAreResourceExhausted) {
  ServerOptions options = TestServerOptions(TestDatabase::Instance().NewPrefix());
  options.max_context_bytes = 3 * 1024 * 1024;
  auto server = Server::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  client::ClientOptions client_options;
  client_options.target = absl::StrCat("127.0.0.1:", (*server)->port());
  auto stores = client::Connect(client_options);
  ASSERT_TRUE(stores.ok()) << stores.status();
  CreateExecution(*stores->executions, "exec-limit");

  const std::string under = BigJson(2'500'000);
  auto stored = stores->contexts->Set(Value("exec-limit", "under", under));
  ASSERT_TRUE(stored.ok()) << stored.status();
  v1::GetContextRequest get;
  get.set_execution_id("exec-limit");
  get.set_key("under");
  auto got = stores->contexts->Get(get);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(nlohmann::json::parse(got->value_json()) == nlohmann::json::parse(under));

  const std::string over = BigJson(4 * 1024 * 1024);
  EXPECT_EQ(stores->contexts->Set(Value("exec-limit", "over", over)).status().code(),
            StatusCode::kResourceExhausted);
  get.set_key("over");
  EXPECT_EQ(stores->contexts->Get(get).status().code(), StatusCode::kNotFound);

  auto pool = TestPool(options.table_prefix);
  pg::PgContextStorage direct(*pool, 1024);
  EXPECT_EQ(direct.Set(Value("exec-limit", "over", BigJson(2048))).status().code(),
            StatusCode::kResourceExhausted);
  *stores = client::Stores();
  (*server)->Shutdown();
}

}  // namespace
}  // namespace flowmonkey::testing
