// Test support: the host driver of the simulated host (sim_host.h) and the
// fuzzer (tests/fuzz/fuzz_relay.cpp). Actions are performed by the native
// server's own performer (server/perform.h):
//   Send / Fanout      -> host.on_send(conn, frame), one frame per target;
//   Store              -> host.on_store(token, stmts) (the host completes it
//                         later with Relay::store_done, as D1 does);
//   LocalSql           -> run now on host.local_db(); with a token, its rows go
//                         back in as input (Relay::local_sql_done) and the
//                         actions that input leaves are performed before the rest;
//   SaveConnState      -> host.on_save_conn_state(conn, state);
//   Close              -> host.on_close(conn, code, reason);
//   Forward            -> host.on_forward(peer, events), if the host has it.
// A LocalSql statement that fails is reported to host.on_local_sql_error(err).
#pragma once

#include <string>
#include <utility>
#include <variant>

#include "durable/relay.h"
#include "server/perform.h"
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

// The one C++ performer (server/perform.h), as the server uses it.
using server::perform_actions;

}  // namespace nostr::test
