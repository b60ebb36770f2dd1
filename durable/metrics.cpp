#include "durable/metrics.h"

#include <cstdio>

namespace nostr::durable {
namespace {

void line(std::string& out, std::string_view name, std::string_view labels, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  out.append(name);
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out.append(" ").append(buf).append("\n");
}

void head(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void simple(std::string& out, std::string_view name, std::string_view type, std::string_view help,
            double v) {
  head(out, name, type, help);
  line(out, name, "", v);
}

// Label values here are our own words (prefixes, message types): [a-z-A-Z_],
// but escape anyway as the format requires.
std::string label(std::string_view key, std::string_view value) {
  std::string out(key);
  out += "=\"";
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

}  // namespace

void Histogram::observe(double seconds) {
  for (size_t i = 0; i < kBounds.size(); ++i) {
    if (seconds <= kBounds[i]) {
      ++buckets[i];
      break;
    }
  }
  ++count;
  sum += seconds;
}

void Metrics::refused(std::string_view message) {
  const size_t colon = message.find(':');
  std::string_view prefix =
      colon == std::string_view::npos ? std::string_view("other") : message.substr(0, colon);
  if (prefix.size() > 32) prefix = "other";
  ++events_refused[std::string(prefix)];
}

void Metrics::restore(std::string_view name, uint64_t value) {
  if (name.rfind("refused:", 0) == 0) {
    events_refused[std::string(name.substr(8))] += value;
  } else if (name.rfind("in:", 0) == 0) {
    messages_in[std::string(name.substr(3))] += value;
  } else if (name.rfind("host_error:", 0) == 0) {
    host_errors[std::string(name.substr(11))] += value;
  } else {
    for_each_counter([&](const std::string& n, uint64_t& v) {
      if (n == name) v += value;
    });
  }
}

std::string render_metrics(const Metrics& m, const Gauges& g) {
  std::string out;
  simple(out, "nostr_relay_connections", "gauge", "Open WebSocket connections.",
         static_cast<double>(g.connections));
  simple(out, "nostr_relay_subscriptions", "gauge", "Open subscriptions.",
         static_cast<double>(g.subscriptions));
  simple(out, "nostr_relay_pending_events", "gauge", "Verified events waiting for storage.",
         static_cast<double>(g.pending_events));
  simple(out, "nostr_relay_wasm_heap_bytes", "gauge",
         "Size of the engine's memory (wasm linear memory).", static_cast<double>(g.memory_bytes));
  simple(out, "nostr_relay_connections_opened_total", "counter", "Connections admitted.",
         static_cast<double>(m.connections_opened));
  simple(out, "nostr_relay_connections_refused_total", "counter",
         "Connections refused at admission (blocked, maintenance, limits).",
         static_cast<double>(m.connections_refused));
  simple(out, "nostr_relay_events_accepted_total", "counter",
         "Events accepted (OK true, newly stored or broadcast).",
         static_cast<double>(m.events_accepted));
  simple(out, "nostr_relay_events_duplicate_total", "counter",
         "Events answered OK true as duplicates.", static_cast<double>(m.events_duplicate));
  head(out, "nostr_relay_events_refused_total", "counter",
       "Events refused (OK false), by reason prefix.");
  for (const auto& [prefix, n] : m.events_refused) {
    line(out, "nostr_relay_events_refused_total", label("reason", prefix), static_cast<double>(n));
  }
  head(out, "nostr_relay_messages_in_total", "counter", "Client messages received, by type.");
  for (const auto& [type, n] : m.messages_in)
    line(out, "nostr_relay_messages_in_total", label("type", type), static_cast<double>(n));
  simple(out, "nostr_relay_messages_out_total", "counter", "Frames sent to clients.",
         static_cast<double>(g.frames_out));
  simple(out, "nostr_relay_reqs_refused_total", "counter", "REQ/COUNT refused with CLOSED.",
         static_cast<double>(m.reqs_refused));
  simple(out, "nostr_relay_rate_limited_total", "counter", "Messages refused by rate limits.",
         static_cast<double>(m.rate_limited));
  simple(out, "nostr_relay_rate_limit_disconnects_total", "counter",
         "Connections closed for continuing past rate-limit refusals.",
         static_cast<double>(m.rate_disconnects));
  simple(out, "nostr_relay_admin_requests_total", "counter", "NIP-86 management requests.",
         static_cast<double>(m.admin_requests));
  simple(out, "nostr_relay_admin_unauthorized_total", "counter",
         "NIP-86 requests refused with 401.", static_cast<double>(m.admin_refused));
  simple(out, "nostr_relay_hibernation_wakes_total", "counter",
         "Times the relay object started (first start and every wake).",
         static_cast<double>(m.wakes));
  simple(out, "nostr_relay_forwarded_events_total", "counter",
         "Events sent to other relay objects whose subscriptions may match them (one per object).",
         static_cast<double>(m.forwarded_events));
  simple(out, "nostr_relay_forward_requests_total", "counter",
         "Requests to other relay objects (batches of events).",
         static_cast<double>(m.forward_requests));
  simple(out, "nostr_relay_delivered_events_total", "counter",
         "Events from other relay objects fanned out here.",
         static_cast<double>(m.delivered_events));
  simple(out, "nostr_relay_interest_publications_total", "counter",
         "Summaries of this object's subscriptions published for the other objects.",
         static_cast<double>(m.interest_publications));
  simple(out, "nostr_relay_retention_pruned_events_total", "counter",
         "Events deleted by retention (after archiving).", static_cast<double>(m.retention_pruned));
  simple(out, "nostr_relay_retention_archives_total", "counter", "Archive objects retention wrote.",
         static_cast<double>(m.retention_archives));
  simple(out, "nostr_relay_retention_failures_total", "counter",
         "Retention runs stopped by a storage or archive failure.",
         static_cast<double>(m.retention_failures));
  head(out, "nostr_relay_host_errors_total", "counter",
       "Host bugs the engine caught (a completion for an unknown token or of the wrong kind).");
  for (const auto& [kind, n] : m.host_errors)
    line(out, "nostr_relay_host_errors_total", label("kind", kind), static_cast<double>(n));
  const Histogram& h = m.store_latency;
  head(out, "nostr_relay_store_seconds", "histogram",
       "Latency of store (D1) batches, measured by the host.");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < Histogram::kBounds.size(); ++i) {
    cumulative += h.buckets[i];
    char le[32];
    std::snprintf(le, sizeof le, "%g", Histogram::kBounds[i]);
    line(out, "nostr_relay_store_seconds_bucket", label("le", le), static_cast<double>(cumulative));
  }
  line(out, "nostr_relay_store_seconds_bucket", label("le", "+Inf"), static_cast<double>(h.count));
  line(out, "nostr_relay_store_seconds_sum", "", h.sum);
  line(out, "nostr_relay_store_seconds_count", "", static_cast<double>(h.count));
  return out;
}

}  // namespace nostr::durable
