// core/management, core/nip98, core/rate_limit and the operator settings of
// core/config: parsing, authorization checks, bucket arithmetic.
#include <doctest/doctest.h>

#include <string>

#include "../support/nip98_token.h"
#include "../support/signer.h"
#include "core/config.h"
#include "core/hex.h"
#include "core/management.h"
#include "core/nip98.h"
#include "core/policy.h"
#include "core/rate_limit.h"
#include "core/sha256.h"

using namespace nostr;
using nostr::test::Signer;
using nostr::test::b64;
using nostr::test::body_hash;

namespace {

constexpr uint64_t kNow = 1700000000;
const std::string kUrl = "https://relay.example.com/";

std::string auth_header(const Signer& s, const std::string& body, uint64_t at = kNow, const std::string& url = kUrl,
                        const std::string& method = "POST", uint32_t kind = kHttpAuthKind) {
  const auto e = s.sign(kind, at, {{"u", url}, {"method", method}, {"payload", body_hash(body)}}, "");
  return "Nostr " + b64(e.json);
}

std::string check(const std::string& header, const std::string& body, std::string_view also_url = "") {
  simdjson::dom::parser parser;
  auto r = verify_http_auth(parser, HttpAuthCheck{header, kUrl, "POST", body, kNow, 60}, also_url);
  return r ? std::string("ok") : r.error().text;
}

}  // namespace

TEST_CASE("nip98: a signed kind 27235 naming this URL, method and body hash authorises; every other shape is refused") {
  Signer admin(1);
  const std::string body = R"({"method":"supportedmethods","params":[]})";
  CHECK(check(auth_header(admin, body), body) == "ok");
  CHECK(check("nostr " + auth_header(admin, body).substr(6), body) == "ok");  // scheme is case-insensitive
  CHECK(check(auth_header(admin, body, kNow, kUrl, "post"), body) == "ok");
  CHECK(check("", body).find("missing Authorization") != std::string::npos);
  CHECK(check("Bearer abc", body).find("scheme must be Nostr") != std::string::npos);
  CHECK(check("Nostr !!!", body).find("not valid base64") != std::string::npos);
  CHECK(check("Nostr " + b64("{}"), body).find("malformed") != std::string::npos);
  CHECK(check(auth_header(admin, body, kNow - 61), body).find("created_at") != std::string::npos);
  CHECK(check(auth_header(admin, body, kNow + 61), body).find("created_at") != std::string::npos);
  CHECK(check(auth_header(admin, body, kNow, "https://other.example.com/"), body).find("u tag") != std::string::npos);
  CHECK(check(auth_header(admin, body, kNow, kUrl, "GET"), body).find("method tag") != std::string::npos);
  CHECK(check(auth_header(admin, body), body + " ").find("payload") != std::string::npos);
  CHECK(check(auth_header(admin, body, kNow, kUrl, "POST", 1), body).find("kind 27235") != std::string::npos);
  // A signature over another content: the id no longer matches.
  std::string forged = admin.sign(kHttpAuthKind, kNow, {{"u", kUrl}, {"method", "POST"}, {"payload", body_hash(body)}}, "").json;
  forged.replace(forged.find("\"content\":\"\""), 12, "\"content\":\"x\"");
  CHECK(check("Nostr " + b64(forged), body).find("not validly signed") != std::string::npos);
  // The configured relay URL is accepted as `u` too.
  CHECK(check(auth_header(admin, body, kNow, "http://relay.example.com"), body, "http://relay.example.com") == "ok");
  // Without a payload tag: refused (NIP-86 requires it).
  const auto no_payload = admin.sign(kHttpAuthKind, kNow, {{"u", kUrl}, {"method", "POST"}}, "");
  CHECK(check("Nostr " + b64(no_payload.json), body).find("payload") != std::string::npos);
}

TEST_CASE("nip86: requests parse into typed methods; bad ones say why") {
  auto ok = parse_admin_request(R"({"method":"banpubkey","params":[")" + std::string(64, 'a') + R"(","spam"]})");
  REQUIRE(ok);
  CHECK(ok.value().method == AdminMethod::banpubkey);
  CHECK(ok.value().pubkey->hex() == std::string(64, 'a'));
  CHECK(ok.value().reason == "spam");
  auto kind = parse_admin_request(R"({"method":"allowkind","params":[30023]})");
  REQUIRE(kind);
  CHECK(kind.value().kind == 30023);
  auto maint = parse_admin_request(R"({"method":"setmaintenance","params":[true]})");
  REQUIRE(maint);
  CHECK(maint.value().flag);
  CHECK(maint.value().reason == "the relay is in maintenance");
  CHECK(parse_admin_request("nope").error().text == "request is not valid JSON");
  // No "params" at all: a method without parameters (regression: fuzz_relay
  // found the absent array iterated as a null document).
  auto bare = parse_admin_request(R"({"method":"listblockedips"})");
  REQUIRE(bare);
  CHECK(bare.value().method == AdminMethod::listblockedips);
  CHECK(parse_admin_request(R"({"method":"banpubkey"})").error().text == "banpubkey: missing pubkey");
  CHECK(parse_admin_request(R"({"method":"allowkind","params":{}})").error().text == "\"params\" must be an array");
  CHECK(parse_admin_request(R"({"params":[]})").error().text.find("method") != std::string::npos);
  CHECK(parse_admin_request(R"({"method":"frobnicate"})").error().text == "unsupported method: frobnicate");
  CHECK(parse_admin_request(R"({"method":"banpubkey","params":["xyz"]})").error().text.find("64 lowercase hex") !=
        std::string::npos);
  CHECK(parse_admin_request(R"({"method":"allowkind","params":["1"]})").error().text.find("0..65535") != std::string::npos);
  CHECK(parse_admin_request(R"({"method":"disconnect","params":["socket","1"]})").error().text.find("target") !=
        std::string::npos);
  CHECK(parse_admin_request(std::string(kMaxAdminBody + 1, ' ')).error().text.find("larger") != std::string::npos);
}

TEST_CASE("management state: bans override configured allow lists, kinds allow lists combine, lists answer") {
  RelayConfig c;
  Signer a(1), b(2);
  const Pubkey pa = *Pubkey::from_hex(a.pubkey()), pb = *Pubkey::from_hex(b.pubkey());
  c.write_policy.allowed_pubkeys = {pa};
  c.write_policy.allowed_kinds = {1};
  ManagementState s;
  CHECK(s.pubkey_allowed(c.write_policy, pa));
  CHECK(!s.pubkey_allowed(c.write_policy, pb));
  CHECK(s.kind_allowed(c.write_policy, 1));
  CHECK(!s.kind_allowed(c.write_policy, 7));
  AdminRequest ban;
  ban.method = AdminMethod::banpubkey;
  ban.pubkey = pa;
  apply_admin_change(s, ban);
  CHECK(s.pubkey_banned(c.write_policy, pa));
  CHECK(!s.pubkey_allowed(c.write_policy, pa));
  AdminRequest k;
  k.method = AdminMethod::allowkind;
  k.kind = 7;
  apply_admin_change(s, k);
  CHECK(s.kind_allowed(c.write_policy, 7));
  CHECK(admin_list_result(AdminMethod::listallowedkinds, s, c) == "[1,7]");
  k.method = AdminMethod::disallowkind;
  k.kind = 1;
  apply_admin_change(s, k);
  CHECK(!s.kind_allowed(c.write_policy, 1));
  CHECK(admin_list_result(AdminMethod::listallowedkinds, s, c) == "[7]");
  CHECK(admin_list_result(AdminMethod::listdisallowedkinds, s, c) == "[1]");
  CHECK(admin_list_result(AdminMethod::listbannedpubkeys, s, c) == "[{\"pubkey\":\"" + a.pubkey() + "\",\"reason\":\"\"}]");
  CHECK(s.version == 3);
  // The lists' cap counts new entries only.
  CHECK(s.entries() == 3);
  CHECK(!s.would_grow(ban));  // a already listed
  AdminRequest block;
  block.method = AdminMethod::blockip;
  block.text = "192.0.2.1";
  CHECK(s.would_grow(block));
  // No allow list at all: every kind not disallowed.
  ManagementState open;
  CHECK(open.kind_allowed(RelayConfig{}.write_policy, 12345));
}

TEST_CASE("rate limits: a bucket starts full, refills per minute, and a full map forgets refilled keys first") {
  const RateLimit l{60, 3};  // one a second, bursts of 3
  Bucket b;
  CHECK(take_token(b, l, 100));
  CHECK(take_token(b, l, 100));
  CHECK(take_token(b, l, 100));
  CHECK(!take_token(b, l, 100));
  CHECK(take_token(b, l, 101));
  CHECK(!take_token(b, l, 101));
  CHECK(bucket_full(b, l, 104));
  CHECK(take_token(b, RateLimit{}, 100));  // off
  BucketMap m(4);
  for (int i = 0; i < 4; ++i) CHECK(m.take("k" + std::to_string(i), l, 100));
  CHECK(m.size() == 4);
  for (int i = 0; i < 3; ++i) (void)m.take("k0", l, 100);  // k0 drained
  CHECK(m.take("k4", l, 200));  // all refilled by now: forgotten, room made
  CHECK(m.size() <= 4);
  CHECK(m.take_dirty().size() >= 1);
  CHECK(!m.dirty());
}


TEST_CASE("config: operator settings parse, and bad values name the setting") {
  Signer a(1);
  auto c = parse_config(R"({"admin_pubkeys":" )" + a.pubkey() + R"( ,","restricted_writes":true,"allowed_kinds":[1,7],)"
                        R"("blocked_phrases":["buy now"],"unlimited_ips":["10.0.0.1"],)"
                        R"("rate_limits":{"event_per_ip":{"per_minute":10,"burst":5},"max_refusals":3}})");
  REQUIRE(c);
  CHECK(c.value().admin_pubkeys.size() == 1);
  CHECK(c.value().write_policy.restricted_writes);
  CHECK(c.value().write_policy.allowed_kinds == std::vector<uint32_t>{1, 7});
  CHECK(c.value().rate_limits.event_per_ip.per_minute == 10);
  CHECK(c.value().rate_limits.max_refusals == 3);
  CHECK(parse_config(R"({"admin_pubkeys":"abc"})").error().text.find("ADMIN_PUBKEYS") != std::string::npos);
  CHECK(parse_config(R"({"banned_pubkeys":["x"]})").error().text.find("banned_pubkeys") != std::string::npos);
  CHECK(parse_config(R"({"allowed_kinds":[70000]})").error().text.find("allowed_kinds") != std::string::npos);
  CHECK(parse_config(R"({"rate_limits":{"event_per_ip":{"per_minute":5}}})").error().text.find("rate_limits.event_per_ip.burst") !=
        std::string::npos);
  CHECK(parse_config(R"({"rate_limits":{"evnt_per_ip":{}}})").error().text.find("rate_limits.evnt_per_ip") != std::string::npos);
  CHECK(parse_config(R"({"restricted_writes":"yes"})").error().text.find("restricted_writes") != std::string::npos);
}

TEST_CASE("NIP-11: every configured field is published, nothing unconfigured, limitation as enforced") {
  Signer a(2);
  auto c = parse_config(R"({"name":"r","banner":"https://x.example/b.png","icon":"https://x.example/i.png","self":")" +
                        a.pubkey() +
                        R"(","terms_of_service":"https://x.example/tos","posting_policy":"https://x.example/pp",)"
                        R"("privacy_policy":"https://x.example/privacy","relay_countries":["CA","EU"],)"
                        R"("language_tags":["en","en-419"],"tags":["sfw-only"],"allowed_kinds":[1],"banned_kinds":[4,1059],)"
                        R"("limits":{"min_pow_difficulty":8,"created_at_upper_limit":600}})");
  REQUIRE(c);
  simdjson::dom::parser p;
  const std::string json = nostr::relay_info_json(c.value());
  simdjson::dom::element doc;
  REQUIRE(p.parse(json).get(doc) == simdjson::SUCCESS);
  std::string_view s;
  CHECK((doc["banner"].get_string().get(s) == simdjson::SUCCESS && s == "https://x.example/b.png"));
  CHECK((doc["self"].get_string().get(s) == simdjson::SUCCESS && s == a.pubkey()));
  CHECK((doc["privacy_policy"].get_string().get(s) == simdjson::SUCCESS && s == "https://x.example/privacy"));
  CHECK((doc["terms_of_service"].get_string().get(s) == simdjson::SUCCESS && s == "https://x.example/tos"));
  CHECK((doc["posting_policy"].get_string().get(s) == simdjson::SUCCESS && s == "https://x.example/pp"));
  CHECK(json.find(R"("relay_countries":["CA","EU"])") != std::string::npos);
  CHECK(json.find(R"("language_tags":["en","en-419"])") != std::string::npos);
  CHECK(json.find(R"("tags":["sfw-only"])") != std::string::npos);
  CHECK(json.find(R"("retention":[{"kinds":[4,1059],"time":0}])") != std::string::npos);
  CHECK(json.find(R"("restricted_writes":true)") != std::string::npos);  // only kind 1 is accepted
  CHECK(json.find(R"("min_pow_difficulty":8)") != std::string::npos);
  CHECK(json.find(R"("created_at_upper_limit":600)") != std::string::npos);
  // Defaults: nothing that is not configured or enforced.
  const std::string plain = nostr::relay_info_json(nostr::RelayConfig{});
  for (const char* absent : {"banner", "self", "terms_of_service", "posting_policy", "privacy_policy", "relay_countries",
                             "language_tags", "\"tags\"", "retention", "fees", "payments_url", "icon"}) {
    CAPTURE(absent);
    CHECK(plain.find(absent) == std::string::npos);
  }
  CHECK(plain.find(R"("restricted_writes":false)") != std::string::npos);
  // Bad values name the setting.
  CHECK(parse_config(R"({"relay_countries":["Canada"]})").error().text.find("relay_countries") != std::string::npos);
  CHECK(parse_config(R"({"banner":"ftp://x"})").error().text.find("banner must be an http(s) URL") != std::string::npos);
  CHECK(parse_config(R"({"self":"npub1"})").error().text.find("self must be a 64-character") != std::string::npos);
}

TEST_CASE("nip86: an unknown method's name is cut on a character boundary (the error is valid UTF-8 JSON)") {
  // 63 ASCII bytes then a 3-byte character: cutting at 64 bytes used to split
  // it, and the 400 answer was not valid JSON (found by fuzz_relay).
  const std::string name = std::string(63, 'x') + "\xE2\x9C\x93" + "tail";
  auto r = nostr::parse_admin_request("{\"method\":\"" + name + "\",\"params\":[]}");
  REQUIRE(!r.ok());
  CHECK(r.error().text == "unsupported method: " + std::string(63, 'x'));
}
