#include "web_assets.hpp"

#include <array>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <utility>

namespace tinychat::server {

namespace {

constexpr std::array<std::pair<std::string_view, std::string_view>, 8> content_types = {{
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
}};

// FNV-1a is not a security measure here: an ETag only has to change when the bytes do.
std::string etag_of(std::string_view body) {
  std::uint64_t hash = 14695981039346656037ull;
  for (const unsigned char c : body) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  char out[24];
  std::snprintf(out, sizeof out, "\"%016llx\"", static_cast<unsigned long long>(hash));
  return out;
}

std::shared_ptr<const WebAsset> make_asset(std::string_view name, std::string body) {
  auto asset = std::make_shared<WebAsset>();
  asset->content_type = std::string(content_type_for(name));
  asset->etag = etag_of(body);
  asset->body = std::move(body);
  return asset;
}

// The file name a request path asks for, or nullopt when it cannot name a served file.
std::optional<std::string_view> file_name_of(std::string_view path) {
  if (path == "/") return "index.html";
  if (path.size() < 2 || path[0] != '/') return std::nullopt;
  const std::string_view name = path.substr(1);
  if (name[0] == '.' || name[0] == '-') return std::nullopt;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return std::nullopt;
  }
  if (content_type_for(name).empty()) return std::nullopt;
  return name;
}

std::optional<std::string> read_file(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) return std::nullopt;
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

} // namespace

std::string_view content_type_for(std::string_view name) {
  for (const auto& [ext, type] : content_types)
    if (name.size() > ext.size() && name.ends_with(ext)) return type;
  return {};
}

WebAssets WebAssets::embedded() {
  WebAssets assets;
  for (const auto& file : detail::embedded_files()) {
    const std::string_view name = file.name;
    if (content_type_for(name).empty()) continue;
    std::string body(reinterpret_cast<const char*>(file.data), file.size);
    assets.files_.emplace(name, make_asset(name, std::move(body)));
  }
  return assets;
}

WebAssets WebAssets::directory(std::filesystem::path root) {
  if (!read_file(root / "index.html"))
    throw std::runtime_error("no index.html in '" + root.string() + "'");
  WebAssets assets;
  assets.root_ = std::move(root);
  return assets;
}

std::shared_ptr<const WebAsset> WebAssets::find(std::string_view path) const {
  const auto name = file_name_of(path);
  if (!name) return nullptr;
  if (root_.empty()) {
    const auto it = files_.find(*name);
    return it == files_.end() ? nullptr : it->second;
  }
  auto body = read_file(root_ / std::string(*name));
  if (!body) return nullptr;
  return make_asset(*name, std::move(*body));
}

} // namespace tinychat::server
