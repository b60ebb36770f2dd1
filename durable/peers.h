// Several relay objects (regions x shards, docs/scale.md) as a component:
// this object's name, what it has published of its interest, the other
// objects' published summaries, the events queued for them, and the recent
// stored answers a late forward must not repeat.
//
// Each object publishes what its live subscriptions can match
// (durable/interest.h) in D1 table relay_objects; a publisher reads the
// summaries that changed with each store batch and forwards the events it
// stored to the objects that may want them, one Forward action per object per
// batch. Delivery guarantee: a subscription whose stored query started after
// its REQ's summary was published gets every later event (published in the
// same D1 transaction as that query); a forward that fails to arrive is lost
// for live delivery only (the event is stored: a REQ finds it).
//
// It answers to the engine, which tells it of subscriptions added and
// removed, puts the statements it returns into store batches with its
// tickets, and routes their completions back. Without a name (one object)
// every call is a no-op.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "core/config.h"
#include "core/event.h"
#include "core/results.h"
#include "core/sql.h"
#include "durable/action.h"
#include "durable/completion.h"
#include "durable/interest.h"
#include "durable/metrics.h"
#include "durable/subscription_index.h"

namespace nostr::durable {

class Peers {
 public:
  // How long (seconds) a stored answer's recent events are remembered against
  // late forwards, how recent they must be, and how many (event, subscription)
  // pairs are kept relay-wide (~80 B each) and per answer.
  static constexpr uint64_t kAnsweredWindow = 30;
  static constexpr size_t kMaxAnsweredRecent = 8192;
  static constexpr size_t kMaxAnsweredPerAnswer = 64;

  // Tickets of the store batches it asks for.
  struct Publish {  // a batch whose last statement publishes `version`
    static constexpr Completion kCompletion = Completion::store;
    int64_t version;
    SubHandle eose_for = 0;  // a live-only REQ whose EOSE waits for it (0: a shrink)
  };
  struct SummariesRead {  // summaries_statement() alone (at the first name)
    static constexpr Completion kCompletion = Completion::store;
  };

  // Borrows `config` and `metrics` for its lifetime.
  Peers(const RelayConfig& config, Metrics& metrics) : config_(config), metrics_(metrics) {}

  // Whether this object has a name (several objects): else a no-op throughout.
  bool active() const { return !name_.empty(); }
  // The object's name, or "relay" when it has none.
  std::string_view name_or_default() const {
    return active() ? std::string_view(name_) : std::string_view("relay");
  }
  // Takes this object's name (ignored unless the configuration has several
  // objects, or if already named so). Returns the read of the other objects'
  // summaries to send now (ticket SummariesRead), or nullopt. `index`: the
  // subscriptions restored before the name came.
  [[nodiscard]] std::optional<SqlStatement> set_name(std::string_view name,
                                                     const SubscriptionIndex& index);

  // The statement a write batch ends with: the summaries changed since last read.
  SqlStatement summaries_statement() const;
  // Its rows: (name, version, summary); newer versions replace older ones.
  void on_summaries(const ResultSet& rs);

  // Queues `e` (raw) for every other object whose summary may match it.
  void forward(const Event& e);
  // Emits the queued forwards: one Forward action per object.
  void flush(Outbox& out);

  // Subscription `h` was added to `index`: the summary grows.
  void on_subscription_added(SubHandle h, const SubscriptionIndex& index);
  // One was removed: a smaller summary may be published, at most every
  // config interest_shrink_seconds (over-forwarding meanwhile is only a cost).
  void on_subscription_removed(uint64_t now);
  // For a stored query or live-only REQ about to start: appends the
  // publication its batch must carry so that the published summary covers
  // the index, and returns its version; or 0 when it already covers it.
  int64_t publish_if_needed(std::vector<SqlStatement>& stmts, uint64_t now);
  // The batch carrying publication `version` completed (ok: committed).
  void on_published(int64_t version, bool ok);
  // When a smaller summary may go (passive: checked when the engine runs);
  // returns its publication batch (ticket Publish with eose_for 0), or nullopt.
  [[nodiscard]] std::optional<std::pair<Publish, SqlStatement>> on_timer(
      uint64_t now, const SubscriptionIndex& index);

  // A stored answer for subscription `h` was sent: its recent rows (each
  // with .created_at and .id) are remembered for kAnsweredWindow seconds.
  template <typename Rows>
  void remember_answered(const Rows& rows, SubHandle h, uint64_t now) {
    if (!active()) return;
    expire(now);
    size_t n = 0;
    for (const auto& r : rows) {
      // Only events recent enough that a forward of them may still be coming.
      if (r.created_at + kAnsweredWindow < now) continue;
      if (++n > kMaxAnsweredPerAnswer) break;
      if (answered_.emplace(r.id, h).second) answered_order_.emplace_back(now, r.id, h);
    }
    while (answered_order_.size() > kMaxAnsweredRecent) drop_oldest_answered();
  }
  // Whether a forward of `id` to `h` would repeat its stored answer.
  bool answered(const EventId& id, SubHandle h) const { return answered_.count({id, h}) != 0; }
  // Forgets answers older than kAnsweredWindow.
  void expire(uint64_t now);
  size_t answered_size() const { return answered_.size(); }

 private:
  int64_t next_version(uint64_t now);
  void drop_oldest_answered();

  const RelayConfig& config_;
  Metrics& metrics_;
  std::string name_;  // "": the only object
  struct Peer {
    int64_t version = 0;
    InterestSummary summary;
  };
  std::map<std::string, Peer> peers_;                 // the other objects, as of the last read
  std::map<std::string, std::string> forward_queue_;  // object -> raw events, one per line
  InterestSummary published_;  // what relay_objects holds for this object (as far as known)
  InterestSummary current_;    // what the subscriptions can match (kept up to date)
  std::map<int64_t, InterestSummary> in_flight_;  // publications not yet committed, by version
  int64_t published_version_ = 0;
  int64_t last_version_ = 0;  // the last version sent (they only grow)
  bool unknown_ = true;       // what the last object life published: not known
  std::optional<uint64_t> shrink_at_;
  std::set<std::pair<EventId, SubHandle>> answered_;
  std::deque<std::tuple<uint64_t, EventId, SubHandle>> answered_order_;
};

}  // namespace nostr::durable
