// Filter compilation and matching on hand-picked cases.
#include <doctest/doctest.h>

#include <string>

#include "core/filter.h"

namespace {

const std::string kA(64, 'a'), kB(64, 'b'), kC(64, 'c');

std::string event_json(const std::string& id, const std::string& pk, int kind, int created_at,
                       const std::string& tags, const std::string& content = "hello Nostr world") {
  return "{\"id\":\"" + id + "\",\"pubkey\":\"" + pk + "\",\"created_at\":" + std::to_string(created_at) +
         ",\"kind\":" + std::to_string(kind) + ",\"tags\":" + tags + ",\"content\":\"" + content +
         "\",\"sig\":\"" + std::string(128, 'f') + "\"}";
}

struct Fixture {
  simdjson::dom::parser p;
  nostr::Limits limits;
  nostr::Event event(const std::string& json) {
    auto r = nostr::Event::parse(p, json, limits);
    REQUIRE(r.ok());
    return std::move(r).value();
  }
  nostr::CompiledFilter filter(const std::string& json) {
    auto r = nostr::CompiledFilter::parse(p, json, limits);
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().text));
    return std::move(r).value();
  }
};

}  // namespace

TEST_CASE("each condition narrows; conditions combine with AND") {
  Fixture fx;
  const auto e = fx.event(event_json(kA, kB, 1, 1000, "[[\"e\",\"" + kC + "\"],[\"t\",\"nostr\"]]"));
  CHECK(fx.filter("{}").matches(e));
  CHECK(fx.filter("{\"ids\":[\"" + kA + "\"]}").matches(e));
  CHECK_FALSE(fx.filter("{\"ids\":[\"" + kB + "\"]}").matches(e));
  CHECK(fx.filter("{\"authors\":[\"" + kC + "\",\"" + kB + "\"]}").matches(e));
  CHECK(fx.filter("{\"kinds\":[0,1]}").matches(e));
  CHECK_FALSE(fx.filter("{\"kinds\":[0]}").matches(e));
  CHECK(fx.filter("{\"since\":1000,\"until\":1000}").matches(e));
  CHECK_FALSE(fx.filter("{\"since\":1001}").matches(e));
  CHECK_FALSE(fx.filter("{\"until\":999}").matches(e));
  CHECK(fx.filter("{\"#e\":[\"" + kC + "\"]}").matches(e));
  CHECK(fx.filter("{\"#t\":[\"x\",\"nostr\"]}").matches(e));
  CHECK_FALSE(fx.filter("{\"#t\":[\"Nostr\"]}").matches(e));  // tag values are case-sensitive
  CHECK_FALSE(fx.filter("{\"#p\":[\"" + kC + "\"]}").matches(e));
  CHECK_FALSE(fx.filter("{\"kinds\":[1],\"#t\":[\"other\"]}").matches(e));
  CHECK(fx.filter("{\"limit\":0}").matches(e));  // limit never affects matching
}

TEST_CASE("empty arrays match nothing; since > until matches nothing") {
  Fixture fx;
  const auto e = fx.event(event_json(kA, kB, 1, 1000, "[]"));
  for (const char* f : {"{\"ids\":[]}", "{\"authors\":[]}", "{\"kinds\":[]}", "{\"#t\":[]}"}) {
    CAPTURE(f);
    const auto cf = fx.filter(f);
    CHECK_FALSE(cf.matches(e));
    CHECK(cf.matches_nothing());
  }
  CHECK(fx.filter("{\"since\":5,\"until\":4}").matches_nothing());
  CHECK_FALSE(fx.filter("{\"since\":5,\"until\":5}").matches_nothing());
}

TEST_CASE("tag filters look only at the first two items of single-letter tags") {
  Fixture fx;
  const auto e = fx.event(event_json(kA, kB, 1, 1000, "[[\"t\"],[\"tt\",\"x\"],[\"t\",\"a\",\"x\"]]"));
  CHECK_FALSE(fx.filter("{\"#t\":[\"x\"]}").matches(e));
  CHECK(fx.filter("{\"#t\":[\"a\"]}").matches(e));
  CHECK(fx.filter("{\"#T\":[\"a\"]}").matches(fx.event(event_json(kA, kB, 1, 1, "[[\"T\",\"a\"]]"))));
}

TEST_CASE("limit: default and cap") {
  Fixture fx;
  fx.limits.default_limit = 100;
  fx.limits.max_limit = 500;
  CHECK(fx.filter("{}").effective_limit(fx.limits) == 100);
  CHECK(fx.filter("{\"limit\":7}").effective_limit(fx.limits) == 7);
  CHECK(fx.filter("{\"limit\":0}").effective_limit(fx.limits) == 0);
  CHECK(fx.filter("{\"limit\":100000}").effective_limit(fx.limits) == 500);
}

TEST_CASE("too many values in one array is refused") {
  Fixture fx;
  fx.limits.max_filter_values = 2;
  auto r = nostr::CompiledFilter::parse(fx.p, "{\"kinds\":[1,2,3]}", fx.limits);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == nostr::Code::bad_filter);
}

TEST_CASE("to_json round-trips to an equivalent filter") {
  Fixture fx;
  const auto f = fx.filter("{\"#t\":[\"b\",\"a\\n\"],\"kinds\":[7,1],\"authors\":[\"" + kB +
                           "\"],\"since\":3,\"until\":9,\"limit\":2,\"search\":\"x\\\"y\",\"ids\":[\"" + kA + "\"]}");
  const std::string json = f.to_json();
  const auto g = fx.filter(json);
  CHECK(g.to_json() == json);
  CHECK(*g.kinds() == std::vector<uint16_t>{1, 7});
  CHECK(g.tags()[0].values[1] == "b");
  CHECK(*g.search() == "x\"y");
}
