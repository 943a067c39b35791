#include "tests/support/test_database.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"

namespace flowmonkey::testing {
namespace {

std::string PostgresBinDir() {
  for (const char* version : {"17", "16", "15", "14", "13"}) {
    std::string dir = absl::StrCat("/usr/lib/postgresql/", version, "/bin");
    if (std::filesystem::exists(dir + "/initdb")) return dir;
  }
  std::cerr << "test database: no PostgreSQL server binaries under /usr/lib/postgresql "
               "(run scripts/install-deps)\n";
  std::abort();
}

// Runs a shell command as the postgres user when we are root; true when it succeeded.
bool TryRunAsPostgres(const std::string& command) {
  const std::string full =
      geteuid() == 0 ? absl::StrCat("runuser -u postgres -- sh -c '", command, "'") : command;
  return std::system(full.c_str()) == 0;
}

void RunAsPostgres(const std::string& command) {
  if (!TryRunAsPostgres(command)) {
    std::cerr << "test database: command failed: " << command << "\n";
    std::abort();
  }
}

}  // namespace

int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

TestDatabase& TestDatabase::Instance() {
  static TestDatabase* instance = new TestDatabase(/*allow_external=*/true);
  static const bool cleanup_registered = [] {
    std::atexit([] { delete instance; });
    return true;
  }();
  (void)cleanup_registered;
  return *instance;
}

std::unique_ptr<TestDatabase> TestDatabase::CreateOwned() {
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  return std::unique_ptr<TestDatabase>(new TestDatabase(/*allow_external=*/false));
}

std::unique_ptr<TestDatabase> TestDatabase::CreateStandbyOf(const TestDatabase& primary) {
  if (!primary.owned_) {
    std::cerr << "test database: a standby needs an owned primary\n";
    std::abort();
  }
  std::unique_ptr<TestDatabase> standby(new TestDatabase(Empty{}));
  RunAsPostgres(absl::StrCat(primary.bin_, "/pg_basebackup -h 127.0.0.1 -p ", primary.port_,
                             " -U postgres -D ", standby->dir_, "/data -R -X stream --no-sync >",
                             standby->dir_, "/basebackup.log 2>&1"));
  standby->Start();
  return standby;
}

TestDatabase::TestDatabase(Empty) {
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  Prepare();
}

void TestDatabase::Prepare() {
  owned_ = true;
  char pattern[] = "/tmp/fm-test-pg-XXXXXX";
  dir_ = mkdtemp(pattern);
  if (geteuid() == 0) {
    std::system(absl::StrCat("chown postgres:postgres ", dir_).c_str());
  }
  bin_ = PostgresBinDir();
  port_ = FreeLoopbackPort();
  url_ = absl::StrCat("host=127.0.0.1 port=", port_, " user=postgres dbname=postgres");
}

TestDatabase::TestDatabase(bool allow_external) {
  if (const char* url = std::getenv("FM_TEST_DATABASE_URL");
      allow_external && url != nullptr && *url != '\0') {
    url_ = url;
    return;
  }
  Prepare();
  RunAsPostgres(absl::StrCat(bin_, "/initdb -D ", dir_, "/data -U postgres --auth=trust",
                             " -E UTF8 --no-sync >", dir_, "/initdb.log 2>&1"));
  Start();
}

void TestDatabase::Start() {
  const std::string command =
      absl::StrCat(bin_, "/pg_ctl -D ", dir_, "/data -l ", dir_, "/server.log -w", " -o \"-p ",
                   port_, " -k ", dir_, " -c listen_addresses=127.0.0.1 -c fsync=off",
                   " -c full_page_writes=off", " -c max_connections=300\" start >/dev/null");
  // After a crash, orphaned backends may still hold the old shared memory for a moment.
  for (int attempt = 1; !TryRunAsPostgres(command); ++attempt) {
    if (attempt == 50) {
      std::cerr << "test database: cannot start PostgreSQL (see " << dir_ << "/server.log)\n";
      std::abort();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

void TestDatabase::KillPostmaster() {
  std::ifstream pid_file(dir_ + "/data/postmaster.pid");
  pid_t pid = 0;
  if (!owned_ || !(pid_file >> pid) || pid <= 0) {
    std::cerr << "test database: no postmaster to kill\n";
    std::abort();
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);  // our child when CreateOwned() made us a subreaper
}

void TestDatabase::Stop() {
  RunAsPostgres(absl::StrCat(bin_, "/pg_ctl -D ", dir_, "/data -m immediate -w stop >/dev/null"));
}

TestDatabase::~TestDatabase() {
  if (!owned_) return;
  std::system(absl::StrCat(geteuid() == 0 ? "runuser -u postgres -- " : "", bin_, "/pg_ctl -D ",
                           dir_, "/data -m immediate -w stop >/dev/null 2>&1")
                  .c_str());
  std::filesystem::remove_all(dir_);
}

std::string TestDatabase::NewPrefix() {
  static std::atomic<int> counter{0};
  return absl::StrCat("t", getpid() % 100000, "_", counter.fetch_add(1), "_");
}

}  // namespace flowmonkey::testing
