#include "core/sql.h"

#include "core/json_writer.h"

namespace nostr {

void append_statement_json(std::string& out, const SqlStatement& st) {
  out += "{\"sql\":";
  append_json_string(out, st.sql);
  out += ",\"params\":[";
  for (size_t i = 0; i < st.params.size(); ++i) {
    if (i) out += ',';
    const SqlParam& p = st.params[i];
    if (p.kind == SqlParam::Kind::null) {
      out += "null";
    } else if (p.is_text()) {
      append_json_string(out, p.text);
    } else {
      if (p.integer < 0) out += '-';
      append_uint(out, p.integer < 0 ? static_cast<uint64_t>(-(p.integer + 1)) + 1
                                     : static_cast<uint64_t>(p.integer));
    }
  }
  out += "]}";
}

std::string batch_json(const std::vector<SqlStatement>& stmts) {
  std::string out = "{\"stmts\":[";
  for (size_t i = 0; i < stmts.size(); ++i) {
    if (i) out += ',';
    append_statement_json(out, stmts[i]);
  }
  out += "]}";
  return out;
}

}  // namespace nostr
