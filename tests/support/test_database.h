#pragma once

// A throwaway PostgreSQL for the test process: initdb into a temporary directory (as the
// `postgres` user when running as root, since PostgreSQL refuses root), started on a free
// loopback port, stopped and removed at exit. FM_TEST_DATABASE_URL points the tests at an
// existing server instead. Each test isolates itself with its own table prefix.

#include <string>

namespace flowmonkey::testing {

class TestDatabase {
 public:
  // Starts the server on first use; aborts the test process if that fails (tests never
  // skip silently for lack of a database).
  static TestDatabase& Instance();

  const std::string& url() const { return url_; }
  // A table prefix no other test in this database has used.
  std::string NewPrefix();

  // For fault tests: stop and start the server (same data directory and port).
  void Stop();
  void Start();

  ~TestDatabase();

 private:
  TestDatabase();
  std::string dir_;
  std::string bin_;
  int port_ = 0;
  std::string url_;
  bool owned_ = false;
};

}  // namespace flowmonkey::testing
