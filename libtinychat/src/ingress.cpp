#include <tinychat/ingress.hpp>

#include "user_id.hpp"

#include <algorithm>
#include <type_traits>
#include <utility>

namespace tinychat {

namespace {

// How much faster than the service's the bucket refills, and how much deeper it is: the two
// buckets see a request at slightly different times.
constexpr double leniency = 1.25;

} // namespace

Ingress::Ingress(const Limits& limits, const RateLimit& rate_limit,
                 std::shared_ptr<const TokenVerifier> tokens)
    : limits_(limits), rate_limit_(rate_limit), rate_tokens_(rate_limit.burst * leniency),
      refilled_at_(std::chrono::steady_clock::now()), tokens_(std::move(tokens)) {}

bool Ingress::over_rate() {
  if (rate_limit_.per_second <= 0) return false;
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - refilled_at_).count();
  refilled_at_ = now;
  rate_tokens_ = std::min(rate_limit_.burst * leniency,
                          rate_tokens_ + elapsed * rate_limit_.per_second * leniency);
  if (rate_tokens_ < 1) return true;
  rate_tokens_ -= 1;
  return false;
}

PreparedRequest Ingress::prepare(std::string_view text) {
  PreparedRequest prepared{Protocol::decode_request(text), std::nullopt};
  const bool over_rate = this->over_rate(); // every frame costs a token, as in the service
  if (!prepared.decoded.ok()) return prepared;
  std::visit(
      [&](auto& body) {
        using Body = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<Body, JoinRequest>) {
          auto it = join_keys_.find(body.room_id);
          if (it != join_keys_.end())
            it->second = body.pub_key;
          else if (join_keys_.size() < limits_.max_rooms_per_connection)
            join_keys_.emplace(body.room_id, body.pub_key);
        } else if constexpr (std::is_same_v<Body, LeaveRequest>) {
          if (auto it = join_keys_.find(body.room_id); it != join_keys_.end()) join_keys_.erase(it);
        } else if constexpr (std::is_same_v<Body, AuthRequest>) {
          if (tokens_ && !over_rate)
            prepared.token = TokenCheck{tokens_.get(), tokens_->check_signed(body.token)};
        } else if constexpr (std::is_same_v<Body, SendRequest>) {
          auto it = join_keys_.find(body.room_id);
          // The service answers an invalid text before looking at the signature.
          if (over_rate || it == join_keys_.end() || !body.sig ||
              Protocol::validate_text(body.text, limits_))
            return;
          const PublicKey& key = it->second;
          bool valid = verifier_.verify(
              key,
              message_payload(body.room_id, detail::user_id_for(key), body.client_seq, body.text),
              *body.sig);
          prepared.signature = SignatureCheck{key, valid};
        }
      },
      prepared.decoded.request().body);
  return prepared;
}

} // namespace tinychat
