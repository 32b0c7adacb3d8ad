#include "config_file.hpp"

#include "options.hpp"

#include <fstream>
#include <string_view>

namespace tinychat::server {

namespace {

std::string_view trim(std::string_view s) {
  const auto blank = " \t\r";
  const auto first = s.find_first_not_of(blank);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(blank) - first + 1);
}

} // namespace

std::vector<Setting> read_config_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UsageError("--config: cannot read '" + path + "'");
  std::vector<Setting> settings;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const std::string where = path + ":" + std::to_string(number);
    const std::string_view text = trim(line);
    if (text.empty() || text.front() == '#') continue;
    const auto eq = text.find('=');
    if (eq == std::string_view::npos)
      throw UsageError(where + ": expected 'name = value', not '" + std::string(text) + "'");
    const std::string_view name = trim(text.substr(0, eq));
    if (name.empty() || name.starts_with("-"))
      throw UsageError(where + ": a name is a flag without '--', e.g. 'port = 8080'");
    settings.push_back({std::string(name), std::string(trim(text.substr(eq + 1))), where});
  }
  if (in.bad()) throw UsageError("--config: cannot read '" + path + "'");
  return settings;
}

} // namespace tinychat::server
