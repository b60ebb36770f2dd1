// ApiCall (durable/api_call.h) on its own: typed replies in, one HttpReply
// out, its status from the Reject code. No engine, no storage.
#include <doctest/doctest.h>

#include <string>

#include "durable/api_call.h"

using nostr::Code;
using nostr::reject;
using nostr::SubId;
using namespace nostr::durable;

namespace {
const std::string kId(64, 'a');
}

TEST_CASE("ApiCall: the HTTP status comes from the refusal's code, not its text") {
  CHECK(http_status(reject(Code::rate_limited, "x")) == 429);
  CHECK(http_status(reject(Code::blocked, "x")) == 403);
  CHECK(http_status(reject(Code::restricted, "x")) == 403);
  CHECK(http_status(reject(Code::auth_required, "x")) == 403);
  CHECK(http_status(reject(Code::pow_too_low, "x")) == 403);
  CHECK(http_status(reject(Code::storage_error, "x")) == 503);
  CHECK(http_status(reject(Code::bad_signature, "x")) == 400);
  CHECK(http_status(reject(Code::bad_filter, "x")) == 400);
  // A text that reads like another prefix changes nothing.
  CHECK(http_status(reject(Code::bad_json, "rate-limited: no")) == 400);
}

TEST_CASE("ApiCall: an event's OK ends the call; duplicates are 200; later replies are ignored") {
  ApiCall ok(7, ApiCall::Kind::event);
  auto r = ok.on(OkReply{kId, true, {}});
  REQUIRE(r);
  CHECK(r->request == 7);
  CHECK(r->status == 200);
  CHECK(r->body == R"({"id":")" + kId + R"(","accepted":true,"message":""})");
  CHECK_FALSE(ok.on(NoticeReply{reject(Code::bad_json, "late")}));
  CHECK_FALSE(ok.on_close(reject(Code::blocked, "late")));

  ApiCall dup(8, ApiCall::Kind::event);
  r = dup.on(OkReply{kId, false, reject(Code::duplicate, "a newer version is stored")});
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body.find(R"("accepted":false,"message":"duplicate: a newer)") != std::string::npos);

  ApiCall limited(9, ApiCall::Kind::event);
  CHECK_FALSE(limited.on(AuthReply{"challenge"}));  // not for the API
  r = limited.on(OkReply{kId, false, reject(Code::rate_limited, "slow down")});
  REQUIRE(r);
  CHECK(r->status == 429);
}

TEST_CASE(
    "ApiCall: a query collects NDJSON until EOSE, cut at kMaxAnswer (206); get is 404 or one "
    "event") {
  const SubId sub = *SubId::make("api");
  ApiCall q(1, ApiCall::Kind::query);
  CHECK_FALSE(q.on(EventReply{&sub, R"({"a":1})"}));
  CHECK_FALSE(q.on(EventReply{&sub, R"({"b":2})"}));
  auto r = q.on(EoseReply{&sub});
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == "{\"a\":1}\n{\"b\":2}\n");
  CHECK(r->headers[0].second == "application/x-ndjson");

  ApiCall big(2, ApiCall::Kind::query);
  const std::string raw(100 * 1024, 'x');
  std::optional<HttpReply> cut;
  size_t sent = 0;
  while (!cut && sent < 10) {
    cut = big.on(EventReply{&sub, raw});
    ++sent;
  }
  REQUIRE(cut);
  CHECK(cut->status == 206);
  CHECK(cut->body.size() <= ApiCall::kMaxAnswer);
  CHECK(cut->body.size() == (sent - 1) * (raw.size() + 1));

  ApiCall none(3, ApiCall::Kind::get);
  r = none.on(EoseReply{&sub});
  REQUIRE(r);
  CHECK(r->status == 404);
  CHECK(r->headers[0].second == "application/json");
  ApiCall one(4, ApiCall::Kind::get);
  CHECK_FALSE(one.on(EventReply{&sub, R"({"a":1})"}));
  r = one.on(EoseReply{&sub});
  REQUIRE(r);
  CHECK(r->body == R"({"a":1})");

  ApiCall refused(5, ApiCall::Kind::query);
  r = refused.on(ClosedReply{"api", reject(Code::auth_required, "log in")});
  REQUIRE(r);
  CHECK(r->status == 403);
  CHECK(r->body == R"({"error":"auth-required: log in"})");
  ApiCall closed(6, ApiCall::Kind::query);
  r = closed.on_close(reject(Code::blocked, "disconnected"));
  REQUIRE(r);
  CHECK(r->status == 403);
}
