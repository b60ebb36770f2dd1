#include "durable/conn_state.h"

#include "core/json_writer.h"
#include "simdjson.h"

namespace nostr::durable {

std::string ConnState::to_json() const {
  JsonWriter w;
  w.begin_object();
  w.key("meta").raw(meta.to_json());
  w.key("challenge").string(challenge);
  w.key("authed").begin_array();
  for (const Pubkey& pk : authed) w.string(pk.hex());
  w.end_array();
  const Bucket* bs[] = {&buckets.event, &buckets.req, &buckets.refusals};
  if (buckets.event.used || buckets.req.used || buckets.refusals.used) {
    // [milli, at] per bucket; [] for one never charged.
    w.key("rl").begin_array();
    for (const Bucket* b : bs) {
      w.begin_array();
      if (b->used) w.uint(b->milli).uint(b->at);
      w.end_array();
    }
    w.end_array();
  }
  if (subs_in_local_sql) {
    w.key("sql").boolean(true);
  } else {
    w.key("subs").begin_array();
    for (const auto& [sub_id, filters_json] : subs)
      w.begin_array().string(sub_id).raw(filters_json).end_array();
    w.end_array();
  }
  w.end_object();
  return w.take();
}

ConnState ConnState::from_json(std::string_view json, size_t max_logins) {
  ConnState s;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(json.data(), json.size(), true).get(root) != simdjson::SUCCESS) return s;
  if (simdjson::dom::element m; root["meta"].get(m) == simdjson::SUCCESS)
    s.meta = ConnMeta::from_element(m);
  std::string_view ch;
  if (root["challenge"].get_string().get(ch) == simdjson::SUCCESS)
    s.challenge.assign(ch.substr(0, kMaxChallenge));
  simdjson::dom::array authed;
  if (root["authed"].get_array().get(authed) == simdjson::SUCCESS) {
    for (simdjson::dom::element pk : authed) {
      std::string_view hex;
      if (s.authed.size() >= max_logins || pk.get_string().get(hex) != simdjson::SUCCESS) continue;
      if (auto p = Pubkey::from_hex(hex)) s.authed.push_back(*p);
    }
  }
  simdjson::dom::array rl;
  if (root["rl"].get_array().get(rl) == simdjson::SUCCESS) {
    Bucket* bs[] = {&s.buckets.event, &s.buckets.req, &s.buckets.refusals};
    size_t i = 0;
    for (simdjson::dom::element b : rl) {
      if (i >= 3) break;
      uint64_t milli = 0, at = 0;
      if (b.at(0).get_uint64().get(milli) == simdjson::SUCCESS &&
          b.at(1).get_uint64().get(at) == simdjson::SUCCESS) {
        *bs[i] = Bucket{milli, at, true};
      }
      ++i;
    }
  }
  bool in_sql = false;
  if (root["sql"].get_bool().get(in_sql) == simdjson::SUCCESS) s.subs_in_local_sql = in_sql;
  simdjson::dom::array subs;
  if (root["subs"].get_array().get(subs) == simdjson::SUCCESS) {
    for (simdjson::dom::element entry : subs) {
      std::string_view id;
      simdjson::dom::array filters;
      if (entry.at(0).get_string().get(id) != simdjson::SUCCESS ||
          entry.at(1).get_array().get(filters) != simdjson::SUCCESS) {
        continue;
      }
      s.subs.emplace_back(std::string(id), simdjson::minify(filters));
    }
  }
  return s;
}

}  // namespace nostr::durable
