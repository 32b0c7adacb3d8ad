// The browser page as files over HTTP: compiled into the binary or read from --web-root, with
// the headers that keep it fresh and confined.

#include "raw_clients.hpp"
#include "support/server_process.hpp"

#include <boost/beast/http/field.hpp>
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

namespace tinychat::test {
namespace {

namespace http = boost::beast::http;

// A directory of its own under the system temp dir, removed again at the end of the test.
struct TempDir {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("tinychat-web-" + std::to_string(std::random_device{}()));
  TempDir() { std::filesystem::create_directories(path); }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name, std::ios::binary) << text;
  }
};

TEST_CASE("web: every file of the page is served with its type, no-cache and an ETag") {
  ServerProcess server;
  const std::pair<const char*, const char*> files[] = {
      {"/", "text/html; charset=utf-8"},
      {"/app.js", "text/javascript; charset=utf-8"},
      {"/protocol.js", "text/javascript; charset=utf-8"},
      {"/style.css", "text/css; charset=utf-8"},
  };
  for (const auto& [path, type] : files) {
    CAPTURE(path);
    const auto res = http_request(server.port(), http::verb::get, path);
    CHECK(res.result_int() == 200);
    CHECK(res[http::field::content_type] == type);
    CHECK(res[http::field::cache_control] == "no-cache");
    CHECK(res["X-Content-Type-Options"] == "nosniff");
    CHECK(res[http::field::etag].starts_with("\""));
    CHECK(!res.body().empty());
  }
  const auto page = http_request(server.port(), http::verb::get, "/");
  CHECK(page.body().find("data-testid=\"create-room\"") != std::string::npos);
  CHECK(page.body().find("<script type=\"module\" src=\"/app.js\">") != std::string::npos);
}

TEST_CASE("web: a request with the current ETag answers 304 without a body") {
  ServerProcess server;
  const auto first = http_request(server.port(), http::verb::get, "/app.js");
  const std::string etag(first[http::field::etag]);
  const auto again =
      http_request(server.port(), http::verb::get, "/app.js", {{"If-None-Match", etag}});
  CHECK(again.result_int() == 304);
  CHECK(again.body().empty());
  CHECK(again[http::field::etag] == etag);
  const auto other =
      http_request(server.port(), http::verb::get, "/app.js", {{"If-None-Match", "\"0000\""}});
  CHECK(other.result_int() == 200);
}

TEST_CASE("web: the CSP allows the page's own files and WebSockets to the requested host only") {
  ServerProcess server;
  const auto res =
      http_request(server.port(), http::verb::get, "/", {{"Host", "chat.example:8080"}});
  const std::string csp(res["Content-Security-Policy"]);
  CHECK(csp.find("default-src 'none'") != std::string::npos);
  CHECK(csp.find("script-src 'self';") != std::string::npos);
  CHECK(csp.find("style-src 'self';") != std::string::npos);
  CHECK(csp.find("connect-src 'self' ws://chat.example:8080 wss://chat.example:8080;") !=
        std::string::npos);
  CHECK(csp.find("frame-ancestors 'none'") != std::string::npos);

  // A Host that tries to add sources is left out, not copied.
  const auto evil =
      http_request(server.port(), http::verb::get, "/", {{"Host", "x; script-src *"}});
  const std::string evil_csp(evil["Content-Security-Policy"]);
  CHECK(evil_csp.find("connect-src 'self';") != std::string::npos);
  CHECK(evil_csp.find('*') == std::string::npos);
}

TEST_CASE("web: only flat names of the page's files are served") {
  ServerProcess server;
  for (const char* path : {"/nope.js", "/../CMakeLists.txt", "/.hidden.js", "/web/app.js",
                           "/app.js/", "/app.exe", "/index.html%00.js"}) {
    CAPTURE(path);
    CHECK(http_request(server.port(), http::verb::get, path).result_int() == 404);
  }
  CHECK(http_request(server.port(), http::verb::get, "/app.js?v=2").result_int() == 200);
  CHECK(http_request(server.port(), http::verb::post, "/app.js").result_int() == 405);
}

TEST_CASE("web: --web-root serves the page from a directory, read on every request") {
  TempDir dir;
  dir.write("index.html", "<!doctype html><p>first</p>");
  ServerProcess server({"--web-root", dir.path.string()});
  CHECK(http_request(server.port(), http::verb::get, "/").body() == "<!doctype html><p>first</p>");
  dir.write("index.html", "<!doctype html><p>second</p>");
  dir.write("extra.js", "export {};");
  CHECK(http_request(server.port(), http::verb::get, "/").body() == "<!doctype html><p>second</p>");
  const auto js = http_request(server.port(), http::verb::get, "/extra.js");
  CHECK(js.result_int() == 200);
  CHECK(js[http::field::content_type] == "text/javascript; charset=utf-8");
  CHECK(http_request(server.port(), http::verb::get, "/app.js").result_int() == 404);
}

TEST_CASE("web: --web-root without an index.html is a usage error") {
  TempDir dir;
  CHECK(run_server_command({"--web-root", dir.path.string()}).exit_code == 2);
  CHECK(run_server_command({"--web-root", (dir.path / "missing").string()}).exit_code == 2);
}

} // namespace
} // namespace tinychat::test
