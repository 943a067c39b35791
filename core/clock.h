#pragma once

#include <cstdint>

namespace flowmonkey {

// Milliseconds since the Unix epoch, the unit of every timestamp in the contract.
int64_t NowMs();

}  // namespace flowmonkey
