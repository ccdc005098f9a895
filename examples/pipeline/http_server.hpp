#pragma once
// A tiny HTTP/1.1 server for the pipeline's /metrics and /health: POSIX sockets, one thread, one
// connection at a time, closed after each response. Requests are limited to 8 KiB of head and two
// seconds; anything else (garbage, a slow client, a peer that goes away) gets an error or nothing, and
// the server goes on.
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <thread>

#include <optaro/engine.hpp>

namespace optaro::pipeline {

struct http_response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class http_server {
 public:
  /// Called on the server's thread for a GET, with the path (query string removed).
  using handler = std::function<http_response(std::string_view path)>;

  /// Binds host:port (port 0: any free port) and starts serving; std::runtime_error when it cannot.
  http_server(const std::string& host, std::uint16_t port, handler on_get);
  ~http_server();  ///< stops the thread and closes the socket
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

 private:
  void serve();
  void handle(int client);

  handler on_get_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

/// GET /metrics (Prometheus text of the engine's registry), GET /health (its health report as JSON:
/// 200 when ok, else 503); 404 for anything else.
[[nodiscard]] http_server::handler engine_endpoints(enricher& engine);

}  // namespace optaro::pipeline
