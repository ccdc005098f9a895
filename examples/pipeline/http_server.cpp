#include "http_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <stdexcept>

namespace optaro::pipeline {
namespace {

constexpr std::size_t max_request = 8 * 1024;
constexpr auto request_timeout = std::chrono::seconds{2};

const char* reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

// Writes everything, or gives up at the deadline or on an error (the peer went away).
void send_all(int fd, std::string_view data, std::chrono::steady_clock::time_point deadline) {
  while (!data.empty()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return;
    pollfd p{fd, POLLOUT, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return;
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (n <= 0) return;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::string render(const http_response& r, bool head_only) {
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + reason(r.status) + "\r\n";
  out += "Content-Type: " + r.content_type + "\r\n";
  out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  if (r.status == 405) out += "Allow: GET, HEAD\r\n";
  out += "Connection: close\r\n\r\n";
  if (!head_only) out += r.body;
  return out;
}

// Closing a socket with unread input makes the kernel send a reset, which can destroy the answer before
// the client reads it (a 431 to a client still sending its oversized request). So: end our side, read
// and drop what the client still sends, until it closes or a short deadline passes, then close.
void close_gracefully(int client) noexcept {
  ::shutdown(client, SHUT_WR);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds{500};
  std::array<char, 4096> sink{};
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{client, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    if (::recv(client, sink.data(), sink.size(), 0) <= 0) break;
  }
  ::close(client);
}

}  // namespace

http_server::http_server(const std::string& host, std::uint16_t port, handler on_get) : on_get_(std::move(on_get)) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    throw std::runtime_error("HTTP host '" + host + "': " + ::gai_strerror(rc));
  }
  std::string error = "no address";
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      error = std::strerror(errno);
      continue;
    }
    const int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 16) == 0) {
      listener_ = fd;
      break;
    }
    error = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(found);
  if (listener_ < 0) throw std::runtime_error("cannot listen on " + host + ":" + service + ": " + error);
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  if (::getsockname(listener_, reinterpret_cast<sockaddr*>(&bound), &length) == 0) {
    if (bound.ss_family == AF_INET) port_ = ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    if (bound.ss_family == AF_INET6) port_ = ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  }
  ::fcntl(listener_, F_SETFL, ::fcntl(listener_, F_GETFL) | O_NONBLOCK);
  thread_ = std::thread{[this] { serve(); }};
}

http_server::~http_server() {
  stopping_.store(true, std::memory_order_relaxed);
  if (thread_.joinable()) thread_.join();
  if (listener_ >= 0) ::close(listener_);
}

void http_server::serve() {
  while (!stopping_.load(std::memory_order_relaxed)) {
    pollfd p{listener_, POLLIN, 0};
    const int ready = ::poll(&p, 1, 100);
    if (ready <= 0) continue;
    const int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (client < 0) continue;
    try {
      handle(client);
    } catch (...) {
      // Nothing a request contains stops the server.
    }
    close_gracefully(client);
  }
}

void http_server::handle(int client) {
  const auto deadline = std::chrono::steady_clock::now() + request_timeout;
  std::string request;
  std::size_t head_end = std::string::npos;
  std::array<char, 2048> buffer{};
  while (head_end == std::string::npos) {
    if (request.size() > max_request) {
      send_all(client, render({431, "text/plain; charset=utf-8", "request too large\n"}, false), deadline);
      return;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      send_all(client, render({408, "text/plain; charset=utf-8", "request timeout\n"}, false),
               std::chrono::steady_clock::now() + std::chrono::milliseconds{200});
      return;
    }
    pollfd p{client, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;  // the deadline check above answers
    const ssize_t n = ::recv(client, buffer.data(), buffer.size(), 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (n <= 0) return;  // closed or failed before a whole request: nobody to answer
    request.append(buffer.data(), static_cast<std::size_t>(n));
    head_end = request.find("\r\n\r\n");
    if (head_end == std::string::npos) head_end = request.find("\n\n");  // lenient: bare newlines
    if (head_end != std::string::npos && head_end > max_request) {
      send_all(client, render({431, "text/plain; charset=utf-8", "request too large\n"}, false), deadline);
      return;
    }
  }

  // The request line: METHOD SP TARGET SP HTTP/x.y
  const std::string_view head{request.data(), head_end};
  const std::string_view line = head.substr(0, head.find_first_of("\r\n"));
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == 0 || sp1 == std::string_view::npos || sp2 == std::string_view::npos || sp2 == sp1 + 1 ||
      line.substr(sp2 + 1).substr(0, 5) != "HTTP/") {
    send_all(client, render({400, "text/plain; charset=utf-8", "bad request\n"}, false), deadline);
    return;
  }
  const std::string_view method = line.substr(0, sp1);
  std::string_view path = line.substr(sp1 + 1, sp2 - sp1 - 1);
  path = path.substr(0, path.find_first_of("?#"));
  const bool head_only = method == "HEAD";
  http_response response;
  if (method != "GET" && !head_only) {
    response = {405, "text/plain; charset=utf-8", "method not allowed\n"};
  } else {
    try {
      response = on_get_(path);
    } catch (const std::exception& e) {
      response = {500, "text/plain; charset=utf-8", std::string{e.what()} + "\n"};
    }
  }
  send_all(client, render(response, head_only), deadline);
}

http_server::handler engine_endpoints(enricher& engine) {
  return [&engine](std::string_view path) -> http_response {
    if (path == "/metrics") return {200, "text/plain; version=0.0.4; charset=utf-8", engine.metrics().prometheus_text()};
    if (path == "/health") {
      const health_report h = engine.health();
      return {h.ok ? 200 : 503, "application/json", h.to_json() + "\n"};
    }
    return {404, "text/plain; charset=utf-8", "not found (try /metrics or /health)\n"};
  };
}

}  // namespace optaro::pipeline
