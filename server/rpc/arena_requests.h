#pragma once

// Where gRPC parses a unary call's request: into a protobuf Arena that lives as long as the
// call. The request's messages and string objects come from a few blocks, freed at once
// when the call ends, instead of one malloc and one free each: a 100-event RecordBatch is
// about 500 of each fewer (strings longer than the short-string buffer still hold a heap
// buffer of their own). Every generated service (tools/protoc-gen-fm) installs it for each
// of its unary methods.
//
// The response stays on the heap: a store returns it by value, and FinishWith (unary.h)
// moves it in, which between two heap messages is a swap. On the arena, that move would be
// a deep copy.

#include <grpcpp/support/message_allocator.h>

#include <cstddef>

#include "google/protobuf/arena.h"

namespace flowmonkey::rpc {

template <typename Request, typename Response>
class ArenaRequestAllocator final : public grpc::MessageAllocator<Request, Response> {
 public:
  grpc::MessageHolder<Request, Response>* AllocateMessages() override { return new Holder(); }

 private:
  class Holder final : public grpc::MessageHolder<Request, Response> {
   public:
    Holder() : arena_(Options(initial_block_)) {
      this->set_request(google::protobuf::Arena::CreateMessage<Request>(&arena_));
      this->set_response(&response_);
    }
    void Release() override { delete this; }

   private:
    // Most requests fit in the first block, which is part of the holder: no allocation of
    // its own. Larger ones grow the arena in blocks of up to 64 KiB.
    static constexpr size_t kInitialBlock = 1024;
    static google::protobuf::ArenaOptions Options(char* initial_block) {
      google::protobuf::ArenaOptions options;
      options.initial_block = initial_block;
      options.initial_block_size = kInitialBlock;
      options.max_block_size = 64 * 1024;
      return options;
    }

    alignas(std::max_align_t) char initial_block_[kInitialBlock];
    google::protobuf::Arena arena_;  // after initial_block_, which it uses
    Response response_;              // destroyed before the arena
  };
};

// The allocator of one method's messages: one per request type, alive for the process (gRPC
// needs it as long as the server).
template <typename Request, typename Response>
grpc::MessageAllocator<Request, Response>* ArenaRequests() {
  static ArenaRequestAllocator<Request, Response> allocator;
  return &allocator;
}

}  // namespace flowmonkey::rpc
