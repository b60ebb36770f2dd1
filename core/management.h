// NIP-86 management: the state an operator changes through the API (bans,
// allow lists, kinds, blocked addresses, relay settings, maintenance), the
// JSON-RPC requests that change or list it, and the D1 statements that keep it
// (tables in migrations/0005_management.sql). Pure: the engine
// (durable/relay_admin.cpp) runs the statements and keeps the state.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/result.h"
#include "core/results.h"
#include "core/sql.h"
#include "core/types.h"
#include "core/verify.h"
#include "simdjson.h"

namespace nostr {

struct AdminRequest;

// What the management API has decided, as loaded from D1.
struct ManagementState {
  struct Entry {
    bool allowed;  // false: banned
    std::string reason;
  };
  uint64_t version = 0;  // mgmt_version: bumped by every change
  std::map<Pubkey, Entry> pubkeys;
  std::map<EventId, Entry> events;
  std::map<uint32_t, bool> kinds;  // true: allowed, false: disallowed
  // Blocked addresses and ranges (canonical AddressRange text) -> reason;
  // change them with block_ip/unblock_ip, which keep the lookup set in step.
  std::map<std::string, std::string> ips;
  std::string name, description, icon;  // "" = RELAY_CONFIG's
  std::string maintenance;              // "" = off, else the reason given to new connections
  std::set<EventId> auth_ids;           // NIP-98 events already used (recent ones)

  // Lookups that combine this state with the configured lists.
  bool pubkey_banned(const WritePolicy& w, const Pubkey& pk) const;
  bool pubkey_allowed(const WritePolicy& w, const Pubkey& pk) const;
  bool event_banned(const EventId& id) const;
  // Whether `kind` may be published (allow list non-empty: only those).
  bool kind_allowed(const WritePolicy& w, uint32_t kind) const;
  // The effective allow list (config + allowkind - disallowkind), sorted.
  std::vector<uint32_t> allowed_kinds(const WritePolicy& w) const;
  std::vector<uint32_t> disallowed_kinds(const WritePolicy& w) const;
  // Whether address `ip` is in a blocked range (NIP-86 blockip or the
  // configured blocked_ips); text that is not an address is never blocked.
  bool ip_blocked(const RelayConfig& c, std::string_view ip) const;
  void block_ip(const std::string& text, const std::string& reason);
  void unblock_ip(const std::string& text);
  size_t entries() const { return pubkeys.size() + events.size() + kinds.size() + ips.size(); }
  // Whether applying `r` would add an entry to the lists.
  bool would_grow(const AdminRequest& r) const;

 private:
  AddressSet ip_ranges_;  // the ranges of `ips`
};

// Entries the management lists may hold together (each ~150 bytes in every
// relay object's memory): a ban beyond it is refused until some are removed.
inline constexpr size_t kMaxManagedEntries = 100000;

// How long a NIP-98 event id is remembered: its created_at must be within
// kAdminAuthWindow of now, so older ids cannot be replayed anyway.
inline constexpr uint64_t kAdminAuthWindow = 60;

// The statements reading the whole state (one batch); NIP-98 ids newer than
// now - 2 * kAdminAuthWindow.
std::vector<SqlStatement> plan_management_load(uint64_t now);
// The statement reading mgmt_version alone (cheap change detection).
SqlStatement plan_management_version();
// Decodes plan_management_load's results. False on a malformed answer.
[[nodiscard]] bool parse_management(const std::vector<ResultSet>& rs, ManagementState& out);

enum class AdminMethod : uint8_t {
  supportedmethods,
  banpubkey,
  unbanpubkey,
  listbannedpubkeys,
  allowpubkey,
  unallowpubkey,
  listallowedpubkeys,
  banevent,
  unbanevent,
  allowevent,
  unallowevent,
  listbannedevents,
  listallowedevents,
  listeventsneedingmoderation,
  allowkind,
  disallowkind,
  listallowedkinds,
  listdisallowedkinds,
  blockip,
  unblockip,
  listblockedips,
  changerelayname,
  changerelaydescription,
  changerelayicon,
  // Ours (advertised by supportedmethods):
  setmaintenance,   // [true, "<reason>"] or [false]: refuse new connections
  listconnections,  // [] -> [{"id","ip","pubkeys","subscriptions"}]
  disconnect,       // ["connection"|"ip"|"pubkey", "<value>", "<optional-reason>"] -> count closed
};

// NIP-86 authorization of a POST of `body` to `url`: a NIP-98 event
// (verify_http_auth, `u` = `url` or the configured relay_url in its http(s)
// form, within kAdminAuthWindow) signed by one of config.admin_pubkeys.
// Returns the event, or the reason for the 401 ("unauthorized: ..."). Replays
// are the caller's to refuse (it keeps the used ids). Borrows everything.
[[nodiscard]] Result<VerifiedEvent> authorize_admin(simdjson::dom::parser& parser,
                                                    const RelayConfig& config, std::string_view url,
                                                    std::string_view authorization,
                                                    std::string_view body, uint64_t now);

// The method's wire name.
std::string_view admin_method_name(AdminMethod m);

// One parsed request. Fields are filled as the method needs them.
struct AdminRequest {
  AdminMethod method = AdminMethod::supportedmethods;
  std::optional<Pubkey> pubkey;
  std::optional<EventId> event;
  uint32_t kind = 0;
  std::string text;    // ip, name, description, icon, disconnect value
  std::string target;  // disconnect: "connection", "ip" or "pubkey"
  std::string reason;
  bool flag = false;  // setmaintenance
  bool changes_state() const;
};

// The largest request body the API reads.
inline constexpr size_t kMaxAdminBody = 16 * 1024;

// Parses a JSON-RPC body {"method":..,"params":[..]}. The error text is what
// the "error" field of the answer says.
[[nodiscard]] Result<AdminRequest> parse_admin_request(std::string_view body);

// Returns the statements (one batch, one transaction) that make a changing
// request durable: the change itself (a ban also deletes the banned rows and
// their tags from the events store), the NIP-98 event id used (`auth_id`,
// `auth_at`), the removal of ids too old to matter, and the version bump.
std::vector<SqlStatement> plan_admin_change(const AdminRequest& r, const EventId& auth_id,
                                            uint64_t auth_at, uint64_t now);
// Applies a committed change to the in-memory state (version + 1).
void apply_admin_change(ManagementState& s, const AdminRequest& r);

// The statement reading recent NIP-56 reports (kind 1984) for
// listeventsneedingmoderation, and the answer built from its rows (raw event
// JSON): reported event ids not yet allowed or banned, with the report type.
SqlStatement plan_moderation_queue();
std::string moderation_queue_json(const ResultSet& rows, const ManagementState& s);

// The "result" of a list method (or supportedmethods) from the state.
std::string admin_list_result(AdminMethod m, const ManagementState& s, const RelayConfig& c);

// {"result":<result_json>} and {"result":null,"error":"<text>"}.
std::string admin_result(std::string_view result_json);
std::string admin_error(std::string_view text);

}  // namespace nostr
