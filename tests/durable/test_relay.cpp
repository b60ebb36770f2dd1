// The relay engine driven through a simulated host (tests/support/sim_host.h):
// real SQLite as D1 and as DO storage, a fake clock, deferred D1 completions.
#include <doctest/doctest.h>

#include <string>

#include "../support/signer.h"
#include "../support/sim_host.h"

using nostr::test::Signer;
using nostr::test::SimHost;

namespace {

std::string event_frame(const nostr::test::SignedEvent& e) { return "[\"EVENT\"," + e.json + "]"; }

std::string ok_frame(const std::string& id, bool ok, const std::string& msg) {
  return "[\"OK\",\"" + id + "\"," + (ok ? "true" : "false") + ",\"" + msg + "\"]";
}

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

size_t stored_count(SimHost& h) {
  std::string out, err;
  REQUIRE(h.d1().run_one({"SELECT COUNT(*) FROM events", {}}, out, err));
  return std::stoul(out.substr(20));
}

}  // namespace

TEST_CASE("a new connection gets a NIP-42 challenge") {
  SimHost h;
  h.connect(1);
  CHECK(h.take(1) == std::vector<std::string>{"[\"AUTH\",\"challenge-1\"]"});
}

TEST_CASE("EVENT: OK true only after the D1 batch committed; REQ returns it, then EOSE") {
  SimHost h;
  Signer alice(1);
  h.connect(1);
  h.take(1);
  const auto ev = alice.sign(1, h.now, {{"t", "nostr"}}, "hello \"world\"\n\u2028");
  h.send_async(1, event_frame(ev));
  CHECK(h.take(1).empty());  // nothing before the store completes
  CHECK(h.pending_d1() == 1);
  h.pump();
  CHECK(h.take(1) == std::vector<std::string>{ok_frame(ev.id, true, "")});
  CHECK(stored_count(h) == 1);

  h.send(1, "[\"REQ\",\"q\",{\"kinds\":[1]}]");
  const auto got = h.take(1);
  REQUIRE(got.size() == 2);
  CHECK(got[0] == "[\"EVENT\",\"q\"," + ev.json + "]");  // byte-exact raw JSON
  CHECK(got[1] == "[\"EOSE\",\"q\"]");
}

TEST_CASE("stored events come newest first, ties by lowest id, honouring limit") {
  SimHost h;
  Signer alice(2);
  h.connect(1);
  std::vector<nostr::test::SignedEvent> evs;
  for (int i = 0; i < 6; ++i) evs.push_back(alice.sign(1, h.now - 10 + static_cast<uint64_t>(i / 2), {}, "n" + std::to_string(i)));
  for (const auto& e : evs) h.send(1, event_frame(e));
  h.take(1);
  h.send(1, "[\"REQ\",\"q\",{\"authors\":[\"" + alice.pubkey() + "\"],\"limit\":3}]");
  const auto got = h.take(1);
  REQUIRE(got.size() == 4);
  // Newest pair (i = 4, 5) first, lower id first within it, then one of the next pair.
  const std::string a = evs[4].id < evs[5].id ? evs[4].json : evs[5].json;
  const std::string b = evs[4].id < evs[5].id ? evs[5].json : evs[4].json;
  const std::string c = evs[2].id < evs[3].id ? evs[2].json : evs[3].json;
  CHECK(got[0] == "[\"EVENT\",\"q\"," + a + "]");
  CHECK(got[1] == "[\"EVENT\",\"q\"," + b + "]");
  CHECK(got[2] == "[\"EVENT\",\"q\"," + c + "]");
  CHECK(got[3] == "[\"EOSE\",\"q\"]");
}

TEST_CASE("live fan-out: every matching subscription on every connection, once each") {
  SimHost h;
  Signer alice(3);
  h.connect(1);
  h.connect(2);
  h.connect(3);
  h.send(2, "[\"REQ\",\"s1\",{\"kinds\":[1]},{\"authors\":[\"" + alice.pubkey() + "\"]}]");
  h.send(2, "[\"REQ\",\"s2\",{\"#t\":[\"x\"]}]");
  h.send(3, "[\"REQ\",\"other\",{\"kinds\":[7]}]");
  h.take(1);
  h.take(2);
  h.take(3);
  const auto ev = alice.sign(1, h.now, {{"t", "x"}}, "hi");
  h.send(1, event_frame(ev));
  CHECK(h.take(1) == std::vector<std::string>{ok_frame(ev.id, true, "")});
  auto got = h.take(2);
  std::sort(got.begin(), got.end());
  CHECK(got == std::vector<std::string>{"[\"EVENT\",\"s1\"," + ev.json + "]", "[\"EVENT\",\"s2\"," + ev.json + "]"});
  CHECK(h.take(3).empty());
}

TEST_CASE("duplicates answer OK true duplicate, before and after hibernation") {
  SimHost h;
  Signer alice(4);
  h.connect(1);
  h.take(1);
  const auto ev = alice.sign(1, h.now, {}, "once");
  h.send(1, event_frame(ev));
  h.take(1);
  h.send_async(1, event_frame(ev));
  CHECK(h.pending_d1() == 0);  // answered from the recent-id set, no D1 work
  CHECK(h.take(1) == std::vector<std::string>{ok_frame(ev.id, true, "duplicate: already have this event")});
  h.hibernate_and_wake();
  h.send(1, event_frame(ev));  // recent ids are gone: D1 says it is a duplicate
  CHECK(h.take(1) == std::vector<std::string>{ok_frame(ev.id, true, "duplicate: already have this event")});
  CHECK(stored_count(h) == 1);
}

TEST_CASE("forged ids, bad signatures and stale timestamps are refused, nothing stored") {
  SimHost h;
  Signer alice(5);
  h.connect(1);
  h.take(1);
  const std::string fake_id(64, 'e');
  const auto forged = alice.sign(1, h.now, {}, "x", fake_id);
  h.send(1, event_frame(forged));
  CHECK(h.take(1) == std::vector<std::string>{ok_frame(fake_id, false, "invalid: id is not the sha256 of the serialized event")});
  auto good = alice.sign(1, h.now, {}, "y");
  std::string bad_sig = good.json;
  const auto pos = bad_sig.find("\"sig\":\"") + 7;
  bad_sig[pos] = bad_sig[pos] == '0' ? '1' : '0';
  h.send(1, "[\"EVENT\"," + bad_sig + "]");
  CHECK(h.take(1) == std::vector<std::string>{ok_frame(good.id, false, "invalid: signature verification failed")});
  const auto future = alice.sign(1, h.now + 3600, {}, "z");
  h.send(1, event_frame(future));
  CHECK(starts_with(h.take(1).at(0), "[\"OK\",\"" + future.id + "\",false,\"invalid: created_at is more than"));
  const auto expired = alice.sign(1, h.now, {{"expiration", std::to_string(h.now - 1)}}, "old");
  h.send(1, event_frame(expired));
  CHECK(h.take(1) == std::vector<std::string>{ok_frame(expired.id, false, "invalid: event has expired")});
  CHECK(stored_count(h) == 0);
}

TEST_CASE("ephemeral events are broadcast, never stored") {
  SimHost h;
  Signer alice(6);
  h.connect(1);
  h.connect(2);
  h.send(2, "[\"REQ\",\"e\",{\"kinds\":[20001]}]");
  h.take(1);
  h.take(2);
  const auto ev = alice.sign(20001, h.now, {}, "typing");
  h.send_async(1, event_frame(ev));
  CHECK(h.pending_d1() == 0);
  CHECK(h.take(1) == std::vector<std::string>{ok_frame(ev.id, true, "")});
  CHECK(h.take(2) == std::vector<std::string>{"[\"EVENT\",\"e\"," + ev.json + "]"});
  CHECK(stored_count(h) == 0);
}

TEST_CASE("replaceable and addressable: only the latest is served") {
  SimHost h;
  Signer alice(7);
  h.connect(1);
  h.take(1);
  const auto v1 = alice.sign(0, h.now - 5, {}, "{\"name\":\"old\"}");
  const auto v2 = alice.sign(0, h.now, {}, "{\"name\":\"new\"}");
  h.send(1, event_frame(v2));
  h.send(1, event_frame(v1));
  const auto replies = h.take(1);
  REQUIRE(replies.size() == 2);
  CHECK(replies[0] == ok_frame(v2.id, true, ""));
  CHECK(replies[1] == ok_frame(v1.id, false, "duplicate: a newer version of this replaceable event is already stored"));
  const auto a1 = alice.sign(30023, h.now, {{"d", "post"}}, "draft");
  const auto a2 = alice.sign(30023, h.now, {{"d", "post"}}, "final");  // equal created_at
  h.send(1, event_frame(a1));
  h.send(1, event_frame(a2));
  h.take(1);
  h.send(1, "[\"REQ\",\"r\",{\"authors\":[\"" + alice.pubkey() + "\"],\"kinds\":[0,30023]}]");
  const auto got = h.take(1);
  REQUIRE(got.size() == 3);
  const std::string winner = a1.id < a2.id ? a1.json : a2.json;
  std::vector<std::string> events = {got[0], got[1]};
  std::sort(events.begin(), events.end());
  std::vector<std::string> expect = {"[\"EVENT\",\"r\"," + v2.json + "]", "[\"EVENT\",\"r\"," + winner + "]"};
  std::sort(expect.begin(), expect.end());
  CHECK(events == expect);
}

TEST_CASE("a D1 failure answers OK false error and never OK true") {
  SimHost h;
  Signer alice(8);
  h.connect(1);
  h.connect(2);
  h.send(2, "[\"REQ\",\"s\",{}]");
  h.take(1);
  h.take(2);
  h.fail_d1 = true;
  const auto ev = alice.sign(1, h.now, {}, "lost?");
  h.send(1, event_frame(ev));
  CHECK(h.take(1) == std::vector<std::string>{ok_frame(ev.id, false, "error: could not store the event, please try again")});
  CHECK(h.take(2).empty());  // not broadcast either
  h.fail_d1 = false;
  h.send(1, event_frame(ev));  // a retry works: the failure was not cached as a duplicate
  CHECK(h.take(1) == std::vector<std::string>{ok_frame(ev.id, true, "")});
}

TEST_CASE("CLOSE stops delivery; a REQ with an open id replaces it") {
  SimHost h;
  Signer alice(9);
  h.connect(1);
  h.connect(2);
  h.send(2, "[\"REQ\",\"s\",{\"kinds\":[1]}]");
  h.send(2, "[\"REQ\",\"s\",{\"kinds\":[7]}]");  // replaces
  h.take(1);
  h.take(2);
  h.send(1, event_frame(alice.sign(1, h.now, {}, "kind 1")));
  CHECK(h.take(2).empty());
  const auto like = alice.sign(7, h.now, {}, "+");
  h.send(1, event_frame(like));
  CHECK(h.take(2) == std::vector<std::string>{"[\"EVENT\",\"s\"," + like.json + "]"});
  h.send(2, "[\"CLOSE\",\"s\"]");
  h.send(1, event_frame(alice.sign(7, h.now, {}, "-")));
  CHECK(h.take(2).empty());
  CHECK(h.relay().subscription_count() == 0);
}

TEST_CASE("limit 0: EOSE at once, then live events") {
  SimHost h;
  Signer alice(10);
  h.connect(1);
  h.send(1, event_frame(alice.sign(1, h.now, {}, "stored")));
  h.take(1);
  h.send_async(1, "[\"REQ\",\"live\",{\"kinds\":[1],\"limit\":0}]");
  CHECK(h.pending_d1() == 0);
  CHECK(h.take(1) == std::vector<std::string>{"[\"EOSE\",\"live\"]"});
  const auto ev = alice.sign(1, h.now, {}, "new");
  h.send(1, event_frame(ev));
  const auto got = h.take(1);
  CHECK(std::count(got.begin(), got.end(), "[\"EVENT\",\"live\"," + ev.json + "]") == 1);
}

TEST_CASE("an event stored while a REQ's query is in flight is delivered exactly once") {
  SimHost h;
  Signer alice(11);
  h.connect(1);
  h.connect(2);
  h.take(1);
  h.take(2);
  const auto ev = alice.sign(1, h.now, {}, "race");
  h.send_async(1, event_frame(ev));          // store pending
  h.send_async(2, "[\"REQ\",\"q\",{\"kinds\":[1]}]");  // query pending, after the store
  h.pump();
  const auto got = h.take(2);
  CHECK(std::count(got.begin(), got.end(), "[\"EVENT\",\"q\"," + ev.json + "]") == 1);
  CHECK(got.back() == "[\"EOSE\",\"q\"]");
}

TEST_CASE("subscriptions survive hibernation") {
  SimHost h;
  Signer alice(12);
  h.connect(1);
  h.connect(2);
  h.send(2, "[\"REQ\",\"s\",{\"authors\":[\"" + alice.pubkey() + "\"]}]");
  h.take(1);
  h.take(2);
  h.hibernate_and_wake();
  CHECK(h.relay().subscription_count() == 1);
  const auto ev = alice.sign(1, h.now, {}, "after wake");
  h.send(1, event_frame(ev));
  CHECK(h.take(2) == std::vector<std::string>{"[\"EVENT\",\"s\"," + ev.json + "]"});
  // A socket that closed while asleep has its subscriptions dropped on wake.
  h.disconnect(2);
  h.hibernate_and_wake();
  CHECK(h.relay().subscription_count() == 0);
}

TEST_CASE("events still fan out after the publisher disconnected mid-store") {
  SimHost h;
  Signer alice(13);
  h.connect(1);
  h.connect(2);
  h.send(2, "[\"REQ\",\"s\",{}]");
  h.take(2);
  const auto ev = alice.sign(1, h.now, {}, "bye");
  h.send_async(1, event_frame(ev));
  h.disconnect(1);
  h.pump();
  CHECK(h.take(2) == std::vector<std::string>{"[\"EVENT\",\"s\"," + ev.json + "]"});
  CHECK(stored_count(h) == 1);
}

TEST_CASE("limits: too many subscriptions, malformed frames keep the connection usable") {
  nostr::RelayConfig cfg;
  cfg.limits.max_subscriptions = 2;
  SimHost h(cfg);
  h.connect(1);
  h.take(1);
  h.send(1, "[\"REQ\",\"a\",{\"limit\":0}]");
  h.send(1, "[\"REQ\",\"b\",{\"limit\":0}]");
  h.take(1);
  h.send(1, "[\"REQ\",\"c\",{\"limit\":0}]");
  CHECK(h.take(1) == std::vector<std::string>{"[\"CLOSED\",\"c\",\"rate-limited: too many open subscriptions (limit is 2)\"]"});
  h.send(1, "[\"REQ\",\"a\",{\"limit\":0}]");  // replacing an open id is fine
  CHECK(h.take(1) == std::vector<std::string>{"[\"EOSE\",\"a\"]"});
  h.send(1, "garbage");
  h.send(1, "[\"WHAT\"]");
  h.send(1, "[\"REQ\",\"x\",{\"authors\":[\"ABC\"]}]");
  const auto got = h.take(1);
  REQUIRE(got.size() == 3);
  CHECK(got[0] == "[\"NOTICE\",\"invalid: could not parse message as JSON\"]");
  CHECK(got[1] == "[\"NOTICE\",\"invalid: unknown message type WHAT\"]");
  CHECK(starts_with(got[2], "[\"CLOSED\",\"x\",\"invalid: authors must contain"));
  h.send(1, "[\"NEG-OPEN\",\"n\",{},\"00\"]");
  const auto neg = h.take(1);  // a version byte NIP-77 does not define
  REQUIRE(neg.size() == 1);
  CHECK(starts_with(neg[0], "[\"NEG-ERR\",\"n\",\"invalid: negentropy:"));
  h.send(1, "[\"REQ\",\"s\",{\"search\":\"a b c d e f g h i j k l m n o p q\"}]");
  CHECK(h.take(1).at(0) == "[\"CLOSED\",\"s\",\"invalid: search has 17 words (limit is 16)\"]");
}

TEST_CASE("COUNT counts distinct stored events across filters") {
  SimHost h;
  Signer alice(14), bob(15);
  h.connect(1);
  for (int i = 0; i < 3; ++i) h.send(1, event_frame(alice.sign(1, h.now, {}, "a" + std::to_string(i))));
  for (int i = 0; i < 2; ++i) h.send(1, event_frame(bob.sign(1, h.now, {}, "b" + std::to_string(i))));
  h.take(1);
  h.send(1, "[\"COUNT\",\"c\",{\"authors\":[\"" + alice.pubkey() + "\"]},{\"kinds\":[1]}]");
  CHECK(h.take(1) == std::vector<std::string>{"[\"COUNT\",\"c\",{\"count\":5}]"});
}

TEST_CASE("NIP-42 AUTH and NIP-70 protected events") {
  nostr::RelayConfig cfg;
  cfg.relay_url = "wss://relay.example.com";
  SimHost h(cfg);
  Signer alice(16), mallory(17);
  h.connect(1);
  h.take(1);
  const auto protected_ev = alice.sign(1, h.now, {{"-"}}, "mine only");
  h.send(1, event_frame(protected_ev));
  CHECK(h.take(1) == std::vector<std::string>{ok_frame(protected_ev.id, false, "auth-required: this event may only be published by its author (NIP-70)")});
  const auto wrong = alice.sign(22242, h.now, {{"relay", "wss://relay.example.com/"}, {"challenge", "nope"}}, "");
  h.send(1, "[\"AUTH\"," + wrong.json + "]");
  CHECK(h.take(1) == std::vector<std::string>{ok_frame(wrong.id, false, "invalid: AUTH challenge does not match")});
  const auto other_relay = alice.sign(22242, h.now, {{"relay", "wss://evil.example.com"}, {"challenge", "challenge-1"}}, "");
  h.send(1, "[\"AUTH\"," + other_relay.json + "]");
  CHECK(h.take(1) == std::vector<std::string>{ok_frame(other_relay.id, false, "invalid: AUTH relay tag is for another relay")});
  const auto auth = alice.sign(22242, h.now, {{"relay", "wss://Relay.example.com/"}, {"challenge", "challenge-1"}}, "");
  h.send(1, "[\"AUTH\"," + auth.json + "]");
  CHECK(h.take(1) == std::vector<std::string>{ok_frame(auth.id, true, "")});
  h.send(1, event_frame(protected_ev));
  CHECK(h.take(1) == std::vector<std::string>{ok_frame(protected_ev.id, true, "")});
  const auto not_hers = mallory.sign(1, h.now, {{"-"}}, "spoof");
  h.send(1, event_frame(not_hers));
  CHECK(starts_with(h.take(1).at(0), "[\"OK\",\"" + not_hers.id + "\",false,\"auth-required:"));
  // Authentication survives hibernation (kept in the socket attachment).
  h.hibernate_and_wake();
  const auto again = alice.sign(1, h.now + 1, {{"-"}}, "still me");
  h.send(1, event_frame(again));
  CHECK(h.take(1) == std::vector<std::string>{ok_frame(again.id, true, "")});
  // AUTH events sent as EVENT are refused and never stored.
  h.send(1, event_frame(auth));
  CHECK(starts_with(h.take(1).at(0), "[\"OK\",\"" + auth.id + "\",false,\"invalid: kind 22242"));
}

TEST_CASE("group commit: events verified while a write is in flight share the next batch") {
  SimHost h;
  Signer alice(18);
  h.connect(1);
  h.connect(2);
  h.send(2, "[\"REQ\",\"all\",{\"kinds\":[1]}]");
  h.take(1);
  h.take(2);
  std::vector<nostr::test::SignedEvent> evs;
  for (int i = 0; i < 12; ++i) evs.push_back(alice.sign(1, h.now, {{"t", "g"}}, "e" + std::to_string(i)));
  for (const auto& e : evs) h.send_async(1, event_frame(e));
  CHECK(h.pending_d1() == 1);  // only the first batch is in flight
  CHECK(h.take(1).empty());
  const size_t before = h.d1_batches_run;
  h.pump();
  CHECK(h.d1_batches_run - before == 2);  // the other 11 went together
  std::vector<std::string> expect;
  for (const auto& e : evs) expect.push_back(ok_frame(e.id, true, ""));
  CHECK(h.take(1) == expect);  // in order, all after commit
  CHECK(h.take(2).size() == 12);
  CHECK(stored_count(h) == 12);

  // A failing group batch fails every event in it, and nothing is broadcast.
  std::vector<nostr::test::SignedEvent> more;
  for (int i = 0; i < 5; ++i) more.push_back(alice.sign(1, h.now, {}, "f" + std::to_string(i)));
  for (const auto& e : more) h.send_async(1, event_frame(e));
  h.fail_d1 = true;
  h.pump();
  const auto replies = h.take(1);
  REQUIRE(replies.size() == 5);
  for (size_t i = 0; i < 5; ++i) CHECK(replies[i] == ok_frame(more[i].id, false, "error: could not store the event, please try again"));
  CHECK(h.take(2).empty());
  CHECK(stored_count(h) == 12);
}

TEST_CASE("group commit with replaceable events in one batch keeps NIP-01 semantics") {
  SimHost h;
  Signer alice(19);
  h.connect(1);
  h.take(1);
  const auto first = alice.sign(1, h.now, {}, "in flight");
  const auto v1 = alice.sign(3, h.now - 2, {{"p", std::string(64, 'a')}}, "");
  const auto v2 = alice.sign(3, h.now, {{"p", std::string(64, 'b')}}, "");
  const auto v0 = alice.sign(3, h.now - 9, {}, "");
  h.send_async(1, event_frame(first));
  h.send_async(1, event_frame(v1));
  h.send_async(1, event_frame(v2));
  h.send_async(1, event_frame(v0));
  h.send_async(1, event_frame(v2));
  h.pump();
  const auto got = h.take(1);
  REQUIRE(got.size() == 5);
  CHECK(got[1] == ok_frame(v1.id, true, ""));
  CHECK(got[2] == ok_frame(v2.id, true, ""));
  CHECK(got[3] == ok_frame(v0.id, false, "duplicate: a newer version of this replaceable event is already stored"));
  CHECK(got[4] == ok_frame(v2.id, true, "duplicate: already have this event"));
  h.send(1, "[\"REQ\",\"c\",{\"kinds\":[3]},{\"#p\":[\"" + std::string(64, 'a') + "\"]}]");
  CHECK(h.take(1) == std::vector<std::string>{"[\"EVENT\",\"c\"," + v2.json + "]", "[\"EOSE\",\"c\"]"});
}

TEST_CASE("NIP-09: e-tag deletion by the author; republished stays deleted; others cannot delete") {
  SimHost h;
  Signer alice(20), bob(21);
  h.connect(1);
  h.connect(2);
  h.send(2, "[\"REQ\",\"dels\",{\"kinds\":[5]}]");
  h.take(1);
  h.take(2);
  const auto note = alice.sign(1, h.now - 10, {}, "oops");
  const auto keep = alice.sign(1, h.now - 10, {}, "keep");
  h.send(1, event_frame(note));
  h.send(1, event_frame(keep));
  const auto bobs_try = bob.sign(5, h.now, {{"e", keep.id}}, "not yours");
  h.send(1, event_frame(bobs_try));
  const auto del = alice.sign(5, h.now, {{"e", note.id}, {"k", "1"}}, "deleted");
  h.send(1, event_frame(del));
  h.take(1);
  auto to_sub = h.take(2);
  CHECK(to_sub.size() == 2);  // both deletion requests are broadcast
  h.send(1, "[\"REQ\",\"q\",{\"authors\":[\"" + alice.pubkey() + "\"],\"kinds\":[1]}]");
  CHECK(h.take(1) == std::vector<std::string>{"[\"EVENT\",\"q\"," + keep.json + "]", "[\"EOSE\",\"q\"]"});
  // Published again (it was in the recent-id cache): still deleted.
  h.send(1, event_frame(note));
  CHECK(h.take(1) == std::vector<std::string>{ok_frame(note.id, false, "blocked: this event was deleted by its author (NIP-09)")});
  // Deleting a deletion does nothing.
  const auto undo = alice.sign(5, h.now + 1, {{"e", del.id}}, "");
  h.send(1, event_frame(undo));
  h.take(1);
  h.send(1, "[\"REQ\",\"d\",{\"ids\":[\"" + del.id + "\"]}]");
  CHECK(h.take(1) == std::vector<std::string>{"[\"EVENT\",\"d\"," + del.json + "]", "[\"EOSE\",\"d\"]"});
}

TEST_CASE("NIP-09: a-tag deletion removes versions up to the request's created_at") {
  SimHost h;
  Signer alice(22);
  h.connect(1);
  h.take(1);
  const std::string addr = "30023:" + alice.pubkey() + ":post";
  const auto v1 = alice.sign(30023, h.now - 100, {{"d", "post"}}, "v1");
  h.send(1, event_frame(v1));
  const auto del = alice.sign(5, h.now - 50, {{"a", addr}}, "");
  h.send(1, event_frame(del));
  h.take(1);
  h.send(1, "[\"REQ\",\"a\",{\"kinds\":[30023]}]");
  CHECK(h.take(1) == std::vector<std::string>{"[\"EOSE\",\"a\"]"});
  const auto older = alice.sign(30023, h.now - 60, {{"d", "post"}}, "older than the deletion");
  h.send(1, event_frame(older));
  CHECK(h.take(1) == std::vector<std::string>{ok_frame(older.id, false, "blocked: this event was deleted by its author (NIP-09)")});
  const auto newer = alice.sign(30023, h.now, {{"d", "post"}}, "rewritten");
  h.send(1, event_frame(newer));
  // Accepted, and delivered live to the still-open subscription "a".
  CHECK(h.take(1) == std::vector<std::string>{ok_frame(newer.id, true, ""), "[\"EVENT\",\"a\"," + newer.json + "]"});
  h.send(1, "[\"REQ\",\"a\",{\"kinds\":[30023]}]");
  CHECK(h.take(1) == std::vector<std::string>{"[\"EVENT\",\"a\"," + newer.json + "]", "[\"EOSE\",\"a\"]"});
}

TEST_CASE("frames refused before copying get the same NOTICE as oversized frames") {
  nostr::RelayConfig cfg;
  cfg.limits.max_message_length = 1000;
  SimHost h(cfg);
  h.connect(1);
  h.take(1);
  h.relay().oversized_frame(1, 5000);
  const auto acts = h.relay().take_actions();
  REQUIRE(acts.size() == 1);
  CHECK(std::get<nostr::durable::Send>(acts[0]).text.find("invalid: message is at least 5000 bytes, limit is 1000") !=
        std::string::npos);
  h.send(1, "[\"REQ\",\"ok\",{\"limit\":0}]");  // the connection is still usable
  CHECK(h.take(1) == std::vector<std::string>{"[\"EOSE\",\"ok\"]"});
}

TEST_CASE("one batch: duplicates inside a merged run, deletion then re-publish of its target") {
  SimHost h;
  Signer alice(23);
  h.connect(1);
  h.take(1);
  const auto first = alice.sign(1, h.now, {}, "in flight");
  const auto n = alice.sign(1, h.now, {{"t", "n"}}, "to be deleted");
  const auto d = alice.sign(5, h.now, {{"e", n.id}}, "");
  const auto m = alice.sign(1, h.now, {}, "kept");
  h.send_async(1, event_frame(first));
  h.send_async(1, event_frame(m));
  h.send_async(1, event_frame(m));  // same event twice in one run
  h.send_async(1, event_frame(n));
  h.send_async(1, event_frame(d));
  h.send_async(1, event_frame(n));  // after its deletion, same batch
  CHECK(h.pending_d1() == 1);
  h.pump();
  CHECK(h.take(1) == std::vector<std::string>{
                         ok_frame(first.id, true, ""), ok_frame(m.id, true, ""),
                         ok_frame(m.id, true, "duplicate: already have this event"), ok_frame(n.id, true, ""),
                         ok_frame(d.id, true, ""),
                         ok_frame(n.id, false, "blocked: this event was deleted by its author (NIP-09)")});
  h.send(1, "[\"REQ\",\"q\",{\"kinds\":[1]}]");
  auto got = h.take(1);
  std::sort(got.begin(), got.end());
  std::vector<std::string> expect = {"[\"EOSE\",\"q\"]", "[\"EVENT\",\"q\"," + first.json + "]", "[\"EVENT\",\"q\"," + m.json + "]"};
  std::sort(expect.begin(), expect.end());
  CHECK(got == expect);
  // The deleted event's tags were never left behind.
  std::string out, err;
  REQUIRE(h.d1().run_one({"SELECT COUNT(*) FROM tags WHERE event_id NOT IN (SELECT id FROM events)", {}}, out, err));
  CHECK(out.back() == '0');
}

TEST_CASE("subscriptions live in the socket attachment; large ones move to DO SQLite; both survive hibernation") {
  SimHost h;
  Signer alice(24);
  h.connect(1);
  h.connect(2);
  h.take(1);
  h.take(2);
  const size_t sql_before = h.do_sql_statements;
  h.send(2, "[\"REQ\",\"small\",{\"authors\":[\"" + alice.pubkey() + "\"]}]");
  h.send(2, "[\"REQ\",\"gone\",{\"kinds\":[7]}]");
  h.send(2, "[\"CLOSE\",\"gone\"]");
  CHECK(h.do_sql_statements == sql_before);  // memory only: no storage I/O per REQ/CLOSE
  CHECK(h.attachment(2).find("\"small\"") != std::string::npos);
  CHECK(h.attachment(2).find("\"gone\"") == std::string::npos);

  std::string big = "[\"REQ\",\"big\",{\"authors\":[";
  for (uint32_t i = 0; i < 300; ++i) {
    char buf[65];
    std::snprintf(buf, sizeof buf, "%064x", i + 1);
    big += (i ? ",\"" : "\"") + std::string(buf) + "\"";
  }
  big += ",\"" + alice.pubkey() + "\"],\"kinds\":[1]}]";
  h.send(1, big);
  CHECK(h.attachment(1).find("\"sql\":true") != std::string::npos);
  CHECK(h.attachment(1).size() < 1024);
  CHECK(h.do_sql_statements > sql_before);
  h.take(1);
  h.take(2);

  h.hibernate_and_wake();
  CHECK(h.relay().subscription_count() == 2);
  const auto ev = alice.sign(1, h.now, {}, "both see this");
  h.send(2, event_frame(ev));
  CHECK(h.take(1) == std::vector<std::string>{"[\"EVENT\",\"big\"," + ev.json + "]"});
  auto got = h.take(2);
  CHECK(std::count(got.begin(), got.end(), "[\"EVENT\",\"small\"," + ev.json + "]") == 1);
  // Closing the SQL-mode subscription after waking removes its row.
  h.send(1, "[\"CLOSE\",\"big\"]");
  h.hibernate_and_wake();
  CHECK(h.relay().subscription_count() == 1);
}
