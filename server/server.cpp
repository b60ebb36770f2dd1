#include "server/server.h"

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <random>
#include <unordered_map>
#include <variant>

#include "core/hex.h"
#include "durable/relay.h"
#include "edge/http.h"
#include "server/database.h"
#include "server/perform.h"
#include "server/proxy.h"
#include "server/store_worker.h"
#include "server/verify_pool.h"

namespace nostr::server {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// Bytes queued for one slow reader before it is disconnected: the relay
// already paces stored answers; this bounds live fan-out to a reader that
// stopped reading.
constexpr size_t kMaxQueuedBytes = 8u << 20;
// Frames read but not yet handed to the engine (waiting for verification,
// behind an EVENT that is, or held for the connection's write budget): past
// these a socket is not read until they drain, so TCP pushes back on the
// client instead of the server buffering without bound.
constexpr uint32_t kMaxPoolFramesPerConn = 64;
constexpr size_t kMaxPoolBytesPerConn = 4u << 20;
constexpr size_t kMaxPoolBytes = 32u << 20;  // all connections
// A frame longer than limits.max_message_length is read on in chunks of this
// size and dropped (the engine answers NOTICE; the socket stays usable);
// beyond kMaxFrameBytes (Cloudflare's limit) the socket is closed with 1009.
constexpr size_t kReadChunk = 64u << 10;
constexpr uint64_t kMaxFrameBytes = 32u << 20;
// Request bodies: NIP-86 calls (16 KiB) and API calls (the engine refuses
// more than limits.max_message_length, so one byte more is read at most).

uint64_t unix_now() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// Resident memory the process holds itself: RSS without file-backed pages.
// The database is memory-mapped (server/database.cpp): its pages in RSS are
// the kernel's page cache, shared and reclaimable, not memory the relay holds.
uint64_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0, shared = 0;
  statm >> size >> resident >> shared;
  return (resident - std::min(resident, shared)) * 4096;
}

class ServerImpl;

class WsSession : public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(ServerImpl& srv, tcp::socket socket, uint32_t conn)
      : srv_(srv), ws_(std::move(socket)), conn_(conn) {}
  void start(http::request<http::string_body> req, ClientView view);
  void send(std::string text);
  void close(uint16_t code, std::string reason);
  uint32_t conn() const { return conn_; }
  // Reads again after the server paused this socket (backpressure).
  void resume();

 private:
  void read();
  void write_next();
  ServerImpl& srv_;
  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
  std::deque<std::string> out_;
  size_t queued_ = 0;
  bool writing_ = false;
  bool closing_ = false;
  bool gone_ = false;
  bool paused_ = false;
  uint64_t dropping_ = 0;  // bytes of an oversized frame read and dropped so far
  websocket::close_reason close_reason_;
  uint32_t conn_;
};

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(ServerImpl& srv, tcp::socket socket) : srv_(srv), stream_(std::move(socket)) {}
  void start() { read(); }
  void reply(int status, std::vector<std::pair<std::string, std::string>> headers,
             std::string body);

 private:
  void read();
  void on_request();
  ServerImpl& srv_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::request<http::string_body> req_;
};

class ServerImpl final : public Server {
 public:
  ServerImpl(const Loaded& cfg, std::unique_ptr<sqlite::SqliteDb> store)
      : cfg_(cfg),
        acceptor_(ioc_),
        signals_(ioc_, SIGINT, SIGTERM),
        timer_(ioc_),
        relay_(cfg.relay) {
    store_ = std::make_unique<StoreWorker>(
        std::move(store), cfg.server.database, [this](StoreWorker::Done d) {
          net::post(ioc_, [this, d = std::move(d)]() mutable { on_store_done(std::move(d)); });
        });
    if (cfg.server.threads > 1) {
      pool_ = std::make_unique<VerifyPool>(cfg.server.threads, cfg.relay.limits, [this] {
        if (!drain_posted_.exchange(true)) net::post(ioc_, [this] { drain_pool(); });
      });
    }
  }

  int run() override {
    boost::system::error_code ec;
    const auto address = net::ip::make_address(cfg_.server.bind, ec);
    if (ec) return fail("bind address " + cfg_.server.bind + ": " + ec.message());
    const tcp::endpoint ep{address, cfg_.server.port};
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec)
      return fail("cannot listen on " + cfg_.server.bind + ":" + std::to_string(cfg_.server.port) +
                  ": " + ec.message());
    const uint16_t port = acceptor_.local_endpoint().port();
    const std::string host =
        address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
    std::printf("nostr relay listening on ws://%s:%u (database %s)\n", host.c_str(), port,
                cfg_.server.database.c_str());
    std::fflush(stdout);
    std::string db_error;
    if (!health_db_.open_file(cfg_.server.database, db_error)) return fail(db_error);
    sqlite3_busy_timeout(health_db_.handle(), 1000);
    relay_.restore(unix_now());
    perform();
    signals_.async_wait([this](const boost::system::error_code&, int) { shutdown(); });
    accept();
    ioc_.run();
    return 0;
  }

  // ---- used by the sessions
  uint32_t open_ws(const std::shared_ptr<WsSession>& s, const http::request<http::string_body>& req,
                   const ClientView& view) {
    ws_[s->conn()] = s;
    (void)relay_.open(s->conn(), challenge(), "", unix_now(), conn_meta(req, view));
    perform();
    return s->conn();
  }
  // What the engine knows of a client: the address and host from the client
  // view (server/proxy.h), Origin and User-Agent as sent.
  static ConnMeta conn_meta(const http::request<http::string_body>& req, const ClientView& view) {
    ConnMeta meta;
    meta.ip = view.ip;
    meta.origin = std::string(req[http::field::origin]);
    meta.user_agent = std::string(req[http::field::user_agent]);
    meta.host = view.host;
    return meta;
  }
  // Who sent `req` from TCP peer `peer` (trusted_proxies decides whether its
  // forwarding headers count).
  ClientView view_of(const http::request<http::string_body>& req, const std::string& peer) const {
    // Every line of a repeated header, in order, as one comma-separated list.
    auto all = [&req](beast::string_view name) {  // names compare case-insensitively
      std::string joined;
      for (auto [it, end] = req.equal_range(name); it != end; ++it) {
        if (it->value().empty()) continue;
        if (!joined.empty()) joined += ',';
        joined += std::string(it->value());
      }
      return joined;
    };
    const std::string xff = all("X-Forwarded-For"), fwd = all("Forwarded"),
                      xfh = all("X-Forwarded-Host"), xfp = all("X-Forwarded-Proto");
    ProxyHeaders h;
    h.host = req[http::field::host];
    h.x_forwarded_for = xff;
    h.forwarded = fwd;
    h.x_forwarded_host = xfh;
    h.x_forwarded_proto = xfp;
    return client_view(peer, h, cfg_.server.trusted_proxies);
  }
  // A frame read from a socket: verified on the pool first if there is one,
  // then handed to the engine (or held for the connection's write budget).
  void frame(uint32_t conn, std::string text) {
    if (stopping_) return;  // the socket closes with 1001 once writes finish
    auto& [frames, bytes] = unhandled_[conn];
    ++frames;
    bytes += text.size();
    unhandled_bytes_ += text.size();
    if (!pool_) {
      VerifyPool::Item it;
      it.conn = conn;
      it.frame = std::move(text);
      deliver(std::move(it), unix_now());
      return pump_held();
    }
    pool_->submit(conn, std::move(text));
    drain_pool();  // a frame with nothing ahead of it is handled at once
  }
  // Whether a socket may be read again, or must wait: for its frames to drain
  // (pool bounds), or for its events waiting for storage (the engine's write
  // budget). Pausing a socket whose budget is full, or whose frames are held
  // for it, keeps what is read from ever overflowing the budget: the client
  // is slowed by TCP instead of refused ("rate-limited: ... waiting to be
  // stored"), as a pipelining publisher expects.
  bool may_read(uint32_t conn) {
    const auto it = unhandled_.find(conn);
    const bool ok = unhandled_bytes_ < kMaxPoolBytes &&
                    (it == unhandled_.end() || (it->second.first < kMaxPoolFramesPerConn &&
                                                it->second.second < kMaxPoolBytesPerConn)) &&
                    held_.find(conn) == held_.end() && !budget_full(conn);
    if (!ok) paused_.push_back(conn);
    return ok;
  }
  void oversized(uint32_t conn, uint64_t size) {
    relay_.oversized_frame(conn, size);
    perform();
  }
  void closed(uint32_t conn) {
    if (ws_.erase(conn) == 0) return;
    if (pool_ && pool_->frames() > 0) {
      pool_->submit_close(conn);  // after the frames it sent before closing
      return;
    }
    if (auto h = held_.find(conn); h != held_.end()) {
      VerifyPool::Item it;  // after the frames held for its write budget
      it.conn = conn;
      it.closed = true;
      h->second.push_back(std::move(it));
      return;
    }
    relay_.close(conn);
    perform();
  }
  uint32_t next_conn() { return ++next_conn_; }
  void admin(const std::shared_ptr<HttpSession>& s, const std::string& url,
             const std::string& authorization, const std::string& body) {
    const uint32_t id = ++next_request_;
    admin_waiting_[id] = s;
    relay_.http_admin(id, url, authorization, body, unix_now());
    perform();
  }
  // The HTTP API: the engine answers (NDJSON for a query's events).
  void api(const std::shared_ptr<HttpSession>& s, const std::string& method,
           const std::string& path, const std::string& body, const ConnMeta& meta) {
    const uint32_t id = ++next_request_;
    admin_waiting_[id] = s;
    relay_.http_api(id, method, path, body, meta, unix_now());
    perform();
  }
  const Loaded& config() const { return cfg_; }
  // GET /health: whether the events database can be read (its own connection).
  bool database_answers() {
    std::string out, err;
    return health_db_.run_one({"SELECT version FROM mgmt_version", {}}, out, err);
  }
  durable::Relay& relay() { return relay_; }
  bool stopping() const { return stopping_; }

 private:
  int fail(const std::string& why) {
    std::fprintf(stderr, "nostr-relay-server: %s\n", why.c_str());
    return 1;
  }

  std::string challenge() {
    uint8_t b[16];
    for (auto& x : b) x = static_cast<uint8_t>(rng_());
    return to_hex(b, sizeof b);
  }

  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (stopping_) return;
      if (!ec) {
        // Small frames (OK, EOSE) must not wait for Nagle's algorithm: with
        // delayed ACKs every answer would take ~40 ms.
        boost::system::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        std::make_shared<HttpSession>(*this, std::move(socket))->start();
      }
      accept();
    });
  }

  // Performs the engine's actions (server/perform.h, as js-glue/engine.js
  // does on Workers) through these hooks. SaveConnState has none: a native
  // restart closes every socket, so there is nothing to keep.
  struct Hooks {
    ServerImpl& s;
    void on_send(uint32_t conn, std::string frame) {
      if (auto it = s.ws_.find(conn); it != s.ws_.end()) it->second->send(std::move(frame));
    }
    void on_store(uint32_t token, std::vector<SqlStatement> stmts) {
      ++s.stores_outstanding_;
      s.store_->submit(token, std::move(stmts));
    }
    sqlite::SqliteDb& local_db() { return s.local_; }
    void on_local_sql_error(const std::string& err) {
      std::fprintf(stderr, "local SQL failed: %s\n", err.c_str());
    }
    void on_close(uint32_t conn, uint32_t code, const std::string& reason) {
      if (auto it = s.ws_.find(conn); it != s.ws_.end())
        it->second->close(static_cast<uint16_t>(code), reason);
    }
    void on_http_reply(durable::HttpReply h) {
      if (auto it = s.admin_waiting_.find(h.request); it != s.admin_waiting_.end()) {
        // The engine's headers as they are: the Worker sends the same.
        it->second->reply(static_cast<int>(h.status), std::move(h.headers), std::move(h.body));
        s.admin_waiting_.erase(it);
      }
    }
    void on_archive(uint32_t token, const std::string& key, const std::string& body) {
      // Retention's archive: <database dir>/archive/<key>.jsonl (restore:
      // scripts/restore-archive --dir, or `import` of the files).
      const bool ok = s.write_archive(key, body);
      s.relay_.archive_done(token, ok, unix_now());
      perform_actions(s.relay_, *this, unix_now());
    }
    void on_log(std::string line) {
      std::printf("%s\n", line.c_str());
      std::fflush(stdout);
    }
  };
  void perform() {
    Hooks hooks{*this};
    perform_actions(relay_, hooks, unix_now());
    arm_timer();
  }

  bool write_archive(const std::string& key, const std::string& body) {
    namespace fs = std::filesystem;
    const fs::path dir = fs::path(cfg_.server.database).parent_path() / "archive";
    const fs::path file = dir / (key + ".jsonl");
    std::error_code ec;
    fs::create_directories(file.parent_path(), ec);
    const fs::path tmp = file.string() + ".tmp";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out.write(body.data(), static_cast<std::streamsize>(body.size()));
      if (!out.flush()) return false;
    }
    fs::rename(tmp, file, ec);
    if (ec) std::fprintf(stderr, "archive %s: %s\n", file.c_str(), ec.message().c_str());
    return !ec;
  }

  // A batch came back from the store worker (group commit: the engine's
  // next batch holds what arrived meanwhile).
  void on_store_done(StoreWorker::Done d) {
    --stores_outstanding_;
    relay_.observe_store_latency(d.seconds);
    if (!d.ok) std::fprintf(stderr, "store batch failed: %s\n", d.results.c_str());
    relay_.store_done(d.token, d.ok, d.results, unix_now());
    perform();
    pump_held();  // the batch freed write budget: held frames, paused sockets
    maybe_finish_shutdown();
  }

  // Hands verified frames to the engine in the order they were read.
  void drain_pool() {
    drain_posted_.store(false);
    const uint64_t now = unix_now();
    pool_->drain([this, now](VerifyPool::Item&& it) { deliver(std::move(it), now); });
    pump_held();
    maybe_finish_shutdown();
  }

  // Whether waiting for a store batch will give connection `conn` write budget:
  // its budget is full and a batch is in flight. With none in flight waiting
  // cannot help (a budget smaller than one event of max_event_size): the
  // engine then answers what it is handed (pump_held).
  bool budget_full(uint32_t conn) const {
    return stores_outstanding_ > 0 && relay_.write_budget_full(conn);
  }
  // Whether a finished frame takes write budget when handed over: an EVENT
  // that may be stored (a refused one does not; an ephemeral one is not stored).
  static bool needs_budget(const VerifyPool::Item& it) {
    if (it.closed || it.invalid) return false;
    if (it.verified) return it.verified->event().kind_class() != KindClass::ephemeral;
    return VerifyPool::is_event(it.frame);  // verified by the engine itself
  }
  // Hands a finished frame to the engine, or holds it: behind frames of its
  // connection already held (order), or while the connection's write budget
  // is full (relay_.write_budget_full), so the engine never refuses an event
  // for want of budget that the server had already read.
  void deliver(VerifyPool::Item&& it, uint64_t now) {
    if (auto h = held_.find(it.conn); h != held_.end()) {
      h->second.push_back(std::move(it));
      return;
    }
    if (needs_budget(it) && relay_.write_budget_full(it.conn)) {
      held_[it.conn].push_back(std::move(it));
      return;
    }
    hand(std::move(it), now);
  }
  void hand(VerifyPool::Item&& it, uint64_t now) {
    if (auto p = it.closed ? unhandled_.end() : unhandled_.find(it.conn); p != unhandled_.end()) {
      unhandled_bytes_ -= std::min(unhandled_bytes_, it.frame.size());
      if (--p->second.first == 0)
        unhandled_.erase(p);
      else
        p->second.second -= std::min(p->second.second, it.frame.size());
    }
    if (it.closed)
      relay_.close(it.conn);
    else if (it.verified)
      relay_.apply_verified(it.conn, std::move(*it.verified), now);
    else if (it.invalid)
      relay_.refuse_invalid(it.conn, *it.invalid, *it.why, now);  // not verified again
    else
      relay_.frame(it.conn, it.frame, /*padded=*/false, now);  // the engine's own answer
  }
  // Hands held frames over as far as budgets allow (round-robin between
  // connections, one frame each per turn), performs the engine's actions, and
  // reads paused sockets again that may be read.
  void pump_held() {
    const uint64_t now = unix_now();
    for (bool force = false; !held_.empty();) {
      for (bool progress = true; progress && !held_.empty();) {
        progress = false;
        for (auto h = held_.begin(); h != held_.end();) {
          if (!force && needs_budget(h->second.front()) && relay_.write_budget_full(h->first)) {
            ++h;
            continue;
          }
          VerifyPool::Item it = std::move(h->second.front());
          h->second.pop_front();
          h = h->second.empty() ? held_.erase(h) : std::next(h);
          hand(std::move(it), now);
          progress = true;
        }
        force = false;
      }
      perform();
      // A budget only frees when a store batch completes. With none in flight
      // waiting cannot help (a budget smaller than one event): let the engine
      // answer the next frame of each connection (it refuses what does not fit).
      if (held_.empty() || stores_outstanding_ > 0) break;
      force = true;
    }
    perform();
    // Sockets paused for backpressure read again once their frames drained
    // and their budget has room.
    std::vector<uint32_t> paused;
    paused.swap(paused_);
    for (uint32_t conn : paused) {
      if (auto w = ws_.find(conn); w != ws_.end()) w->second->resume();
    }
  }

  void arm_timer() {
    const uint64_t d = relay_.next_deadline(), a = relay_.next_alarm();
    const uint64_t due = d == 0 ? a : a == 0 ? d : std::min(d, a);
    if (due == armed_) return;
    armed_ = due;
    timer_.cancel();
    if (due == 0) return;
    const uint64_t now = unix_now();
    timer_.expires_after(std::chrono::seconds(due > now ? due - now : 0));
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      armed_ = 0;
      relay_.timer(unix_now());
      perform();
    });
  }

  void shutdown() {
    if (stopping_) return;
    stopping_ = true;
    std::printf("shutting down: finishing writes, closing sockets\n");
    std::fflush(stdout);
    boost::system::error_code ec;
    acceptor_.close(ec);
    maybe_finish_shutdown();
  }
  // Once events read before the signal are stored and answered: close.
  void maybe_finish_shutdown() {
    if (!stopping_ || closing_ || stores_outstanding_ > 0 || (pool_ && pool_->frames() > 0) ||
        !held_.empty())
      return;
    closing_ = true;
    std::vector<std::shared_ptr<WsSession>> open;
    for (auto& [conn, s] : ws_) open.push_back(s);
    for (auto& s : open) s->close(1001, "server shutting down");
    // Let the close handshakes go out, then stop.
    timer_.cancel();
    timer_.expires_after(std::chrono::milliseconds(500));
    timer_.async_wait([this](const boost::system::error_code&) { ioc_.stop(); });
  }

  Loaded cfg_;
  net::io_context ioc_{1};
  tcp::acceptor acceptor_;
  net::signal_set signals_;
  net::steady_timer timer_;
  uint64_t armed_ = 0;
  durable::Relay relay_;
  // After ioc_: destroyed first, so their threads stop before it goes.
  std::unique_ptr<StoreWorker> store_;
  std::unique_ptr<VerifyPool> pool_;
  std::atomic<bool> drain_posted_{false};
  // Per connection: frames and bytes read and not yet handed to the engine
  // (in the pool or held); and their bytes for all connections.
  std::unordered_map<uint32_t, std::pair<uint32_t, size_t>> unhandled_;
  size_t unhandled_bytes_ = 0;
  // Per connection: finished frames waiting for its write budget, in order.
  std::unordered_map<uint32_t, std::deque<VerifyPool::Item>> held_;
  std::vector<uint32_t> paused_;
  uint32_t stores_outstanding_ = 0;
  bool closing_ = false;
  sqlite::SqliteDb health_db_;  // GET /health's probe of the events database
  sqlite::SqliteDb local_;      // the engine's own state (a Durable Object's storage on Workers)
  std::unordered_map<uint32_t, std::shared_ptr<WsSession>> ws_;
  // HTTP requests the engine answers (NIP-86, the API), by request id.
  std::unordered_map<uint32_t, std::shared_ptr<HttpSession>> admin_waiting_;
  bool stopping_ = false;
  uint32_t next_conn_ = 0;
  uint32_t next_request_ = 0;
  std::random_device rng_;
};

// ------------------------------------------------------------------ WebSocket

void WsSession::start(http::request<http::string_body> req, ClientView view) {
  ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
  ws_.read_message_max(kMaxFrameBytes);
  auto self = shared_from_this();
  auto r = std::make_shared<http::request<http::string_body>>(std::move(req));
  ws_.async_accept(*r, [self, r, view = std::move(view)](boost::system::error_code ec) {
    if (ec) return;
    self->srv_.open_ws(self, *r, view);
    self->read();
  });
}

void WsSession::read() {
  ws_.async_read_some(
      buffer_, kReadChunk, [self = shared_from_this()](boost::system::error_code ec, size_t) {
        if (ec == websocket::error::message_too_big)
          self->srv_.oversized(self->conn_, self->dropping_ + self->buffer_.size());
        if (ec) {
          self->gone_ = true;
          self->srv_.closed(self->conn_);
          return;
        }
        // Never hold more than one frame's limit (+ a chunk) for a client.
        if (self->dropping_ > 0 ||
            self->buffer_.size() > self->srv_.config().relay.limits.max_message_length) {
          self->dropping_ += self->buffer_.size();
          self->buffer_.consume(self->buffer_.size());
        }
        if (!self->ws_.is_message_done()) return self->read();
        if (self->dropping_ > 0) {
          self->srv_.oversized(self->conn_, self->dropping_);
          self->dropping_ = 0;
        } else {
          std::string text = beast::buffers_to_string(self->buffer_.data());
          self->buffer_.consume(self->buffer_.size());
          self->srv_.frame(self->conn_, std::move(text));
        }
        if (self->gone_) return;
        if (self->srv_.may_read(self->conn_))
          self->read();
        else
          self->paused_ = true;
      });
}

void WsSession::resume() {
  if (!paused_ || gone_) return;
  if (!srv_.may_read(conn_)) return;  // still over a bound: paused again
  paused_ = false;
  read();
}

void WsSession::send(std::string text) {
  if (closing_ || gone_) return;
  queued_ += text.size();
  if (queued_ > kMaxQueuedBytes) {
    out_.clear();
    queued_ = 0;
    return close(1008, "rate-limited: this connection does not read what it asked for");
  }
  out_.push_back(std::move(text));
  if (!writing_) write_next();
}

void WsSession::close(uint16_t code, std::string reason) {
  if (closing_ || gone_) return;
  closing_ = true;
  close_reason_ =
      websocket::close_reason(static_cast<websocket::close_code>(code), reason.substr(0, 120));
  if (!writing_) write_next();
}

void WsSession::write_next() {
  if (out_.empty()) {
    writing_ = false;
    if (closing_ && !gone_) {
      gone_ = true;
      ws_.async_close(close_reason_, [self = shared_from_this()](boost::system::error_code) {
        self->srv_.closed(self->conn_);
      });
    }
    return;
  }
  writing_ = true;
  ws_.text(true);
  ws_.async_write(net::buffer(out_.front()),
                  [self = shared_from_this()](boost::system::error_code ec, size_t) {
                    if (!self->out_.empty()) {
                      self->queued_ -= std::min(self->queued_, self->out_.front().size());
                      self->out_.pop_front();
                    }
                    if (ec) {
                      self->writing_ = false;
                      self->gone_ = true;
                      self->srv_.closed(self->conn_);
                      return;
                    }
                    self->write_next();
                  });
}

// ----------------------------------------------------------------------- HTTP

void HttpSession::read() {
  parser_.emplace();
  parser_->body_limit(srv_.config().relay.limits.max_message_length + 1);
  stream_.expires_after(std::chrono::seconds(30));
  http::async_read(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](boost::system::error_code ec, size_t) {
        if (ec == http::error::body_limit)
          return self->reply(413, {{"Content-Type", "text/plain"}}, "request body too large");
        if (ec) return;
        self->req_ = self->parser_->release();
        self->on_request();
      });
}

void HttpSession::on_request() {
  edge::HttpRequest r;
  r.method = std::string(req_.method_string());
  const std::string target(req_.target());
  r.path = target.substr(0, target.find('?'));
  // The client (trusted_proxies decides whether forwarding headers count), and
  // the URL it reached: relay_url's when configured (NIP-98 `u` is then the
  // public URL, https behind a TLS proxy, whatever the Host header says).
  boost::system::error_code peer_ec;
  const auto peer = stream_.socket().remote_endpoint(peer_ec);
  ClientView view = srv_.view_of(req_, peer_ec ? std::string() : peer.address().to_string());
  const std::string& relay_url = srv_.config().relay.relay_url;
  r.origin_url = request_origin(relay_url, view);
  r.url = r.origin_url + target;
  auto lower = [](beast::string_view v) {
    std::string s(v);
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  r.accept = std::string(req_[http::field::accept]);
  r.upgrade = lower(req_[http::field::upgrade]);
  r.connection = lower(req_[http::field::connection]);
  r.websocket_key = std::string(req_[http::field::sec_websocket_key]);
  r.websocket_version = std::string(req_[http::field::sec_websocket_version]);
  r.authorization = std::string(req_[http::field::authorization]);
  r.content_type = std::string(req_[http::field::content_type]);
  r.now = unix_now();
  edge::EdgeOptions opts;
  opts.metrics_token = srv_.config().server.metrics_token;
  // NIP-11 texts set through NIP-86: the engine holds the management state
  // (the Worker reads the same settings from D1).
  durable::Relay& relay = srv_.relay();
  const ManagementState& mgmt = relay.management();
  edge::RelayOverrides overrides;
  if (!mgmt.name.empty()) overrides.name = mgmt.name;
  if (!mgmt.description.empty()) overrides.description = mgmt.description;
  if (!mgmt.icon.empty()) overrides.icon = mgmt.icon;
  edge::HttpResponse resp = edge::handle_request(r, srv_.config().relay, opts, overrides);
  if (resp.route == edge::Route::need_body) {
    r.body = req_.body();
    resp = edge::handle_request(r, srv_.config().relay, opts, overrides);
  }
  switch (resp.route) {
    case edge::Route::forward:
      if (websocket::is_upgrade(req_)) {
        if (srv_.stopping())
          return reply(503, {{"Content-Type", "text/plain"}}, "server shutting down");
        auto ws = std::make_shared<WsSession>(srv_, stream_.release_socket(), srv_.next_conn());
        ws->start(std::move(req_), std::move(view));
        return;
      }
      if (r.path.rfind("/api/v1/", 0) == 0)
        return srv_.api(shared_from_this(), r.method, r.path, req_.body(),
                        ServerImpl::conn_meta(req_, view));
      // An authorised NIP-86 call.
      return srv_.admin(shared_from_this(), r.url, r.authorization, req_.body());
    case edge::Route::stats:
      return reply(resp.status, std::move(resp.headers), relay.stats_json(rss_bytes()));
    case edge::Route::metrics:
      return reply(resp.status, std::move(resp.headers), relay.metrics_text(rss_bytes()));
    case edge::Route::health: {
      // As on Workers: {"ok","d1" (the events database answers), ...the engine's}.
      const bool db = srv_.database_answers();
      return reply(db ? 200 : 503, std::move(resp.headers), relay.health_report(db));
    }
    default:
      return reply(resp.status, std::move(resp.headers), std::move(resp.body));
  }
}

void HttpSession::reply(int status, std::vector<std::pair<std::string, std::string>> headers,
                        std::string body) {
  auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(status),
                                                                 req_.version());
  for (auto& [k, v] : headers) res->set(k, v);
  res->set(http::field::server, "nostr-relay-server");
  res->body() = std::move(body);
  res->keep_alive(req_.keep_alive());
  res->prepare_payload();
  http::async_write(stream_, *res,
                    [self = shared_from_this(), res](boost::system::error_code ec, size_t) {
                      if (ec || !res->keep_alive()) {
                        boost::system::error_code ignored;
                        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                        return;
                      }
                      self->read();
                    });
}

}  // namespace

std::unique_ptr<Server> Server::create(const Loaded& config, std::string& error) {
  auto store = std::make_unique<sqlite::SqliteDb>();
  if (!open_database(*store, config.server.database, error)) return nullptr;
  return std::make_unique<ServerImpl>(config, std::move(store));
}

}  // namespace nostr::server
