#include "server/version.h"

namespace flowmonkey {

// FM_VERSION is a compile definition of this library only (CMakeLists.txt), so that a new
// version recompiles this one file.
const char* Version() { return FM_VERSION; }

}  // namespace flowmonkey
