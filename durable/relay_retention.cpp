// Relay: retention (core/config.h Retention). On the engine's alarm, one
// relay object at a time (a lease row in the store) selects up to
// kRetentionBatch events the rules prune, oldest first; archives them, one
// Archive action per UTC day of created_at (the raw bytes, one event per
// line); and only when every archive is written deletes them (tags and the
// search index with them) and records the archives for the restore script.
// A full batch goes on at once; otherwise the next run is interval_seconds on.
#include <algorithm>
#include <map>

#include "core/json_writer.h"
#include "core/text.h"
#include "core/write_plan.h"
#include "durable/relay.h"
#include "durable/relay_internal.h"

namespace nostr::durable {

using namespace internal;

namespace {

// "YYYY-MM-DD" (UTC) of unix time `t` (Howard Hinnant's civil_from_days).
std::string utc_day(uint64_t t) {
  int64_t z = static_cast<int64_t>(t / 86400) + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  char buf[64];  // y fits 4-5 digits for any uint64 seconds a relay accepts; room for more anyway
  std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lld", static_cast<long long>(y),
                static_cast<long long>(m), static_cast<long long>(d));
  return buf;
}

}  // namespace

void Relay::start_retention(uint64_t now, bool start) {
  retention_in_flight_ = true;
  timers_.clear(Timer::retention);
  const std::string holder = object_name_.empty() ? "relay" : object_name_;
  out_.store(
      add_pending(PendingRetention{}),
      batch_json(plan_retention_select(config_.retention, holder, now, start, kRetentionBatch)));
}

void Relay::end_retention(uint64_t now, std::string_view why) {
  retention_in_flight_ = false;
  retention_ = {};
  timers_.set(Timer::retention, now + config_.retention.interval_seconds);
  if (!why.empty()) {
    ++metrics_.retention_failures;
    log_json(JsonObjectWriter()
                 .string("level", "warn")
                 .string("msg", "retention stopped")
                 .string("reason", why)
                 .finish());
  }
}

void Relay::on_retention_rows(bool ok, std::string_view results, uint64_t now) {
  std::vector<ResultSet> rs;
  if (!ok || !parse_results(results, rs) || rs.empty())
    return end_retention(now, ok ? "malformed results" : results);
  const ResultSet& rows = rs.back();
  if (rows.rows == 0 || rows.cols != 3)
    return end_retention(now, "");  // nothing to prune, or the lease is elsewhere
  // One archive per UTC day; ids in one JSON array for the delete.
  struct Day {
    std::string body;
    uint64_t first = UINT64_MAX, last = 0;
    std::string first_id;
    size_t events = 0;
  };
  std::map<std::string, Day> days;
  retention_ = {};
  retention_.full = rows.rows >= kRetentionBatch;
  retention_.ids_json = "[";
  for (uint32_t i = 0; i < rows.rows; ++i) {
    const std::string_view id = rows.cell(i, 0), raw = rows.cell(i, 2);
    uint64_t t = 0;
    auto eid = EventId::from_hex(id);
    if (!eid || !parse_decimal(rows.cell(i, 1), t)) continue;
    retention_.ids.push_back(*eid);
    if (retention_.ids_json.size() > 1) retention_.ids_json += ',';
    append_json_string(retention_.ids_json, id);
    Day& d = days[utc_day(t)];
    if (t < d.first) {
      d.first = t;
      d.first_id.assign(id.substr(0, 16));
    }
    d.last = std::max(d.last, t);
    d.body.append(raw);
    d.body.push_back('\n');
    ++d.events;
  }
  retention_.ids_json += ']';
  retention_.archives_json = "[";
  std::vector<std::pair<std::string, std::string>> archives;  // key, body
  for (auto& [day, d] : days) {
    if (!config_.retention.archive) break;
    std::string key = "events/" + day + "/" + std::to_string(d.first) + "-" + d.first_id;
    if (retention_.archives_json.size() > 1) retention_.archives_json += ',';
    retention_.archives_json += "[";
    append_json_string(retention_.archives_json, key);
    retention_.archives_json += "," + std::to_string(d.events) + "," + std::to_string(d.first) +
                                "," + std::to_string(d.last) + "]";
    archives.emplace_back(std::move(key), std::move(d.body));
  }
  retention_.archives_json += ']';
  if (archives.empty()) {  // archive: false
    out_.store(
        add_pending(PendingRetentionDelete{}),
        batch_json(plan_retention_delete(retention_.ids_json, retention_.archives_json, now)));
    return;
  }
  retention_.archives_waiting = archives.size();
  for (auto& [key, body] : archives)
    out_.archive(add_pending(PendingArchive{}), std::move(key), std::move(body));
}

void Relay::archive_done(uint32_t token, bool ok, uint64_t now) {
  const Entry entry{*this, now};
  if (!take_pending(token, Completion::archive, "archive_done"))
    return;  // only PendingArchive waits for it
  if (ok) ++metrics_.retention_archives;
  retention_.archive_failed |= !ok;
  if (retention_.archives_waiting == 0 || --retention_.archives_waiting > 0) return;
  if (retention_.archive_failed)
    return end_retention(now, "an archive could not be written; nothing was deleted");
  out_.store(add_pending(PendingRetentionDelete{}),
             batch_json(plan_retention_delete(retention_.ids_json, retention_.archives_json, now)));
}

void Relay::on_retention_deleted(bool ok, uint64_t now) {
  if (!ok)
    return end_retention(now, "the delete failed; the archived events stay until the next run");
  metrics_.retention_pruned += retention_.ids.size();
  // Ids remembered as stored would answer "duplicate" for a pruned event.
  for (const EventId& id : retention_.ids) recent_.erase(id);
  if (retention_.full) {
    retention_ = {};
    return start_retention(now, /*start=*/false);
  }
  end_retention(now, "");
}

}  // namespace nostr::durable
