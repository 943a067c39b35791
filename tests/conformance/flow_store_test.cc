// FlowStore conformance: every test runs against the PostgreSQL store and against the
// remote client talking to a real server. The FlowRegistry tests run over both too.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/flow_registry.h"
#include "nlohmann/json.hpp"
#include "tests/support/backends.h"

namespace flowmonkey::testing {
namespace {

using ::absl::StatusCode;
using ::testing::HasSubstr;

std::string Definition(const std::string& id, const std::string& version,
                       const std::string& final_step = "done") {
  nlohmann::json d = {{"id", id},
                      {"version", version},
                      {"name", "Order flow"},
                      {"initialStepId", "validate"},
                      {"steps",
                       {{"validate",
                         {{"id", "validate"},
                          {"type", "validate-order"},
                          {"config", {{"strict", true}}},
                          {"transitions", {{"onSuccess", final_step}, {"onFailure", nullptr}}}}},
                        {final_step,
                         {{"id", final_step},
                          {"type", "noop"},
                          {"config", nlohmann::json::object()},
                          {"transitions", {{"onSuccess", nullptr}}}}}}}};
  return d.dump();
}

v1::Flow MakeFlow(const std::string& id, const std::string& version,
                  v1::FlowStatus status = v1::FLOW_STATUS_PUBLISHED) {
  v1::Flow f;
  f.set_id(id);
  f.set_version(version);
  f.set_name("Order flow");
  f.set_status(status);
  f.add_tags("orders");
  f.set_definition_json(Definition(id, version));
  return f;
}

template <typename Backend>
class FlowStoreTest : public ::testing::Test {
 protected:
  FlowStore& store() { return backend_.flows(); }

  absl::StatusOr<v1::SaveFlowResponse> Save(const v1::Flow& f) {
    v1::SaveFlowRequest request;
    *request.mutable_flow() = f;
    return store().Save(request);
  }
  void SaveOk(const v1::Flow& f) {
    auto response = Save(f);
    ASSERT_TRUE(response.ok()) << f.version() << ": " << response.status();
  }
  absl::StatusOr<v1::Flow> Get(const std::string& id, std::optional<std::string> version = {}) {
    v1::GetFlowRequest request;
    request.set_flow_id(id);
    if (version) request.set_version(*version);
    auto response = store().Get(request);
    if (!response.ok()) return response.status();
    return response->flow();
  }
  std::vector<std::string> Versions(const std::string& id) {
    v1::FlowVersionsRequest request;
    request.set_flow_id(id);
    auto response = store().Versions(request);
    EXPECT_TRUE(response.ok()) << response.status();
    std::vector<std::string> versions;
    if (response.ok()) {
      for (const auto& f : response->flows()) versions.push_back(f.version());
    }
    return versions;
  }

  Backend backend_;
};

TYPED_TEST_SUITE(FlowStoreTest, Backends, BackendNames);

TYPED_TEST(FlowStoreTest, SaveAndGetRoundTripEveryField) {
  v1::Flow f = MakeFlow("order-flow", "1.0.0", v1::FLOW_STATUS_DRAFT);
  f.set_description("Takes orders");
  f.add_tags("billing");
  f.set_visual_json(R"({"nodes":{"validate":{"x":10,"y":20}}})");
  f.set_created_at(1'700'000'000'000);
  auto saved = this->Save(f);
  ASSERT_TRUE(saved.ok()) << saved.status();
  EXPECT_TRUE(saved->created());

  auto got = this->Get("order-flow", "1.0.0");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(nlohmann::json::parse(got->definition_json()),
            nlohmann::json::parse(f.definition_json()));
  EXPECT_EQ(nlohmann::json::parse(got->visual_json()), nlohmann::json::parse(f.visual_json()));
  EXPECT_EQ(got->updated_at(), f.created_at());
  v1::Flow a = *got, b = f;
  for (v1::Flow* x : {&a, &b}) {
    x->clear_definition_json();
    x->clear_visual_json();
    x->clear_updated_at();
  }
  EXPECT_EQ(a.DebugString(), b.DebugString());

  v1::Flow bare = MakeFlow("bare-flow", "0.1.0");
  bare.clear_name();
  bare.clear_tags();
  this->SaveOk(bare);
  got = this->Get("bare-flow");
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_name());
  EXPECT_FALSE(got->has_description());
  EXPECT_EQ(got->tags_size(), 0);
  EXPECT_EQ(got->visual_json(), "");
  EXPECT_GT(got->created_at(), 0);
}

TYPED_TEST(FlowStoreTest, LatestFollowsSemverOrder) {
  for (const char* v : {"1.9.0", "1.10.0", "1.2.0", "1.10.0-rc.1", "0.9.9"}) {
    this->SaveOk(MakeFlow("semver", v));
  }
  auto latest = this->Get("semver");
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(latest->version(), "1.10.0");
  v1::LatestFlowRequest request;
  request.set_flow_id("semver");
  auto l = this->store().Latest(request);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->flow().version(), "1.10.0");
  EXPECT_EQ(this->Versions("semver"),
            (std::vector<std::string>{"1.10.0", "1.10.0-rc.1", "1.9.0", "1.2.0", "0.9.9"}));
}

TYPED_TEST(FlowStoreTest, PreReleasesRankBelowTheirRelease) {
  for (const char* v : {"1.0.0-beta", "1.0.0-alpha.10", "1.0.0-alpha", "1.0.0-alpha.2",
                        "1.0.0-alpha.beta", "1.0.0-rc.1", "1.0.0-beta.11", "1.0.0-beta.2"}) {
    this->SaveOk(MakeFlow("pre", v));
  }
  EXPECT_EQ(this->Get("pre")->version(), "1.0.0-rc.1");
  EXPECT_EQ(this->Versions("pre"),
            (std::vector<std::string>{"1.0.0-rc.1", "1.0.0-beta.11", "1.0.0-beta.2", "1.0.0-beta",
                                      "1.0.0-alpha.beta", "1.0.0-alpha.10", "1.0.0-alpha.2",
                                      "1.0.0-alpha"}));
  this->SaveOk(MakeFlow("pre", "1.0.0"));
  EXPECT_EQ(this->Get("pre")->version(), "1.0.0");
}

TYPED_TEST(FlowStoreTest, ArchivedVersionsAreNeverLatest) {
  this->SaveOk(MakeFlow("arch", "1.0.0"));
  this->SaveOk(MakeFlow("arch", "2.0.0", v1::FLOW_STATUS_DRAFT));
  EXPECT_EQ(this->Get("arch")->version(), "2.0.0");

  v1::SetFlowStatusRequest archive;
  archive.set_flow_id("arch");
  archive.set_version("2.0.0");
  archive.set_status(v1::FLOW_STATUS_ARCHIVED);
  auto set = this->store().SetStatus(archive);
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->flow().status(), v1::FLOW_STATUS_ARCHIVED);
  EXPECT_GE(set->flow().updated_at(), set->flow().created_at());
  EXPECT_EQ(this->Get("arch")->version(), "1.0.0");
  EXPECT_EQ(this->Get("arch", "2.0.0")->status(), v1::FLOW_STATUS_ARCHIVED);  // still readable
  EXPECT_EQ(this->Versions("arch").size(), 2u);

  archive.set_version("1.0.0");
  ASSERT_TRUE(this->store().SetStatus(archive).ok());
  EXPECT_EQ(this->Get("arch").status().code(), StatusCode::kNotFound);
  archive.set_version("3.0.0");
  EXPECT_EQ(this->store().SetStatus(archive).status().code(), StatusCode::kNotFound);
}

TYPED_TEST(FlowStoreTest, IdenticalResaveIsANoOpDifferentContentIsRejected) {
  v1::Flow f = MakeFlow("immutable", "1.0.0");
  this->SaveOk(f);
  // Same definition in another key order and spacing: the same content.
  v1::Flow same = f;
  same.set_definition_json(nlohmann::json::parse(f.definition_json()).dump(2));
  auto again = this->Save(same);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->created());
  EXPECT_EQ(again->flow().version(), "1.0.0");

  v1::Flow changed = MakeFlow("immutable", "1.0.0");
  changed.set_definition_json(Definition("immutable", "1.0.0", "finish"));
  auto conflict = this->Save(changed);
  EXPECT_EQ(conflict.status().code(), StatusCode::kAlreadyExists) << conflict.status();
  v1::Flow renamed = f;
  renamed.set_name("Other name");
  EXPECT_EQ(this->Save(renamed).status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(this->Versions("immutable").size(), 1u);
}

TYPED_TEST(FlowStoreTest, ConcurrentIdenticalSavesLeaveOneRow) {
  constexpr int kThreads = 16;
  const v1::Flow f = MakeFlow("contended", "3.1.4");
  std::atomic<int> created{0}, ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      auto response = this->Save(f);
      if (response.ok()) {
        ok.fetch_add(1);
        if (response->created()) created.fetch_add(1);
      } else {
        ADD_FAILURE() << response.status();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kThreads);
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(this->Versions("contended"), (std::vector<std::string>{"3.1.4"}));

  // Different content from 16 threads: one wins, the others get ALREADY_EXISTS.
  std::atomic<int> winners{0}, conflicts{0};
  threads.clear();
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      v1::Flow mine = MakeFlow("contended", "4.0.0");
      mine.set_description(absl::StrCat("writer ", i));
      auto response = this->Save(mine);
      if (response.ok() && response->created()) winners.fetch_add(1);
      if (response.status().code() == StatusCode::kAlreadyExists) conflicts.fetch_add(1);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(winners.load(), 1);
  EXPECT_EQ(conflicts.load(), kThreads - 1);
}

TYPED_TEST(FlowStoreTest, ValidationNamesEveryProblem) {
  v1::Flow f = MakeFlow("broken", "1.0.0");
  nlohmann::json d = nlohmann::json::parse(f.definition_json());
  d["initialStepId"] = "start";
  d["steps"]["validate"]["transitions"]["onSuccess"] = "nowhere";
  d["steps"]["validate"]["transitions"]["onFailure"] = "missing";
  d["steps"]["done"]["id"] = "finished";
  f.set_definition_json(d.dump());
  const absl::Status status = this->Save(f).status();
  ASSERT_EQ(status.code(), StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("4 problems"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("initialStepId: \"start\" is not a step"));
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("steps.validate.transitions.onSuccess: \"nowhere\" is not a step"));
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("steps.validate.transitions.onFailure: \"missing\" is not a step"));
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("steps.done.id: \"finished\" does not match its key"));
  EXPECT_EQ(this->Get("broken").status().code(), StatusCode::kNotFound);
}

TYPED_TEST(FlowStoreTest, ListPagesLatestVersionOfEachFlow) {
  this->SaveOk(MakeFlow("flow-a", "1.0.0"));
  this->SaveOk(MakeFlow("flow-a", "1.1.0"));
  this->SaveOk(MakeFlow("flow-b", "2.0.0"));
  this->SaveOk(MakeFlow("flow-c", "1.0.0", v1::FLOW_STATUS_ARCHIVED));
  this->SaveOk(MakeFlow("flow-d", "0.1.0", v1::FLOW_STATUS_DRAFT));
  v1::ListFlowsRequest request;
  request.set_limit(2);
  auto page = this->store().List(request);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->flows_size(), 2);
  EXPECT_EQ(page->flows(0).id(), "flow-a");
  EXPECT_EQ(page->flows(0).version(), "1.1.0");
  EXPECT_EQ(page->flows(1).id(), "flow-b");
  request.set_page_token(page->next_page_token());
  page = this->store().List(request);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->flows_size(), 1);  // flow-c is archived
  EXPECT_EQ(page->flows(0).id(), "flow-d");
  EXPECT_EQ(page->next_page_token(), "");
}

TYPED_TEST(FlowStoreTest, VersionsPage) {
  for (const char* v : {"1.0.0", "1.1.0", "1.2.0", "2.0.0-alpha", "2.0.0"}) {
    this->SaveOk(MakeFlow("paged", v));
  }
  v1::FlowVersionsRequest request;
  request.set_flow_id("paged");
  request.set_limit(2);
  std::vector<std::string> versions;
  for (int i = 0; i < 5; ++i) {
    auto page = this->store().Versions(request);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& f : page->flows()) versions.push_back(f.version());
    if (page->next_page_token().empty()) break;
    request.set_page_token(page->next_page_token());
  }
  EXPECT_EQ(versions,
            (std::vector<std::string>{"2.0.0", "2.0.0-alpha", "1.2.0", "1.1.0", "1.0.0"}));
}

TYPED_TEST(FlowStoreTest, ListAllStreamsEveryVersionAndDeleteRemoves) {
  for (int i = 0; i < 130; ++i) {  // more flows than one internal page
    this->SaveOk(MakeFlow(absl::StrCat("bulk-", 1000 + i), "1.0.0"));
  }
  this->SaveOk(MakeFlow("bulk-1000", "1.1.0", v1::FLOW_STATUS_ARCHIVED));
  std::vector<std::string> seen;
  ASSERT_TRUE(this->store()
                  .ListAll(v1::ListAllFlowsRequest(),
                           [&](const v1::Flow& f) {
                             seen.push_back(absl::StrCat(f.id(), "@", f.version()));
                             return true;
                           })
                  .ok());
  ASSERT_EQ(seen.size(), 131u);
  EXPECT_EQ(seen[0], "bulk-1000@1.1.0");
  EXPECT_EQ(seen[1], "bulk-1000@1.0.0");
  EXPECT_EQ(seen.back(), "bulk-1129@1.0.0");

  int taken = 0;  // a consumer may stop early
  ASSERT_TRUE(this->store()
                  .ListAll(v1::ListAllFlowsRequest(), [&](const v1::Flow&) { return ++taken < 3; })
                  .ok());
  EXPECT_EQ(taken, 3);

  v1::DeleteFlowRequest del;
  del.set_flow_id("bulk-1000");
  del.set_version("1.1.0");
  auto deleted = this->store().Delete(del);
  ASSERT_TRUE(deleted.ok());
  EXPECT_TRUE(deleted->deleted());
  EXPECT_EQ(deleted->deleted_count(), 1);
  del.clear_version();
  this->SaveOk(MakeFlow("bulk-1000", "1.2.0"));
  deleted = this->store().Delete(del);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->deleted_count(), 2);
  EXPECT_FALSE(this->store().Delete(del)->deleted());
  EXPECT_EQ(this->Get("bulk-1000").status().code(), StatusCode::kNotFound);
}

TYPED_TEST(FlowStoreTest, RegistryLoadsOnceAndAnswersFromMemory) {
  this->SaveOk(MakeFlow("reg", "1.9.0"));
  this->SaveOk(MakeFlow("reg", "1.10.0"));
  this->SaveOk(MakeFlow("reg", "2.0.0", v1::FLOW_STATUS_ARCHIVED));
  this->SaveOk(MakeFlow("other", "0.0.1"));
  client::FlowRegistry registry(this->store());
  ASSERT_TRUE(registry.LoadAll().ok());
  EXPECT_EQ(registry.size(), 4u);
  EXPECT_EQ(registry.List(), (std::vector<std::string>{"other", "reg"}));
  EXPECT_EQ(registry.Versions("reg"), (std::vector<std::string>{"2.0.0", "1.10.0", "1.9.0"}));
  EXPECT_EQ(registry.Get("reg")->version(), "1.10.0");
  EXPECT_EQ(registry.Get("reg", "2.0.0")->status(), v1::FLOW_STATUS_ARCHIVED);
  EXPECT_EQ(registry.Get("nope").status().code(), StatusCode::kNotFound);

  // Deleted behind its back: the registry still answers from memory until the next load.
  v1::DeleteFlowRequest del;
  del.set_flow_id("other");
  ASSERT_TRUE(this->store().Delete(del).ok());
  EXPECT_TRUE(registry.Get("other").ok());

  v1::SaveFlowRequest save;
  *save.mutable_flow() = MakeFlow("reg", "1.11.0");
  ASSERT_TRUE(registry.Save(save).ok());
  EXPECT_EQ(registry.Get("reg")->version(), "1.11.0");  // cache updated on Save
  ASSERT_TRUE(registry.LoadAll().ok());
  EXPECT_FALSE(registry.Has("other"));
  EXPECT_EQ(registry.Get("reg")->version(), "1.11.0");
}

// ---- malformed requests: each gets its status code, never INTERNAL -------------------

struct BadFlowRequest {
  const char* name;
  StatusCode expected;
  std::function<absl::Status(FlowStore&)> call;
};

absl::Status SaveFlowWith(FlowStore& s, const std::function<void(v1::Flow&)>& edit) {
  v1::SaveFlowRequest request;
  *request.mutable_flow() = MakeFlow("bad-flow", "1.0.0");
  edit(*request.mutable_flow());
  return s.Save(request).status();
}

absl::Status SaveDefinition(FlowStore& s, const std::string& definition) {
  return SaveFlowWith(s, [&](v1::Flow& f) { f.set_definition_json(definition); });
}

std::vector<BadFlowRequest> BadFlowRequests() {
  const StatusCode kInvalid = StatusCode::kInvalidArgument;
  using F = v1::Flow;
  return {
      {"save: no flow", kInvalid,
       [](FlowStore& s) { return s.Save(v1::SaveFlowRequest()).status(); }},
      {"save: empty id", kInvalid,
       [](FlowStore& s) { return SaveFlowWith(s, [](F& f) { f.clear_id(); }); }},
      {"save: version not semver", kInvalid,
       [](FlowStore& s) { return SaveFlowWith(s, [](F& f) { f.set_version("1.0"); }); }},
      {"save: version with leading zero", kInvalid,
       [](FlowStore& s) { return SaveFlowWith(s, [](F& f) { f.set_version("01.0.0"); }); }},
      {"save: version number too large", kInvalid,
       [](FlowStore& s) {
         return SaveFlowWith(s, [](F& f) { f.set_version("99999999999999999999.0.0"); });
       }},
      {"save: unspecified status", kInvalid,
       [](FlowStore& s) {
         return SaveFlowWith(s, [](F& f) { f.set_status(v1::FLOW_STATUS_UNSPECIFIED); });
       }},
      {"save: unknown status", kInvalid,
       [](FlowStore& s) {
         return SaveFlowWith(s, [](F& f) { f.set_status(static_cast<v1::FlowStatus>(42)); });
       }},
      {"save: empty definition", kInvalid,
       [](FlowStore& s) { return SaveFlowWith(s, [](F& f) { f.clear_definition_json(); }); }},
      {"save: definition not JSON", kInvalid,
       [](FlowStore& s) { return SaveDefinition(s, "{steps"); }},
      {"save: definition an array", kInvalid, [](FlowStore& s) { return SaveDefinition(s, "[]"); }},
      {"save: definition without steps", kInvalid,
       [](FlowStore& s) { return SaveDefinition(s, R"({"initialStepId":"a"})"); }},
      {"save: definition id mismatch", kInvalid,
       [](FlowStore& s) { return SaveDefinition(s, Definition("other-flow", "1.0.0")); }},
      {"save: step not an object", kInvalid,
       [](FlowStore& s) {
         return SaveDefinition(s, R"({"initialStepId":"a","steps":{"a":"oops"}})");
       }},
      {"save: transition target a number", kInvalid,
       [](FlowStore& s) {
         return SaveDefinition(
             s,
             R"({"initialStepId":"a","steps":{"a":{"id":"a","type":"t","transitions":{"onSuccess":7}}}})");
       }},
      {"save: \\u0000 in definition", kInvalid,
       [](FlowStore& s) {
         return SaveDefinition(
             s, R"({"initialStepId":"a","steps":{"a":{"id":"a","type":"t\u0000"}}})");
       }},
      {"save: visual not an object", kInvalid,
       [](FlowStore& s) { return SaveFlowWith(s, [](F& f) { f.set_visual_json("[1]"); }); }},
      {"save: empty tag", kInvalid,
       [](FlowStore& s) { return SaveFlowWith(s, [](F& f) { f.add_tags(""); }); }},
      {"save: NUL in name", kInvalid,
       [](FlowStore& s) {
         return SaveFlowWith(s, [](F& f) { f.set_name(std::string("a\0b", 3)); });
       }},
      {"save: negative created_at", kInvalid,
       [](FlowStore& s) { return SaveFlowWith(s, [](F& f) { f.set_created_at(-1); }); }},
      {"get: empty flow_id", kInvalid,
       [](FlowStore& s) { return s.Get(v1::GetFlowRequest()).status(); }},
      {"get: empty version set", kInvalid,
       [](FlowStore& s) {
         v1::GetFlowRequest r;
         r.set_flow_id("x");
         r.set_version("");
         return s.Get(r).status();
       }},
      {"get: unknown flow", StatusCode::kNotFound,
       [](FlowStore& s) {
         v1::GetFlowRequest r;
         r.set_flow_id("no-such-flow");
         return s.Get(r).status();
       }},
      {"latest: over-long id", kInvalid,
       [](FlowStore& s) {
         v1::LatestFlowRequest r;
         r.set_flow_id(std::string(300, 'f'));
         return s.Latest(r).status();
       }},
      {"versions: bad page token", kInvalid,
       [](FlowStore& s) {
         v1::FlowVersionsRequest r;
         r.set_flow_id("x");
         r.set_page_token("not-a-version");
         return s.Versions(r).status();
       }},
      {"list: limit over maximum", kInvalid,
       [](FlowStore& s) {
         v1::ListFlowsRequest r;
         r.set_limit(10'001);
         return s.List(r).status();
       }},
      {"set status: unspecified", kInvalid,
       [](FlowStore& s) {
         v1::SetFlowStatusRequest r;
         r.set_flow_id("x");
         r.set_version("1.0.0");
         return s.SetStatus(r).status();
       }},
      {"set status: no version", kInvalid,
       [](FlowStore& s) {
         v1::SetFlowStatusRequest r;
         r.set_flow_id("x");
         r.set_status(v1::FLOW_STATUS_ARCHIVED);
         return s.SetStatus(r).status();
       }},
      {"delete: empty flow_id", kInvalid,
       [](FlowStore& s) { return s.Delete(v1::DeleteFlowRequest()).status(); }},
  };
}

TYPED_TEST(FlowStoreTest, MalformedRequestsGetTheirStatusCode) {
  const auto cases = BadFlowRequests();
  for (const BadFlowRequest& c : cases) {
    const absl::Status status = c.call(this->store());
    EXPECT_EQ(status.code(), c.expected) << c.name << ": " << status;
    EXPECT_NE(status.code(), StatusCode::kInternal) << c.name;
  }
  EXPECT_EQ(this->Get("bad-flow").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace flowmonkey::testing
