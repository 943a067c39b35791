// The flows and events commands of Ctl (tools/ctl/commands.h).

#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "flowmonkey/v1/event.grpc.pb.h"
#include "flowmonkey/v1/flow.grpc.pb.h"
#include "tools/ctl/commands.h"
#include "tools/ctl/output.h"

namespace flowmonkey::ctl {
namespace {

namespace fm = flowmonkey::v1;

template <typename T>
void PrintEvents(const T& events, bool json, bool with_header) {
  if (json) {
    for (const auto& e : events) std::cout << ToJson(e) << "\n";
  } else if (with_header || !events.empty()) {
    Table table({"ID", "TIME", "TYPE", "STEP", "DATA"});
    for (const auto& e : events) {
      table.Add({absl::StrCat(e.id()), FormatTime(e.created_at()), e.event_type(),
                 e.has_step_id() ? e.step_id() : "-", e.data_json().empty() ? "-" : e.data_json()});
    }
    std::cout << table.Format(with_header);
  }
  std::cout << std::flush;  // --follow: each batch as it comes, also into a pipe
}

}  // namespace

int Ctl::EventsTail(const std::string& execution_id) {
  // The latest --limit events: newest first from the server, printed oldest first.
  fm::QueryEventsRequest request;
  request.set_execution_id(execution_id);
  request.set_limit(options_.limit);
  request.set_descending(true);
  fm::QueryEventsResponse response;
  auto stub = fm::EventStore::NewStub(channel_);
  grpc::Status status = stub->Query(Context().get(), request, &response);
  if (!status.ok()) return Fail(StatusText(status));
  std::reverse(response.mutable_events()->begin(), response.mutable_events()->end());
  PrintEvents(response.events(), options_.json, /*with_header=*/true);
  if (!options_.follow) return 0;

  // Query's id cursor neither skips nor repeats an event while others append (event.proto).
  int64_t cursor = response.events().empty() ? 0 : response.events().rbegin()->id();
  request.set_descending(false);
  bool reported_failure = false;
  for (;;) {
    request.set_after_id(cursor);
    response.Clear();
    status = stub->Query(Context().get(), request, &response);
    if (!status.ok()) {
      // A server that restarts or a database outage should not end a tail: say so once.
      if (status.error_code() != grpc::StatusCode::UNAVAILABLE &&
          status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
        return Fail(StatusText(status));
      }
      if (!reported_failure) Fail(absl::StrCat(StatusText(status), " (still polling)"));
      reported_failure = true;
      absl::SleepFor(options_.poll_interval);
      continue;
    }
    reported_failure = false;
    PrintEvents(response.events(), options_.json, /*with_header=*/false);
    if (!response.events().empty()) cursor = response.events().rbegin()->id();
    if (response.next_after_id() == 0) absl::SleepFor(options_.poll_interval);
  }
}

int Ctl::FlowsList() {
  fm::ListFlowsRequest request;
  request.set_limit(options_.limit);
  fm::ListFlowsResponse response;
  grpc::Status status = fm::FlowStore::NewStub(channel_)->List(Context().get(), request, &response);
  if (!status.ok()) return Fail(StatusText(status));
  if (options_.json) {
    for (const auto& f : response.flows()) std::cout << ToJson(f) << "\n";
    return 0;
  }
  Table table({"ID", "VERSION", "NAME", "STATUS", "CREATED"});
  for (const auto& f : response.flows()) {
    table.Add({f.id(), f.version(), f.has_name() ? f.name() : "-",
               ShortName(fm::FlowStatus_Name(f.status())), FormatTime(f.created_at())});
  }
  std::cout << table.Format();
  return 0;
}

int Ctl::FlowsGet(const std::vector<std::string>& operands) {
  fm::GetFlowRequest request;
  request.set_flow_id(operands[0]);
  if (operands.size() == 2) request.set_version(operands[1]);
  fm::GetFlowResponse response;
  grpc::Status status = fm::FlowStore::NewStub(channel_)->Get(Context().get(), request, &response);
  if (!status.ok()) return Fail(StatusText(status));
  std::cout << (options_.json ? ToJson(response.flow()) + "\n" : FlowSummary(response.flow()));
  return 0;
}

int Ctl::FlowsSave() {
  if (options_.file.empty()) return Fail("usage: flowmonkeyctl flows save -f FILE");
  std::ifstream in(options_.file);
  if (!in) return Fail("flows save: cannot read " + options_.file);
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<fm::Flow> flow = ParseFlowFile(text.str(), options_.flow_file);
  if (!flow.ok())
    return Fail(absl::StrCat("flows save: ", options_.file, ": ", flow.status().message()));
  fm::SaveFlowRequest request;
  *request.mutable_flow() = *std::move(flow);
  fm::SaveFlowResponse response;
  grpc::Status status = fm::FlowStore::NewStub(channel_)->Save(Context().get(), request, &response);
  if (!status.ok()) return Fail(StatusText(status));
  if (options_.json) {
    std::cout << ToJson(response) << "\n";
  } else {
    std::cout << (response.created() ? "saved " : "unchanged ") << response.flow().id() << " "
              << response.flow().version() << "\n";
  }
  return 0;
}

}  // namespace flowmonkey::ctl
