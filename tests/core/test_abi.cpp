// The C ABI as the wasm host sees it, exercised natively.
#include <doctest/doctest.h>

#include <cstring>
#include <string>

#include "core/abi/core_abi.h"

namespace {

struct Call {
  int32_t code;
  std::string out;
};

Call check_frame(nr_ctx* ctx, const std::string& s, double now = 1700000000) {
  uint8_t* buf = nr_alloc(static_cast<uint32_t>(s.size()));
  std::memcpy(buf, s.data(), s.size());
  const int32_t code = nr_check_frame(ctx, buf, static_cast<uint32_t>(s.size()), now);
  nr_free(buf);
  return {code, std::string(reinterpret_cast<const char*>(nr_out_ptr(ctx)), nr_out_len(ctx))};
}

}  // namespace

TEST_CASE("C ABI: version, contexts and replies") {
  CHECK(nr_abi_version() == 1);
  nr_ctx* ctx = nr_ctx_new();
  REQUIRE(ctx);
  auto r = check_frame(ctx, "[\"REQ\",\"s\",{\"kinds\":[1]}]");
  CHECK(r.code == 0);
  CHECK(r.out == "REQ");
  r = check_frame(ctx, "not json");
  CHECK(r.code == 1);
  CHECK(r.out == "[\"NOTICE\",\"invalid: could not parse message as JSON\"]");
  r = check_frame(ctx, "[\"REQ\",\"s\",{\"ids\":[\"ab\"]}]");
  CHECK(r.code == 42);
  CHECK(r.out.rfind("[\"CLOSED\",\"s\",\"invalid: ", 0) == 0);
  const std::string forged = "{\"id\":\"" + std::string(64, 'a') + "\",\"pubkey\":\"" + std::string(64, 'b') +
                             "\",\"created_at\":1700000000,\"kind\":1,\"tags\":[],\"content\":\"\",\"sig\":\"" +
                             std::string(128, 'c') + "\"}";
  r = check_frame(ctx, "[\"EVENT\"," + forged + "]");
  CHECK(r.code == 30);
  CHECK(r.out == "[\"OK\",\"" + std::string(64, 'a') + "\",false,\"invalid: id is not the sha256 of the serialized event\"]");
  nr_ctx_free(ctx);
}
