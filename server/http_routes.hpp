#pragma once
/// What tinychat-server answers to plain HTTP requests (PROTOCOL.md section 8): the browser
/// page and its files, /healthz, and 404 for everything else.

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace tinychat::server {

class WebAssets;

/// The response to a plain (non-upgrade) request, or to an upgrade on a wrong path.
/// /healthz answers 503 while the store is unreachable (`store_up` false).
boost::beast::http::response<boost::beast::http::string_body>
make_response(const boost::beast::http::request<boost::beast::http::string_body>& request,
              const WebAssets& assets, bool store_up);

/// A refusal of an upgrade: `status`, a short text, and the connection closed after it.
boost::beast::http::response<boost::beast::http::string_body>
make_refusal(const boost::beast::http::request<boost::beast::http::string_body>& request,
             boost::beast::http::status status, std::string_view text);

/// Whether a WebSocket upgrade may proceed, judged by its Origin (CSWSH defence): no Origin
/// (not a browser), the server's own page (http:// or https:// + the request's Host), or one
/// of `allowed` exactly.
bool origin_allowed(const boost::beast::http::request<boost::beast::http::string_body>& request,
                    const std::vector<std::string>& allowed);

/// The answer to a request for /metrics: `body` (the exposition text) for GET and HEAD, 405
/// for other methods.
boost::beast::http::response<boost::beast::http::string_body>
make_metrics_response(const boost::beast::http::request<boost::beast::http::string_body>& request,
                      std::string body);

/// The Content-Security-Policy of the page: its own files only, and WebSockets to `host` (the
/// request's Host header) when that is a plain host[:port]; otherwise to 'self' alone.
std::string content_security_policy(std::string_view host);

} // namespace tinychat::server
