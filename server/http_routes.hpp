#pragma once
/// What tinychat-server answers to plain HTTP requests (PROTOCOL.md section 8): the browser
/// page and its files, /healthz, and 404 for everything else.

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <string>
#include <string_view>

namespace tinychat::server {

class WebAssets;

/// The response to a plain (non-upgrade) request, or to an upgrade on a wrong path.
boost::beast::http::response<boost::beast::http::string_body>
make_response(const boost::beast::http::request<boost::beast::http::string_body>& request,
              const WebAssets& assets);

/// The Content-Security-Policy of the page: its own files only, and WebSockets to `host` (the
/// request's Host header) when that is a plain host[:port]; otherwise to 'self' alone.
std::string content_security_policy(std::string_view host);

} // namespace tinychat::server
