// Maintenance: the store's own clean-up work as a component. It owns the
// NIP-40 expiry sweep (its time, kept in local SQL so it survives restarts)
// and the NIP-62 vanish steps (one in flight; a request that arrives meanwhile
// or a failed step runs another; a failure retries on an alarm).
//
// It answers to the engine: the engine asks it to read its saved time once
// the local schema is current, tells it when a vanish request was stored,
// calls on_timer() when next_alarm() has come and routes the completions of
// its tickets back. It emits store batches, local SQL and log lines through a
// Sink (the engine gives each ticket a token).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/results.h"
#include "core/sql.h"
#include "durable/completion.h"
#include "durable/timers.h"

namespace nostr::durable {

class Maintenance {
 public:
  // Expired events deleted per sweep batch; a full batch goes on at once.
  static constexpr uint32_t kSweepBatch = 500;
  // Seconds between sweeps when the last batch was not full (or failed).
  static constexpr uint64_t kSweepInterval = 3600;
  // Events one NIP-62 vanish step deletes at most (and as many gift wraps).
  static constexpr uint32_t kVanishBatch = 500;
  // Seconds before a failed vanish step is tried again.
  static constexpr uint64_t kVanishRetry = 60;

  // Tickets of the work it asks for, each completed once.
  struct Sweep {  // Store: plan_expiry_sweep
    static constexpr Completion kCompletion = Completion::store;
  };
  struct Vanish {  // Store: plan_vanish_step; its counts are statement result_stmt's
    static constexpr Completion kCompletion = Completion::store;
    size_t result_stmt;
  };
  struct SavedRead {  // LocalSql: the saved sweep time
    static constexpr Completion kCompletion = Completion::local_sql;
  };
  class Sink {
   public:
    virtual void store(std::variant<Sweep, Vanish> ticket, std::vector<SqlStatement> stmts) = 0;
    // `ticket`: whether the rows are wanted back.
    virtual void local_sql(std::optional<SavedRead> ticket, SqlStatement stmt) = 0;
    virtual void log(std::string line) = 0;

   protected:
    ~Sink() = default;
  };

  // Asks for the saved sweep time (local SQL, table timers).
  void read_saved(Sink& sink);
  // The saved time, or (first start, or unreadable) one interval from now, saved.
  void on_saved(const BatchResult& r, uint64_t now, Sink& sink);

  // A vanish request was stored, or may be waiting (the first management
  // load of an object life): runs a step now, or after the one in flight.
  void vanish(Sink& sink);
  // Whether a vanish step is owed (a request arrived during a step, or a step failed).
  bool vanish_owed() const { return vanish_again_; }
  // Runs an owed step unless one is in flight.
  void retry_vanish(Sink& sink) {
    if (vanish_again_ && !vanish_in_flight_) vanish(sink);
  }
  // Returns whether the step deleted events (the engine forgets stored ids).
  bool on_vanish_done(const Vanish& v, const BatchResult& r, uint64_t now, Sink& sink);
  void on_sweep_done(const BatchResult& r, uint64_t now, Sink& sink);

  // Returns when durable work is due (the sweep, a vanish retry), or nullopt.
  std::optional<uint64_t> next_alarm() const { return timers_.earliest(TimerKind::alarm); }
  // Starts what is due. `may_vanish`: the management state is loaded (a
  // vanish step waits for it).
  void on_timer(uint64_t now, bool may_vanish, Sink& sink);

 private:
  void schedule_sweep(uint64_t at, Sink& sink);

  Timers timers_;  // expiry_sweep, vanish_retry
  bool vanish_in_flight_ = false;
  bool vanish_again_ = false;
};

}  // namespace nostr::durable
