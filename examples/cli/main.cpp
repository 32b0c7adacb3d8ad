// tinychat-cli: a terminal client for tinychat. `create` makes a room; `join` prints a room's
// messages and sends the lines read from stdin, signed with the key kept in a key file.
// See options.cpp for the usage and room_view.hpp for the output format.

#include "key_file.hpp"
#include "options.hpp"
#include "run_state.hpp"
#include "session.hpp"

#include <pthread.h>
#include <signal.h>

#include <cctype>
#include <exception>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <stdexcept>
#include <thread>
#include <variant>

namespace {

using namespace tinychat::cli;

// SIGINT and SIGTERM are blocked everywhere and taken by this thread with sigwait, the one
// way to turn a signal into an ordinary event that may lock and notify.
void wait_for_signal(const sigset_t& signals, RunState& state) {
  int signal_number = 0;
  if (sigwait(&signals, &signal_number) == 0) state.stop(exit_ok, "");
}

// A token is a credential, so it comes from a file: on the command line any user of the
// machine could read it in the process list. Trailing white space (a newline) is dropped.
std::string read_token(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read token file " + path);
  std::string token((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back())))
    token.pop_back();
  if (token.empty()) throw std::runtime_error("token file " + path + " is empty");
  return token;
}

int run(const Options& options, tinychat::KeyPair key) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  // Before any thread starts, so every thread inherits the mask.
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  RunState state;
  std::thread signal_thread(wait_for_signal, std::cref(signals), std::ref(state));
  int exit_status = exit_failure;
  {
    Session session(options, std::move(key), state);
    exit_status = options.command == Command::create ? session.create() : session.join();
  }
  // The signal thread may still be waiting: wake it with a signal only it takes.
  pthread_kill(signal_thread.native_handle(), SIGTERM);
  signal_thread.join();
  return exit_status;
}

} // namespace

int main(int argc, char** argv) {
  const auto parsed = parse_options(argc, argv);
  if (auto* exit_status = std::get_if<int>(&parsed)) return *exit_status;
  auto options = std::get<Options>(parsed);
  try {
    if (!options.token_path.empty()) options.token = read_token(options.token_path);
    // Creating a room needs no identity: a throwaway key will do.
    auto key =
        options.command == Command::create
            ? tinychat::KeyPair::generate()
            : load_or_create_key(options.key_path.empty() ? default_key_path() : options.key_path);
    return run(options, std::move(key));
  } catch (const std::exception& e) {
    std::cerr << "tinychat-cli: " << e.what() << std::endl;
    return exit_failure;
  }
}
