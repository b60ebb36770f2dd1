// Result<T>: an expected-style value for fallible operations on client input.
// Bad input is a value (a Reject), never an exception; caller bugs are asserts.
#pragma once

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

#include "core/reject.h"

namespace nostr {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Reject reject) : v_(std::move(reject)) {}  // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // Borrow the value; asserts ok().
  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // Borrow the rejection; asserts !ok().
  const Reject& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }
  Reject&& take_error() && {
    assert(!ok());
    return std::get<1>(std::move(v_));
  }

 private:
  std::variant<T, Reject> v_;
};

// Result<void> equivalent: an optional rejection.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Reject reject) : reject_(std::move(reject)), failed_(true) {}  // NOLINT
  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const Reject& error() const {
    assert(failed_);
    return reject_;
  }

 private:
  Reject reject_{};
  bool failed_ = false;
};

}  // namespace nostr
