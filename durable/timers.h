// The engine's timed work in one table, indexed by what it is for. Each timer
// is armed at a time or not armed (std::nullopt: no more "0 means none").
// Its kind says how the host learns of it:
//  - deadline: short-lived work that only matters while the host is awake;
//    part of Relay::next_deadline() (an in-memory timer).
//  - alarm: durable work; part of Relay::next_alarm() (the Durable Object
//    alarm, which survives hibernation).
//  - passive: checked whenever the engine runs anyway (frames, timer()); it
//    wakes nobody. None is left in this table: the components keep theirs
//    (Peers: when a smaller interest summary may go).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace nostr::durable {

enum class Timer : uint8_t {
  query_pacing,  // deadline: a paced stored-query page may go
  expiry_sweep,  // alarm: the NIP-40 expiry sweep (its time is also kept in local SQL)
  vanish_retry,  // alarm: a failed NIP-62 step is tried again
  count_
};

enum class TimerKind : uint8_t { deadline, alarm, passive };

constexpr TimerKind kind_of(Timer t) {
  switch (t) {
    case Timer::query_pacing:
      return TimerKind::deadline;
    case Timer::expiry_sweep:
    case Timer::vanish_retry:
      return TimerKind::alarm;
    case Timer::count_:
      break;
  }
  return TimerKind::passive;
}

class Timers {
 public:
  static constexpr size_t kCount = static_cast<size_t>(Timer::count_);

  void set(Timer t, uint64_t at) { at_[index(t)] = at; }
  // Arms t at `at` unless it is armed earlier already.
  void set_earlier(Timer t, uint64_t at) {
    auto& a = at_[index(t)];
    if (!a || at < *a) a = at;
  }
  void clear(Timer t) { at_[index(t)].reset(); }
  // Returns when t is due, or nullopt if it is not armed.
  std::optional<uint64_t> at(Timer t) const { return at_[index(t)]; }
  bool armed(Timer t) const { return at_[index(t)].has_value(); }
  // Whether t is armed and its time has come.
  bool due(Timer t, uint64_t now) const {
    const auto& a = at_[index(t)];
    return a && now >= *a;
  }
  // The earliest armed timer of `kind`, or nullopt.
  std::optional<uint64_t> earliest(TimerKind kind) const {
    std::optional<uint64_t> best;
    for (size_t i = 0; i < kCount; ++i) {
      if (kind_of(static_cast<Timer>(i)) != kind || !at_[i]) continue;
      if (!best || *at_[i] < *best) best = at_[i];
    }
    return best;
  }

 private:
  static size_t index(Timer t) { return static_cast<size_t>(t); }
  std::array<std::optional<uint64_t>, kCount> at_{};
};

}  // namespace nostr::durable
