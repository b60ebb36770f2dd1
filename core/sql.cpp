#include "core/sql.h"

#include "core/json_writer.h"

namespace nostr {

namespace {

void write_statement(JsonWriter& w, const SqlStatement& st) {
  w.begin_object().key("sql").string(st.sql).key("params").begin_array();
  for (const SqlParam& p : st.params) {
    if (p.kind == SqlParam::Kind::null) {
      w.null();
    } else if (p.is_text()) {
      w.string(p.text);
    } else {
      w.integer(p.integer);
    }
  }
  w.end_array().end_object();
}

}  // namespace

void append_statement_json(std::string& out, const SqlStatement& st) {
  JsonWriter w;
  write_statement(w, st);
  out += w.take();
}

std::string batch_json(const std::vector<SqlStatement>& stmts) {
  JsonWriter w;
  w.begin_object().key("stmts").begin_array();
  for (const SqlStatement& st : stmts) write_statement(w, st);
  w.end_array().end_object();
  return w.take();
}

}  // namespace nostr
