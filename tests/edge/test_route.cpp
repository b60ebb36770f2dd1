// edge/route: the relay object for a request.
#include <doctest/doctest.h>

#include <set>

#include "edge/route.h"

using nostr::edge::choose_object;
using nostr::edge::RouteInput;

TEST_CASE("route: regions from request.cf, shards from the client's address, pinning only when allowed") {
  nostr::RelayConfig c;  // regions on, one shard
  auto at = [&](const char* continent, const char* country, std::optional<double> lon, const char* ip = "") {
    RouteInput in;
    in.continent = continent;
    in.country = country;
    in.longitude = lon;
    in.client_ip = ip;
    return choose_object(in, c);
  };
  CHECK(at("NA", "US", -122.4).name == "relay:wnam:0");
  CHECK(at("NA", "US", -122.4).location_hint == "wnam");
  CHECK(at("NA", "US", -74.0).name == "relay:enam:0");
  CHECK(at("SA", "BR", -46.6).name == "relay:sam:0");
  CHECK(at("EU", "FR", 2.3).name == "relay:weur:0");
  CHECK(at("EU", "PL", 21.0).name == "relay:eeur:0");
  CHECK(at("AS", "JP", 139.7).name == "relay:apac:0");
  CHECK(at("AS", "AE", 55.3).name == "relay:me:0");
  CHECK(at("AF", "NG", 3.4).name == "relay:afr:0");
  CHECK(at("OC", "AU", 151.2).name == "relay:oc:0");
  CHECK(at("", "", std::nullopt).name == "relay:enam:0");  // default_region
  c.default_region = "weur";
  CHECK(at("", "", std::nullopt).name == "relay:weur:0");

  c.shards = 4;
  std::set<std::string> names;
  for (int i = 0; i < 64; ++i) names.insert(at("EU", "FR", 2.3, ("203.0.113." + std::to_string(i)).c_str()).name);
  CHECK(names.size() == 4);  // every shard used
  CHECK(at("EU", "FR", 2.3, "203.0.113.9").name == at("EU", "FR", 2.3, "203.0.113.9").name);  // stable per address

  RouteInput pinned;
  pinned.continent = "EU";
  pinned.query = "foo=1&region=apac&shard=3";
  CHECK(choose_object(pinned, c).name == "relay:weur:0");  // pinning off: ignored
  c.route_pinning = true;
  CHECK(choose_object(pinned, c).name == "relay:apac:3");
  pinned.query = "region=mars&shard=9";  // unknown region, shard out of range: ignored
  CHECK(choose_object(pinned, c).name == "relay:weur:0");

  c.regions = false;
  c.shards = 1;
  CHECK(choose_object(pinned, c).name == "relay");
  CHECK(choose_object(pinned, c).location_hint.empty());
}
