// The structured log and the saved counters (durable/ops_log.h).
#include "durable/ops_log.h"

#include <vector>

#include "core/json_writer.h"
#include "core/results.h"
#include "durable/relay_internal.h"

namespace nostr::durable {

SqlStatement OpsLog::saved_read() {
  return {"SELECT value FROM counters WHERE name = 'metrics'", {}};
}

void OpsLog::line(std::string json, uint64_t now, Outbox& out) {
  if (now != second_) {
    if (suppressed_ != 0) {
      out.log(JsonObjectWriter()
                  .string("level", "warn")
                  .string("msg", "log lines suppressed (rate limit)")
                  .uint("count", suppressed_)
                  .finish());
    }
    second_ = now;
    lines_this_second_ = 0;
    suppressed_ = 0;
  }
  if (lines_this_second_ >= kLinesPerSecond) {
    ++suppressed_;
    return;
  }
  ++lines_this_second_;
  out.log(std::move(json));
}

void OpsLog::note(const Metrics& m, uint64_t now) {
  if (flush_at_) return;
  bool changed = false;
  m.for_each_counter([&](const std::string& name, const uint64_t& v) {
    auto it = saved_.find(name);
    if (v != (it == saved_.end() ? 0 : it->second)) changed = true;
  });
  if (changed) flush_at_ = now + kCounterFlush;
}

// All counters in one row (a JSON object): DO SQLite bills per row written.
void OpsLog::on_timer(const Metrics& m, uint64_t now, Outbox& out) {
  if (!flush_at_ || now < *flush_at_) return;
  flush_at_.reset();
  JsonObjectWriter w;
  m.for_each_counter([&](const std::string& name, const uint64_t& v) {
    saved_[name] = v;
    w.uint(name, v);
  });
  out.local_sql(0, {"INSERT OR REPLACE INTO counters (name, value) VALUES ('metrics', ?)",
                    {SqlParam::of(w.finish())}});
}

void OpsLog::on_saved(const BatchResult& r, Metrics& m, simdjson::dom::parser& parser) {
  const std::vector<ResultSet>& rs = r.sets;
  if (!r.ok || rs.size() != 1 || rs[0].cols != 1 || rs[0].rows != 1) return;
  const std::string_view json = rs[0].cell(0, 0);
  simdjson::dom::object obj;
  if (parser.parse(json.data(), json.size(), true).get_object().get(obj) != simdjson::SUCCESS)
    return;
  for (simdjson::dom::key_value_pair kv : obj) {
    uint64_t v = 0;
    if (kv.value.get_uint64().get(v) != simdjson::SUCCESS) continue;
    m.restore(kv.key, v);  // adds: counts made before the row came back stay
    saved_[std::string(kv.key)] = v;
  }
}

}  // namespace nostr::durable
