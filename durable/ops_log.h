// The operator's view of the engine, as a component: the structured log (at
// most kLinesPerSecond lines a second, the rest counted and summarised) and
// the counters of Metrics saved in local SQL (one row, at most every
// kCounterFlush seconds after a change) and added back at a wake.
//
// It answers to the engine, which calls note() at the end of every call and
// on_timer() when next_deadline() has come; it emits Log and LocalSql
// actions into the Outbox it is given. It reads and restores the engine's
// Metrics; it owns nothing else.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/results.h"
#include "core/sql.h"
#include "durable/action.h"
#include "durable/completion.h"
#include "durable/metrics.h"
#include "simdjson.h"

namespace nostr::durable {

class OpsLog {
 public:
  static constexpr uint32_t kLinesPerSecond = 20;
  // Changed counters are saved this long after the first change: short, as
  // an idle object may be evicted after ~10 s.
  static constexpr uint64_t kCounterFlush = 2;

  // The read of the saved counters at a wake (a LocalSql with rows).
  struct SavedRead {
    static constexpr Completion kCompletion = Completion::local_sql;
  };
  static SqlStatement saved_read();

  // One structured line (a JSON object) at `now`, unless this second's lines
  // are spent: then it is counted, and the next second starts with a line
  // saying how many were suppressed.
  void line(std::string json, uint64_t now, Outbox& out);
  // At the end of every engine call: arms the save if a counter changed.
  void note(const Metrics& m, uint64_t now);
  // When the save is due, or nullopt.
  std::optional<uint64_t> next_deadline() const { return flush_at_; }
  // Saves every counter (one row) if the save is due.
  void on_timer(const Metrics& m, uint64_t now, Outbox& out);
  // The saved row (SavedRead's results): added to `m` (counts made before it
  // came back stay). Borrows `parser` for the call.
  void on_saved(const BatchResult& r, Metrics& m, simdjson::dom::parser& parser);

 private:
  uint64_t second_ = 0;
  uint32_t lines_this_second_ = 0;
  uint64_t suppressed_ = 0;
  std::map<std::string, uint64_t> saved_;
  std::optional<uint64_t> flush_at_;
};

}  // namespace nostr::durable
