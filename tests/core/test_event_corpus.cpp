// Events generated and signed by nostr-tools (scripts/gen-corpus.mjs): every
// one must verify and keep its bytes; every single tamper must be refused with
// the code its kind of tamper implies.
#include <doctest/doctest.h>

#include <string>

#include "core/event.h"
#include "test_util.h"

using nostr::Code;

TEST_CASE("nostr-tools corpus: every event parses, verifies and round-trips") {
  simdjson::dom::parser p;
  size_t checked = 0;
  for (const char* file : {"events.jsonl", "events_reordered.jsonl"}) {
    for (const std::string& line : nostr::test::read_testdata_lines(file)) {
      CAPTURE(line.substr(0, 200));
      auto ev = nostr::Event::parse(p, line, nostr::Limits{});
      REQUIRE_MESSAGE(ev.ok(), (ev.ok() ? "" : ev.error().wire_message()));
      CHECK(ev->raw() == line);
      const auto st = nostr::verify_event(ev.value());
      CHECK_MESSAGE(st.ok(), (st.ok() ? "" : st.error().wire_message()));
      // Canonical serialization re-parses to the same id.
      CHECK(ev->computed_id() == ev->id());
      ++checked;
    }
  }
  CHECK(checked >= 500);
}

TEST_CASE("nostr-tools corpus: each single tamper is refused with the right code") {
  simdjson::dom::parser meta_parser;
  simdjson::dom::parser p;
  size_t checked = 0;
  for (const std::string& line : nostr::test::read_testdata_lines("tampered.jsonl")) {
    simdjson::dom::element meta;
    REQUIRE(meta_parser.parse(line).get(meta) == simdjson::SUCCESS);
    std::string_view field, variant, expect, event_text;
    REQUIRE(meta["field"].get_string().get(field) == simdjson::SUCCESS);
    REQUIRE(meta["variant"].get_string().get(variant) == simdjson::SUCCESS);
    REQUIRE(meta["expect"].get_string().get(expect) == simdjson::SUCCESS);
    std::string event_json;
    if (meta["event"].get_string().get(event_text) == simdjson::SUCCESS) {
      event_json = std::string(event_text);
    } else {
      event_json = simdjson::to_string(meta["event"].value_unsafe());
    }
    CAPTURE(field);
    CAPTURE(variant);
    CAPTURE(event_json.substr(0, 300));
    auto ev = nostr::Event::parse(p, event_json, nostr::Limits{});
    REQUIRE_MESSAGE(ev.ok(), (ev.ok() ? "" : ev.error().wire_message()));
    const auto st = nostr::verify_event(ev.value());
    REQUIRE_FALSE(st.ok());
    CHECK(nostr::code_name(st.error().code) == expect);
    ++checked;
  }
  CHECK(checked >= 700);
}
