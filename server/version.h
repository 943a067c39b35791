#pragma once

// The version of this build: the CMake project version, followed by `git describe --always
// --dirty` of the source tree at configure time when it was a git checkout
// ("0.1.0+0e74472-dirty"), else the project version alone ("0.1.0"). Printed by
// `flowmonkey-server --version`, logged at start-up, and the `version` label of
// flowmonkey_build_info.

namespace flowmonkey {

const char* Version();

}  // namespace flowmonkey
