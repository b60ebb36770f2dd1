#include <doctest/doctest.h>

#include <string>

#include "core/hex.h"
#include "core/sha256.h"

using nostr::sha256;
using nostr::to_hex;

static std::string hex_digest(std::string_view s) {
  const auto d = sha256(s);
  return to_hex(d.data(), d.size());
}

TEST_CASE("sha256 matches FIPS 180-4 vectors") {
  CHECK(hex_digest("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(hex_digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(hex_digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(hex_digest(std::string(1000000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("sha256 incremental updates equal one-shot at every split") {
  const std::string msg(300, 'x');
  const auto expect = sha256(msg);
  for (size_t split = 0; split <= msg.size(); split += 7) {
    nostr::Sha256 h;
    h.update(std::string_view(msg).substr(0, split));
    h.update(std::string_view(msg).substr(split));
    CHECK(h.finish() == expect);
  }
}

TEST_CASE("hex decoding is strict lowercase") {
  uint8_t out[2];
  CHECK(nostr::decode_lower_hex("00ff", out, 2));
  CHECK(out[1] == 0xff);
  CHECK_FALSE(nostr::decode_lower_hex("00FF", out, 2));
  CHECK_FALSE(nostr::decode_lower_hex("00f", out, 2));
  CHECK_FALSE(nostr::decode_lower_hex("00fg", out, 2));
  CHECK_FALSE(nostr::decode_lower_hex("00ff0", out, 2));
}
