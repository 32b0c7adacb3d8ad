#include "key_file.hpp"

#include <tinychat/encoding.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>

namespace tinychat::cli {

namespace {

constexpr std::size_t seed_hex_chars = 64;

[[noreturn]] void fail(const std::string& what, int error = 0) {
  throw KeyFileError(error ? what + ": " + std::strerror(error) : what);
}

// Closes a file descriptor on every path out.
class FileDescriptor {
public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

private:
  int fd_;
};

std::string parent_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// mkdir -p with mode 0700 for the directories it creates (existing ones are left alone).
void create_directories(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) fail(dir + " is not a directory");
    return;
  }
  if (errno != ENOENT) fail("cannot use " + dir, errno);
  if (const std::string parent = parent_of(dir); parent != dir) create_directories(parent);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) fail("cannot create " + dir, errno);
}

void write_all(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("cannot write " + path, errno);
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

// Reads the key at `path`; nullopt when there is no file.
std::optional<KeyPair> load_key(const std::string& path) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::nullopt;
    fail("cannot open key file " + path, errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail("cannot read key file " + path, errno);
  if (!S_ISREG(st.st_mode)) fail("key file " + path + " is not a regular file");
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    fail("key file " + path + " is accessible by other users (mode " + mode +
         "); refusing to use it. Run: chmod 600 " + path);
  }

  // A valid file is 64 or 65 bytes; reading one more tells a longer file apart.
  std::array<char, seed_hex_chars + 2> buffer{};
  std::size_t size = 0;
  while (size < buffer.size()) {
    const ssize_t n = ::read(fd.get(), buffer.data() + size, buffer.size() - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("cannot read key file " + path, errno);
    if (n == 0) break;
    size += static_cast<std::size_t>(n);
  }
  std::string_view text(buffer.data(), size);
  if (text.ends_with('\n')) text.remove_suffix(1);
  std::array<std::uint8_t, 32> seed{};
  const bool ok = text.size() == seed_hex_chars && from_hex(text, seed);
  // Keeps no copy of the secret around.
  std::memset(buffer.data(), 0, buffer.size());
  if (!ok)
    fail("malformed key file " + path +
         ": expected 64 lowercase hex characters (a 32-byte Ed25519 seed)");
  KeyPair key = KeyPair::from_seed(seed);
  std::memset(seed.data(), 0, seed.size());
  return key;
}

// Writes a new key to `path`; false when another program created the file first.
bool create_key(const std::string& path, const KeyPair& key) {
  const std::string dir = parent_of(path);
  create_directories(dir);
  // mkostemp creates the file with O_CREAT | O_EXCL and mode 0600.
  std::string temp = path + ".XXXXXX";
  FileDescriptor fd(::mkostemp(temp.data(), O_CLOEXEC));
  if (fd.get() < 0) fail("cannot create a key file next to " + path, errno);
  try {
    std::string text = to_hex(key.seed());
    text += '\n';
    write_all(fd.get(), text, temp);
    std::memset(text.data(), 0, text.size());
    if (::fsync(fd.get()) != 0) fail("cannot write " + temp, errno);
    // link() publishes the complete file under its name, and unlike rename() refuses to
    // replace a key another program created meanwhile.
    if (::link(temp.c_str(), path.c_str()) != 0) {
      if (errno != EEXIST) fail("cannot create key file " + path, errno);
      ::unlink(temp.c_str());
      return false;
    }
  } catch (...) {
    ::unlink(temp.c_str());
    throw;
  }
  ::unlink(temp.c_str());
  // The new name is durable only once the directory is synced too.
  FileDescriptor dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() >= 0) ::fsync(dir_fd.get());
  return true;
}

} // namespace

std::string default_key_path() {
  // The XDG base directory spec says to ignore a relative XDG_CONFIG_HOME.
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && xdg[0] == '/')
    return std::string(xdg) + "/tinychat/key";
  if (const char* home = std::getenv("HOME"); home && home[0] != '\0')
    return std::string(home) + "/.config/tinychat/key";
  fail("neither XDG_CONFIG_HOME nor HOME is set; give the key file with --key FILE");
}

KeyPair load_or_create_key(const std::string& path) {
  if (auto key = load_key(path)) return std::move(*key);
  KeyPair key = KeyPair::generate();
  if (create_key(path, key)) return key;
  // Another program was faster: use its key, so both run as one user.
  if (auto existing = load_key(path)) return std::move(*existing);
  fail("key file " + path + " disappeared while it was being created");
}

} // namespace tinychat::cli
