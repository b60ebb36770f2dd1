// Test support: the one C++ host driver. Performs a durable::Relay's actions
// the way js-glue/engine.js does, for the simulated host (sim_host.h) and the
// fuzzer (tests/fuzz/fuzz_relay.cpp):
//   Send / Fanout      -> host.on_send(conn, frame), one frame per target;
//   Store              -> host.on_store(token, stmts) (the host completes it
//                         later with Relay::store_done, as D1 does);
//   LocalSql           -> run now on host.local_db(); with a token, its rows go
//                         back in as input (Relay::local_sql_done) and the
//                         actions that input leaves are performed before the rest;
//   SaveConnState      -> host.on_conn_state(conn, state);
//   Close              -> host.on_close(conn, code, reason);
//   Forward            -> host.on_forward(peer, events), if the host has it.
// A LocalSql statement that fails is reported to host.on_local_sql_error(err).
#pragma once

#include <string>
#include <utility>
#include <variant>

#include "durable/relay.h"
#include "sqlite_exec.h"

namespace nostr::test {

template <typename... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <typename... F>
Overloaded(F...) -> Overloaded<F...>;

// Whether timed work of either kind (Relay::next_deadline: the glue's
// setTimeout; Relay::next_alarm: the Durable Object alarm) is due at `now`.
inline bool timer_due(const durable::Relay& relay, uint64_t now) {
  const uint64_t d = relay.next_deadline(), a = relay.next_alarm();
  return (d != 0 && d <= now) || (a != 0 && a <= now);
}

template <typename Host>
void perform_actions(durable::Relay& relay, Host& host, uint64_t now) {
  for (durable::Action& action : relay.take_actions()) {
    std::visit(
        Overloaded{
            [&](durable::Send& s) { host.on_send(s.conn, std::move(s.text)); },
            [&](durable::Fanout& f) {
              for (auto& t : f.targets) host.on_send(t.conn, t.prefix + f.raw + "]");
            },
            [&](durable::Store& s) { host.on_store(s.token, std::move(s.stmts)); },
            [&](durable::LocalSql& s) {
              std::string out, err;
              if (!host.local_db().run_one(s.stmt, out, err)) host.on_local_sql_error(err);
              if (s.token != 0) {
                relay.local_sql_done(s.token, out, now);
                perform_actions(relay, host, now);
              }
            },
            [&](durable::SaveConnState& c) { host.on_conn_state(c.conn, std::move(c.state)); },
            [&](durable::Close& c) { host.on_close(c.conn, c.code, c.reason); },
            [&](durable::HttpReply& h) {
              host.on_http_reply(h.request, h.status, std::move(h.body));
            },
            [&](durable::Log& l) { host.on_log(std::move(l.line)); },
            [&](durable::Forward& f) {
              if constexpr (requires { host.on_forward(f.peer, f.events); })
                host.on_forward(f.peer, f.events);
            },
            [&](durable::Archive& a) {
              if constexpr (requires { host.on_archive(a.token, a.key, a.body); })
                host.on_archive(a.token, a.key, a.body);
            },
        },
        action);
  }
}

}  // namespace nostr::test
