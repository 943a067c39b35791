// Transport security and authentication: TLS, mutual TLS and API keys, with certificates
// made at test time by the openssl CLI (a CA, a server certificate for 127.0.0.1 and
// localhost, a client certificate, and a second, unrelated CA with its own client).

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "client/client.h"
#include "server/rpc/auth.h"
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
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*server)->port()),
                                     grpc::SslCredentials(ssl));
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
  ServerProcess server({absl::StrCat("--listen=127.0.0.1:", port),
                        "--database-url=" + TestDatabase::Instance().url(),
                        "--table-prefix=" + TestDatabase::Instance().NewPrefix(),
                        "--log-level=warn", "--tls-cert=" + certs_->Path("server.pem"),
                        "--tls-key=" + certs_->Path("server.key"),
                        "--tls-client-ca=" + certs_->Path("ca.pem"),
                        "--api-keys-file=" + keys_file});
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

}  // namespace
}  // namespace flowmonkey::testing
