// tinychat-server: serves protocol v1 over WebSocket, plus the browser page and /healthz over
// HTTP.

#include "listener.hpp"
#include "log.hpp"
#include "options.hpp"
#include "server_state.hpp"
#include "web_assets.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/system_error.hpp>

#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <exception>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#ifndef TINYCHAT_VERSION
#define TINYCHAT_VERSION "unknown"
#endif

namespace net = boost::asio;

namespace {

// Closes still in flight after this are abandoned; exit must not hang on a dead peer.
constexpr auto shutdown_grace = std::chrono::seconds(3);

// Every connection is a descriptor, and the usual soft limit of 1024 is far below what one
// server handles; the hard limit is what the operator allows.
void raise_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

int serve(const tinychat::server::Options& options) {
  using namespace tinychat::server;
  raise_descriptor_limit();
  log_event(LogLevel::info, "start",
            {{"version", TINYCHAT_VERSION},
             {"store", options.store},
             {"data_dir", options.store == "sqlite" ? options.data_dir : std::string("none")},
             {"bind", options.bind},
             {"port", std::to_string(options.port)},
             {"threads", std::to_string(options.threads)},
             {"metrics", options.metrics ? "on" : "off"},
             {"config", options.config_file.empty() ? std::string("none") : options.config_file}});
  net::io_context ioc(static_cast<int>(options.threads));
  std::optional<ServerState> state_holder;
  try {
    state_holder.emplace(ioc, options);
  } catch (const tinychat::StoreOpenError& e) {
    log_event(LogLevel::error, "store_error",
              {{"detail", std::string("cannot open the store: ") + e.what()}});
    return 1;
  }
  ServerState& state = *state_holder;
  const WebAssets assets =
      options.web_root.empty() ? WebAssets::embedded() : WebAssets::directory(options.web_root);

  const net::ip::tcp::endpoint endpoint(net::ip::make_address(options.bind), options.port);
  std::shared_ptr<Listener> listener;
  try {
    listener = std::make_shared<Listener>(ioc, endpoint, state, assets);
  } catch (const boost::system::system_error& e) {
    log_event(LogLevel::error, "listen_error",
              {{"address", options.bind},
               {"port", std::to_string(options.port)},
               {"error", e.code().message()}});
    return 1;
  }
  net::signal_set signals(ioc, SIGINT, SIGTERM);
  // No reload: settings apply at start only. A SIGHUP (a habit of init systems) must not
  // end the process, so it is noted and otherwise ignored.
  net::signal_set hangups(ioc, SIGHUP);
  std::function<void(boost::system::error_code, int)> on_hangup = [&](boost::system::error_code ec,
                                                                      int) {
    if (ec) return;
    log_event(LogLevel::warn, "reload_unsupported",
              {{"detail", "settings apply at start; restart the server to change them"}});
    hangups.async_wait(on_hangup);
  };
  hangups.async_wait(on_hangup);
  net::steady_timer grace_timer(ioc);
  signals.async_wait([&](boost::system::error_code ec, int) {
    if (ec) return;
    log_event(LogLevel::info, "shutdown_begin");
    hangups.cancel();
    listener->stop();
    state.shutdown([&ioc] { ioc.stop(); });
    grace_timer.expires_after(shutdown_grace);
    grace_timer.async_wait([&ioc](boost::system::error_code wait_ec) {
      if (!wait_ec) {
        log_event(LogLevel::warn, "shutdown_timeout",
                  {{"detail", "closing handshakes did not finish in time"}});
        ioc.stop();
      }
    });
  });

  state.start();
  listener->run();
  // Only now: a test that signals right after reading this line must find the handler set.
  const auto bound = listener->local_endpoint();
  std::string address = bound.address().to_string();
  if (bound.address().is_v6()) address = "[" + address + "]";
  // Tests and scripts read the port from this stdout line; the log has it on stderr too.
  std::cout << "tinychat-server listening on http://" << address << ":" << bound.port()
            << std::endl;
  log_event(LogLevel::info, "listening",
            {{"address", address}, {"port", std::to_string(bound.port())}});

  std::vector<std::thread> threads;
  threads.reserve(options.threads - 1);
  for (unsigned i = 1; i < options.threads; ++i)
    threads.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& t : threads)
    t.join();
  log_event(LogLevel::info, "shutdown_end");
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  using namespace tinychat::server;
  // A peer that vanishes mid-write must produce EPIPE, not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  ParsedCommandLine cmd;
  try {
    cmd = parse_command_line(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const UsageError& e) {
    std::cerr << "tinychat-server: " << e.what() << "\n"
              << "Try 'tinychat-server --help'.\n";
    return 2;
  }
  switch (cmd.action) {
  case ParsedCommandLine::Action::help:
    std::cout << usage_text();
    return 0;
  case ParsedCommandLine::Action::version:
    std::cout << "tinychat-server " TINYCHAT_VERSION "\n";
    return 0;
  case ParsedCommandLine::Action::run:
    break;
  }
  set_log_level(cmd.options.log_level);
  try {
    return serve(cmd.options);
  } catch (const std::exception& e) {
    log_event(LogLevel::error, "fatal", {{"error", e.what()}});
    return 1;
  }
}
