// Include once per GoogleTest binary: every test of the binary then runs with
// its own userbpf pin root (ubt::use_private_fs_root), set before any test and
// removed when the process exits.
#pragma once

#include <gtest/gtest.h>

#include "bpf_test_util.h"

namespace ubt {

class PrivateFsRootEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { use_private_fs_root(); }
};

inline ::testing::Environment *const private_fs_root_environment =
    ::testing::AddGlobalTestEnvironment(new PrivateFsRootEnvironment);

} // namespace ubt
