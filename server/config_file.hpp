#pragma once
/// The --config file of tinychat-server: the same settings as the flags, one a line.
///
///   # comment
///   port = 8080
///   allowed-origin = https://chat.example.org
///   allowed-origin = https://chat.example.net
///
/// A name is a flag without its leading `--`; the value is the rest of the line, with the
/// white space around it removed. `#` starts a comment only as a line's first non-blank
/// character, so values may contain it.

#include <string>
#include <vector>

namespace tinychat::server {

/// One `name = value` line, or one flag of the command line.
struct Setting {
  std::string name;
  std::string value;
  /// Where it came from, for messages: "FILE:LINE", or empty for the command line.
  std::string where;
};

/// Reads the settings of `path` in file order. Throws UsageError when the file cannot be
/// read or a line is not `name = value` (the message starts with "FILE:LINE: ").
std::vector<Setting> read_config_file(const std::string& path);

} // namespace tinychat::server
