// perform_actions: the one C++ performer of the engine's actions, shared by
// the native server (server.cpp), the import tool (tools.cpp), the simulated
// host and the fuzzer (tests/support). It performs them in order, the way
// js-glue/engine.js does on Workers:
//   Send / Fanout   -> host.on_send(conn, frame), one frame per target;
//   Store           -> host.on_store(token, stmts) (the host completes it
//                      later with Relay::store_done, as D1 does);
//   LocalSql        -> run now on host.local_db(); with a token, its rows go
//                      back in (Relay::local_sql_done) and the actions that
//                      input leaves are performed before the rest; a failed
//                      statement goes to host.on_local_sql_error(error);
//   SaveConnState   -> host.on_save_conn_state(conn, state)     } each only if the
//   Close           -> host.on_close(conn, code, reason)   } host has the hook:
//   HttpReply       -> host.on_http_reply(reply)           } a host without one
//   Log             -> host.on_log(line)                   } has nothing to do
//   Forward         -> host.on_forward(peer, events)       } with the action
//   Archive         -> host.on_archive(token, key, body)   } (e.g. no sockets)
// Borrows the engine and the host for the call.
#pragma once

#include <string>
#include <utility>
#include <variant>

#include "durable/relay.h"
#include "server/sqlite_exec.h"

namespace nostr::server {

template <typename Host>
void perform_actions(durable::Relay& relay, Host& host, uint64_t now) {
  for (durable::Action& action : relay.take_actions()) {
    if (auto* s = std::get_if<durable::Send>(&action)) {
      host.on_send(s->conn, std::move(s->text));
    } else if (auto* f = std::get_if<durable::Fanout>(&action)) {
      for (auto& t : f->targets) host.on_send(t.conn, t.prefix + f->raw + "]");
    } else if (auto* st = std::get_if<durable::Store>(&action)) {
      host.on_store(st->token, std::move(st->stmts));
    } else if (auto* l = std::get_if<durable::LocalSql>(&action)) {
      std::string out, err;
      if (!host.local_db().run_one(l->stmt, out, err)) host.on_local_sql_error(err);
      if (l->token != 0) {
        relay.local_sql_done(l->token, out, now);
        perform_actions(relay, host, now);
      }
    } else if (auto* c = std::get_if<durable::SaveConnState>(&action)) {
      if constexpr (requires { host.on_save_conn_state(c->conn, std::move(c->state)); })
        host.on_save_conn_state(c->conn, std::move(c->state));
    } else if (auto* cl = std::get_if<durable::Close>(&action)) {
      if constexpr (requires { host.on_close(cl->conn, cl->code, cl->reason); })
        host.on_close(cl->conn, cl->code, cl->reason);
    } else if (auto* h = std::get_if<durable::HttpReply>(&action)) {
      if constexpr (requires { host.on_http_reply(std::move(*h)); })
        host.on_http_reply(std::move(*h));
    } else if (auto* lg = std::get_if<durable::Log>(&action)) {
      if constexpr (requires { host.on_log(std::move(lg->line)); })
        host.on_log(std::move(lg->line));
    } else if (auto* fw = std::get_if<durable::Forward>(&action)) {
      if constexpr (requires { host.on_forward(fw->peer, fw->events); })
        host.on_forward(fw->peer, fw->events);
    } else if (auto* a = std::get_if<durable::Archive>(&action)) {
      if constexpr (requires { host.on_archive(a->token, a->key, a->body); })
        host.on_archive(a->token, a->key, a->body);
    }
  }
}

}  // namespace nostr::server
