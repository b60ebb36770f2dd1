#include "durable/api_call.h"

#include "core/json_writer.h"
#include "durable/relay_internal.h"

namespace nostr::durable {

using internal::Overloaded;

uint32_t http_status(const Reject& why) {
  switch (code_prefix(why.code)) {
    case Prefix::rate_limited:
      return 429;
    case Prefix::blocked:
    case Prefix::restricted:
    case Prefix::auth_required:
    case Prefix::pow:
      return 403;
    case Prefix::error:
      return 503;
    default:
      return 400;
  }
}

std::string http_error_json(std::string_view message) {
  return JsonObjectWriter().string("error", message).finish();
}

std::optional<HttpReply> ApiCall::finish(uint32_t status, std::string body) {
  done_ = true;
  const bool events = kind_ == Kind::query && (status == 200 || status == 206);
  return make_http_reply(request_, status, std::move(body),
                         events ? "application/x-ndjson" : "application/json");
}

std::optional<HttpReply> ApiCall::on(const Reply& r) {
  if (done_) return std::nullopt;
  return std::visit(
      Overloaded{
          [&](const OkReply& x) -> std::optional<HttpReply> {
            if (kind_ != Kind::event) return std::nullopt;
            const bool ok = x.accepted || x.why.code == Code::duplicate;
            return finish(ok ? 200 : http_status(x.why), JsonObjectWriter()
                                                             .string("id", x.id_hex)
                                                             .boolean("accepted", x.accepted)
                                                             .string("message", message_text(x.why))
                                                             .finish());
          },
          [&](const EventReply& x) -> std::optional<HttpReply> {
            if (kind_ == Kind::event) return std::nullopt;
            if (body_.size() + x.raw.size() + 1 > kMaxAnswer) {
              // Bounded: the answer so far, marked partial (narrow the filters or page by until).
              return finish(206, std::move(body_));
            }
            body_.append(x.raw);
            body_ += '\n';
            ++events_;
            return std::nullopt;
          },
          [&](const EoseReply&) -> std::optional<HttpReply> {
            if (kind_ == Kind::event) return std::nullopt;
            if (kind_ == Kind::get) {
              if (events_ == 0) return finish(404, http_error_json("not found"));
              body_.pop_back();  // one event: JSON, not NDJSON
            }
            return finish(200, std::move(body_));
          },
          [&](const ClosedReply& x) -> std::optional<HttpReply> { return refuse(x.why); },
          [&](const NoticeReply& x) -> std::optional<HttpReply> { return refuse(x.why); },
          [](const CountReply&) -> std::optional<HttpReply> { return std::nullopt; },
          [](const AuthReply&) -> std::optional<HttpReply> { return std::nullopt; },
      },
      r);
}

std::optional<HttpReply> ApiCall::refuse(const Reject& why) {
  return finish(http_status(why), http_error_json(why.wire_message()));
}

std::optional<HttpReply> ApiCall::on_close(const Reject& why) {
  if (done_) return std::nullopt;
  return refuse(why);
}

}  // namespace nostr::durable
