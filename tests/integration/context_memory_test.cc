// Memory of the real flowmonkey-server binary around large context values: a value costs
// the server at most about twice its size at the peak (the value, and libpq's send or
// receive buffer), and the memory is given back to the system once the calls are over.
// Figures are printed; RSS bounds are not checked under AddressSanitizer, whose shadow
// memory and quarantine of freed blocks are part of the process's RSS.

#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "client/client.h"
#include "tests/integration/harness.h"
#include "tests/support/test_database.h"

namespace flowmonkey::testing {
namespace {

// gcc defines __SANITIZE_ADDRESS__; clang 14 only answers __has_feature.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

constexpr int64_t kMiB = 1024 * 1024;

// A field of /proc/<pid>/status in KiB ("VmHWM": peak resident set, "VmRSS": now).
int64_t StatusKiB(pid_t pid, const std::string& field) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1));
  }
  return -1;
}

// About `bytes` of JSON: an array of small objects, as a large context value tends to be.
std::string LargeValue(size_t bytes) {
  std::string text = "[";
  for (int i = 0; text.size() < bytes; ++i) {
    absl::StrAppend(&text, i == 0 ? "" : ",", R"({"id":)", i, R"(,"name":"item-)", i,
                    R"(","tags":["a","b"],"score":)", i % 97, ".5}");
  }
  text += "]";
  return text;
}

TEST(ContextMemory, ALargeValueCostsAtMostTwiceItsSizeAndIsGivenBack) {
  const std::string prefix = TestDatabase::Instance().NewPrefix();
  const int port = FreeLoopbackPort();
  ServerProcess server({absl::StrCat("--listen=127.0.0.1:", port),
                        "--database-url=" + TestDatabase::Instance().url(),
                        "--table-prefix=" + prefix, "--log-level=warn"});
  client::ClientOptions options;
  options.target = absl::StrCat("127.0.0.1:", port);
  options.timeout = absl::Seconds(60);
  options.connect_timeout = absl::Seconds(30);
  auto stores = client::Connect(options);
  ASSERT_TRUE(stores.ok()) << stores.status();
  v1::CreateExecutionRequest create;
  *create.mutable_execution() = NewExecution("memory-exec");
  ASSERT_TRUE((*stores).executions->Create(create).ok());

  const int64_t before_kib = StatusKiB(server.pid(), "VmHWM");
  const std::string text = LargeValue(20 * kMiB);
  constexpr int kRounds = 6;
  for (int i = 0; i < kRounds; ++i) {
    v1::ContextValue value;
    value.set_execution_id("memory-exec");
    value.set_key(absl::StrCat("big-", i % 2));
    value.set_value_json(text);
    auto reference = (*stores).contexts->Set(value);
    ASSERT_TRUE(reference.ok()) << reference.status();
    v1::GetContextRequest get;
    get.set_execution_id("memory-exec");
    get.set_key(value.key());
    auto got = (*stores).contexts->Get(get);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_EQ(got->reference().size_bytes(), static_cast<int64_t>(text.size()));
  }
  const int64_t peak_kib = StatusKiB(server.pid(), "VmHWM");
  const int64_t idle_kib = StatusKiB(server.pid(), "VmRSS");
  const int64_t value_mib = static_cast<int64_t>(text.size()) / kMiB;
  std::cout << "context memory: value " << value_mib << " MiB, server peak RSS " << peak_kib / 1024
            << " MiB (before the values: " << before_kib / 1024
            << " MiB; goal <= 2 x value + 100 = " << 2 * value_mib + 100 << "), RSS after "
            << kRounds << " Set+Get rounds " << idle_kib / 1024 << " MiB (goal < 200)"
            << (kSanitized ? " [AddressSanitizer: not checked]" : "") << "\n";
  if (kSanitized) return;
  EXPECT_LE(peak_kib, (2 * value_mib + 100) * 1024);
  EXPECT_LT(idle_kib, 200 * 1024);
}

}  // namespace
}  // namespace flowmonkey::testing
