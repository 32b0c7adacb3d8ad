#include "http_routes.hpp"

#include <algorithm>

#include "metrics.hpp"
#include "web_assets.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

namespace tinychat::server {

namespace beast = boost::beast;
namespace http = beast::http;

namespace {

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

constexpr std::string_view plain_text = "text/plain; charset=utf-8";

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

// A Host header goes into a header we send back, so only the characters of a host name, an
// IPv4 or bracketed IPv6 address and a port may pass; anything else could inject sources.
bool plain_host(std::string_view host) {
  if (host.empty() || host.size() > 300) return false;
  for (const char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
    if (!ok) return false;
  }
  return true;
}

Response base_response(const Request& req, http::status status, std::string_view type) {
  Response res{status, req.version()};
  res.set(http::field::server, "tinychat-server");
  if (!type.empty()) res.set(http::field::content_type, type);
  res.set("X-Content-Type-Options", "nosniff");
  res.keep_alive(req.keep_alive());
  return res;
}

Response with_body(Response res, const Request& req, std::string_view body) {
  if (req.method() == http::verb::head) {
    res.content_length(body.size());
  } else {
    res.body() = std::string(body);
    res.prepare_payload();
  }
  return res;
}

Response text_response(const Request& req, http::status status, std::string_view body) {
  return with_body(base_response(req, status, plain_text), req, body);
}

Response asset_response(const Request& req, const WebAsset& asset) {
  const bool unchanged = req[http::field::if_none_match] == asset.etag;
  auto res = base_response(req, unchanged ? http::status::not_modified : http::status::ok,
                           unchanged ? std::string_view{} : asset.content_type);
  // Revalidate every time: the ETag makes that cheap, and a reload never runs stale code.
  res.set(http::field::cache_control, "no-cache");
  res.set(http::field::etag, asset.etag);
  res.set("Content-Security-Policy", content_security_policy(req[http::field::host]));
  res.set("Referrer-Policy", "no-referrer");
  if (unchanged) return res;
  return with_body(std::move(res), req, asset.body);
}

} // namespace

Response make_refusal(const Request& req, http::status status, std::string_view text) {
  auto res = text_response(req, status, std::string(text) + "\n");
  res.keep_alive(false);
  return res;
}

bool origin_allowed(const Request& req, const std::vector<std::string>& allowed) {
  const auto found = req.find(http::field::origin);
  if (found == req.end()) return true;
  const std::string_view origin = found->value();
  const std::string_view host = req[http::field::host];
  if (!host.empty())
    for (std::string_view scheme : {"http://", "https://"})
      if (origin.size() == scheme.size() + host.size() && origin.starts_with(scheme) &&
          origin.substr(scheme.size()) == host)
        return true;
  return std::find(allowed.begin(), allowed.end(), origin) != allowed.end();
}

std::string content_security_policy(std::string_view host) {
  std::string connect = "'self'";
  if (plain_host(host)) connect += " ws://" + std::string(host) + " wss://" + std::string(host);
  return "default-src 'none'; script-src 'self'; style-src 'self'; connect-src " + connect +
         "; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
}

Response make_metrics_response(const Request& req, std::string body) {
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    auto res = text_response(req, http::status::method_not_allowed, "method not allowed\n");
    res.set(http::field::allow, "GET, HEAD");
    return res;
  }
  auto res = base_response(req, http::status::ok, metrics_content_type);
  res.set(http::field::cache_control, "no-store");
  return with_body(std::move(res), req, body);
}

Response make_response(const Request& req, const WebAssets& assets, bool store_up) {
  const std::string_view path = path_of(req.target());
  std::shared_ptr<const WebAsset> asset;
  if (path != "/healthz") {
    asset = assets.find(path);
    if (!asset) return text_response(req, http::status::not_found, "not found\n");
  }
  if (beast::websocket::is_upgrade(req))
    return text_response(req, http::status::not_found, "not found\n");
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    auto res = text_response(req, http::status::method_not_allowed, "method not allowed\n");
    res.set(http::field::allow, "GET, HEAD");
    return res;
  }
  if (!asset)
    return store_up ? text_response(req, http::status::ok, "ok")
                    : text_response(req, http::status::service_unavailable,
                                    "the store is unreachable\n");
  return asset_response(req, *asset);
}

} // namespace tinychat::server
