#pragma once

// A throwaway PostgreSQL for the test process: initdb into a temporary directory (as the
// `postgres` user when running as root, since PostgreSQL refuses root), started on a free
// loopback port, stopped and removed at exit. FM_TEST_DATABASE_URL points the tests at an
// existing server instead. Each test isolates itself with its own table prefix.

#include <memory>
#include <string>

namespace flowmonkey::testing {

// A free TCP port on 127.0.0.1 (bound, read, released: another process could take it
// in between, which is good enough for tests).
int FreeLoopbackPort();

class TestDatabase {
 public:
  // Starts the server on first use; aborts the test process if that fails (tests never
  // skip silently for lack of a database).
  static TestDatabase& Instance();
  // A separate throwaway PostgreSQL owned by the caller (never FM_TEST_DATABASE_URL), for
  // tests that crash or restart the database. Stopped and removed when destroyed. Makes
  // this process a child subreaper (prctl), so that the postmaster, orphaned by pg_ctl,
  // is our child and KillPostmaster() can reap it: otherwise its zombie would keep the
  // PID in postmaster.pid alive and block a restart.
  static std::unique_ptr<TestDatabase> CreateOwned();
  // A streaming hot standby of an owned `primary` (pg_basebackup -R), on its own port and
  // directory: for the read-replica tests. Stopped and removed when destroyed.
  static std::unique_ptr<TestDatabase> CreateStandbyOf(const TestDatabase& primary);

  const std::string& url() const { return url_; }
  // A table prefix no other test in this database has used.
  std::string NewPrefix();

  // For fault tests: stop and start the server (same data directory and port). Start()
  // waits until PostgreSQL accepts connections (after crash recovery if it crashed); it
  // retries while processes of a killed postmaster still hold its shared memory.
  void Stop();
  void Start();
  // SIGKILLs the postmaster (a crash, not a shutdown: no checkpoint, its backends are
  // orphaned and exit on their own) and reaps it. Only for a CreateOwned() instance.
  void KillPostmaster();

  ~TestDatabase();

 private:
  explicit TestDatabase(bool allow_external);
  // An owned instance whose data directory the caller fills before Start().
  struct Empty {};
  explicit TestDatabase(Empty);
  // Makes the data directory's parent, picks the port and sets url_.
  void Prepare();
  std::string dir_;
  std::string bin_;
  int port_ = 0;
  std::string url_;
  bool owned_ = false;
};

}  // namespace flowmonkey::testing
