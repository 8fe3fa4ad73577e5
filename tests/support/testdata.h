// Locates the conformance data (KQ_TESTDATA, default ../shared/testdata beside the repo).
#pragma once

#include <string>

namespace kq::test {

// Returns the testdata directory; FAILs the current test when it does not exist (never skips).
std::string testdata_dir();
// Returns testdata_dir() + "/" + rel, failing the test when the file is missing.
std::string testdata_file(const std::string& rel);
// Path of the built kq binary.
std::string kq_binary();
// Fresh scratch directory for this test process (under the system temp dir).
std::string scratch_dir();

}  // namespace kq::test
