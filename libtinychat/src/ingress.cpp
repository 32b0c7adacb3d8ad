#include <tinychat/ingress.hpp>

#include "user_id.hpp"

#include <type_traits>
#include <utility>

namespace tinychat {

PreparedRequest Ingress::prepare(std::string_view text) {
  PreparedRequest prepared{Protocol::decode_request(text), std::nullopt};
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
          if (tokens_)
            prepared.token = TokenCheck{tokens_.get(), tokens_->check_signed(body.token)};
        } else if constexpr (std::is_same_v<Body, SendRequest>) {
          auto it = join_keys_.find(body.room_id);
          // The service answers an invalid text before looking at the signature.
          if (it == join_keys_.end() || !body.sig || Protocol::validate_text(body.text, limits_))
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
