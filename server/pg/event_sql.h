#pragma once

// SQL and row decoding shared by the event store's files (event_store.cc,
// event_requests.cc).

#include <cstdint>
#include <pqxx/row>
#include <string>
#include <utility>
#include <vector>

#include "flowmonkey/v1/event.pb.h"
#include "server/pg/array_literal.h"
#include "server/pg/params.h"

// The insert gate (see event_store.h). The two-key form keeps it apart from single-key
// advisory locks; 'fm_events' is rewritten with the table prefix like every table name.
#define FM_EVENT_GATE                                                                              \
  "WITH gate AS MATERIALIZED (SELECT pg_advisory_xact_lock_shared(4664, hashtext('{fm_}events')) " \
  "AS locked) "
#define FM_EVENT_COLUMNS "id, execution_id, event_type, step_id, data::text, created_at"

namespace flowmonkey::pg {

// An event from a row whose first columns are FM_EVENT_COLUMNS.
v1::Event EventFromRow(const pqxx::row& row);

// The columns of many events, as the array literals an unnest() INSERT takes ($1 execution
// ids, $2 types, $3 step ids, $4 data, $5 created_at). The event's strings are escaped
// straight into the literals: no copy of each value on the way.
class EventColumns {
 public:
  void Add(const v1::Event& event) {
    executions_.Add(event.execution_id());
    types_.Add(event.event_type());
    if (event.has_step_id()) {
      steps_.Add(event.step_id());
    } else {
      steps_.AddNull();
    }
    if (event.data_json().empty()) {  // the contract's "absent"
      data_.AddNull();
    } else {
      data_.Add(event.data_json());
    }
    created_.Add(std::to_string(event.created_at()));
    times_.push_back(event.created_at());
  }
  // Every event's created_at, in the order added (for EventPartitions::Cover).
  const std::vector<int64_t>& times() const { return times_; }
  // Moves the five literals into `params`; the builder is spent.
  void MoveInto(Params& params) && {
    params.Add(std::move(executions_).Take()).Add(std::move(types_).Take());
    params.Add(std::move(steps_).Take()).Add(std::move(data_).Take());
    params.Add(std::move(created_).Take());
  }

 private:
  ArrayLiteral executions_, types_, steps_, data_, created_;
  std::vector<int64_t> times_;
};

}  // namespace flowmonkey::pg
