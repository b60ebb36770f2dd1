#include "durable/maintenance.h"

#include "core/json_writer.h"
#include "core/results.h"
#include "core/text.h"
#include "core/write_plan.h"

namespace nostr::durable {

namespace {
constexpr std::string_view kSweepTimer = "expiry_sweep";  // its row in table timers
}  // namespace

void Maintenance::read_saved(Sink& sink) {
  sink.local_sql(SavedRead{}, {"SELECT at FROM timers WHERE name = ?",
                               {SqlParam::of(std::string(kSweepTimer))}});
}

void Maintenance::on_saved(const BatchResult& r, uint64_t now, Sink& sink) {
  const std::vector<ResultSet>& rs = r.sets;
  uint64_t at = 0;
  if (r.ok && rs.size() == 1 && rs[0].rows == 1 && rs[0].cols == 1 &&
      parse_decimal(rs[0].cell(0, 0), at) && at != 0) {
    timers_.set(Timer::expiry_sweep, at);
    return;
  }
  schedule_sweep(now + kSweepInterval, sink);
}

void Maintenance::schedule_sweep(uint64_t at, Sink& sink) {
  timers_.set(Timer::expiry_sweep, at);
  sink.local_sql(std::nullopt, {"INSERT OR REPLACE INTO timers (name, at) VALUES (?, ?)",
                                {SqlParam::of(std::string(kSweepTimer)),
                                 SqlParam::of(static_cast<int64_t>(at))}});
}

void Maintenance::vanish(Sink& sink) {
  if (vanish_in_flight_) {
    vanish_again_ = true;
    return;
  }
  vanish_again_ = false;
  timers_.clear(Timer::vanish_retry);
  vanish_in_flight_ = true;
  VanishStep step = plan_vanish_step(kVanishBatch);
  sink.store(Vanish{step.result_stmt}, std::move(step.stmts));
}

bool Maintenance::on_vanish_done(const Vanish& v, const BatchResult& r, uint64_t now, Sink& sink) {
  vanish_in_flight_ = false;
  const std::vector<ResultSet>& rs = r.sets;
  uint64_t deleted = 0;
  if (!r.ok || rs.size() <= v.result_stmt || rs[v.result_stmt].rows != 1 ||
      rs[v.result_stmt].cols != 2 || !parse_decimal(rs[v.result_stmt].cell(0, 0), deleted)) {
    // The request stays pending in the store: the next write, management
    // check or the vanish_retry alarm retries.
    vanish_again_ = true;
    timers_.set(Timer::vanish_retry, now + kVanishRetry);
    sink.log(JsonObjectWriter()
                 .string("level", "error")
                 .string("msg", "request to vanish (NIP-62) step failed; will retry")
                 .string("detail", utf8_prefix(r.error, 300))
                 .finish());
    return false;
  }
  if (rs[v.result_stmt].cell(0, 1) == "1" || vanish_again_) vanish(sink);
  return deleted > 0;
}

void Maintenance::on_sweep_done(const BatchResult& r, uint64_t now, Sink& sink) {
  const std::vector<ResultSet>& rs = r.sets;
  const bool full = r.ok && !rs.empty() && rs.back().rows >= kSweepBatch;
  // A full batch: more are expired, go on at once. Otherwise (or on failure) next interval.
  schedule_sweep(full ? now : now + kSweepInterval, sink);
}

void Maintenance::on_timer(uint64_t now, bool may_vanish, Sink& sink) {
  if (timers_.due(Timer::vanish_retry, now) && may_vanish) retry_vanish(sink);
  if (timers_.due(Timer::expiry_sweep, now)) {
    timers_.clear(Timer::expiry_sweep);  // re-armed when it completes
    sink.store(Sweep{}, plan_expiry_sweep(now, kSweepBatch));
  }
}

}  // namespace nostr::durable
