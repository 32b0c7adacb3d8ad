// Token authentication (PROTOCOL.md 9): `auth`, and who may create rooms. A token is a
// credential, so no reply or message here ever contains it.

#include "service_impl.hpp"

namespace tinychat {

void RoomService::Impl::handle(ClientId client, Connection& conn, const RequestId& id,
                               AuthRequest& req, const std::optional<TokenCheck>& checked) {
  const TokenVerifier* verifier = config.token_verifier.get();
  if (!verifier)
    return fail(client, conn, id, error::unauthorized,
                "this server does not use tokens: anyone may create rooms");
  // The Ingress checked the signature on the connection's thread; the time is the core's.
  TokenResult result = checked && checked->verifier == verifier ? checked->result
                                                                : verifier->check_signed(req.token);
  auto* claims = std::get_if<TokenClaims>(&result);
  std::optional<TokenError> refused;
  if (!claims)
    refused = std::get<TokenError>(result);
  else
    refused = TokenVerifier::check_time(*claims, clock.now());
  if (refused)
    return fail(client, conn, id, error::unauthorized,
                "token refused: " + std::string(describe(*refused)));
  // A new token replaces the old one, also by one for another user.
  conn.sub = claims->sub;
  conn.auth_expires_at = claims->expires_at;
  reply(client, conn, Authenticated{id, claims->sub, claims->expires_at});
}

const char* RoomService::Impl::creation_refusal(const Connection& conn) const {
  if (!config.token_verifier) return nullptr;
  if (conn.sub.empty()) return "creating rooms needs a token: send auth first";
  if (conn.auth_expires_at <= clock.now()) return "the token expired: send auth with a new one";
  return nullptr;
}

std::string RoomService::Impl::creator_key(const Connection& conn) const {
  // Prefixes keep a user called "ip 10.0.0.1" apart from that address.
  return config.token_verifier ? "sub " + conn.sub : conn.quota_key;
}

} // namespace tinychat
