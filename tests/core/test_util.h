// Helpers shared by the core tests.
#pragma once

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

namespace nostr::test {

// Returns the lines of $NOSTR_TESTDATA/<name>; fails the test if missing, since
// a silently skipped corpus would be a test that cannot fail.
inline std::vector<std::string> read_testdata_lines(const std::string& name) {
  const char* dir = std::getenv("NOSTR_TESTDATA");
  REQUIRE_MESSAGE(dir != nullptr, "NOSTR_TESTDATA is not set (run through ctest)");
  std::ifstream in(std::string(dir) + "/" + name);
  REQUIRE_MESSAGE(in.good(), "missing test data file " << name);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}


}  // namespace nostr::test
