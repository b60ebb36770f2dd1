// The native server's data commands, on its SQLite database:
//   export: the stored events matching a filter as JSON lines (the exact
//           bytes received), oldest first;
//   import: JSON lines (strfry's export format too) through the engine's own
//           EVENT path: every event validated and checked by policy, stored in
//           the engine's batches; prints a summary.
#pragma once

#include <cstdio>
#include <string>

#include "server/config.h"

namespace nostr::server {

// Writes one event per line to `out`. `filter_json`: a NIP-01 filter ("" is
// {}); its limit is ignored, and a filtered export leaves out gift wraps
// (kind 1059), as for an anonymous reader. Returns the exit code.
int run_export(const Loaded& cfg, const std::string& filter_json, std::FILE* out,
               std::string& error);

// Reads events from `in`, one per line; prints {"lines","accepted",
// "duplicate","refused","failed"} on stdout (progress on stderr when it is a
// terminal). Rate limits are off and created_at_lower_limit is 0 for an
// import; everything else applies. Returns the exit code (1 if a store failed).
int run_import(const Loaded& cfg, std::FILE* in, std::string& error);

}  // namespace nostr::server
