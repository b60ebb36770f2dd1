#include "server/tools.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>

#include "core/filter.h"
#include "core/read_plan.h"
#include "core/results.h"
#include "core/sql.h"
#include "core/text.h"
#include "durable/relay.h"
#include "server/database.h"
#include "server/perform.h"

namespace nostr::server {
namespace {

uint64_t unix_now() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

bool open_db(const Loaded& cfg, sqlite::SqliteDb& db, std::string& error) {
  return open_database(db, cfg.server.database, error);
}

bool run(sqlite::SqliteDb& db, const SqlStatement& st, std::vector<ResultSet>& rs, std::string& out,
         std::string& error) {
  if (!db.run_one(st, out, error)) return false;
  rs.clear();
  if (!parse_results(out, rs) || rs.size() != 1) {
    error = "unreadable results";
    return false;
  }
  return true;
}

}  // namespace

int run_export(const Loaded& cfg, const std::string& filter_json, std::FILE* out,
               std::string& error) {
  sqlite::SqliteDb db;
  if (!open_db(cfg, db, error)) return 1;
  simdjson::dom::parser parser;
  auto f =
      CompiledFilter::parse(parser, filter_json.empty() ? "{}" : filter_json, cfg.relay.limits);
  if (!f) {
    error = "filter: " + f.error().wire_message();
    return 2;
  }
  const uint64_t now = unix_now();
  constexpr uint32_t kPage = 5000;
  std::optional<NegCursor> after;
  std::vector<ResultSet> rs;
  std::string buf;
  uint64_t written = 0;
  for (;;) {
    // The same pages a negentropy sync reads: (created_at, id) ascending.
    auto page = plan_neg_page(f.value(), now, {}, after, kPage);
    if (!page) {
      error = "filter: " + page.error().wire_message();
      return 2;
    }
    if (!run(db, page.value(), rs, buf, error)) return 1;
    const uint32_t rows = rs[0].rows;
    if (rows == 0) break;
    std::vector<EventId> ids;
    for (uint32_t i = 0; i < rows; ++i) {
      if (auto id = EventId::from_hex(rs[0].cell(i, 1))) ids.push_back(*id);
    }
    uint64_t t = 0;
    (void)parse_decimal(rs[0].cell(rows - 1, 0), t);
    after = NegCursor{t, ids.back()};
    // plan_fetch answers in no order: print in the page's order.
    std::vector<ResultSet> raws;
    std::string buf2;
    if (!run(db, plan_fetch(ids), raws, buf2, error)) return 1;
    std::unordered_map<std::string, std::string_view> by_id;
    for (uint32_t i = 0; i < raws[0].rows; ++i)
      by_id.emplace(std::string(raws[0].cell(i, 0)), raws[0].cell(i, 1));
    for (const EventId& id : ids) {
      auto it = by_id.find(id.hex());
      if (it == by_id.end()) continue;
      std::fwrite(it->second.data(), 1, it->second.size(), out);
      std::fputc('\n', out);
      ++written;
    }
    if (rows < kPage) break;
  }
  std::fflush(out);
  std::fprintf(stderr, "exported %llu events\n", static_cast<unsigned long long>(written));
  return 0;
}

namespace {

// Feeds lines to an in-process engine as EVENT frames on one connection and
// runs its store batches on the database: the same validation, policy and
// write path as a client's EVENTs, without a socket.
class Importer {
 public:
  Importer(const Loaded& cfg, sqlite::SqliteDb& db) : relay_(import_config(cfg.relay)), db_(db) {}

  void start() {
    (void)relay_.open_local(1, replies_, unix_now());
    relay_.restore(unix_now());
    perform();
  }
  void event(const std::string& line) {
    relay_.frame(1, "[\"EVENT\"," + line + "]", /*padded=*/false, unix_now());
    ++in_flight_;
    perform();
    if (in_flight_ >= 32) flush();  // the engine's per-connection pending cap
  }
  void flush() {
    while (!stores_.empty()) {
      auto [token, stmts] = std::move(stores_.front());
      stores_.erase(stores_.begin());
      std::string out, err;
      const bool ok = db_.run_batch(stmts, out, err);
      relay_.store_done(token, ok, ok ? out : err, unix_now());
      perform();
    }
  }
  uint64_t accepted = 0, duplicate = 0, refused = 0, failed = 0;
  std::string last_refusal;

 private:
  static RelayConfig import_config(RelayConfig c) {
    c.rate_limits = RateLimits::unlimited();
    c.limits.created_at_lower_limit = 0;  // archives are old by nature
    return c;
  }
  // The engine's actions, performed by the server's performer
  // (server/perform.h) through these hooks; there are no sockets.
  struct Hooks {
    Importer& im;
    void on_send(uint32_t, std::string) {}  // replies come typed, to replies_
    void on_store(uint32_t token, std::vector<SqlStatement> stmts) {
      im.stores_.emplace_back(token, std::move(stmts));
    }
    sqlite::SqliteDb& local_db() { return im.local_; }
    void on_local_sql_error(const std::string&) {}  // the import's own state only
  };
  void perform() {
    Hooks hooks{*this};
    perform_actions(relay_, hooks, unix_now());
  }
  // What happened to each line: its OK (a refusal's code says which kind), or
  // a NOTICE for a line that is not even an event.
  struct Replies final : durable::ReplySink {
    explicit Replies(Importer& i) : im(i) {}
    void on(const durable::Reply& r) override {
      if (const auto* ok = std::get_if<durable::OkReply>(&r)) {
        --im.in_flight_;
        if (ok->accepted) {
          (ok->why.code == Code::duplicate ? im.duplicate : im.accepted)++;
        } else if (code_prefix(ok->why.code) == Prefix::error) {
          ++im.failed;
        } else {
          ++im.refused;
          im.last_refusal = durable::message_text(ok->why);
        }
      } else if (const auto* notice = std::get_if<durable::NoticeReply>(&r)) {
        --im.in_flight_;
        ++im.refused;
        im.last_refusal = durable::message_text(notice->why);
      }
    }
    Importer& im;
  };
  durable::Relay relay_;
  sqlite::SqliteDb& db_;
  sqlite::SqliteDb local_;
  std::vector<std::pair<uint32_t, std::vector<SqlStatement>>> stores_;
  int in_flight_ = 0;
  Replies replies_{*this};
};

}  // namespace

int run_import(const Loaded& cfg, std::FILE* in, std::string& error) {
  sqlite::SqliteDb db;
  if (!open_db(cfg, db, error)) return 1;
  Importer imp(cfg, db);
  imp.start();
  const bool tty = isatty(fileno(stderr)) != 0;
  std::string line;
  uint64_t lines = 0;
  int c;
  auto take = [&] {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) {
      imp.event(line);
      ++lines;
      if (tty && lines % 1000 == 0) {
        std::fprintf(stderr, "\r%llu lines: %llu accepted, %llu duplicate, %llu refused",
                     static_cast<unsigned long long>(lines),
                     static_cast<unsigned long long>(imp.accepted),
                     static_cast<unsigned long long>(imp.duplicate),
                     static_cast<unsigned long long>(imp.refused));
      }
    }
    line.clear();
  };
  while ((c = std::fgetc(in)) != EOF) {
    if (c == '\n') {
      take();
    } else {
      line += static_cast<char>(c);
    }
  }
  take();
  imp.flush();
  if (tty) std::fprintf(stderr, "\n");
  std::printf(
      "{\"lines\":%llu,\"accepted\":%llu,\"duplicate\":%llu,\"refused\":%llu,\"failed\":%llu}\n",
      static_cast<unsigned long long>(lines), static_cast<unsigned long long>(imp.accepted),
      static_cast<unsigned long long>(imp.duplicate), static_cast<unsigned long long>(imp.refused),
      static_cast<unsigned long long>(imp.failed));
  if (imp.refused > 0) std::fprintf(stderr, "last refusal: %s\n", imp.last_refusal.c_str());
  return imp.failed > 0 ? 1 : 0;
}

}  // namespace nostr::server
