// The HTTP API (POST /api/v1/events, POST /api/v1/query, GET
// /api/v1/events/{id}): each call is served through an internal connection,
// so every rule a WebSocket client meets (policy, validation, rate limits,
// budgets, gift-wrap privacy) applies unchanged; its frames become one
// HttpReply.
#include <algorithm>

#include "core/address.h"
#include "core/json_writer.h"
#include "durable/relay.h"
#include "durable/relay_internal.h"

namespace nostr::durable {
namespace {

// Internal connections carry this bit: hosts number sockets from 1 upwards.
constexpr uint32_t kHttpConnBit = 0x80000000u;

std::string error_json(std::string_view message) {
  return JsonObjectWriter().string("error", message).finish();
}

// The HTTP status for a NIP-01 refusal message, by its prefix.
uint32_t status_for(std::string_view message) {
  auto has = [&](std::string_view p) { return message.substr(0, p.size()) == p; };
  if (has("rate-limited:")) return 429;
  if (has("blocked:") || has("restricted:") || has("auth-required:") || has("pow:")) return 403;
  if (has("error:")) return 503;
  return 400;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\n' || s.front() == '\r' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

// The string at msg[i], or "" if it is not one.
std::string_view str_at(simdjson::dom::array msg, size_t i) {
  std::string_view s;
  return msg.at(i).get_string().get(s) == simdjson::SUCCESS ? s : std::string_view();
}

}  // namespace

void Relay::http_api(uint32_t request, std::string_view method, std::string_view path,
                     std::string_view body, const ConnMeta& meta, uint64_t now) {
  const Entry entry{*this, now};
  auto reply = [&](uint32_t status, std::string json) {
    out_.http_reply(request, status, std::move(json));
  };
  if (body.size() > config_.limits.max_message_length) {
    return reply(
        413, error_json("invalid: the body is " + std::to_string(body.size()) +
                        " bytes, limit is " + std::to_string(config_.limits.max_message_length)));
  }
  HttpCall call{request, HttpCall::Kind::event, {}, 0};
  std::string frame;
  const std::string_view events = "/api/v1/events";
  if (method == "POST" && path == events) {
    frame = "[\"EVENT\"," + std::string(trim(body)) + "]";
  } else if (method == "POST" && path == "/api/v1/query") {
    const std::string_view b = trim(body);
    if (b.size() < 2 || b.front() != '[' || b.back() != ']' ||
        trim(b.substr(1, b.size() - 2)).empty()) {
      return reply(400,
                   error_json("invalid: the body must be a JSON array of one or more filters"));
    }
    call.kind = HttpCall::Kind::query;
    frame = "[\"REQ\",\"api\"," + std::string(b.substr(1, b.size() - 2)) + "]";
  } else if (method == "GET" && path.substr(0, events.size() + 1) == "/api/v1/events/") {
    const std::string_view id = path.substr(events.size() + 1);
    if (!EventId::from_hex(id))
      return reply(400, error_json("invalid: the event id must be 64 lowercase hex characters"));
    call.kind = HttpCall::Kind::get;
    frame = "[\"REQ\",\"api\",{\"ids\":[\"" + std::string(id) + "\"]}]";
  } else {
    return reply(404, error_json("no such API endpoint"));
  }
  const std::string key = address_key(meta.ip);
  ApiSlots::Call waiting{request, static_cast<uint8_t>(call.kind), std::move(frame), meta};
  switch (api_slots_.admit(key, waiting, now)) {
    case ApiSlots::Admit::start:
      return start_http_call(key, std::move(call), waiting.frame, meta, now);
    case ApiSlots::Admit::waiting:
      return;
    case ApiSlots::Admit::full:
      return reply(429,
                   error_json("rate-limited: too many API calls in progress, try again shortly"));
    case ApiSlots::Admit::address_full:
      return reply(429, error_json("rate-limited: too many API calls in progress from this "
                                   "address, try again shortly"));
  }
}

void Relay::start_http_call(const std::string& key, HttpCall call, std::string_view frame,
                            const ConnMeta& meta, uint64_t now) {
  const uint32_t request = call.request;
  const uint32_t conn = kHttpConnBit | (++http_seq_ & ~kHttpConnBit);
  http_calls_[conn] = std::move(call);
  if (!open(conn, "", "", now, meta)) {
    http_calls_.erase(conn);
    out_.http_reply(request, 503, error_json("error: try again"));
    return;
  }
  const ConnBuckets& shared = api_slots_.started(key, conn);
  if (auto c = conns_.find(conn); c != conns_.end()) {
    c->second.buckets = shared;  // the address's calls share one connection's buckets
    frame_in(conn, frame, now);
  }
}

void Relay::end_http_call(uint32_t conn) {
  auto c = conns_.find(conn);
  api_slots_.ended(conn, c != conns_.end() ? &c->second.buckets : nullptr, now_);
}

void Relay::start_waiting_http_calls(uint64_t now) {
  while (auto next = api_slots_.next()) {
    ApiSlots::Call& w = next->second;
    HttpCall call{w.request, static_cast<HttpCall::Kind>(w.kind), {}, 0};
    start_http_call(next->first, std::move(call), w.frame, w.meta, now);
  }
}

void Relay::frame_in(uint32_t conn, std::string_view text, uint64_t now) {
  frame(conn, text, /*padded=*/false, now);
}

bool Relay::on_http_frame(uint32_t conn, std::string_view text) {
  auto it = http_calls_.find(conn);
  if (it == http_calls_.end()) return false;
  HttpCall& call = it->second;
  if (call.done) return true;
  auto finish = [&](uint32_t status, std::string body) {
    call.done = true;
    const bool events = call.kind == HttpCall::Kind::query && (status == 200 || status == 206);
    http_finished_.emplace_back(
        conn, make_http_reply(call.request, status, std::move(body),
                              events ? "application/x-ndjson" : "application/json"));
  };
  simdjson::dom::parser& p = parser_.json();
  simdjson::dom::array msg;
  std::string_view type;
  if (p.parse(text.data(), text.size()).get_array().get(msg) != simdjson::SUCCESS ||
      msg.size() < 2 || msg.at(0).get_string().get(type) != simdjson::SUCCESS) {
    return true;
  }
  std::string_view s;
  if (type == "AUTH") return true;  // the challenge every connection gets
  if (type == "NOTICE") {
    s = str_at(msg, 1);
    finish(status_for(s), error_json(s));
  } else if (type == "OK" && call.kind == HttpCall::Kind::event && msg.size() == 4) {
    bool accepted = false;
    const std::string_view id = str_at(msg, 1);
    if (msg.at(2).get_bool().get(accepted) != simdjson::SUCCESS) accepted = false;
    s = str_at(msg, 3);
    const bool duplicate = s.substr(0, 10) == "duplicate:";
    finish(accepted || duplicate ? 200 : status_for(s), JsonObjectWriter()
                                                            .string("id", id)
                                                            .boolean("accepted", accepted)
                                                            .string("message", s)
                                                            .finish());
  } else if (type == "EVENT" && call.kind != HttpCall::Kind::event) {
    // ["EVENT","api",<raw>]: the event's exact bytes, as a client would get them.
    const size_t prefix = std::string_view("[\"EVENT\",\"api\",").size();
    if (text.size() <= prefix + 1) return true;
    const std::string_view raw = text.substr(prefix, text.size() - prefix - 1);
    if (call.body.size() + raw.size() + 1 > kMaxHttpAnswer) {
      // Bounded: the answer so far, marked partial (narrow the filters or page by until).
      finish(206, std::move(call.body));
      return true;
    }
    call.body.append(raw);
    call.body += '\n';
    ++call.events;
  } else if (type == "EOSE") {
    if (call.kind == HttpCall::Kind::get) {
      if (call.events == 0) {
        finish(404, error_json("not found"));
        return true;
      }
      call.body.pop_back();  // one event: JSON, not NDJSON
    }
    finish(200, std::move(call.body));
  } else if (type == "CLOSED" && msg.size() == 3) {
    s = str_at(msg, 2);
    finish(status_for(s), error_json(s));
  }
  return true;
}

std::vector<Action> Relay::take_actions() {
  std::vector<Action> acts = out_.take();
  if (http_calls_.empty()) return acts;
  std::vector<Action> kept;
  kept.reserve(acts.size());
  for (Action& a : acts) {
    if (auto* s = std::get_if<Send>(&a)) {
      if (on_http_frame(s->conn, s->text)) continue;
    } else if (auto* f = std::get_if<Fanout>(&a)) {
      auto& t = f->targets;
      // An API query answers what was stored when it ran (a snapshot, within
      // its limit): live events are not part of it (found by the soak: an
      // answer over its limit).
      t.erase(
          std::remove_if(t.begin(), t.end(),
                         [&](const Fanout::Target& x) { return http_calls_.count(x.conn) != 0; }),
          t.end());
      if (t.empty()) continue;
    } else if (auto* c = std::get_if<Close>(&a)) {
      if (auto it = http_calls_.find(c->conn); it != http_calls_.end()) {
        if (!it->second.done) {
          it->second.done = true;
          http_finished_.emplace_back(
              c->conn,
              make_http_reply(it->second.request, status_for(c->reason), error_json(c->reason)));
        }
        continue;
      }
    } else if (auto* st = std::get_if<SaveConnState>(&a)) {
      if (http_calls_.count(st->conn)) continue;
    }
    kept.push_back(std::move(a));
  }
  // Finished calls: their reply, then their internal connection goes away.
  std::vector<std::pair<uint32_t, HttpReply>> finished = std::move(http_finished_);
  http_finished_.clear();
  for (auto& [conn, reply] : finished) {
    kept.emplace_back(std::move(reply));
    http_calls_.erase(conn);
    end_http_call(conn);
    close(conn);
  }
  if (!finished.empty()) start_waiting_http_calls(now_);
  if (!finished.empty()) {
    for (Action& a : take_actions()) kept.push_back(std::move(a));
  }
  return kept;
}

}  // namespace nostr::durable
