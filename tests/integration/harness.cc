#include "tests/integration/harness.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pqxx/connection>
#include <pqxx/nontransaction>
#include <pqxx/result>

#include "absl/strings/str_cat.h"

namespace flowmonkey::testing {

std::shared_ptr<grpc::Channel> InsecureChannelTo(int port) {
  return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
}

HealthResult CheckHealth(grpc::Channel& channel, const std::string& service,
                         absl::Duration timeout) {
  auto stub = grpc::health::v1::Health::NewStub(
      std::shared_ptr<grpc::Channel>(&channel, [](grpc::Channel*) {}));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  HealthResult result;
  result.rpc = stub->Check(&context, request, &response);
  result.status = response.status();
  return result;
}

std::string Scrape(int port) {
  const std::string command = absl::StrCat("curl -sf http://127.0.0.1:", port, "/metrics");
  std::string body;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return body;
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof(buffer), pipe)) > 0;) body.append(buffer, n);
  pclose(pipe);
  return body;
}

v1::Execution NewExecution(const std::string& id) {
  v1::Execution e;
  e.set_id(id);
  e.set_flow_id("flow");
  e.set_flow_version("1.0.0");
  e.set_current_step_id("step");
  e.set_status(v1::EXECUTION_STATUS_RUNNING);
  e.set_context_json(R"({"n": 1})");
  return e;
}

ServerProcess::ServerProcess(const std::vector<std::string>& args, const std::string& output_file) {
  std::vector<std::string> argv_storage = {FM_SERVER_BINARY};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : argv_storage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_ = fork();
  if (pid_ == 0) {
    if (!output_file.empty()) {
      const int fd = open(output_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd < 0) _exit(126);
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
      close(fd);
    }
    execv(FM_SERVER_BINARY, argv.data());
    _exit(127);
  }
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0 && !exited_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

void ServerProcess::Signal(int signal) {
  if (pid_ > 0 && !exited_) kill(pid_, signal);
}

std::optional<int> ServerProcess::WaitExit(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (pid_ > 0 && !exited_) {
    int status = 0;
    const pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      exited_ = true;
      return status;
    }
    if (absl::Now() > deadline) return std::nullopt;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return std::nullopt;
}

SaveLoad::SaveLoad(ExecutionStore& store, std::string id_prefix, int threads)
    : store_(store), id_prefix_(std::move(id_prefix)) {
  for (int t = 0; t < threads; ++t) threads_.emplace_back([this, t] { Run(t); });
}

SaveLoad::~SaveLoad() { Stop(); }

void SaveLoad::Stop() {
  stop_ = true;
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void SaveLoad::Run(int thread) {
  for (int n = 0; !stop_; ++n) {
    const std::string id = absl::StrCat(id_prefix_, thread, "-", n);
    v1::SaveExecutionRequest request;
    *request.mutable_execution() = NewExecution(id);
    attempts_.fetch_add(1);
    const absl::Status status = store_.Save(request).status();
    std::lock_guard lock(mu_);
    if (status.ok()) {
      acknowledged_.insert(id);
    } else {
      ++failures_[status.code()];
    }
  }
}

std::set<std::string> SaveLoad::Acknowledged() const {
  std::lock_guard lock(mu_);
  return acknowledged_;
}

std::map<absl::StatusCode, int> SaveLoad::Failures() const {
  std::lock_guard lock(mu_);
  return failures_;
}

int SaveLoad::Ok() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(acknowledged_.size());
}

std::set<std::string> SelectIds(const std::string& database_url, const std::string& sql) {
  pqxx::connection connection(database_url);
  pqxx::nontransaction tx(connection);
  std::set<std::string> ids;
  for (const auto& row : tx.exec(sql)) ids.insert(row[0].c_str());
  return ids;
}

std::set<std::string> StoredExecutionIds(const std::string& database_url,
                                         const std::string& prefix) {
  return SelectIds(database_url, absl::StrCat("SELECT id FROM ", prefix, "executions"));
}

std::string FormatFailures(const std::map<absl::StatusCode, int>& failures) {
  std::string out;
  for (const auto& [code, count] : failures) {
    absl::StrAppend(&out, out.empty() ? "" : ", ", absl::StatusCodeToString(code), "=", count);
  }
  return out.empty() ? "none" : out;
}

absl::StatusOr<ServerAndClient> StartServerAndClient(const std::string& database_url,
                                                     const std::string& table_prefix,
                                                     int pool_size) {
  setenv("PGCONNECT_TIMEOUT", "2", /*overwrite=*/0);  // as flowmonkey-server's main() does
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.database_url = database_url;
  options.pool_size = pool_size;
  options.table_prefix = table_prefix;
  options.health_interval = absl::Milliseconds(200);
  options.drain_timeout = absl::Seconds(5);
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(options);
  if (!server.ok()) return server.status();
  client::ClientOptions client_options;
  client_options.target = absl::StrCat("127.0.0.1:", (*server)->port());
  client_options.max_attempts = 1;
  client_options.timeout = absl::Seconds(5);
  absl::StatusOr<client::Stores> stores = client::Connect(client_options);
  if (!stores.ok()) return stores.status();
  return ServerAndClient{*std::move(server), *std::move(stores)};
}

absl::StatusOr<MeteredServer> StartMeteredServer(ServerOptions options,
                                                 client::ClientOptions client_options) {
  MeteredServer m;
  m.metrics_port = FreeLoopbackPort();
  options.metrics_listen = absl::StrCat("127.0.0.1:", m.metrics_port);
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(options);
  if (!server.ok()) return server.status();
  m.server = *std::move(server);
  client_options.target = absl::StrCat("127.0.0.1:", m.server->port());
  absl::StatusOr<client::Stores> stores = client::Connect(client_options);
  if (!stores.ok()) return stores.status();
  m.stores = *std::move(stores);
  return m;
}

}  // namespace flowmonkey::testing
