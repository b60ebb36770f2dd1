// Retention (core/config.h Retention) as a component: it owns the run in
// progress and the time of the next one.
//
// On its time, one relay object at a time (a lease row in the store) selects
// up to kBatch events the rules prune, oldest first; archives them, one
// Archive per UTC day of created_at (the raw bytes, one event per line); and
// only when every archive is written deletes them (tags and the search index
// with them) and records the archives for the restore script. A full batch
// goes on at once; otherwise the next run is interval_seconds on; a failure
// stops the run (counted, logged) and nothing unarchived is deleted.
//
// It answers to the engine: the engine calls on_timer() when next_run() has
// come and routes the completions of its tickets back. It emits store
// batches and archive writes through a Sink (the engine gives each a token).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/config.h"
#include "core/event.h"
#include "core/results.h"
#include "core/sql.h"
#include "durable/completion.h"
#include "durable/metrics.h"

namespace nostr::durable {

class RetentionRuns {
 public:
  // Events per batch: bounds the archive body (~100 x 128 KiB worst case).
  static constexpr uint32_t kBatch = 100;

  // Tickets of the work it asks for, each completed once.
  struct Select {  // a store batch: plan_retention_select
    static constexpr Completion kCompletion = Completion::store;
  };
  struct Written {  // one archive write
    static constexpr Completion kCompletion = Completion::archive;
  };
  struct Deleted {  // a store batch: plan_retention_delete
    static constexpr Completion kCompletion = Completion::store;
  };
  class Sink {
   public:
    virtual void store(std::variant<Select, Deleted> ticket, std::vector<SqlStatement> stmts) = 0;
    virtual void archive(std::string key, std::string body) = 0;
    virtual void log(std::string line) = 0;

   protected:
    ~Sink() = default;
  };

  // Borrows `config` and `metrics` (retention_* counters) for its life.
  RetentionRuns(const nostr::Retention& config, Metrics& metrics)
      : config_(config), metrics_(metrics) {}

  // An object life starts: the first run soon (the lease keeps runs of
  // several objects, and of quick wakes, one interval apart). Off without rules.
  void start(uint64_t now);
  // When the next run is due, or nullopt (off, or a run in progress).
  std::optional<uint64_t> next_run() const { return next_run_; }
  // Starts a run if it is due. `holder`: who takes the lease (the object's name).
  void on_timer(uint64_t now, std::string_view holder, Sink& sink);
  void on_selected(const BatchResult& r, uint64_t now, Sink& sink);
  void on_written(bool ok, uint64_t now, Sink& sink);
  // Returns the ids deleted (the engine forgets them as stored).
  std::vector<EventId> on_deleted(bool ok, uint64_t now, Sink& sink);

 private:
  void run(uint64_t now, bool start, Sink& sink);
  void end(uint64_t now, std::string_view why, Sink& sink);

  const nostr::Retention& config_;
  Metrics& metrics_;
  std::optional<uint64_t> next_run_;
  std::string holder_;
  struct Batch {
    std::vector<EventId> ids;
    std::string ids_json, archives_json;
    size_t archives_waiting = 0;
    bool archive_failed = false;
    bool full = false;
  } batch_;
};

}  // namespace nostr::durable
