#pragma once

// SQL and row decoding shared by the event store's files (event_store.cc,
// event_requests.cc).

#include <pqxx/row>

#include "flowmonkey/v1/event.pb.h"

// The insert gate (see event_store.h). The two-key form keeps it apart from single-key
// advisory locks; 'fm_events' is rewritten with the table prefix like every table name.
#define FM_EVENT_GATE                                                                              \
  "WITH gate AS MATERIALIZED (SELECT pg_advisory_xact_lock_shared(4664, hashtext('{fm_}events')) " \
  "AS locked) "
#define FM_EVENT_COLUMNS "id, execution_id, event_type, step_id, data::text, created_at"

namespace flowmonkey::pg {

// An event from a row whose first columns are FM_EVENT_COLUMNS.
v1::Event EventFromRow(const pqxx::row& row);

}  // namespace flowmonkey::pg
