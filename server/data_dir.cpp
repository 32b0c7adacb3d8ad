#include "data_dir.hpp"

#include <tinychat/sqlite_store.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace tinychat::server {

std::filesystem::path open_data_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    throw StoreOpenError("cannot create data directory '" + dir.string() + "': " + ec.message());
  const auto lock_path = dir / "lock";
  // Deliberately never closed: the lock must last as long as the process.
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    throw StoreOpenError("cannot write in data directory '" + dir.string() +
                         "': " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    throw StoreOpenError("data directory '" + dir.string() +
                         "' is in use by another tinychat-server; give each its own --data-dir");
  }
  return dir / "tinychat.sqlite";
}

} // namespace tinychat::server
