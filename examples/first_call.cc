// A first call: connect to a running flowmonkey-server, save an execution, read it back.
//
//   build/first-call [host:port]

#include <iostream>

#include "client/client.h"

int main(int argc, char** argv) {
  flowmonkey::client::ClientOptions options;
  if (argc > 1) options.target = argv[1];
  auto stores = flowmonkey::client::Connect(options);
  if (!stores.ok()) {
    std::cerr << stores.status() << "\n";
    return 1;
  }

  flowmonkey::v1::SaveExecutionRequest save;
  flowmonkey::v1::Execution* execution = save.mutable_execution();
  execution->set_id("hello-execution");
  execution->set_flow_id("hello-flow");
  execution->set_flow_version("1.0.0");
  execution->set_current_step_id("greet");
  execution->set_status(flowmonkey::v1::EXECUTION_STATUS_RUNNING);
  execution->set_context_json(R"({"name": "world"})");
  auto saved = stores->executions->Save(save);
  if (!saved.ok()) {
    std::cerr << "save: " << saved.status() << "\n";
    return 1;
  }

  flowmonkey::v1::GetExecutionRequest get;
  get.set_execution_id("hello-execution");
  auto got = stores->executions->Get(get);
  if (!got.ok()) {
    std::cerr << "get: " << got.status() << "\n";
    return 1;
  }
  std::cout << "saved version " << saved->version()
            << ", read back: " << got->execution().ShortDebugString() << "\n";
  return 0;
}
