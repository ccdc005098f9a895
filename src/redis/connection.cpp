// Redis connections over hiredis (include/optaro/redis/connection.hpp).
//
// A hiredis context is blocking, with SO_RCVTIMEO/SO_SNDTIMEO set to the command timeout. After any
// I/O error (refused, reset, closed, a timeout) hiredis marks the context failed for good, so the
// connection frees it and connects again at the next command; consecutive failed connection attempts
// are spaced by the reconnect policy, and a command that arrives before the backoff has elapsed fails
// at once instead of sleeping (a worker thread must never block on a dead server).
//
// read() does not use the socket timeout: hiredis would mark the context failed when it expires. It
// waits with poll() and reads only once the socket is readable.
//
// hiredis 0.14 writes with write(2), so a write to a connection the server has closed raises SIGPIPE,
// whose default action kills the process. A library must not change the process's signal dispositions,
// so every call that may write blocks SIGPIPE in the calling thread and consumes one it caused (the
// technique of libcurl's sigpipe_ignore); SIGPIPE from a socket write is sent to the writing thread.
#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstring>
#include <limits>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "hiredis_reply.hpp"

namespace optaro::redis {

namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// ---- url helpers -----------------------------------------------------------------------------------

[[noreturn]] void bad_url(std::string_view part, std::string_view why) {
  // Never quote the input: any part of it may be (or contain) the password.
  throw std::invalid_argument("redis url: " + std::string(part) + ": " + std::string(why));
}

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

int hex_value(char c) noexcept {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view text, std::string_view part) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) bad_url(part, "bad percent-escape (expected %XX)");
    const int high = hex_value(text[i + 1]);
    const int low = hex_value(text[i + 2]);
    if (high < 0 || low < 0) bad_url(part, "bad percent-escape (expected %XX)");
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

// RFC 3986 unreserved characters pass; everything else is escaped, so that redacted() parses again.
std::string percent_encode(std::string_view text) {
  static constexpr std::string_view hex = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    if (is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(hex[byte >> 4U]);
      out.push_back(hex[byte & 0xFU]);
    }
  }
  return out;
}

// Digits only (no sign, no spaces), at most `max`.
bool parse_number(std::string_view text, long max, long& value) noexcept {
  if (text.empty() || text.size() > 10) return false;
  long v = 0;
  for (char c : text) {
    if (!is_digit(c)) return false;
    v = v * 10 + (c - '0');
  }
  if (v > max) return false;
  value = v;
  return true;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

void check_host(std::string_view host, bool bracketed) {
  if (host.empty()) bad_url("host", "empty");
  for (char c : host) {
    const bool ok = bracketed ? (hex_value(c) >= 0 || c == ':' || c == '.')
                              : (is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_');
    if (!ok) bad_url("host", bracketed ? "not an IPv6 address" : "invalid character");
  }
}

// ---- connection helpers ----------------------------------------------------------------------------

timeval to_timeval(milliseconds ms) noexcept {
  timeval tv{};
  tv.tv_sec = static_cast<decltype(tv.tv_sec)>(ms.count() / 1000);
  tv.tv_usec = static_cast<decltype(tv.tv_usec)>((ms.count() % 1000) * 1000);
  return tv;
}

void validate(const connection_options& options) {
  if (options.address.host.empty()) throw std::invalid_argument("redis connection_options: address.host: empty");
  if (options.address.port < 1 || options.address.port > 65535) {
    throw std::invalid_argument("redis connection_options: address.port: out of range (1-65535)");
  }
  if (options.address.db < 0) throw std::invalid_argument("redis connection_options: address.db: negative");
  if (options.connect_timeout.count() <= 0) {
    throw std::invalid_argument("redis connection_options: connect_timeout: must be positive");
  }
  if (options.command_timeout.count() <= 0) {
    throw std::invalid_argument("redis connection_options: command_timeout: must be positive");
  }
  try {
    options.reconnect.validate();
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("redis connection_options: reconnect.") + e.what());
  }
}

// The command's name for an error message: printable, short (a key or value is never quoted).
std::string command_name(std::string_view name) {
  std::string out(name.substr(0, 32));
  for (char& c : out) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  return out;
}

// Blocks SIGPIPE in this thread for the guard's lifetime and swallows one raised meanwhile.
class sigpipe_guard {
 public:
  sigpipe_guard() noexcept {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    was_pending_ = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
    active_ = pthread_sigmask(SIG_BLOCK, &pipe_, &old_) == 0 && sigismember(&old_, SIGPIPE) == 0;
  }
  ~sigpipe_guard() {
    if (!active_) return;
    if (!was_pending_) {
      sigset_t pending;
      sigemptyset(&pending);
      if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1) {
        const timespec no_wait{};
        while (sigtimedwait(&pipe_, nullptr, &no_wait) < 0 && errno == EINTR) {
        }
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  sigpipe_guard(const sigpipe_guard&) = delete;
  sigpipe_guard& operator=(const sigpipe_guard&) = delete;
  sigpipe_guard(sigpipe_guard&&) = delete;
  sigpipe_guard& operator=(sigpipe_guard&&) = delete;

 private:
  sigset_t pipe_{};
  sigset_t old_{};
  bool was_pending_ = false;
  bool active_ = false;
};

// argv/argvlen for hiredis, pointing into the caller's string_views (binary safe: lengths, not NULs).
struct argv_view {
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;

  explicit argv_view(std::span<const std::string_view> args) {
    if (args.empty()) throw std::invalid_argument("redis command: no arguments");
    if (args.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
      throw std::invalid_argument("redis command: too many arguments");
    }
    argv.reserve(args.size());
    lengths.reserve(args.size());
    for (std::string_view a : args) {
      // hiredis formats a zero-length argument correctly whatever the pointer; never pass null.
      argv.push_back(a.data() != nullptr ? a.data() : "");
      lengths.push_back(a.size());
    }
  }
  [[nodiscard]] int count() const noexcept { return static_cast<int>(argv.size()); }
};

}  // namespace

// ---- url ---------------------------------------------------------------------------------------------

url url::parse(std::string_view text) {
  constexpr std::string_view scheme = "redis://";
  if (text.size() < scheme.size() || !iequals(text.substr(0, scheme.size()), scheme)) {
    if (text.size() >= 9 && iequals(text.substr(0, 9), "rediss://")) {
      bad_url("scheme", "rediss:// (TLS) is not supported");
    }
    bad_url("scheme", "expected redis://");
  }
  std::string_view rest = text.substr(scheme.size());
  url out;

  // The credentials end at the last '@': an unescaped password may contain '@' or '/', and nothing
  // after the credentials may contain '@'.
  if (const std::size_t at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const std::size_t colon = userinfo.find(':');
    if (colon == std::string_view::npos) bad_url("credentials", "expected [username]:password@ before the host");
    out.username = percent_decode(userinfo.substr(0, colon), "username");
    out.password = percent_decode(userinfo.substr(colon + 1), "password");
    if (out.password.empty() && !out.username.empty()) bad_url("password", "empty (a username needs a password)");
  }

  const std::size_t slash = rest.find('/');
  const std::string_view host_port = rest.substr(0, slash);
  const std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);

  std::string_view port_text;
  bool has_port = false;
  if (!host_port.empty() && host_port.front() == '[') {
    const std::size_t close = host_port.find(']');
    if (close == std::string_view::npos) bad_url("host", "'[' without ']'");
    const std::string_view host = host_port.substr(1, close - 1);
    check_host(host, true);
    out.host = std::string(host);
    const std::string_view after = host_port.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') bad_url("host", "unexpected characters after ']'");
      has_port = true;
      port_text = after.substr(1);
    }
  } else {
    const std::size_t colon = host_port.find(':');
    const std::string_view host = host_port.substr(0, colon);
    if (colon != std::string_view::npos) {
      port_text = host_port.substr(colon + 1);
      has_port = true;
      if (port_text.find(':') != std::string_view::npos) bad_url("host", "an IPv6 address must be in brackets");
    }
    check_host(host, false);
    out.host = std::string(host);
  }

  if (has_port) {
    long port = 0;
    if (port_text.empty()) bad_url("port", "empty");
    if (!std::all_of(port_text.begin(), port_text.end(), is_digit)) bad_url("port", "not a number");
    if (!parse_number(port_text, 65535, port) || port < 1) bad_url("port", "out of range (1-65535)");
    out.port = static_cast<int>(port);
  }

  if (path.find_first_of("?#") != std::string_view::npos) bad_url("db", "query strings and fragments are not supported");
  if (!path.empty()) {
    long db = 0;
    if (!std::all_of(path.begin(), path.end(), is_digit)) bad_url("db", "not a number");
    if (!parse_number(path, std::numeric_limits<int>::max(), db)) bad_url("db", "out of range");
    out.db = static_cast<int>(db);
  }
  return out;
}

std::string url::redacted() const {
  std::string out = "redis://";
  if (!password.empty()) {
    out += percent_encode(username);
    out += ":***@";
  }
  if (host.find(':') != std::string::npos) {
    out += '[';
    out += host;
    out += ']';
  } else {
    out += host;
  }
  out += ':';
  out += std::to_string(port);
  out += '/';
  out += std::to_string(db);
  return out;
}

// ---- error replies -----------------------------------------------------------------------------------

bool is_retryable_error_reply(std::string_view text) noexcept {
  // The error code is the first word; a prefix is not enough (BUSYKEY and BUSYGROUP are permanent).
  // NOREPLICAS (min-replicas-to-write not met) is as temporary as MASTERDOWN: replicas come back.
  static constexpr std::array<std::string_view, 7> retryable = {
      "LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN", "READONLY", "CLUSTERDOWN", "NOREPLICAS"};
  const std::string_view code = text.substr(0, text.find(' '));
  return std::find(retryable.begin(), retryable.end(), code) != retryable.end();
}

// ---- reply_decoder -----------------------------------------------------------------------------------

struct reply_decoder::impl {
  redisReader* reader = redisReaderCreateWithFunctions(detail::reply_functions());
  impl() {
    if (reader == nullptr) throw std::bad_alloc();
  }
  ~impl() { redisReaderFree(reader); }
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;
  impl(impl&&) = delete;
  impl& operator=(impl&&) = delete;

  [[noreturn]] void protocol_error() const {
    throw std::runtime_error(std::string("redis reply: protocol error: ") + reader->errstr);
  }
};

reply_decoder::reply_decoder() : impl_(std::make_unique<impl>()) {}
reply_decoder::~reply_decoder() = default;
reply_decoder::reply_decoder(reply_decoder&&) noexcept = default;
reply_decoder& reply_decoder::operator=(reply_decoder&&) noexcept = default;

void reply_decoder::feed(std::string_view bytes) {
  if (bytes.empty()) return;
  if (redisReaderFeed(impl_->reader, bytes.data(), bytes.size()) != REDIS_OK) impl_->protocol_error();
}

std::optional<reply> reply_decoder::next() {
  void* r = nullptr;
  if (redisReaderGetReply(impl_->reader, &r) != REDIS_OK) {
    if (r != nullptr) detail::free_reply(r);
    impl_->protocol_error();
  }
  if (r == nullptr) return std::nullopt;
  return detail::take_reply(r);
}

// ---- connection --------------------------------------------------------------------------------------

struct connection::impl {
  connection_options options;
  std::string where;  // options.address.redacted(), the prefix of every message
  redisContext* context = nullptr;
  std::uint64_t connects = 0;
  int failed_attempts = 0;               // consecutive failed connection attempts
  steady_clock::time_point next_attempt;  // no connection attempt before this
  std::string last_error;                 // why the last attempt failed (no password)
  bool last_error_permanent = false;      // it was a command_error (AUTH or SELECT refused)
  std::mt19937_64 random;

  explicit impl(connection_options o)
      : options(std::move(o)),
        where(options.address.redacted()),
        random(static_cast<std::uint64_t>(steady_clock::now().time_since_epoch().count()) ^
               reinterpret_cast<std::uintptr_t>(this)) {}
  ~impl() { drop(); }
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;
  impl(impl&&) = delete;
  impl& operator=(impl&&) = delete;

  void drop() noexcept {
    if (context != nullptr) {
      redisFree(context);
      context = nullptr;
    }
  }

  [[nodiscard]] bool usable() const noexcept { return context != nullptr && context->err == 0; }

  [[nodiscard]] std::string message(std::string_view what, std::string_view detail) const {
    std::string m = where;
    m += ": ";
    m += what;
    m += ": ";
    m += detail;
    return m;
  }

  // An I/O error on the context: it is unusable, drop it; the next command reconnects at once.
  [[noreturn]] void fail_io(std::string_view what) {
    const std::string detail = context != nullptr && context->err != 0 ? std::string(context->errstr) : "no reply";
    drop();
    throw retryable_error(message(what, detail));
  }

  // A failed connection attempt: the next one waits for the backoff.
  void record_failure(std::string text, bool permanent) {
    drop();
    failed_attempts = std::min(failed_attempts + 1, 64);
    next_attempt = steady_clock::now() + std::chrono::duration_cast<steady_clock::duration>(
                                             options.reconnect.delay(failed_attempts, random));
    last_error = std::move(text);
    last_error_permanent = permanent;
  }

  [[noreturn]] void fail_connect(std::string_view detail) {
    std::string m = message("connect", detail);
    record_failure(m, false);
    throw retryable_error(std::move(m));
  }

  // AUTH and SELECT while connecting; a refusal that retrying may fix is retryable, any other is not.
  void setup_command(std::span<const std::string_view> args, std::string_view what) {
    argv_view argv(args);
    void* r = redisCommandArgv(context, argv.count(), argv.argv.data(), argv.lengths.data());
    if (r == nullptr || context->err != 0) {
      if (r != nullptr) detail::free_reply(r);
      fail_connect(std::string(what) + ": " + (context->err != 0 ? context->errstr : "no reply"));
    }
    const reply answer = detail::take_reply(r);
    if (!answer.is_error()) return;
    std::string text = answer.text;
    // Servers do not echo AUTH arguments, but make sure: the password never reaches a message.
    const std::string& password = options.address.password;
    if (!password.empty()) {
      for (std::size_t at = text.find(password); at != std::string::npos; at = text.find(password, at + 3)) {
        text.replace(at, password.size(), "***");
      }
    }
    std::string m = where + ": " + std::string(what) + " failed: " + text;
    if (is_retryable_error_reply(answer.text)) {
      record_failure(m, false);
      throw retryable_error(std::move(m));
    }
    record_failure(m, true);
    throw command_error(std::move(m));
  }

  void connect() {
    const url& address = options.address;
    redisContext* c = redisConnectWithTimeout(address.host.c_str(), address.port, to_timeval(options.connect_timeout));
    if (c == nullptr) fail_connect("out of memory");
    context = c;
    if (c->err != 0) fail_connect(c->errstr);
    c->reader->fn = detail::reply_functions();  // before the first reply
    if (redisSetTimeout(c, to_timeval(options.command_timeout)) != REDIS_OK) {
      fail_connect(std::string("setting the command timeout: ") + c->errstr);
    }
    if (!address.password.empty()) {
      if (address.username.empty()) {
        const std::array<std::string_view, 2> auth = {"AUTH", address.password};
        setup_command(auth, "AUTH");
      } else {
        const std::array<std::string_view, 3> auth = {"AUTH", address.username, address.password};
        setup_command(auth, "AUTH");
      }
    }
    if (address.db != 0) {
      const std::string db = std::to_string(address.db);
      const std::array<std::string_view, 2> select = {"SELECT", db};
      setup_command(select, "SELECT");
    }
    ++connects;
    failed_attempts = 0;
    next_attempt = {};
    last_error.clear();
    last_error_permanent = false;
  }

  // A server that closed an idle connection (a restart, a client timeout) left an end of file to read:
  // the connection is replaced before a command is sent on it, instead of failing that command (and the
  // batch of messages it served). Data waiting to be read (a subscriber's messages) is not a close.
  [[nodiscard]] bool peer_closed() const noexcept {
    pollfd ready{};
    ready.fd = context->fd;
    ready.events = POLLIN;
    if (::poll(&ready, 1, 0) <= 0) return false;
    char byte = 0;
    const ssize_t n = ::recv(context->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
  }

  // The context, connecting first when there is none (unless the backoff has not elapsed).
  redisContext* ensure(std::string_view what) {
    if (usable() && !peer_closed()) return context;
    drop();
    const auto now = steady_clock::now();
    if (now < next_attempt) {
      const auto wait = std::chrono::ceil<milliseconds>(next_attempt - now).count();
      std::string m = message(what, "not connected, reconnecting in " + std::to_string(wait) +
                                        " ms (last error: " + last_error + ")");
      if (last_error_permanent) throw command_error(std::move(m));
      throw retryable_error(std::move(m));
    }
    connect();
    return context;
  }

  // Sends the output buffer completely (send() must not leave the command in hiredis's buffer).
  void flush(std::string_view what) {
    int done = 0;
    while (done == 0) {
      if (redisBufferWrite(context, &done) != REDIS_OK) fail_io(what);
    }
  }
};

connection::connection(connection_options options) {
  validate(options);
  impl_ = std::make_unique<impl>(std::move(options));
}
connection::~connection() = default;
connection::connection(connection&&) noexcept = default;
connection& connection::operator=(connection&&) noexcept = default;

reply connection::command(std::span<const std::string_view> args) {
  argv_view argv(args);
  const std::string name = command_name(args.front());
  const sigpipe_guard guard;
  redisContext* c = impl_->ensure(name);
  void* r = redisCommandArgv(c, argv.count(), argv.argv.data(), argv.lengths.data());
  if (r == nullptr || c->err != 0) {
    if (r != nullptr) detail::free_reply(r);
    impl_->fail_io(name);
  }
  reply answer = detail::take_reply(r);
  if (answer.is_error()) {
    std::string m = impl_->message(name, answer.text);
    if (is_retryable_error_reply(answer.text)) throw retryable_error(std::move(m));
    throw command_error(std::move(m));
  }
  return answer;
}

reply connection::command(std::initializer_list<std::string_view> args) {
  return command(std::span<const std::string_view>(args.begin(), args.size()));
}

std::vector<reply> connection::pipeline(std::span<const std::vector<std::string_view>> commands) {
  std::vector<reply> replies;
  if (commands.empty()) return replies;
  std::vector<argv_view> argvs;
  argvs.reserve(commands.size());
  for (const auto& args : commands) argvs.emplace_back(args);
  replies.reserve(commands.size());

  const sigpipe_guard guard;
  redisContext* c = impl_->ensure("pipeline");
  for (argv_view& argv : argvs) {
    if (redisAppendCommandArgv(c, argv.count(), argv.argv.data(), argv.lengths.data()) != REDIS_OK) {
      impl_->fail_io("pipeline");
    }
  }
  try {
    for (std::size_t i = 0; i < argvs.size(); ++i) {
      void* r = nullptr;
      if (redisGetReply(c, &r) != REDIS_OK || r == nullptr) {
        if (r != nullptr) detail::free_reply(r);
        impl_->fail_io("pipeline");
      }
      replies.push_back(detail::take_reply(r));
    }
  } catch (...) {
    // Replies left unread would be taken for the answers to the next commands.
    impl_->drop();
    throw;
  }
  return replies;
}

void connection::send(std::span<const std::string_view> args) {
  argv_view argv(args);
  const std::string name = command_name(args.front());
  const sigpipe_guard guard;
  redisContext* c = impl_->ensure(name);
  if (redisAppendCommandArgv(c, argv.count(), argv.argv.data(), argv.lengths.data()) != REDIS_OK) {
    impl_->fail_io(name);
  }
  impl_->flush(name);
}

void connection::send(std::initializer_list<std::string_view> args) {
  send(std::span<const std::string_view>(args.begin(), args.size()));
}

std::optional<reply> connection::read(std::chrono::milliseconds timeout) {
  if (!impl_->usable()) {
    impl_->drop();
    throw retryable_error(impl_->message("read", "not connected"));
  }
  redisContext* c = impl_->context;
  void* r = nullptr;
  // A reply may already be buffered (several arrived in one packet): poll() would not see it.
  if (redisGetReplyFromReader(c, &r) != REDIS_OK) impl_->fail_io("read");
  if (r != nullptr) return detail::take_reply(r);

  const auto deadline = steady_clock::now() + std::max(timeout, milliseconds{0});
  for (;;) {
    const auto now = steady_clock::now();
    const auto left = now < deadline ? std::chrono::ceil<milliseconds>(deadline - now).count() : 0;
    pollfd ready{};
    ready.fd = c->fd;
    ready.events = POLLIN;
    const int n = ::poll(&ready, 1, static_cast<int>(std::min<long long>(left, INT_MAX)));
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string why = std::strerror(errno);
      impl_->drop();
      throw retryable_error(impl_->message("read", "poll: " + why));
    }
    if (n == 0) {
      if (steady_clock::now() >= deadline) return std::nullopt;
      continue;
    }
    // Readable, or hung up / failed: redisBufferRead reports the latter as an error.
    if (redisBufferRead(c) != REDIS_OK) impl_->fail_io("read");
    if (redisGetReplyFromReader(c, &r) != REDIS_OK) impl_->fail_io("read");
    if (r != nullptr) return detail::take_reply(r);
  }
}

bool connection::ping() noexcept {
  try {
    const reply answer = command({"PING"});
    return answer.kind == reply::type::status && answer.text == "PONG";
  } catch (...) {
    return false;
  }
}

void connection::disconnect() noexcept {
  if (impl_) impl_->drop();
}

bool connection::connected() const noexcept { return impl_ && impl_->usable(); }

std::uint64_t connection::connects() const noexcept { return impl_ ? impl_->connects : 0; }

const connection_options& connection::options() const noexcept { return impl_->options; }

// ---- connection_pool ---------------------------------------------------------------------------------

struct connection_pool::idle_list {
  std::mutex mutex;
  std::vector<std::unique_ptr<connection>> connections;
};

connection_pool::connection_pool(connection_options options, std::size_t max_idle)
    : options_(std::move(options)), max_idle_(max_idle), idle_(std::make_unique<idle_list>()) {
  // Checked here so that acquire(), which creates connections, cannot fail on them.
  validate(options_);
}

// Leases must not outlive their pool (they hold a pointer to it).
connection_pool::~connection_pool() = default;

connection_pool::lease::lease(connection_pool& pool, std::unique_ptr<connection> c) noexcept
    : pool_(&pool), connection_(std::move(c)) {}

connection_pool::lease::~lease() {
  if (connection_) pool_->give_back(std::move(connection_));
}

connection_pool::lease::lease(lease&& other) noexcept : pool_(other.pool_), connection_(std::move(other.connection_)) {}

connection_pool::lease connection_pool::acquire() {
  {
    const std::lock_guard lock(idle_->mutex);
    if (!idle_->connections.empty()) {
      std::unique_ptr<connection> c = std::move(idle_->connections.back());
      idle_->connections.pop_back();
      return lease(*this, std::move(c));
    }
  }
  // Not connected yet: the first command connects, so that acquiring never fails on the server.
  return lease(*this, std::make_unique<connection>(options_));
}

void connection_pool::give_back(std::unique_ptr<connection> c) noexcept {
  // A connection that failed comes back too, disconnected: its next command reconnects after its
  // backoff, so that a server that is down is not met with a fresh connection attempt per command.
  if (!c) return;
  std::unique_ptr<connection> surplus;  // closed outside the lock
  try {
    const std::lock_guard lock(idle_->mutex);
    if (idle_->connections.size() < max_idle_) {
      idle_->connections.push_back(std::move(c));
    } else {
      surplus = std::move(c);
    }
  } catch (...) {
    // Out of memory or a broken mutex: closing the connection is always correct.
  }
}

port_health connection_pool::health() {
  try {
    lease l = acquire();
    const reply answer = l->command({"PING"});
    if (answer.kind == reply::type::status && answer.text == "PONG") return {true, options_.address.redacted()};
    return {false, options_.address.redacted() + ": PING: unexpected reply"};
  } catch (const std::exception& e) {
    return {false, e.what()};
  }
}

}  // namespace optaro::redis
