#include "core/limits.h"

#include "core/json_writer.h"

namespace nostr {

std::string check_limits(const Limits& l) {
  if (l.max_subid_length == 0 || l.max_subid_length > 64) return "max_subid_length must be 1-64";
  if (l.max_filters == 0) return "max_filters must be at least 1";
  // The socket attachment (16 KiB) must hold every login whatever else it holds.
  if (l.max_logins > 128) return "max_logins must be at most 128";
  if (l.max_query_page_bytes < l.max_event_size) {
    return "max_query_page_bytes must be at least max_event_size (a page holds at least one event)";
  }
  if (l.max_query_bytes_total < l.max_query_page_bytes) {
    return "max_query_bytes_total must be at least max_query_page_bytes";
  }
  if (l.max_queries_in_flight == 0) return "max_queries_in_flight must be at least 1";
  if (l.max_queries_in_flight_total < l.max_queries_in_flight) {
    return "max_queries_in_flight_total must be at least max_queries_in_flight";
  }
  if (l.max_query_output_rate < l.max_query_page_bytes) {
    return "max_query_output_rate must be at least max_query_page_bytes (one page per second)";
  }
  if (l.max_pending_event_bytes < l.max_event_size) return "max_pending_event_bytes must be at least max_event_size";
  if (l.max_pending_event_bytes_total < l.max_pending_event_bytes) {
    return "max_pending_event_bytes_total must be at least max_pending_event_bytes";
  }
  if (l.max_event_size < 1024) return "max_event_size must be at least 1024";
  if (l.min_pow_difficulty > 256) return "min_pow_difficulty must be at most 256";
  if (static_cast<uint64_t>(l.max_neg_records) * 48 > l.max_neg_bytes_total) {
    return "max_neg_bytes_total must hold at least one sync of max_neg_records (48 bytes each while loading)";
  }
  return {};
}

void write_nip11_limitation(JsonWriter& w, const Limits& l, bool auth_required,
                            bool payment_required, bool restricted_writes) {
  w.begin_object();
  w.key("max_message_length").uint(l.max_message_length);
  w.key("max_subscriptions").uint(l.max_subscriptions);
  w.key("max_filters").uint(l.max_filters);
  w.key("max_limit").uint(l.max_limit);
  w.key("default_limit").uint(l.default_limit);
  w.key("max_subid_length").uint(l.max_subid_length);
  w.key("max_event_tags").uint(l.max_event_tags);
  w.key("max_content_length").uint(l.max_content_length);
  w.key("min_pow_difficulty").uint(l.min_pow_difficulty);
  if (l.created_at_lower_limit) w.key("created_at_lower_limit").uint(l.created_at_lower_limit);
  if (l.created_at_upper_limit) w.key("created_at_upper_limit").uint(l.created_at_upper_limit);
  w.key("auth_required").boolean(auth_required);
  w.key("payment_required").boolean(payment_required);
  w.key("restricted_writes").boolean(restricted_writes);
  w.end_object();
}

}  // namespace nostr
