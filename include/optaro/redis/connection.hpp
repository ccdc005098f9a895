#pragma once
// optaro::redis: connections to a Redis server over hiredis (RESP2). No hiredis type appears in this
// header: replies are decoded into optaro::redis::reply, so that the decoding is pure and testable
// without a server (see reply_decoder) and users need no hiredis headers.
//
// Failures follow the ports' rule (<optaro/ports.hpp>): what may succeed later throws
// optaro::retryable_error (connection refused or lost, a timeout, and the server errors LOADING, BUSY,
// TRYAGAIN, MASTERDOWN, READONLY, CLUSTERDOWN); any other error reply throws command_error. A hiredis
// context is unusable after an I/O error, so the connection drops it and reconnects, with backoff,
// at the next command. A password never appears in an error message, a log line or redacted().
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <optaro/ports.hpp>
#include <optaro/retry.hpp>

namespace optaro::redis {

/// An error reply that retrying will not fix (WRONGTYPE, a syntax error, NOSCRIPT, ...).
class command_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Where a server is: `redis://[[username]:password@]host[:port][/db]` (port 6379 and db 0 by default;
/// percent-escapes in the password are decoded).
struct url {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::string username;  ///< empty: AUTH with the password alone (the default user)
  std::string password;  ///< empty: no AUTH

  /// std::invalid_argument naming the part that is wrong ("redis url: port: not a number");
  /// the message never contains the password.
  [[nodiscard]] static url parse(std::string_view text);
  /// The URL with the password replaced by "***", for logs and errors.
  [[nodiscard]] std::string redacted() const;
};

struct connection_options {
  url address;
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds command_timeout{2000};
  /// Backoff between reconnection attempts: the first reconnect is immediate, the next ones wait
  /// delay(n) of this policy (max_retries is ignored: a connection keeps trying, one attempt per command).
  retry_policy reconnect{0, std::chrono::milliseconds{50}, 2.0, std::chrono::seconds{2}, retry_jitter::full};
};

/// A RESP2 reply, owning its data.
struct reply {
  enum class type : std::uint8_t { nil, status, error, integer, string, array };
  type kind = type::nil;
  std::string text;  ///< status, error and string replies
  std::int64_t integer = 0;
  std::vector<reply> elements;  ///< array replies

  [[nodiscard]] bool is_nil() const noexcept { return kind == type::nil; }
  [[nodiscard]] bool is_error() const noexcept { return kind == type::error; }
  friend bool operator==(const reply&, const reply&) = default;
};

/// Whether an error reply's text ("LOADING Redis is loading ...") is one that retrying may fix: its
/// first word is LOADING, BUSY, TRYAGAIN, MASTERDOWN, READONLY, CLUSTERDOWN or NOREPLICAS (replicas
/// reconnect, as a master comes back). The whole word counts: BUSYKEY and BUSYGROUP are permanent.
[[nodiscard]] bool is_retryable_error_reply(std::string_view text) noexcept;

/// Decodes RESP2 bytes into replies (hiredis's reader underneath): the pure half of the adapter,
/// tested with bytes a server will not produce on demand (deep nesting, huge lengths, garbage).
class reply_decoder {
 public:
  reply_decoder();
  ~reply_decoder();
  reply_decoder(const reply_decoder&) = delete;
  reply_decoder& operator=(const reply_decoder&) = delete;
  reply_decoder(reply_decoder&&) noexcept;
  reply_decoder& operator=(reply_decoder&&) noexcept;

  void feed(std::string_view bytes);
  /// The next complete reply, nullopt when more bytes are needed; std::runtime_error on a protocol
  /// error (the decoder is unusable afterwards).
  [[nodiscard]] std::optional<reply> next();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// One connection; not thread-safe (use one per thread, or a connection_pool).
class connection {
 public:
  /// Does not connect (the first command does); std::invalid_argument for options that can never
  /// work (empty host, port out of range, negative db, a timeout <= 0, an invalid reconnect policy).
  explicit connection(connection_options options);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  connection(connection&&) noexcept;
  connection& operator=(connection&&) noexcept;

  /// Sends one command and returns its reply; connects first when needed (AUTH, SELECT). An error
  /// reply throws (see the file comment); use pipeline() to receive error replies as values.
  reply command(std::span<const std::string_view> args);
  reply command(std::initializer_list<std::string_view> args);
  /// Sends every command, then reads every reply (one round trip); error replies are returned, not
  /// thrown. An I/O error throws retryable_error and the whole batch must be considered not done.
  std::vector<reply> pipeline(std::span<const std::vector<std::string_view>> commands);

  /// For subscribers: sends a command without reading its reply.
  void send(std::span<const std::string_view> args);
  void send(std::initializer_list<std::string_view> args);
  /// Waits up to `timeout` for the next reply; nullopt on timeout, leaving the connection usable.
  /// Error replies are returned, not thrown. Does not connect: retryable_error when not connected
  /// or on an I/O error (then send() again, which reconnects, e.g. to subscribe again).
  [[nodiscard]] std::optional<reply> read(std::chrono::milliseconds timeout);

  /// PING; false (never a throw) when the server does not answer PONG.
  [[nodiscard]] bool ping() noexcept;
  void disconnect() noexcept;
  [[nodiscard]] bool connected() const noexcept;
  /// How many times this connection has (re)connected successfully.
  [[nodiscard]] std::uint64_t connects() const noexcept;
  [[nodiscard]] const connection_options& options() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Connections for many threads: acquire() lends one (creating it when none is idle); the lease
/// returns it when destroyed. A connection that failed is returned disconnected and keeps its
/// reconnection backoff, so that a server that is down is not met with a new connection per command.
class connection_pool {
 public:
  explicit connection_pool(connection_options options, std::size_t max_idle = 16);
  ~connection_pool();
  connection_pool(const connection_pool&) = delete;
  connection_pool& operator=(const connection_pool&) = delete;

  class lease {
   public:
    lease(connection_pool& pool, std::unique_ptr<connection> c) noexcept;
    ~lease();
    lease(lease&&) noexcept;
    lease& operator=(lease&&) = delete;
    lease(const lease&) = delete;
    lease& operator=(const lease&) = delete;
    connection& operator*() const noexcept { return *connection_; }
    connection* operator->() const noexcept { return connection_.get(); }

   private:
    connection_pool* pool_;
    std::unique_ptr<connection> connection_;
  };

  [[nodiscard]] lease acquire();
  /// PING through a pooled connection: {ok, "redis://:***@host:port/db"} or {false, why}.
  [[nodiscard]] port_health health();
  [[nodiscard]] const connection_options& options() const noexcept { return options_; }

 private:
  void give_back(std::unique_ptr<connection> c) noexcept;

  connection_options options_;
  std::size_t max_idle_;
  struct idle_list;
  std::unique_ptr<idle_list> idle_;
};

}  // namespace optaro::redis
