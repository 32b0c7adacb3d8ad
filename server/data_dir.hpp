#pragma once
/// The sqlite store's directory: created on first start and held by one server at a time.

#include <filesystem>

namespace tinychat::server {

/// Creates `dir` when missing and locks it for this process's lifetime (the lock goes with the
/// process, also when it is killed). Returns the database file's path. Throws
/// StoreOpenError when the directory cannot be created or written, or another process
/// holds it: two servers on one database would hand out the same seq twice.
std::filesystem::path open_data_dir(const std::filesystem::path& dir);

} // namespace tinychat::server
