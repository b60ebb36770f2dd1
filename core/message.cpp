#include "core/message.h"

#include "core/relay_message.h"

#include <cmath>
#include <cstdlib>

#include "core/json_writer.h"
#include "core/negentropy.h"

namespace nostr {
namespace {

using simdjson::SUCCESS;
using simdjson::dom::element;

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

ParsedFrame fail(Code code, std::string text) {
  ParsedFrame r;
  r.error.reject = reject(code, std::move(text));
  return r;
}

ParsedFrame fail_ok(Reject rej, std::string event_id) {
  ParsedFrame r;
  r.error.reject = std::move(rej);
  if (!event_id.empty()) {
    r.error.reply = ReplyKind::ok;
    r.error.event_id = std::move(event_id);
  }
  return r;
}

ParsedFrame fail_closed(Reject rej, const SubId& sub, bool is_req) {
  ParsedFrame r;
  r.error.reject = std::move(rej);
  r.error.reply = ReplyKind::closed;
  r.error.sub_id = sub.str();
  r.error.ends_subscription = is_req;
  return r;
}

bool huge_number(std::string_view tok) {
  if (tok.size() < 4) return false;  // 3 characters always fit
  const bool integer = tok.find_first_of(".eE") == std::string_view::npos;
  if (integer) {
    std::string_view digits = tok;
    const bool negative = !digits.empty() && digits[0] == '-';
    if (negative) digits.remove_prefix(1);
    while (digits.size() > 1 && digits[0] == '0') digits.remove_prefix(1);
    if (digits.size() != 19 && digits.size() != 20) return digits.size() > 20;
    // Compare with the largest magnitude simdjson takes for this sign.
    const std::string_view max = negative ? "9223372036854775808" : "18446744073709551615";
    if (digits.size() != max.size()) return digits.size() > max.size();
    return digits > max;
  }
  const std::string copy(tok);
  const double v = std::strtod(copy.c_str(), nullptr);
  return std::isinf(v);
}

ParsedFrame success(ClientMessage m) {
  ParsedFrame r;
  r.message.emplace(std::move(m));
  return r;
}

// The "id" of a malformed event, if it is a printable string of 1..64 chars,
// so the client still gets an OK it can match to what it sent.
std::string salvage_event_id(element ev) {
  simdjson::dom::object obj;
  std::string_view id;
  if (ev.get_object().get(obj) != SUCCESS || obj["id"].get_string().get(id) != SUCCESS) return {};
  if (id.empty() || id.size() > 64) return {};
  for (const char c : id) {
    if (c < 0x21 || c > 0x7e) return {};
  }
  return std::string(id);
}

}  // namespace

std::optional<std::string> neutralize_huge_numbers(std::string_view f) {
  std::optional<std::string> out;
  size_t i = 0;
  while (i < f.size()) {
    const char c = f[i];
    if (c == '"') {
      for (++i; i < f.size() && f[i] != '"'; ++i) {
        if (f[i] == '\\') ++i;
      }
      ++i;
      continue;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      size_t end = i;
      while (end < f.size() && (f[end] == '-' || f[end] == '+' || f[end] == '.' || f[end] == 'e' || f[end] == 'E' ||
                                (f[end] >= '0' && f[end] <= '9'))) {
        ++end;
      }
      if (huge_number(f.substr(i, end - i))) {
        if (!out) out.emplace(f);
        out->replace(i, end - i, "null" + std::string(end - i - 4, ' '));
      }
      i = end;
      continue;
    }
    ++i;
  }
  return out;
}

std::optional<std::string_view> second_element_raw(std::string_view f) {
  size_t i = 0;
  auto skip_ws = [&] {
    while (i < f.size() && is_ws(f[i])) ++i;
  };
  auto expect = [&](char c) {
    skip_ws();
    if (i >= f.size() || f[i] != c) return false;
    ++i;
    return true;
  };
  if (!expect('[') || !expect('"')) return std::nullopt;
  while (i < f.size() && f[i] != '"') i += (f[i] == '\\') ? 2 : 1;
  if (i >= f.size()) return std::nullopt;
  ++i;  // closing quote
  if (!expect(',')) return std::nullopt;
  skip_ws();
  size_t end = f.size();
  while (end > i && is_ws(f[end - 1])) --end;
  if (end <= i || f[end - 1] != ']') return std::nullopt;
  --end;
  while (end > i && is_ws(f[end - 1])) --end;
  if (end <= i || f[i] != '{' || f[end - 1] != '}') return std::nullopt;
  return f.substr(i, end - i);
}

MessageParser::MessageParser(const Limits& limits)
    : limits_(limits), parser_(std::make_unique<simdjson::dom::parser>()) {
  // Depth is fixed at allocation; later growth keeps it.
  // An allocation failure here resurfaces as an error from the first parse().
  [[maybe_unused]] const auto err = parser_->allocate(4096, limits_.max_json_depth);
}

ParsedFrame MessageParser::parse(std::string_view frame, bool padded, size_t filter_budget) {
  if (frame.size() > limits_.max_message_length) {
    return fail(Code::message_too_large, "message is " + std::to_string(frame.size()) +
                                             " bytes, limit is " + std::to_string(limits_.max_message_length));
  }
  // simdjson skips a UTF-8 byte order mark; we refuse it, so the raw event
  // bytes we keep are always exactly the JSON that was verified.
  if (frame.size() >= 3 && frame.substr(0, 3) == "\xef\xbb\xbf") {
    return fail(Code::bad_json, "message must not start with a byte order mark");
  }
  element root;
  auto err = parser_->parse(frame.data(), frame.size(), !padded).get(root);
  std::string neutral;  // owns the frame when huge numbers were replaced
  if (err == simdjson::BIGINT_ERROR || err == simdjson::NUMBER_ERROR || err == simdjson::NUMBER_OUT_OF_RANGE) {
    if (auto n = neutralize_huge_numbers(frame)) {
      neutral = std::move(*n);
      frame = neutral;
      err = parser_->parse(frame.data(), frame.size(), true).get(root);
    }
  }
  if (err == simdjson::DEPTH_ERROR) return fail(Code::too_deep, "message is nested too deeply");
  if (err != SUCCESS) return fail(Code::bad_json, "could not parse message as JSON");

  simdjson::dom::array arr;
  if (root.get_array().get(arr) != SUCCESS) return fail(Code::not_array, "message must be a JSON array");
  const size_t n = arr.size();
  std::string_view type;
  if (n == 0 || arr.at(0).get_string().get(type) != SUCCESS) {
    return fail(Code::bad_message_type, "message must start with a type string");
  }

  auto sub_at = [&](size_t idx) -> std::optional<SubId> {
    std::string_view s;
    if (arr.at(idx).get_string().get(s) != SUCCESS) return std::nullopt;
    return SubId::make(s, limits_.max_subid_length);
  };
  const std::string bad_sub_text =
      "subscription id must be a string of 1-" + std::to_string(limits_.max_subid_length) +
      " characters without control characters";

  if (type == "EVENT" || type == "AUTH") {
    const bool is_event = type == "EVENT";
    if (n != 2) return fail(Code::wrong_arity, std::string(type) + " message must have exactly 2 elements");
    element ev = arr.at(1).value_unsafe();
    const auto raw = second_element_raw(frame);
    if (!raw && ev.is_object()) return fail(Code::bad_json, "could not locate the event in the message");
    auto parsed = Event::from_element(ev, raw.value_or(std::string_view()), limits_);
    if (!parsed) return fail_ok(std::move(parsed).take_error(), salvage_event_id(ev));
    if (is_event) return success(EventMessage{std::move(parsed).value()});
    return success(AuthMessage{std::move(parsed).value()});
  }

  if (type == "REQ" || type == "COUNT") {
    if (n < 2) return fail(Code::wrong_arity, std::string(type) + " message needs a subscription id");
    auto sub = sub_at(1);
    if (!sub) return fail(Code::bad_sub_id, bad_sub_text);
    if (n < 3) return fail_closed(reject(Code::no_filters, "at least one filter is required"), *sub, type == "REQ");
    if (n - 2 > limits_.max_filters) {
      return fail_closed(reject(Code::too_many_filters, "too many filters (limit is " +
                                                            std::to_string(limits_.max_filters) + ")"),
                         *sub, type == "REQ");
    }
    if (filter_budget != SIZE_MAX) {
      size_t cost = 0;
      for (size_t i = 2; i < n; ++i) cost += CompiledFilter::estimate_cost(arr.at(i).value_unsafe());
      if (cost > filter_budget) {
        return fail_closed(reject(Code::rate_limited, "these filters would take about " + std::to_string(cost) +
                                                          " bytes, more than this connection may hold (" +
                                                          std::to_string(filter_budget) + "); use fewer values"),
                           *sub, type == "REQ");
      }
    }
    std::vector<CompiledFilter> filters;
    filters.reserve(n - 2);
    for (size_t i = 2; i < n; ++i) {
      auto f = CompiledFilter::compile(arr.at(i).value_unsafe(), limits_);
      if (!f) return fail_closed(f.error(), *sub, type == "REQ");
      filters.push_back(std::move(f).value());
    }
    if (type == "REQ") return success(ReqMessage{std::move(*sub), std::move(filters)});
    return success(CountMessage{std::move(*sub), std::move(filters)});
  }

  if (type == "CLOSE") {
    if (n != 2) return fail(Code::wrong_arity, "CLOSE message must have exactly 2 elements");
    auto sub = sub_at(1);
    if (!sub) return fail(Code::bad_sub_id, bad_sub_text);
    return success(CloseMessage{std::move(*sub)});
  }

  if (type == "NEG-OPEN" || type == "NEG-MSG" || type == "NEG-CLOSE") {
    const size_t arity = type == "NEG-OPEN" ? 4 : type == "NEG-MSG" ? 3 : 2;
    if (n < 2) return fail(Code::wrong_arity, std::string(type) + " message needs a subscription id");
    auto sub = sub_at(1);
    if (!sub) return fail(Code::bad_sub_id, bad_sub_text);
    auto neg_err = [&](Reject rej) {
      ParsedFrame r;
      r.error.reject = std::move(rej);
      r.error.reply = ReplyKind::neg_err;
      r.error.sub_id = sub->str();
      r.error.ends_subscription = true;
      return r;
    };
    if (n != arity) {
      return neg_err(reject(Code::wrong_arity, std::string(type) + " message must have exactly " +
                                                   std::to_string(arity) + " elements"));
    }
    if (type == "NEG-CLOSE") return success(NegCloseMessage{std::move(*sub)});
    std::string_view hex;
    if (arr.at(n - 1).get_string().get(hex) != SUCCESS) {
      return neg_err(reject(Code::bad_negentropy, "negentropy message must be a hex string"));
    }
    auto bytes = neg::message_from_hex(hex);
    if (!bytes) return neg_err(bytes.error());
    if (type == "NEG-MSG") return success(NegMsgMessage{std::move(*sub), std::move(bytes).value()});
    if (filter_budget != SIZE_MAX && CompiledFilter::estimate_cost(arr.at(2).value_unsafe()) > filter_budget) {
      return neg_err(reject(Code::rate_limited, "this filter would take more than this connection may hold; use fewer values"));
    }
    auto f = CompiledFilter::compile(arr.at(2).value_unsafe(), limits_);
    if (!f) return neg_err(f.error());
    return success(NegOpenMessage{std::move(*sub), std::move(f).value(), std::move(bytes).value()});
  }

  const std::string shown(utf8_prefix(type, 32));
  return fail(Code::unknown_message_type, "unknown message type " + shown);
}

std::string reply_for(const MessageError& err) {
  const std::string text = err.reject.wire_message();
  switch (err.reply) {
    case ReplyKind::ok: return ok_message(err.event_id, false, text);
    case ReplyKind::closed: return closed_message(err.sub_id, text);
    case ReplyKind::neg_err: return neg_err_message(err.sub_id, text);
    case ReplyKind::notice: break;
  }
  return notice_message(text);
}

}  // namespace nostr
