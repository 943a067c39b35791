#include "server/pg/pool.h"

#include <poll.h>

#include <pqxx/nontransaction>
#include <pqxx/prepared_statement>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/pg/event_partitions.h"
#include "spdlog/spdlog.h"

namespace flowmonkey::pg {

absl::Status ValidateTablePrefix(std::string_view prefix) {
  bool ok = !prefix.empty() && prefix.size() <= 32 && absl::ascii_islower(prefix[0]);
  for (char c : prefix) {
    ok = ok && (absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_');
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("table prefix '", std::string(prefix),
                   "': use lower-case letters, digits and '_', starting with a letter"));
}

std::string WithPrefix(std::string_view sql, std::string_view prefix) {
  std::string out;
  out.reserve(sql.size());
  for (size_t at = 0;;) {
    const size_t marker = sql.find(kPrefixMarker, at);
    out.append(sql.substr(at, marker - at));
    if (marker == std::string_view::npos) return out;
    out.append(prefix);
    at = marker + kPrefixMarker.size();
  }
}

bool MayWrite(std::string_view sql) {
  auto is_word = [](char c) { return absl::ascii_isalnum(c) || c == '_'; };
  size_t start = 0;
  while (start < sql.size()) {
    while (start < sql.size() && !is_word(sql[start])) ++start;
    size_t end = start;
    while (end < sql.size() && is_word(sql[end])) ++end;
    const absl::string_view word(sql.data() + start, end - start);
    for (const char* keyword : {"insert", "update", "delete", "merge", "truncate"}) {
      if (absl::EqualsIgnoreCase(word, keyword)) return true;
    }
    start = end;
  }
  return false;
}

void Session::NoteSend(pqxx::transaction_base& tx, const Statement& statement) {
  // From here on a lost connection may hide a committed write.
  if (!autocommit_write_sent_ && dynamic_cast<pqxx::nontransaction*>(&tx) != nullptr &&
      MayWrite(statement.sql)) {
    autocommit_write_sent_ = true;
  }
}

pqxx::result Session::Exec(pqxx::transaction_base& tx, const Statement& statement,
                           const Params& params) {
  NoteSend(tx, statement);
  auto args = pqxx::prepare::make_dynamic_params(params.values());
  if (pool_->options_.prepare_statements) {
    return tx.exec_prepared(std::string(statement.name), args);
  }
  return tx.exec_params(pool_->SqlFor(statement.name), args);
}

ConnectionPool::ConnectionPool(PoolOptions options)
    : options_(std::move(options)),
      slots_(std::max(1, options_.size)),
      event_partitions_(std::make_unique<EventPartitions>(*this)) {}

ConnectionPool::~ConnectionPool() = default;

void ConnectionPool::Register(const Statement& statement) {
  std::lock_guard lock(mu_);
  std::string name(statement.name);
  if (statement_index_.count(name)) return;
  statement_index_[name] = statements_.size();
  statements_.emplace_back(name, Sql(statement.sql));
}

const std::string& ConnectionPool::SqlFor(std::string_view name) {
  std::lock_guard lock(mu_);
  return statements_.at(statement_index_.at(std::string(name))).second;
}

int ConnectionPool::Open() const {
  std::lock_guard lock(mu_);
  int open = 0;
  for (const auto& slot : slots_) open += slot.connection != nullptr;
  return open;
}

absl::StatusOr<ConnectionPool::Slot*> ConnectionPool::Acquire() {
  Slot* slot = nullptr;
  {
    std::unique_lock lock(mu_);
    auto free_slot = [&] {
      for (auto& s : slots_) {
        if (!s.busy && s.connection) return &s;  // prefer an open connection
      }
      for (auto& s : slots_) {
        if (!s.busy) return &s;
      }
      return static_cast<Slot*>(nullptr);
    };
    const auto deadline =
        std::chrono::steady_clock::now() + absl::ToChronoMilliseconds(options_.acquire_timeout);
    while ((slot = free_slot()) == nullptr) {
      if (freed_.wait_until(lock, deadline) == std::cv_status::timeout && !free_slot()) {
        return absl::UnavailableError("all database connections are busy");
      }
    }
    slot->busy = true;
    if (slot->connection && slot->generation < generation_) slot->connection.reset();
  }
  in_use_.fetch_add(1);
  if (absl::Status ready = EnsureReady(*slot); !ready.ok()) {
    Release(slot, true);
    return ready;
  }
  return slot;
}

absl::Status ConnectionPool::EnsureReady(Slot& slot) {
  try {
    if (!slot.connection) {
      slot.connection = std::make_unique<pqxx::connection>(options_.database_url);
      slot.prepared = 0;
      std::lock_guard lock(mu_);
      slot.generation = generation_;
    }
    if (!options_.prepare_statements) return absl::OkStatus();
    std::vector<std::pair<std::string, std::string>> missing;
    {
      std::lock_guard lock(mu_);
      missing.assign(statements_.begin() + static_cast<ptrdiff_t>(slot.prepared),
                     statements_.end());
    }
    for (const auto& [name, sql] : missing) {
      slot.connection->prepare(name, sql);
      ++slot.prepared;
    }
    return absl::OkStatus();
  } catch (const std::exception& e) {
    connect_failures_.Log(spdlog::level::warn,
                          absl::StrCat("database connection failed: ", e.what()));
    return absl::UnavailableError("database unavailable: cannot connect");
  }
}

absl::Status ConnectionPool::Probe(pqxx::connection& connection) {
  try {
    // An idle connection the server left alone has nothing to read: one poll() says so,
    // and the common case costs one system call.
    pollfd socket{connection.sock(), POLLIN, 0};
    if (socket.fd >= 0 && poll(&socket, 1, 0) == 0) return absl::OkStatus();
    // PQconsumeInput: throws broken_connection on a closed socket. Twice: a server that
    // terminates a backend sends an error message before closing, and a first read may
    // return just that message.
    connection.get_notifs();
    connection.get_notifs();
    if (connection.is_open()) return absl::OkStatus();
  } catch (const std::exception& e) {
    spdlog::debug("pooled connection found closed: {}", e.what());
  }
  return absl::UnavailableError("database connection lost while idle");
}

void ConnectionPool::Release(Slot* slot, bool broken, bool retire) {
  {
    std::lock_guard lock(mu_);
    if (broken) {
      slot->connection.reset();
      ++generation_;  // connections opened before the loss are probably dead too
    } else if (retire) {
      slot->connection.reset();
    }
    slot->busy = false;
  }
  in_use_.fetch_sub(1);
  freed_.notify_one();
}

absl::Status ConnectionPool::RunVoid(std::string_view what,
                                     const std::function<absl::Status(Session&)>& fn) {
  return Run<bool>(what,
                   [&](Session& s) -> absl::StatusOr<bool> {
                     if (absl::Status status = fn(s); !status.ok()) return status;
                     return true;
                   })
      .status();
}

absl::Status ConnectionPool::Ping() {
  return RunVoid("ping", [](Session& s) {
    pqxx::nontransaction tx(s.connection());
    tx.exec("SELECT 1");
    return absl::OkStatus();
  });
}

}  // namespace flowmonkey::pg
