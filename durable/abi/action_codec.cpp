#include "durable/abi/action_codec.h"

#include <cstring>
#include <string_view>

namespace nostr::durable {
namespace {

class RecordWriter {
 public:
  explicit RecordWriter(std::string& out) : out_(out) {}

  void u32(uint32_t v) {
    const char b[4] = {static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16),
                       static_cast<char>(v >> 24)};
    out_.append(b, 4);
  }
  void pad() {
    while (out_.size() % 4) out_.push_back('\0');
  }
  // u32 len, bytes, padding.
  void sized(std::string_view bytes) {
    u32(static_cast<uint32_t>(bytes.size()));
    out_.append(bytes);
    pad();
  }
  // Header and payload of a record whose payload is one string.
  void record(ActionType type, uint32_t a, uint32_t b, std::string_view payload) {
    u32(static_cast<uint32_t>(type));
    u32(a);
    u32(b);
    sized(payload);
  }

  void operator()(const Send& s) { record(ActionType::send, s.conn, 0, s.text); }
  // Statements cross the wasm boundary as JSON ({"stmts":[{"sql","params"}..]}
  // and {"sql","params"}): what D1's and DO SQLite's bind() take.
  void operator()(const Store& s) { record(ActionType::store, s.token, 0, batch_json(s.stmts)); }
  void operator()(const LocalSql& s) {
    std::string json;
    append_statement_json(json, s.stmt);
    record(ActionType::local_sql, s.token, 0, json);
  }
  void operator()(const SaveConnState& s) {
    record(ActionType::save_conn_state, s.conn, 0, s.state);
  }
  void operator()(const Close& c) { record(ActionType::close, c.conn, c.code, c.reason); }
  // Headers ("Name: value" lines), an empty line, then the body.
  void operator()(const HttpReply& h) {
    std::string payload;
    for (const auto& [name, value] : h.headers) payload += name + ": " + value + "\n";
    payload += '\n';
    payload += h.body;
    record(ActionType::http_reply, h.request, h.status, payload);
  }
  void operator()(const Log& l) { record(ActionType::log, 0, 0, l.line); }
  // The peer's name, a newline, then the events (names never hold a newline).
  void operator()(const Forward& f) { record(ActionType::forward, 0, 0, f.peer + "\n" + f.events); }
  // The key, a newline, then the body (keys never hold a newline).
  void operator()(const Archive& a) {
    record(ActionType::archive, a.token, 0, a.key + "\n" + a.body);
  }
  void operator()(const Fanout& f) {
    u32(static_cast<uint32_t>(ActionType::fanout));
    u32(static_cast<uint32_t>(f.targets.size()));
    u32(0);
    const size_t len_at = out_.size();
    u32(0);  // payload length, patched below
    const size_t start = out_.size();
    sized(f.raw);
    for (const auto& t : f.targets) {
      u32(t.conn);
      sized(t.prefix);
    }
    const auto len = static_cast<uint32_t>(out_.size() - start);
    for (int i = 0; i < 4; ++i) out_[len_at + i] = static_cast<char>(len >> (8 * i));
  }

 private:
  std::string& out_;
};

}  // namespace

void encode_actions(const std::vector<Action>& actions, std::string& out) {
  RecordWriter w(out);
  for (const Action& a : actions) std::visit(w, a);
}

}  // namespace nostr::durable
