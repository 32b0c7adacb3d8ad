#pragma once
/// The browser page's files: compiled into the binary, or read from a directory while
/// developing the page (--web-root).

#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace tinychat::server {

/// One file as served.
struct WebAsset {
  std::string content_type;
  std::string body;
  /// A strong validator of `body`, quoted as the ETag header wants it.
  std::string etag;
};

/// Finds the file a request path names. Immutable after construction; thread-safe.
class WebAssets {
public:
  /// The files compiled in from server/web/.
  static WebAssets embedded();
  /// Files read from `root` on every request, so an edited page shows on reload. Throws
  /// std::runtime_error when `root` is not a directory holding index.html.
  static WebAssets directory(std::filesystem::path root);

  /// The file for a request path ("/" is index.html), or null when there is none. Only flat
  /// names with a known extension are served; anything else (dot files, "..", sub paths) is
  /// null.
  std::shared_ptr<const WebAsset> find(std::string_view path) const;

private:
  std::map<std::string, std::shared_ptr<const WebAsset>, std::less<>> files_;
  std::filesystem::path root_; // empty when embedded
};

/// The Content-Type served for a file name, or empty for an extension not served.
std::string_view content_type_for(std::string_view name);

namespace detail {
/// One file of the generated web_assets_data.cpp.
struct EmbeddedFile {
  const char* name;
  const unsigned char* data;
  std::size_t size;
};
std::span<const EmbeddedFile> embedded_files();
} // namespace detail

} // namespace tinychat::server
