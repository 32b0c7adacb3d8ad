// A validating pass over JSON text that finds an object with the same key twice. Boost.JSON
// keeps the last of such keys without a word, and a frame whose fields can be read two ways
// (one intermediary trusting the first "room_id", the server the last) is refused instead.

#include "json_fields.hpp"

#include <boost/json/basic_parser_impl.hpp>

#include <string>
#include <vector>

namespace tinychat::detail {
namespace {

class DuplicateKeyFinder {
public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  bool found = false;

  bool on_document_begin(boost::system::error_code&) { return true; }
  bool on_document_end(boost::system::error_code&) { return true; }
  bool on_object_begin(boost::system::error_code&) {
    objects_.emplace_back();
    return true;
  }
  bool on_object_end(std::size_t, boost::system::error_code&) {
    objects_.pop_back();
    return true;
  }
  bool on_array_begin(boost::system::error_code&) { return true; }
  bool on_array_end(std::size_t, boost::system::error_code&) { return true; }
  bool on_key_part(json::string_view part, std::size_t, boost::system::error_code&) {
    key_.append(part.data(), part.size());
    return true;
  }
  bool on_key(json::string_view part, std::size_t, boost::system::error_code& ec) {
    key_.append(part.data(), part.size());
    auto& keys = objects_.back();
    for (const auto& k : keys)
      if (k == key_) {
        found = true;
        ec = json::error::syntax; // stop here: one duplicate is enough
        return false;
      }
    keys.push_back(std::move(key_));
    key_.clear();
    return true;
  }
  bool on_string_part(json::string_view, std::size_t, boost::system::error_code&) { return true; }
  bool on_string(json::string_view, std::size_t, boost::system::error_code&) { return true; }
  bool on_number_part(json::string_view, boost::system::error_code&) { return true; }
  bool on_int64(std::int64_t, json::string_view, boost::system::error_code&) { return true; }
  bool on_uint64(std::uint64_t, json::string_view, boost::system::error_code&) { return true; }
  bool on_double(double, json::string_view, boost::system::error_code&) { return true; }
  bool on_bool(bool, boost::system::error_code&) { return true; }
  bool on_null(boost::system::error_code&) { return true; }
  bool on_comment_part(json::string_view, boost::system::error_code&) { return true; }
  bool on_comment(json::string_view, boost::system::error_code&) { return true; }

private:
  std::vector<std::vector<std::string>> objects_; // keys seen in each open object
  std::string key_;
};

} // namespace

bool has_duplicate_keys(std::string_view json_text, const json::parse_options& options) {
  json::basic_parser<DuplicateKeyFinder> parser(options);
  boost::system::error_code ec;
  parser.write_some(false, json_text.data(), json_text.size(), ec);
  return parser.handler().found;
}

} // namespace tinychat::detail
