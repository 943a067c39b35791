// Transport security and authentication: TLS, mutual TLS and API keys, with certificates
// made at test time by the openssl CLI (a CA, a server certificate for 127.0.0.1 and
// localhost, a client certificate, and a second, unrelated CA with its own client).

#include "server/rpc/auth.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/client.h"
#include "client/transaction.h"
#include "core/resume_token_rules.h"
#include "flowmonkey/v1/execution.grpc.pb.h"
#include "flowmonkey/v1/job.grpc.pb.h"
#include "google/protobuf/util/message_differencer.h"
#include "nlohmann/json.hpp"
#include "tests/integration/harness.h"
#include "tests/support/backends.h"
#include "tests/support/test_database.h"

namespace flowmonkey::testing {
namespace {

std::string ReadText(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// Certificates in a temporary directory, removed at the end of the suite.
class Certificates {
 public:
  Certificates() {
    char pattern[] = "/tmp/fm-test-certs-XXXXXX";
    dir_ = mkdtemp(pattern);
    const std::string script = absl::StrCat(R"(set -e; cd ')", dir_, R"('
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key"; }
ca() { key "$1"; openssl req -x509 -new -key "$1.key" -out "$1.pem" -days 2 -subj "/CN=$1"; }
leaf() {  # name ca extensions
  key "$1"; openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$1"
  printf '%s\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 2 \
    -extfile "$1.ext" -out "$1.pem"
}
ca ca; ca other-ca
leaf server ca 'subjectAltName=DNS:localhost,IP:127.0.0.1'
leaf client ca 'extendedKeyUsage=clientAuth'
leaf other-client other-ca 'extendedKeyUsage=clientAuth'
)");
    std::ofstream(dir_ + "/make.sh") << script;
    const std::string command = absl::StrCat("sh '", dir_, "/make.sh' >'", dir_, "/make.log' 2>&1");
    if (std::system(command.c_str()) != 0) {
      ADD_FAILURE() << "openssl failed: " << ReadText(dir_ + "/make.log");
    }
  }
  ~Certificates() { std::filesystem::remove_all(dir_); }

  std::string Path(const std::string& file) const { return dir_ + "/" + file; }
  std::string Pem(const std::string& file) const { return ReadText(Path(file)); }

 private:
  std::string dir_;
};

class Auth : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { certs_ = new Certificates(); }
  static void TearDownTestSuite() {
    delete certs_;
    certs_ = nullptr;
  }

  ServerOptions TlsOptions() const {
    ServerOptions options = TestServerOptions(TestDatabase::Instance().NewPrefix());
    options.security.tls_cert_file = certs_->Path("server.pem");
    options.security.tls_key_file = certs_->Path("server.key");
    return options;
  }

  // A client of `server` trusting `ca`, with the client certificate `client` if set.
  client::ClientOptions ClientOf(const Server& server, const std::string& ca,
                                 const std::string& client = "") const {
    client::ClientOptions options;
    options.target = absl::StrCat("127.0.0.1:", server.port());
    options.max_attempts = 1;
    options.connect_timeout = absl::Seconds(3);
    client::TlsOptions tls;
    tls.root_certs_pem = certs_->Pem(ca + ".pem");
    if (!client.empty()) {
      tls.client_cert_pem = certs_->Pem(client + ".pem");
      tls.client_key_pem = certs_->Pem(client + ".key");
    }
    options.tls = tls;
    return options;
  }

  // Connects and saves an execution: the first failure's code, or OK.
  static absl::StatusCode ConnectAndSave(const client::ClientOptions& options) {
    absl::StatusOr<client::Stores> stores = client::Connect(options);
    if (!stores.ok()) return stores.status().code();
    v1::SaveExecutionRequest save;
    *save.mutable_execution() = NewExecution("auth-test");
    return stores->executions->Save(save).status().code();
  }

  static Certificates* certs_;
};

Certificates* Auth::certs_ = nullptr;

TEST_F(Auth, TlsServesAClientThatTrustsTheServersCa) {
  auto server = Server::Start(TlsOptions());
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ(ConnectAndSave(ClientOf(**server, "ca")), absl::StatusCode::kOk);
}

TEST_F(Auth, TlsFailsForAClientTrustingAnotherCa) {
  auto server = Server::Start(TlsOptions());
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ(ConnectAndSave(ClientOf(**server, "other-ca")), absl::StatusCode::kUnavailable);
}

TEST_F(Auth, TlsServerRefusesPlainTextClients) {
  auto server = Server::Start(TlsOptions());
  ASSERT_TRUE(server.ok()) << server.status();
  client::ClientOptions plain;
  plain.target = absl::StrCat("127.0.0.1:", (*server)->port());
  plain.max_attempts = 1;
  plain.connect_timeout = absl::Seconds(3);
  EXPECT_EQ(ConnectAndSave(plain), absl::StatusCode::kUnavailable);
}

TEST_F(Auth, MutualTlsRequiresAClientCertificateFromTheClientCa) {
  ServerOptions options = TlsOptions();
  options.security.tls_client_ca_file = certs_->Path("ca.pem");
  auto server = Server::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ(ConnectAndSave(ClientOf(**server, "ca", "client")), absl::StatusCode::kOk);
  EXPECT_EQ(ConnectAndSave(ClientOf(**server, "ca")), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ConnectAndSave(ClientOf(**server, "ca", "other-client")),
            absl::StatusCode::kUnavailable);
}

TEST_F(Auth, ApiKeysAreCheckedAndARemovedKeyIsRejectedAfterReload) {
  const std::string keys_file = certs_->Path("api-keys");
  std::ofstream(keys_file) << "# test keys\n"
                           << rpc::Sha256Hex("acme-key") << " acme\n"
                           << rpc::Sha256Hex("operator-key") << " *   # operator\n";
  ServerOptions options = TlsOptions();
  options.security.api_keys_file = keys_file;
  auto server = Server::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();

  client::ClientOptions client = ClientOf(**server, "ca");
  EXPECT_EQ(ConnectAndSave(client), absl::StatusCode::kUnauthenticated);  // no key
  client.api_key = "wrong-key";
  EXPECT_EQ(ConnectAndSave(client), absl::StatusCode::kUnauthenticated);
  client.api_key = "acme";  // a tenant's name is not its key
  EXPECT_EQ(ConnectAndSave(client), absl::StatusCode::kUnauthenticated);
  client.api_key = "acme-key";
  EXPECT_EQ(ConnectAndSave(client), absl::StatusCode::kOk);
  client.api_key = "operator-key";
  EXPECT_EQ(ConnectAndSave(client), absl::StatusCode::kOk);

  // Health stays open without a key (probes and load balancers carry none).
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = certs_->Pem("ca.pem");
  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*server)->port()), grpc::SslCredentials(ssl));
  EXPECT_TRUE(CheckHealth(*channel).serving()) << CheckHealth(*channel).rpc.error_message();

  // Revoke acme-key: remove it from the file and reload (what SIGHUP does).
  std::ofstream(keys_file, std::ios::trunc) << rpc::Sha256Hex("operator-key") << " *\n";
  ASSERT_TRUE((*server)->ReloadApiKeys().ok());
  client.api_key = "acme-key";
  EXPECT_EQ(ConnectAndSave(client), absl::StatusCode::kUnauthenticated);
  client.api_key = "operator-key";
  EXPECT_EQ(ConnectAndSave(client), absl::StatusCode::kOk);
}

TEST_F(Auth, ApiKeysWithoutTlsAreRefusedAtStartUp) {
  const std::string keys_file = certs_->Path("plain-keys");
  std::ofstream(keys_file) << rpc::Sha256Hex("k") << " *\n";
  ServerOptions options = TestServerOptions(TestDatabase::Instance().NewPrefix());
  options.security.api_keys_file = keys_file;
  EXPECT_EQ(Server::Start(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(Auth, BinaryTakesTheSecurityFlagsAndReloadsKeysOnSighup) {
  const std::string keys_file = certs_->Path("binary-keys");
  std::ofstream(keys_file) << rpc::Sha256Hex("engine-key") << " acme\n";
  const int port = FreeLoopbackPort();
  ServerProcess server(
      {absl::StrCat("--listen=127.0.0.1:", port),
       "--database-url=" + TestDatabase::Instance().url(),
       "--table-prefix=" + TestDatabase::Instance().NewPrefix(), "--log-level=warn",
       "--tls-cert=" + certs_->Path("server.pem"), "--tls-key=" + certs_->Path("server.key"),
       "--tls-client-ca=" + certs_->Path("ca.pem"), "--api-keys-file=" + keys_file});
  client::ClientOptions client;
  client.target = absl::StrCat("127.0.0.1:", port);
  client.max_attempts = 1;
  client.connect_timeout = absl::Seconds(30);  // start-up includes migrations
  auto tls = client::TlsOptionsFromFiles(certs_->Path("ca.pem"), certs_->Path("client.pem"),
                                         certs_->Path("client.key"));
  ASSERT_TRUE(tls.ok()) << tls.status();
  client.tls = *tls;
  client.api_key = "engine-key";
  EXPECT_EQ(ConnectAndSave(client), absl::StatusCode::kOk);

  std::ofstream(keys_file, std::ios::trunc) << "# engine-key revoked\n";
  server.Signal(SIGHUP);
  absl::StatusCode code = absl::StatusCode::kOk;
  for (int i = 0; i < 50 && code == absl::StatusCode::kOk; ++i) {  // the reload is async
    code = ConnectAndSave(client);
    if (code == absl::StatusCode::kOk) absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(code, absl::StatusCode::kUnauthenticated);
  server.Signal(SIGTERM);
  const std::optional<int> status = server.WaitExit(absl::Seconds(60));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
}

// The worker calls counted in a /metrics scrape (flowmonkey_worker_calls_total), or -1.
double WorkerCalls(int metrics_port) {
  std::smatch match;
  const std::string body = Scrape(metrics_port);
  if (!std::regex_search(body, match,
                         std::regex(R"(\nflowmonkey_worker_calls_total ([0-9.e+]+))"))) {
    return -1;
  }
  return std::stod(match[1].str());
}

// With API keys, an operator key's batchable calls go from gRPC's thread straight to their
// group commit, as without keys; a tenant key's are scoped by the guard on a worker first.
TEST_F(Auth, OnlyCallsATenantKeyScopesLeaveTheGroupCommitPath) {
  const std::string keys_file = certs_->Path("fast-path-keys");
  std::ofstream(keys_file) << rpc::Sha256Hex("tenant-key") << " acme\n"
                           << rpc::Sha256Hex("operator-key") << " *\n";
  ServerOptions options = TlsOptions();
  options.security.api_keys_file = keys_file;
  const int metrics_port = FreeLoopbackPort();
  options.metrics_listen = absl::StrCat("127.0.0.1:", metrics_port);
  auto server = Server::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  client::ClientOptions operator_options = ClientOf(**server, "ca");
  operator_options.api_key = "operator-key";
  auto op = client::Connect(operator_options);
  ASSERT_TRUE(op.ok()) << op.status();
  client::ClientOptions tenant_options = ClientOf(**server, "ca");
  tenant_options.api_key = "tenant-key";
  auto tenant = client::Connect(tenant_options);
  ASSERT_TRUE(tenant.ok()) << tenant.status();

  const double start = WorkerCalls(metrics_port);
  ASSERT_GE(start, 0);
  constexpr int kCalls = 10;
  for (int i = 0; i < kCalls; ++i) {
    v1::SaveExecutionRequest save;
    *save.mutable_execution() = NewExecution(absl::StrCat("fast-path-", i));
    save.mutable_execution()->set_tenant_id("acme");
    ASSERT_TRUE(op->executions->Save(save).ok());
    v1::GetExecutionRequest get;
    get.set_execution_id(save.execution().id());
    auto got = op->executions->Get(get);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->execution().tenant_id(), "acme");
  }
  EXPECT_EQ(WorkerCalls(metrics_port), start) << "operator calls took the worker path";

  for (int i = 0; i < kCalls; ++i) {
    v1::GetExecutionRequest get;
    get.set_execution_id(absl::StrCat("fast-path-", i));
    auto got = tenant->executions->Get(get);
    ASSERT_TRUE(got.ok()) << got.status();
  }
  EXPECT_EQ(WorkerCalls(metrics_port), start + kCalls) << "tenant calls skipped the guard";
}

// Tenant isolation: tenant A's records, walked with tenant B's key through every read RPC,
// must never show up (leaks counted, must be 0), and every write naming them is refused.
class TenantIsolation : public Auth {
 protected:
  void SetUp() override {
    keys_file_ = certs_->Path("tenant-keys");
    std::ofstream(keys_file_) << rpc::Sha256Hex("a-key") << " tenant-a\n"
                              << rpc::Sha256Hex("b-key") << " tenant-b\n"
                              << rpc::Sha256Hex("op-key") << " *\n";
    ServerOptions options = TlsOptions();
    options.security.api_keys_file = keys_file_;
    auto server = Server::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    a_ = Stores("a-key");
    b_ = Stores("b-key");
    op_ = Stores("op-key");
  }

  client::Stores Stores(const std::string& key) {
    client::ClientOptions options = ClientOf(*server_, "ca");
    options.api_key = key;
    absl::StatusOr<client::Stores> stores = client::Connect(options);
    EXPECT_TRUE(stores.ok()) << stores.status();
    return *std::move(stores);
  }

  // Tenant A's data: a waiting, wake-ready, wait-timed-out execution with an idempotency
  // key, a child, a pending and a running job, events, a context value and a resume token.
  // Every record carries the marker "secret-a".
  void SeedTenantA() {
    v1::CreateExecutionRequest create;
    v1::Execution& e = *create.mutable_execution();
    e = NewExecution("tenant-a-exec");
    e.set_status(v1::EXECUTION_STATUS_WAITING);
    e.set_context_json(R"({"marker": "secret-a"})");
    e.set_wake_at(1);
    e.set_wait_started_at(1);
    e.mutable_timeout_config()->set_wait_timeout_ms(1);
    e.mutable_timeout_config()->set_execution_timeout_ms(1);
    e.set_idempotency_key("tenant-a-key");
    auto created = a_.executions->Create(create);
    ASSERT_TRUE(created.ok()) << created.status();
    ASSERT_EQ(created->execution().tenant_id(), "tenant-a");  // the key's tenant filled in

    v1::SaveExecutionRequest child;
    *child.mutable_execution() = NewExecution("tenant-a-child");
    child.mutable_execution()->set_parent_execution_id("tenant-a-exec");
    child.mutable_execution()->set_context_json(R"({"marker": "secret-a"})");
    ASSERT_TRUE(a_.executions->Save(child).ok());

    for (const char* step : {"pending-step", "running-step"}) {
      v1::CreateJobRequest job;
      job.set_execution_id("tenant-a-exec");
      job.set_step_id(step);
      job.set_handler("tenant-handler");
      job.set_input_json(R"({"marker": "secret-a"})");
      auto made = a_.jobs->Create(job);
      ASSERT_TRUE(made.ok()) << made.status();
      job_ids_.push_back(made->job().id());
    }
    v1::ClaimJobRequest claim;
    claim.set_job_id(job_ids_[1]);
    claim.set_runner_id("runner-a");
    ASSERT_TRUE(a_.jobs->Claim(claim).ok());

    v1::RecordEventRequest event;
    event.mutable_event()->set_execution_id("tenant-a-exec");
    event.mutable_event()->set_event_type("tenant.test");
    event.mutable_event()->set_data_json(R"({"marker": "secret-a"})");
    ASSERT_TRUE(a_.events->Record(event).ok());

    v1::ContextValue value;
    value.set_execution_id("tenant-a-exec");
    value.set_key("big");
    value.set_value_json(R"({"marker": "secret-a"})");
    ASSERT_TRUE(a_.contexts->Set(value).ok());

    v1::GenerateResumeTokenRequest generate;
    generate.set_execution_id("tenant-a-exec");
    generate.set_step_id("approval");
    generate.set_metadata_json(R"({"marker": "secret-a"})");
    auto token = a_.tokens->Generate(generate);
    ASSERT_TRUE(token.ok()) << token.status();
    token_ = token->token().token();
  }

  // A response of tenant B's that shows any of tenant A's records.
  template <typename Response>
  void Probe(const std::string& rpc, const absl::StatusOr<Response>& response) {
    ++probes_;
    if (!response.ok()) {
      EXPECT_NE(response.status().code(), absl::StatusCode::kInternal) << rpc;
      return;
    }
    const std::string text = response->ShortDebugString();
    for (const std::string& secret :
         {std::string("tenant-a-"), std::string("secret-a"), job_ids_[0], job_ids_[1]}) {
      if (absl::StrContains(text, secret)) {
        ADD_FAILURE() << rpc << " leaked " << secret << ": " << text;
        ++leaks_;
        return;
      }
    }
  }

  // Counts B's writes over A's records that were not refused.
  template <typename Response>
  void ExpectRefused(const std::string& rpc, const absl::StatusOr<Response>& response) {
    const absl::StatusCode code = response.status().code();
    if (code != absl::StatusCode::kPermissionDenied && code != absl::StatusCode::kNotFound) {
      ADD_FAILURE() << rpc << " was not refused: " << response.status();
      ++accepted_writes_;
    }
  }

  std::string keys_file_;
  std::unique_ptr<Server> server_;
  client::Stores a_, b_, op_;
  std::vector<std::string> job_ids_;
  std::string token_;
  int probes_ = 0, leaks_ = 0, accepted_writes_ = 0;
};

TEST_F(TenantIsolation, EveryReadRpcHidesAnotherTenantsData) {
  ASSERT_NO_FATAL_FAILURE(SeedTenantA());
  // Tenant B's own wake-ready execution, younger than A's: B's limit-1 list must find it.
  v1::SaveExecutionRequest own;
  *own.mutable_execution() = NewExecution("tenant-b-exec");
  own.mutable_execution()->set_status(v1::EXECUTION_STATUS_WAITING);
  own.mutable_execution()->set_wake_at(2);
  ASSERT_TRUE(b_.executions->Save(own).ok());
  const int64_t later = absl::ToUnixMillis(absl::Now() + absl::Hours(48));

  ExecutionStore& ex = *b_.executions;
  v1::GetExecutionRequest get;
  get.set_execution_id("tenant-a-exec");
  Probe("Executions.Get", ex.Get(get));
  for (auto status : {v1::EXECUTION_STATUS_WAITING, v1::EXECUTION_STATUS_RUNNING}) {
    v1::FindByStatusRequest by_status;
    by_status.set_status(status);
    Probe("Executions.FindByStatus", ex.FindByStatus(by_status));
  }
  v1::ListWakeReadyRequest wake;
  wake.set_now(later);
  wake.set_limit(1);
  auto woken = ex.ListWakeReady(wake);
  Probe("Executions.ListWakeReady", woken);
  ASSERT_TRUE(woken.ok()) << woken.status();
  EXPECT_EQ(woken->execution_ids_size(), 1);  // B's own, though A's is older
  wake.set_ids_only(true);
  Probe("Executions.ListWakeReady(ids)", ex.ListWakeReady(wake));
  v1::FindByTenantRequest by_tenant;
  Probe("Executions.FindByTenant(own)", ex.FindByTenant(by_tenant));
  by_tenant.set_tenant_id("tenant-a");
  Probe("Executions.FindByTenant(a)", ex.FindByTenant(by_tenant));
  v1::FindByIdempotencyKeyRequest by_key;
  by_key.set_flow_id("flow");
  by_key.set_idempotency_key("tenant-a-key");
  Probe("Executions.FindByIdempotencyKey", ex.FindByIdempotencyKey(by_key));
  v1::FindChildrenRequest children;
  children.set_parent_execution_id("tenant-a-exec");
  Probe("Executions.FindChildren", ex.FindChildren(children));
  v1::FindTimedOutExecutionsRequest timed_out;
  timed_out.set_now(later);
  Probe("Executions.FindTimedOutExecutions", ex.FindTimedOutExecutions(timed_out));
  v1::FindTimedOutWaitsRequest timed_out_waits;
  timed_out_waits.set_now(later);
  Probe("Executions.FindTimedOutWaits", ex.FindTimedOutWaits(timed_out_waits));

  JobStore& jobs = *b_.jobs;
  for (const std::string& id : job_ids_) {
    v1::GetJobRequest job;
    job.set_job_id(id);
    Probe("Jobs.Get", jobs.Get(job));
    v1::GetJobCheckpointRequest checkpoint;
    checkpoint.set_job_id(id);
    Probe("Jobs.GetCheckpoint", jobs.GetCheckpoint(checkpoint));
    v1::IsJobInstanceActiveRequest active;
    active.set_job_id(id);
    active.set_instance_id("i");
    Probe("Jobs.IsInstanceActive", jobs.IsInstanceActive(active));
    v1::GetJobInstanceIdRequest instance;
    instance.set_job_id(id);
    Probe("Jobs.GetInstanceId", jobs.GetInstanceId(instance));
  }
  v1::GetJobForStepRequest for_step;
  for_step.set_execution_id("tenant-a-exec");
  for_step.set_step_id("pending-step");
  Probe("Jobs.GetForStep", jobs.GetForStep(for_step));
  for (auto status : {v1::JOB_STATUS_PENDING, v1::JOB_STATUS_RUNNING}) {
    v1::ListJobsByStatusRequest by_status;
    by_status.set_status(status);
    Probe("Jobs.ListByStatus", jobs.ListByStatus(by_status));
  }
  v1::ListJobsByExecutionRequest by_execution;
  by_execution.set_execution_id("tenant-a-exec");
  Probe("Jobs.ListByExecution", jobs.ListByExecution(by_execution));
  v1::FindStalledJobsRequest stalled;
  stalled.set_stalled_before(later);
  Probe("Jobs.FindStalled", jobs.FindStalled(stalled));
  v1::ClaimNextJobsRequest claim_next;  // a read of the queue, too: must not take A's job
  claim_next.set_runner_id("runner-b");
  claim_next.set_max_jobs(10);
  Probe("Jobs.ClaimNext", jobs.ClaimNext(claim_next));

  EventStore& events = *b_.events;
  v1::QueryEventsRequest query;
  Probe("Events.Query", events.Query(query));
  query.set_execution_id("tenant-a-exec");
  Probe("Events.Query(execution)", events.Query(query));
  v1::GetEventsByExecutionRequest by_exec_events;
  by_exec_events.set_execution_id("tenant-a-exec");
  Probe("Events.GetByExecution", events.GetByExecution(by_exec_events));

  v1::GetContextRequest context;
  context.set_execution_id("tenant-a-exec");
  context.set_key("big");
  Probe("Context.Get", b_.contexts->Get(context));
  v1::ListContextRequest contexts;
  contexts.set_execution_id("tenant-a-exec");
  Probe("Context.List", b_.contexts->List(contexts));

  v1::GetResumeTokenRequest token;
  token.set_token(token_);
  Probe("Tokens.Get", b_.tokens->Get(token));
  v1::ValidateResumeTokenRequest validate;
  validate.set_token(token_);
  Probe("Tokens.Validate", b_.tokens->Validate(validate));
  v1::ListResumeTokensByExecutionRequest tokens;
  tokens.set_execution_id("tenant-a-exec");
  Probe("Tokens.ListByExecution", b_.tokens->ListByExecution(tokens));

  EXPECT_EQ(leaks_, 0) << "over " << probes_ << " probes";
  EXPECT_GE(probes_, 30);

  // Control: the same walk with the operator key does see A's data, so the probe can fail.
  auto seen = op_.executions->Get(get);
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_EQ(seen->execution().tenant_id(), "tenant-a");
  v1::ListJobsByStatusRequest pending;
  pending.set_status(v1::JOB_STATUS_PENDING);
  auto queue = op_.jobs->ListByStatus(pending);
  ASSERT_TRUE(queue.ok());
  EXPECT_TRUE(absl::StrContains(queue->ShortDebugString(), job_ids_[0]));
  // And tenant A sees its own.
  wake.set_ids_only(true);
  wake.set_limit(10);
  auto own_wake = a_.executions->ListWakeReady(wake);
  ASSERT_TRUE(own_wake.ok());
  EXPECT_EQ(own_wake->execution_ids_size(), 1);
  EXPECT_TRUE(a_.tokens->Get(token).ok());
}

TEST_F(TenantIsolation, WritesOverAnotherTenantsDataAreRefusedAndChangeNothing) {
  ASSERT_NO_FATAL_FAILURE(SeedTenantA());
  v1::SaveExecutionRequest save;
  *save.mutable_execution() = NewExecution("tenant-a-exec");
  ExpectRefused("Executions.Save", b_.executions->Save(save));
  save.mutable_execution()->set_tenant_id("tenant-a");
  ExpectRefused("Executions.Save(tenant a)", b_.executions->Save(save));
  v1::UpdateExecutionRequest update;
  *update.mutable_execution() = NewExecution("tenant-a-exec");
  ExpectRefused("Executions.Update", b_.executions->Update(update));
  v1::CreateExecutionRequest same_key;  // A's idempotency key must not hand back A's row
  *same_key.mutable_execution() = NewExecution("tenant-b-other");
  same_key.mutable_execution()->set_idempotency_key("tenant-a-key");
  Probe("Executions.Create(A's key)", b_.executions->Create(same_key));
  v1::SaveExecutionRequest adopt;  // a child of A's execution
  *adopt.mutable_execution() = NewExecution("tenant-b-child");
  adopt.mutable_execution()->set_parent_execution_id("tenant-a-exec");
  ExpectRefused("Executions.Save(child of A)", b_.executions->Save(adopt));
  v1::DeleteExecutionRequest del;
  del.set_execution_id("tenant-a-exec");
  ExpectRefused("Executions.Delete", b_.executions->Delete(del));
  v1::AcquireLockRequest lock;
  lock.set_execution_id("tenant-a-exec");
  lock.set_owner("b");
  lock.set_ttl_ms(1000);
  ExpectRefused("Executions.AcquireLock", b_.executions->AcquireLock(lock));

  v1::CreateJobRequest job;
  job.set_execution_id("tenant-a-exec");
  job.set_step_id("s");
  job.set_handler("h");
  job.set_input_json("{}");
  ExpectRefused("Jobs.Create", b_.jobs->Create(job));
  v1::ClaimJobRequest claim;
  claim.set_job_id(job_ids_[0]);
  claim.set_runner_id("runner-b");
  ExpectRefused("Jobs.Claim", b_.jobs->Claim(claim));
  v1::CompleteJobRequest complete;
  complete.set_job_id(job_ids_[1]);
  complete.set_runner_id("runner-a");
  ExpectRefused("Jobs.Complete", b_.jobs->Complete(complete));
  v1::CancelJobRequest cancel;
  cancel.set_job_id(job_ids_[0]);
  ExpectRefused("Jobs.Cancel", b_.jobs->Cancel(cancel));
  v1::ResetStalledJobsRequest reset;  // by time: spans every tenant
  reset.set_stalled_before(absl::ToUnixMillis(absl::Now() + absl::Hours(48)));
  ExpectRefused("Jobs.ResetStalled", b_.jobs->ResetStalled(reset));
  v1::DeleteOldJobsRequest old_jobs;
  old_jobs.set_before(absl::ToUnixMillis(absl::Now() + absl::Hours(48)));
  ExpectRefused("Jobs.DeleteOld", b_.jobs->DeleteOld(old_jobs));

  v1::RecordEventRequest event;
  event.mutable_event()->set_execution_id("tenant-a-exec");
  event.mutable_event()->set_event_type("forged");
  ExpectRefused("Events.Record", b_.events->Record(event));
  event.mutable_event()->set_execution_id("not-created-yet");
  ExpectRefused("Events.Record(missing execution)", b_.events->Record(event));
  v1::DeleteOldEventsRequest old_events;
  old_events.set_before(absl::ToUnixMillis(absl::Now() + absl::Hours(48)));
  ExpectRefused("Events.DeleteOld", b_.events->DeleteOld(old_events));

  v1::ContextValue value;
  value.set_execution_id("tenant-a-exec");
  value.set_key("big");
  value.set_value_json("{}");
  ExpectRefused("Context.Set", b_.contexts->Set(value));
  v1::ClearExecutionContextRequest clear;
  clear.set_execution_id("tenant-a-exec");
  ExpectRefused("Context.ClearExecution", b_.contexts->ClearExecution(clear));

  v1::MarkResumeTokenUsedRequest use;
  use.set_token(token_);
  ExpectRefused("Tokens.MarkUsed", b_.tokens->MarkUsed(use));
  v1::RevokeResumeTokenRequest revoke;
  revoke.set_token(token_);
  ExpectRefused("Tokens.Revoke", b_.tokens->Revoke(revoke));
  v1::GenerateResumeTokenRequest generate;
  generate.set_execution_id("tenant-a-exec");
  generate.set_step_id("s");
  ExpectRefused("Tokens.Generate", b_.tokens->Generate(generate));
  ExpectRefused("Tokens.CleanupExpired",
                b_.tokens->CleanupExpired(v1::CleanupExpiredResumeTokensRequest()));
  EXPECT_EQ(accepted_writes_, 0);
  EXPECT_EQ(leaks_, 0);

  // Nothing changed: A's execution, jobs, context and token are as A left them.
  v1::GetExecutionRequest get;
  get.set_execution_id("tenant-a-exec");
  auto execution = a_.executions->Get(get);
  ASSERT_TRUE(execution.ok()) << execution.status();
  EXPECT_EQ(execution->execution().version(), 1);
  EXPECT_EQ(execution->execution().status(), v1::EXECUTION_STATUS_WAITING);
  v1::GetJobRequest pending;
  pending.set_job_id(job_ids_[0]);
  EXPECT_EQ(a_.jobs->Get(pending)->job().status(), v1::JOB_STATUS_PENDING);
  v1::ValidateResumeTokenRequest validate;
  validate.set_token(token_);
  EXPECT_TRUE(a_.tokens->Validate(validate)->valid());
  v1::ListContextRequest contexts;
  contexts.set_execution_id("tenant-a-exec");
  EXPECT_EQ(a_.contexts->List(contexts)->references_size(), 1);
  v1::GetEventsByExecutionRequest events;
  events.set_execution_id("tenant-a-exec");
  EXPECT_EQ(a_.events->GetByExecution(events)->events_size(), 1);
}

// A commit is admitted or refused whole: tenant B may create an execution and write its
// events, job and token in the same commit, but one operation or condition naming tenant A's
// records refuses the commit before anything of it runs.
TEST_F(TenantIsolation, CommitsAreAdmittedOrRefusedWhole) {
  ASSERT_NO_FATAL_FAILURE(SeedTenantA());
  v1::Event event;
  event.set_execution_id("tenant-b-new");
  event.set_event_type("started");
  v1::CreateJobRequest job;
  job.set_execution_id("tenant-b-new");
  job.set_step_id("s");
  job.set_handler("h");
  job.set_input_json("{}");
  v1::GenerateResumeTokenRequest wait;
  wait.set_execution_id("tenant-b-new");
  wait.set_step_id("s");
  auto created = client::Transaction(*b_.transactions)
                     .IfAbsent("tenant-b-new")
                     .CreateExecution(NewExecution("tenant-b-new"))
                     .RecordEvents({event})
                     .CreateJob(job)
                     .GenerateResumeToken(wait)
                     .Commit();
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->results(0).create_execution().execution().tenant_id(), "tenant-b");

  v1::Event forged = event;
  forged.set_execution_id("tenant-a-exec");
  auto mixed = client::Transaction(*b_.transactions)
                   .SaveExecution(NewExecution("tenant-b-new"), 1)
                   .RecordEvents({event})
                   .RecordEvents({forged})
                   .Commit();
  EXPECT_EQ(mixed.status().code(), absl::StatusCode::kPermissionDenied) << mixed.status();
  auto conditioned = client::Transaction(*b_.transactions)
                         .IfVersion("tenant-a-exec", 1)
                         .RecordEvents({event})
                         .Commit();
  EXPECT_EQ(conditioned.status().code(), absl::StatusCode::kPermissionDenied)
      << conditioned.status();
  auto token = client::Transaction(*b_.transactions)
                   .RecordEvents({event})
                   .MarkResumeTokenUsed(token_)
                   .Commit();
  EXPECT_EQ(token.status().code(), absl::StatusCode::kPermissionDenied) << token.status();

  // Nothing of the refused commits was written.
  v1::GetExecutionRequest get;
  get.set_execution_id("tenant-b-new");
  EXPECT_EQ(b_.executions->Get(get)->execution().version(), 1);
  v1::GetEventsByExecutionRequest events;
  events.set_execution_id("tenant-b-new");
  EXPECT_EQ(b_.events->GetByExecution(events)->events_size(), 1);
  events.set_execution_id("tenant-a-exec");
  EXPECT_EQ(a_.events->GetByExecution(events)->events_size(), 1);
  v1::ValidateResumeTokenRequest validate;
  validate.set_token(token_);
  EXPECT_TRUE(a_.tokens->Validate(validate)->valid());
}

// A valid flow definition: one step.
v1::Flow TenantFlow(const std::string& id, const std::string& version) {
  v1::Flow flow;
  flow.set_id(id);
  flow.set_version(version);
  flow.set_status(v1::FLOW_STATUS_PUBLISHED);
  nlohmann::json definition = {
      {"id", id},
      {"version", version},
      {"initialStepId", "only"},
      {"steps",
       {{"only", {{"id", "only"}, {"type", "noop"}, {"transitions", {{"onSuccess", nullptr}}}}}}}};
  flow.set_definition_json(definition.dump());
  return flow;
}

absl::StatusCode SaveFlow(FlowStore& flows, const v1::Flow& flow) {
  v1::SaveFlowRequest save;
  *save.mutable_flow() = flow;
  return flows.Save(save).status().code();
}

absl::StatusCode SetFlowStatus(FlowStore& flows, const std::string& id, const std::string& version,
                               v1::FlowStatus status) {
  v1::SetFlowStatusRequest request;
  request.set_flow_id(id);
  request.set_version(version);
  request.set_status(status);
  return flows.SetStatus(request).status().code();
}

absl::StatusCode DeleteFlow(FlowStore& flows, const std::string& id,
                            const std::string& version = "") {
  v1::DeleteFlowRequest request;
  request.set_flow_id(id);
  if (!version.empty()) request.set_version(version);
  return flows.Delete(request).status().code();
}

// Every version of flow `id`, newest first, as "version:status".
std::vector<std::string> FlowVersions(FlowStore& flows, const std::string& id) {
  v1::FlowVersionsRequest request;
  request.set_flow_id(id);
  auto versions = flows.Versions(request);
  EXPECT_TRUE(versions.ok()) << versions.status();
  std::vector<std::string> out;
  if (!versions.ok()) return out;
  for (const v1::Flow& flow : versions->flows()) {
    out.push_back(absl::StrCat(flow.version(), ":", v1::FlowStatus_Name(flow.status())));
  }
  return out;
}

TEST_F(TenantIsolation, AFlowSavedWithATenantKeyIsWritableOnlyByThatTenantAndOperators) {
  constexpr absl::StatusCode kDenied = absl::StatusCode::kPermissionDenied;
  const std::string id = "tenant-a-flow";
  ASSERT_EQ(SaveFlow(*a_.flows, TenantFlow(id, "1.0.0")), absl::StatusCode::kOk);
  const std::vector<std::string> saved = {"1.0.0:FLOW_STATUS_PUBLISHED"};

  // Tenant B: every write is refused, the identical re-save and a removal included.
  EXPECT_EQ(SaveFlow(*b_.flows, TenantFlow(id, "1.1.0")), kDenied);
  EXPECT_EQ(SaveFlow(*b_.flows, TenantFlow(id, "1.0.0")), kDenied);
  EXPECT_EQ(SetFlowStatus(*b_.flows, id, "1.0.0", v1::FLOW_STATUS_ARCHIVED), kDenied);
  EXPECT_EQ(DeleteFlow(*b_.flows, id, "1.0.0"), kDenied);
  EXPECT_EQ(DeleteFlow(*b_.flows, id), kDenied);
  EXPECT_EQ(FlowVersions(*a_.flows, id), saved);

  // Every tenant reads it.
  for (client::Stores* stores : {&a_, &b_, &op_}) {
    v1::GetFlowRequest get;
    get.set_flow_id(id);
    auto got = stores->flows->Get(get);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->flow().version(), "1.0.0");
    auto listed = stores->flows->List(v1::ListFlowsRequest());
    ASSERT_TRUE(listed.ok()) << listed.status();
    ASSERT_EQ(listed->flows_size(), 1);
    EXPECT_EQ(listed->flows(0).id(), id);
    EXPECT_EQ(FlowVersions(*stores->flows, id), saved);
  }

  // The owner and an operator write it; an operator's write does not change the owner.
  EXPECT_EQ(SaveFlow(*a_.flows, TenantFlow(id, "1.1.0")), absl::StatusCode::kOk);
  EXPECT_EQ(SetFlowStatus(*a_.flows, id, "1.0.0", v1::FLOW_STATUS_ARCHIVED), absl::StatusCode::kOk);
  EXPECT_EQ(SaveFlow(*op_.flows, TenantFlow(id, "1.2.0")), absl::StatusCode::kOk);
  EXPECT_EQ(SetFlowStatus(*op_.flows, id, "1.2.0", v1::FLOW_STATUS_DRAFT), absl::StatusCode::kOk);
  EXPECT_EQ(DeleteFlow(*op_.flows, id, "1.2.0"), absl::StatusCode::kOk);
  EXPECT_EQ(SaveFlow(*b_.flows, TenantFlow(id, "1.3.0")), kDenied);
  EXPECT_EQ(FlowVersions(*b_.flows, id), (std::vector<std::string>{"1.1.0:FLOW_STATUS_PUBLISHED",
                                                                   "1.0.0:FLOW_STATUS_ARCHIVED"}));
  EXPECT_EQ(DeleteFlow(*a_.flows, id), absl::StatusCode::kOk);
  EXPECT_TRUE(FlowVersions(*a_.flows, id).empty());
  // The id stays tenant A's after its versions are gone.
  EXPECT_EQ(SaveFlow(*b_.flows, TenantFlow(id, "2.0.0")), kDenied);
  EXPECT_EQ(SaveFlow(*a_.flows, TenantFlow(id, "2.0.0")), absl::StatusCode::kOk);
}

TEST_F(TenantIsolation, AFlowWithoutATenantIsSharedAndOnlyOperatorsWriteIt) {
  // Saved by an operator key, like every flow saved before flows had owners (ADR 0005).
  const std::string id = "shared-flow";
  ASSERT_EQ(SaveFlow(*op_.flows, TenantFlow(id, "1.0.0")), absl::StatusCode::kOk);
  for (client::Stores* tenant : {&a_, &b_}) {
    EXPECT_EQ(SaveFlow(*tenant->flows, TenantFlow(id, "1.1.0")),
              absl::StatusCode::kPermissionDenied);
    EXPECT_EQ(SetFlowStatus(*tenant->flows, id, "1.0.0", v1::FLOW_STATUS_ARCHIVED),
              absl::StatusCode::kPermissionDenied);
    EXPECT_EQ(DeleteFlow(*tenant->flows, id), absl::StatusCode::kPermissionDenied);
    EXPECT_EQ(FlowVersions(*tenant->flows, id),
              std::vector<std::string>{"1.0.0:FLOW_STATUS_PUBLISHED"});
  }
  EXPECT_EQ(SetFlowStatus(*op_.flows, id, "1.0.0", v1::FLOW_STATUS_ARCHIVED),
            absl::StatusCode::kOk);
  EXPECT_EQ(DeleteFlow(*op_.flows, id), absl::StatusCode::kOk);
}

TEST_F(TenantIsolation, ConcurrentFirstSavesOfOneFlowIdHaveOneOwner) {
  constexpr int kIds = 20;
  std::vector<absl::StatusCode> a_codes(kIds), b_codes(kIds);
  std::thread a([&] {
    for (int i = 0; i < kIds; ++i)
      a_codes[i] = SaveFlow(*a_.flows, TenantFlow(absl::StrCat("race-", i), "1.0.0"));
  });
  for (int i = 0; i < kIds; ++i)
    b_codes[i] = SaveFlow(*b_.flows, TenantFlow(absl::StrCat("race-", i), "1.0.0"));
  a.join();
  for (int i = 0; i < kIds; ++i) {
    const bool a_won = a_codes[i] == absl::StatusCode::kOk;
    const bool b_won = b_codes[i] == absl::StatusCode::kOk;
    EXPECT_NE(a_won, b_won) << "race-" << i << ": " << a_codes[i] << " / " << b_codes[i];
    EXPECT_EQ(a_won ? b_codes[i] : a_codes[i], absl::StatusCode::kPermissionDenied);
  }
}

// JobStore.Work under tenant keys: a worker with tenant B's key is pushed only B's jobs,
// never A's pending one, and cannot subscribe for another tenant. Schedules are scoped by
// their execution like jobs.
TEST_F(TenantIsolation, WakeupsGoOnlyToTheKeysTenant) {
  SeedTenantA();  // tenant-a-exec: waiting, wake_at and wait deadline long past
  v1::SaveExecutionRequest save;
  *save.mutable_execution() = NewExecution("tenant-b-exec");
  save.mutable_execution()->set_status(v1::EXECUTION_STATUS_WAITING);
  save.mutable_execution()->set_wake_at(1);
  ASSERT_TRUE(b_.executions->Save(save).ok());

  auto open = [](const std::string& key) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata("authorization", "Bearer " + key);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return context;
  };
  auto stub = v1::ExecutionStore::NewStub(b_.channel);
  {
    auto context = open("b-key");
    auto stream = stub->WatchWakeups(context.get());
    v1::WatchWakeupsRequest subscribe;
    subscribe.mutable_subscribe()->set_max_unacked(10);
    ASSERT_TRUE(stream->Write(subscribe));
    v1::WatchWakeupsResponse response;
    ASSERT_TRUE(stream->Read(&response));
    ASSERT_EQ(response.wakeups_size(), 1);
    EXPECT_EQ(response.wakeups(0).execution_id(), "tenant-b-exec");
    v1::WatchWakeupsRequest ack;
    ack.add_ack("tenant-b-exec");
    ASSERT_TRUE(stream->Write(ack));
    stream->WritesDone();
    int wakeups = 1;
    while (stream->Read(&response)) wakeups += response.wakeups_size();
    EXPECT_TRUE(stream->Finish().ok());
    EXPECT_EQ(wakeups, 1);  // tenant A's would have come here too
  }
  {
    auto context = open("b-key");
    auto stream = stub->WatchWakeups(context.get());
    v1::WatchWakeupsRequest subscribe;
    subscribe.mutable_subscribe()->set_max_unacked(10);
    subscribe.mutable_subscribe()->set_tenant_id("tenant-a");
    ASSERT_TRUE(stream->Write(subscribe));
    v1::WatchWakeupsResponse response;
    while (stream->Read(&response)) EXPECT_EQ(response.wakeups_size(), 0);
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  // The unary calls: B's claim finds nothing of A's, nor may B end A's wake-up.
  v1::ClaimWakeupsRequest claim;
  auto claimed = b_.executions->ClaimWakeups(claim);
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  EXPECT_EQ(claimed->wakeups_size(), 0);
  v1::AckWakeupsRequest foreign;
  foreign.add_wakeups()->set_execution_id("tenant-a-exec");
  foreign.mutable_wakeups(0)->set_wake_at(1);
  EXPECT_EQ(b_.executions->AckWakeups(foreign).status().code(),
            absl::StatusCode::kPermissionDenied);
  // A's is still there for A, as a wake_at and a timed-out wait at once.
  claimed = a_.executions->ClaimWakeups(claim);
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  ASSERT_EQ(claimed->wakeups_size(), 1);
  EXPECT_EQ(claimed->wakeups(0).execution_id(), "tenant-a-exec");
  EXPECT_EQ(claimed->wakeups(0).wake_at(), 1);
  EXPECT_EQ(claimed->wakeups(0).wait_deadline_at(), 2);
}

TEST_F(TenantIsolation, WorkStreamsPushOnlyTheKeysTenantsJobs) {
  SeedTenantA();
  v1::CreateExecutionRequest create;
  *create.mutable_execution() = NewExecution("tenant-b-exec");
  ASSERT_TRUE(b_.executions->Create(create).ok());
  v1::CreateJobRequest job;
  job.set_execution_id("tenant-b-exec");
  job.set_step_id("b-step");
  job.set_handler("tenant-handler");  // the handler of A's pending job too
  auto made = b_.jobs->Create(job);
  ASSERT_TRUE(made.ok()) << made.status();

  auto open = [](const std::string& key) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata("authorization", "Bearer " + key);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return context;
  };
  auto stub = v1::JobStore::NewStub(b_.channel);
  {
    auto context = open("b-key");
    auto stream = stub->Work(context.get());
    v1::WorkRequest subscribe;
    subscribe.mutable_subscribe()->set_runner_id("b-worker");
    subscribe.mutable_subscribe()->add_handlers("tenant-handler");
    subscribe.mutable_subscribe()->set_credits(10);
    ASSERT_TRUE(stream->Write(subscribe));
    v1::WorkResponse response;
    ASSERT_TRUE(stream->Read(&response));
    ASSERT_EQ(response.jobs_size(), 1);
    EXPECT_EQ(response.jobs(0).id(), made->job().id());
    // Complete it, then close: had A's job been pushed too, it would show here.
    v1::WorkRequest complete;
    complete.add_complete()->set_job_id(made->job().id());
    ASSERT_TRUE(stream->Write(complete));
    stream->WritesDone();
    int jobs = 1;
    while (stream->Read(&response)) jobs += response.jobs_size();
    EXPECT_TRUE(stream->Finish().ok());
    EXPECT_EQ(jobs, 1);
  }
  {
    auto context = open("b-key");
    auto stream = stub->Work(context.get());
    v1::WorkRequest subscribe;
    subscribe.mutable_subscribe()->set_runner_id("b-worker");
    subscribe.mutable_subscribe()->set_tenant_id("tenant-a");
    subscribe.mutable_subscribe()->set_credits(10);
    ASSERT_TRUE(stream->Write(subscribe));
    v1::WorkResponse response;
    while (stream->Read(&response)) EXPECT_EQ(response.jobs_size(), 0);
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  v1::GetJobRequest get;
  get.set_job_id(job_ids_[0]);
  auto pending = a_.jobs->Get(get);
  ASSERT_TRUE(pending.ok()) << pending.status();
  EXPECT_EQ(pending->job().status(), v1::JOB_STATUS_PENDING);  // A's job was not touched

  v1::SaveJobScheduleRequest save;
  v1::JobSchedule& schedule = *save.mutable_schedule();
  schedule.set_execution_id("tenant-a-exec");
  schedule.set_name("nightly");
  schedule.set_cron("@daily");
  schedule.set_handler("tenant-handler");
  EXPECT_EQ(b_.jobs->SaveSchedule(save).status().code(), absl::StatusCode::kPermissionDenied);
  ASSERT_TRUE(a_.jobs->SaveSchedule(save).ok());
  v1::ListJobSchedulesRequest list;
  list.set_execution_id("tenant-a-exec");
  EXPECT_EQ(b_.jobs->ListSchedules(list).status().code(), absl::StatusCode::kNotFound);
  auto listed = a_.jobs->ListSchedules(list);
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(listed->schedules_size(), 1);
}

TEST_F(TenantIsolation, ValidatingAnotherTenantsTokenAnswersAsForAnUnknownToken) {
  ASSERT_NO_FATAL_FAILURE(SeedTenantA());
  v1::ValidateResumeTokenRequest unknown;
  unknown.set_token(*NewResumeToken());
  auto unknown_answer = b_.tokens->Validate(unknown);
  ASSERT_TRUE(unknown_answer.ok()) << unknown_answer.status();
  EXPECT_FALSE(unknown_answer->valid());
  EXPECT_EQ(unknown_answer->reason(), "not_found");

  v1::ValidateResumeTokenRequest foreign;
  foreign.set_token(token_);
  auto foreign_answer = b_.tokens->Validate(foreign);
  ASSERT_TRUE(foreign_answer.ok()) << foreign_answer.status();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*foreign_answer, *unknown_answer))
      << foreign_answer->ShortDebugString();

  // Get: the same NOT_FOUND, message included.
  v1::GetResumeTokenRequest get_unknown;
  get_unknown.set_token(unknown.token());
  v1::GetResumeTokenRequest get_foreign;
  get_foreign.set_token(token_);
  const absl::Status unknown_get = b_.tokens->Get(get_unknown).status();
  EXPECT_EQ(unknown_get.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(b_.tokens->Get(get_foreign).status(), unknown_get);
  // Still valid for its owner, and nothing was used up.
  EXPECT_TRUE(a_.tokens->Validate(foreign)->valid());
}

}  // namespace
}  // namespace flowmonkey::testing
