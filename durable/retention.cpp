// Retention (durable/retention.h).
#include "durable/retention.h"

#include <algorithm>
#include <map>

#include "core/json_writer.h"
#include "core/results.h"
#include "core/text.h"
#include "core/write_plan.h"

namespace nostr::durable {

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

void RetentionRuns::start(uint64_t now) {
  if (config_.enabled()) next_run_ = now + std::min<uint64_t>(config_.interval_seconds, 60);
}

void RetentionRuns::on_timer(uint64_t now, std::string_view holder, Sink& sink) {
  if (!next_run_ || now < *next_run_) return;
  holder_.assign(holder);
  run(now, /*start=*/true, sink);
}

void RetentionRuns::run(uint64_t now, bool start, Sink& sink) {
  next_run_.reset();
  sink.store(Select{}, plan_retention_select(config_, holder_, now, start, kBatch));
}

void RetentionRuns::end(uint64_t now, std::string_view why, Sink& sink) {
  batch_ = {};
  next_run_ = now + config_.interval_seconds;
  if (!why.empty()) {
    ++metrics_.retention_failures;
    sink.log(JsonObjectWriter()
                 .string("level", "warn")
                 .string("msg", "retention stopped")
                 .string("reason", why)
                 .finish());
  }
}

void RetentionRuns::on_selected(const BatchResult& r, uint64_t now, Sink& sink) {
  const std::vector<ResultSet>& rs = r.sets;
  if (!r.ok || rs.empty()) return end(now, r.ok ? "malformed results" : r.error, sink);
  const ResultSet& rows = rs.back();
  if (rows.rows == 0 || rows.cols != 3)
    return end(now, "", sink);  // nothing to prune, or the lease is elsewhere
  // One archive per UTC day; ids in one JSON array for the delete.
  struct Day {
    std::string body;
    uint64_t first = UINT64_MAX, last = 0;
    std::string first_id;
    size_t events = 0;
  };
  std::map<std::string, Day> days;
  batch_ = {};
  batch_.full = rows.rows >= kBatch;
  JsonWriter ids;
  ids.begin_array();
  for (uint32_t i = 0; i < rows.rows; ++i) {
    const std::string_view id = rows.cell(i, 0), raw = rows.cell(i, 2);
    uint64_t t = 0;
    auto eid = EventId::from_hex(id);
    if (!eid || !parse_decimal(rows.cell(i, 1), t)) continue;
    batch_.ids.push_back(*eid);
    ids.string(id);
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
  batch_.ids_json = ids.end_array().take();
  JsonWriter archives_json;
  archives_json.begin_array();
  std::vector<std::pair<std::string, std::string>> archives;  // key, body
  for (auto& [day, d] : days) {
    if (!config_.archive) break;
    std::string key = "events/" + day + "/" + std::to_string(d.first) + "-" + d.first_id;
    archives_json.begin_array().string(key).uint(d.events).uint(d.first).uint(d.last).end_array();
    archives.emplace_back(std::move(key), std::move(d.body));
  }
  batch_.archives_json = archives_json.end_array().take();
  if (archives.empty()) {  // archive: false
    sink.store(Deleted{}, plan_retention_delete(batch_.ids_json, batch_.archives_json, now));
    return;
  }
  batch_.archives_waiting = archives.size();
  for (auto& [key, body] : archives) sink.archive(std::move(key), std::move(body));
}

void RetentionRuns::on_written(bool ok, uint64_t now, Sink& sink) {
  if (ok) ++metrics_.retention_archives;
  batch_.archive_failed |= !ok;
  if (batch_.archives_waiting == 0 || --batch_.archives_waiting > 0) return;
  if (batch_.archive_failed)
    return end(now, "an archive could not be written; nothing was deleted", sink);
  sink.store(Deleted{}, plan_retention_delete(batch_.ids_json, batch_.archives_json, now));
}

std::vector<EventId> RetentionRuns::on_deleted(bool ok, uint64_t now, Sink& sink) {
  if (!ok) {
    end(now, "the delete failed; the archived events stay until the next run", sink);
    return {};
  }
  metrics_.retention_pruned += batch_.ids.size();
  std::vector<EventId> deleted = std::move(batch_.ids);
  if (batch_.full) {
    batch_ = {};
    run(now, /*start=*/false, sink);
  } else {
    end(now, "", sink);
  }
  return deleted;
}

}  // namespace nostr::durable
