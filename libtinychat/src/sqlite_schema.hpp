#pragma once
// Opening SqliteStore's database: checks, pragmas and schema migrations. Private.

#include "sqlite_db.hpp"

#include <tinychat/sqlite_store.hpp>

#include <filesystem>

namespace tinychat::detail {

/// The schema version this build writes and understands (PRAGMA user_version).
inline constexpr int schema_version = 1;

/// Opens (creating when missing) and migrates the database at `file`, ready for use by one
/// thread at a time. Throws StoreOpenError saying what is wrong and what to do.
SqliteDb open_database(const std::filesystem::path& file, Durability durability);

} // namespace tinychat::detail
