// The address model: one way to read a client's network address and to say
// whether a list (blocked_ips, unlimited_ips, trusted_proxies, NIP-86
// blockip, disconnect) covers it. Every list holds ranges (CIDR); a plain
// address is the range of just itself. IPv4 is kept as IPv4-mapped IPv6, so
// "::ffff:198.51.100.4" and "198.51.100.4" are the same client. Pure.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nostr {

class IpAddress {
 public:
  // Parses dotted-quad IPv4 or IPv6 (compressed, with an embedded IPv4 tail,
  // optionally in brackets, a zone id "%eth0" ignored). Returns nullopt for
  // anything else (host names, ports, empty text).
  static std::optional<IpAddress> parse(std::string_view text);

  bool is_v4() const;  // an IPv4 address (stored IPv4-mapped)
  // The address with every bit after the first `bits` (of 128) cleared.
  IpAddress masked(uint32_t bits) const;
  const std::array<uint8_t, 16>& bytes() const { return bytes_; }
  // Canonical text: IPv4 dotted quad; IPv6 as RFC 5952 (lowercase, the
  // longest run of zero groups as "::").
  std::string str() const;
  bool operator==(const IpAddress&) const = default;

 private:
  std::array<uint8_t, 16> bytes_{};
};

class AddressRange {
 public:
  // "10.0.0.0/8", "2001:db8::/48", or an address alone (/32 for IPv4, /128
  // for IPv6). Host bits below the prefix are cleared ("10.1.2.3/8" is
  // 10.0.0.0/8). Returns nullopt for text that is not one of these.
  static std::optional<AddressRange> parse(std::string_view text);
  // The range of one address.
  static AddressRange of(const IpAddress& a);

  bool contains(const IpAddress& a) const;
  // Canonical text: the address alone for a single address, else base/prefix
  // with IPv4 prefixes counted in IPv4 bits.
  std::string str() const;
  bool operator==(const AddressRange&) const = default;

 private:
  IpAddress base_;
  uint8_t bits_ = 128;  // prefix length over the 128-bit (IPv4-mapped) form
};

// A list of ranges, matched in order (lists are short: operator settings).
class AddressSet {
 public:
  AddressSet() = default;
  // From literal ranges (tests, built-in lists): each must parse (asserted).
  AddressSet(std::initializer_list<std::string_view> ranges);
  void add(const AddressRange& r);
  // Removes the range equal to `r`; returns whether there was one.
  bool remove(const AddressRange& r);
  bool contains(const IpAddress& a) const;
  // Whether `text` parses as an address this set contains (false otherwise).
  bool contains(std::string_view text) const;
  bool empty() const { return ranges_.empty(); }
  size_t size() const { return ranges_.size(); }
  const std::vector<AddressRange>& ranges() const { return ranges_; }

 private:
  std::vector<AddressRange> ranges_;
};

// The key per-address limits count a remote address under: IPv4 as its
// canonical text; IPv6 by its /64 ("2001:db8:0:1::/64"; one subscriber
// usually holds a whole /64, so per-address limits would otherwise not hold);
// IPv4-mapped IPv6 as its IPv4 address. Text that is not an address is
// returned as is (so unknown peers still share one key per text).
std::string address_key(std::string_view ip);

// The lowercase host of a ws://, wss://, http:// or https:// URL
// ("wss://Relay.example.com:443/x" -> "relay.example.com", "ws://[::1]:7447"
// -> "[::1]"), used to compare a NIP-42 AUTH or NIP-62 relay tag with this
// relay. nullopt for anything else, including URLs with user info
// ("wss://relay.example.com:1@evil.example/").
std::optional<std::string> relay_url_host(std::string_view url);
// The same for an authority alone ("host", "host:port", "[v6]:port"), as in a
// Host header.
std::optional<std::string> authority_host(std::string_view authority);

}  // namespace nostr
