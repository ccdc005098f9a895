// optaro::redis connections (src/redis/connection.cpp).
//  - RedisUrl*, RedisReply*: no server. URL parsing (passwords never in errors), RESP2 decoding of
//    bytes a server will not produce on demand, the retryable error-reply table.
//  - RedisConnection*: against the redis-server of OPTARO_TEST_REDIS_URL (skipped when it is not set),
//    plus servers with passwords that the tests start themselves.
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <optaro/ports.hpp>
#include <optaro/redis/connection.hpp>

extern char** environ;

namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;
using namespace std::string_view_literals;
using optaro::retryable_error;
using optaro::redis::command_error;
using optaro::redis::connection;
using optaro::redis::connection_options;
using optaro::redis::connection_pool;
using optaro::redis::reply;
using optaro::redis::reply_decoder;
using optaro::redis::url;
using std::chrono::steady_clock;

// ---- RedisUrl ------------------------------------------------------------------------------------

TEST(RedisUrl, Defaults) {
  const url u = url::parse("redis://localhost");
  EXPECT_EQ(u.host, "localhost");
  EXPECT_EQ(u.port, 6379);
  EXPECT_EQ(u.db, 0);
  EXPECT_EQ(u.username, "");
  EXPECT_EQ(u.password, "");
}

TEST(RedisUrl, GoodUrls) {
  struct row {
    std::string_view text;
    std::string host;
    int port;
    int db;
    std::string username;
    std::string password;
  };
  const std::vector<row> rows = {
      {"redis://127.0.0.1:6380/3", "127.0.0.1", 6380, 3, "", ""},
      {"redis://cache.example.com", "cache.example.com", 6379, 0, "", ""},
      {"REDIS://Host-1_a:1/", "Host-1_a", 1, 0, "", ""},
      {"redis://h:65535/2147483647", "h", 65535, 2147483647, "", ""},
      {"redis://:secret@h:7000/15", "h", 7000, 15, "", "secret"},
      {"redis://alice:secret@h/1", "h", 6379, 1, "alice", "secret"},
      {"redis://al%3Ace:p%40ss%2Fw%25rd%20x@h", "h", 6379, 0, "al:ce", "p@ss/w%rd x"},
      {"redis://:p%00q@h", "h", 6379, 0, "", "p\0q"s},
      // Unescaped '@', ':' and '/' in a password: the credentials end at the last '@'.
      {"redis://:p@ss:w/rd@h:1/2", "h", 1, 2, "", "p@ss:w/rd"},
      {"redis://:@h", "h", 6379, 0, "", ""},
      {"redis://[::1]:6380/1", "::1", 6380, 1, "", ""},
      {"redis://[fe80::1:2]", "fe80::1:2", 6379, 0, "", ""},
      {"redis://u:pw@[::1]/4", "::1", 6379, 4, "u", "pw"},
  };
  for (const row& r : rows) {
    SCOPED_TRACE(std::string(r.text));
    const url u = url::parse(r.text);
    EXPECT_EQ(u.host, r.host);
    EXPECT_EQ(u.port, r.port);
    EXPECT_EQ(u.db, r.db);
    EXPECT_EQ(u.username, r.username);
    EXPECT_EQ(u.password, r.password);
  }
}

// Each bad URL fails with std::invalid_argument naming the part ("redis url: <part>: why").
TEST(RedisUrl, BadUrlsNameThePart) {
  const std::vector<std::pair<std::string_view, std::string_view>> rows = {
      {"", "redis url: scheme: "},
      {"http://h", "redis url: scheme: "},
      {"redis:/h", "redis url: scheme: "},
      {"rediss://h", "redis url: scheme: rediss:// (TLS) is not supported"},
      {"redis://", "redis url: host: empty"},
      {"redis://:6379", "redis url: host: empty"},
      {"redis:///0", "redis url: host: empty"},
      {"redis://h h", "redis url: host: "},
      {"redis://h?db=1", "redis url: host: "},
      {"redis://::1:6379", "redis url: host: an IPv6 address must be in brackets"},
      {"redis://[::1", "redis url: host: "},
      {"redis://[::1]6379", "redis url: host: "},
      {"redis://[]:6379", "redis url: host: empty"},
      {"redis://[zz::1]", "redis url: host: "},
      {"redis://h:", "redis url: port: empty"},
      {"redis://h:abc", "redis url: port: not a number"},
      {"redis://h:-1", "redis url: port: not a number"},
      {"redis://h:+1", "redis url: port: not a number"},
      {"redis://h: 1", "redis url: port: not a number"},
      {"redis://h:0", "redis url: port: out of range (1-65535)"},
      {"redis://h:65536", "redis url: port: out of range (1-65535)"},
      {"redis://h:99999999999999999999", "redis url: port: out of range (1-65535)"},
      {"redis://h/x", "redis url: db: not a number"},
      {"redis://h/-1", "redis url: db: not a number"},
      {"redis://h/1/2", "redis url: db: not a number"},
      {"redis://h/2147483648", "redis url: db: out of range"},
      {"redis://h/0?timeout=1", "redis url: db: query strings"},
      {"redis://user@h", "redis url: credentials: "},
      {"redis://u%g1:pw@h", "redis url: username: bad percent-escape"},
      {"redis://u:pw%2@h", "redis url: password: bad percent-escape"},
      {"redis://u:pw%@h", "redis url: password: bad percent-escape"},
      {"redis://u:@h", "redis url: password: empty"},
  };
  for (const auto& [text, expected] : rows) {
    SCOPED_TRACE(std::string(text));
    try {
      (void)url::parse(text);
      ADD_FAILURE() << "no exception";
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string_view(e.what()).substr(0, expected.size()), expected) << e.what();
    }
  }
}

TEST(RedisUrl, ErrorsNeverContainThePassword) {
  constexpr std::string_view secret = "TopSecret-42";
  const std::vector<std::string> bad = {
      "redis://:TopSecret-42@h:abc",   "redis://u:TopSecret-42@h:0",       "redis://u:TopSecret-42@h/x",
      "redis://:TopSecret-42@",        "redis://:TopSecret-42@h h",        "redis://:TopSecret-42%zz@h",
      "redis://TopSecret-42@h",        "rediss://:TopSecret-42@h",         "http://:TopSecret-42@h",
      "redis://:TopSecret-42",         "redis://:TopSecret-42/0@h:x",      "redis://:TopSecret-42@h/0?TopSecret-42",
      "redis://u:TopSecret-42@[::1",   "redis://:TopSecret-42@h:1:2",
  };
  for (const std::string& text : bad) {
    SCOPED_TRACE(text);
    try {
      (void)url::parse(text);
      ADD_FAILURE() << "no exception";
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string_view(e.what()).find(secret), std::string_view::npos) << e.what();
      EXPECT_EQ(std::string_view(e.what()).find("TopSecret"), std::string_view::npos) << e.what();
    }
  }
}

TEST(RedisUrl, Redacted) {
  EXPECT_EQ(url::parse("redis://h").redacted(), "redis://h:6379/0");
  EXPECT_EQ(url::parse("redis://:s3cret@h:6380/3").redacted(), "redis://:***@h:6380/3");
  EXPECT_EQ(url::parse("redis://alice:s3cret@h/1").redacted(), "redis://alice:***@h:6379/1");
  EXPECT_EQ(url::parse("redis://[::1]:7000/2").redacted(), "redis://[::1]:7000/2");
  EXPECT_EQ(url::parse("redis://h:1/0").redacted().find("***"), std::string::npos);
  // A username that needs escaping is escaped, so that the redacted URL parses again.
  const url odd = url::parse("redis://al%3Ace%40x:p%40ss@h:2/5");
  EXPECT_EQ(odd.redacted(), "redis://al%3Ace%40x:***@h:2/5");
  const url again = url::parse(odd.redacted());
  EXPECT_EQ(again.username, odd.username);
  EXPECT_EQ(again.host, odd.host);
  EXPECT_EQ(again.port, odd.port);
  EXPECT_EQ(again.db, odd.db);
  EXPECT_EQ(again.password, "***");
  // Built by hand, not parsed: the password still never shows.
  url by_hand;
  by_hand.password = "hunter2";
  EXPECT_EQ(by_hand.redacted(), "redis://:***@127.0.0.1:6379/0");
}

// ---- RedisReply ----------------------------------------------------------------------------------

reply status(std::string text) { return {reply::type::status, std::move(text), 0, {}}; }
reply error(std::string text) { return {reply::type::error, std::move(text), 0, {}}; }
reply integer(std::int64_t v) { return {reply::type::integer, {}, v, {}}; }
reply string(std::string text) { return {reply::type::string, std::move(text), 0, {}}; }
reply nil() { return {}; }
reply array(std::vector<reply> elements) { return {reply::type::array, {}, 0, std::move(elements)}; }

reply decode_one(std::string_view bytes) {
  reply_decoder decoder;
  decoder.feed(bytes);
  std::optional<reply> r = decoder.next();
  if (!r) throw std::logic_error("incomplete reply");
  if (decoder.next()) throw std::logic_error("more than one reply");
  return *r;
}

TEST(RedisReply, DecodesEveryType) {
  EXPECT_EQ(decode_one("+OK\r\n"), status("OK"));
  EXPECT_EQ(decode_one("+\r\n"), status(""));
  EXPECT_EQ(decode_one("-ERR wrong\r\n"), error("ERR wrong"));
  EXPECT_EQ(decode_one(":0\r\n"), integer(0));
  EXPECT_EQ(decode_one(":-42\r\n"), integer(-42));
  EXPECT_EQ(decode_one(":9223372036854775807\r\n"), integer(INT64_MAX));
  EXPECT_EQ(decode_one(":-9223372036854775808\r\n"), integer(INT64_MIN));
  EXPECT_EQ(decode_one("$5\r\nhello\r\n"), string("hello"));
  EXPECT_EQ(decode_one("$0\r\n\r\n"), string(""));
  EXPECT_NE(decode_one("$0\r\n\r\n"), nil());  // an empty string is not nil
}

TEST(RedisReply, DecodesNilBulkAndNilArrayAsNil) {
  EXPECT_TRUE(decode_one("$-1\r\n").is_nil());
  EXPECT_TRUE(decode_one("*-1\r\n").is_nil());
}

TEST(RedisReply, DecodesEmptyArray) {
  const reply r = decode_one("*0\r\n");
  EXPECT_EQ(r.kind, reply::type::array);
  EXPECT_TRUE(r.elements.empty());
  EXPECT_FALSE(r.is_nil());
}

TEST(RedisReply, DecodesNestedArrays) {
  const reply r = decode_one("*4\r\n*2\r\n:1\r\n$1\r\na\r\n*0\r\n$-1\r\n*1\r\n*1\r\n+deep\r\n");
  EXPECT_EQ(r, array({array({integer(1), string("a")}), array({}), nil(), array({array({status("deep")})})}));
}

// hiredis 0.14 reads up to 8 nested arrays and refuses a ninth level: an error, not a crash.
TEST(RedisReply, NestingLimitIsAProtocolError) {
  std::string eight;
  for (int i = 0; i < 8; ++i) eight += "*1\r\n";
  reply expected = integer(7);
  for (int i = 0; i < 8; ++i) expected = array({expected});
  EXPECT_EQ(decode_one(eight + ":7\r\n"), expected);

  reply_decoder decoder;
  decoder.feed("*1\r\n" + eight + ":7\r\n");
  EXPECT_THROW((void)decoder.next(), std::runtime_error);
}

TEST(RedisReply, BinarySafeStrings) {
  const std::string payload = "a\0b\r\nc\r\n$3\r\n\xff"s;
  const std::string bytes = "$" + std::to_string(payload.size()) + "\r\n" + payload + "\r\n";
  EXPECT_EQ(decode_one(bytes), string(payload));
  EXPECT_EQ(decode_one("-ERR \0x\r\n"s), error("ERR \0x"s));  // an error with a NUL: kept whole
  EXPECT_EQ(decode_one("*1\r\n" + bytes), array({string(payload)}));
}

TEST(RedisReply, SeveralRepliesInOneFeed) {
  reply_decoder decoder;
  EXPECT_FALSE(decoder.next());
  decoder.feed("+A\r\n:1\r\n$1\r\nx\r\n*-1\r\n+partial");
  EXPECT_EQ(decoder.next(), status("A"));
  EXPECT_EQ(decoder.next(), integer(1));
  EXPECT_EQ(decoder.next(), string("x"));
  EXPECT_EQ(decoder.next(), nil());
  EXPECT_FALSE(decoder.next());
  decoder.feed("\r\n");
  EXPECT_EQ(decoder.next(), status("partial"));
  EXPECT_FALSE(decoder.next());
}

TEST(RedisReply, ByteByByte) {
  const std::string bytes = "*5\r\n+OK\r\n-ERR x\r\n:-7\r\n$4\r\na\r\nb\r\n*2\r\n$-1\r\n*0\r\n"s;
  const reply expected = array({status("OK"), error("ERR x"), integer(-7), string("a\r\nb"), array({nil(), array({})})});
  reply_decoder decoder;
  for (std::size_t i = 0; i + 1 < bytes.size(); ++i) {
    decoder.feed(bytes.substr(i, 1));
    ASSERT_FALSE(decoder.next()) << "complete after " << i + 1 << " of " << bytes.size() << " bytes";
  }
  decoder.feed(bytes.substr(bytes.size() - 1));
  EXPECT_EQ(decoder.next(), expected);
  EXPECT_FALSE(decoder.next());
}

TEST(RedisReply, HugeLengthSplitAcrossFeeds) {
  std::string payload(3 * 1024 * 1024 + 17, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 131 % 251);
  const std::string bytes = "$" + std::to_string(payload.size()) + "\r\n" + payload + "\r\n";
  reply_decoder decoder;
  std::size_t fed = 0;
  while (fed + 4096 < bytes.size()) {
    decoder.feed(std::string_view(bytes).substr(fed, 4096));
    fed += 4096;
    ASSERT_FALSE(decoder.next());
  }
  decoder.feed(std::string_view(bytes).substr(fed));
  const std::optional<reply> r = decoder.next();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, reply::type::string);
  EXPECT_TRUE(r->text == payload);
}

// A declared length far beyond what arrived: the decoder waits (and allocates nothing up front).
TEST(RedisReply, DeclaredLengthLongerThanTheDataWaits) {
  reply_decoder decoder;
  decoder.feed("$1000000000\r\nonly a little");
  EXPECT_FALSE(decoder.next());
  decoder.feed("*2000000000\r\n");  // still inside the string
  EXPECT_FALSE(decoder.next());
}

// Fuzz finding (tests/fuzz/fuzz_redis_reply): hiredis 0.14's own reply functions allocate a multi-bulk
// reply's element array when its header arrives, so 14 bytes from a server (or anything between) asked
// for 16 GB. The decoder's functions append elements as they arrive: a huge header costs nothing until
// its elements come, and a complete reply holds exactly what was received.
TEST(RedisReply, HugeMultiBulkHeaderAllocatesNothingUntilItsElementsArrive) {
  reply_decoder decoder;
  decoder.feed("*2000000000\r\n");
  EXPECT_FALSE(decoder.next());
  decoder.feed("$1\r\na\r\n:7\r\n*1000000000\r\n$0\r\n\r\n");
  EXPECT_FALSE(decoder.next());  // still waiting for the rest
  reply_decoder small;
  small.feed("*3\r\n$1\r\na\r\n*2\r\n:1\r\n$-1\r\n+OK\r\n");
  const auto r = small.next();
  ASSERT_TRUE(r);
  ASSERT_EQ(r->elements.size(), 3u);
  EXPECT_EQ(r->elements[0].text, "a");
  ASSERT_EQ(r->elements[1].elements.size(), 2u);
  EXPECT_EQ(r->elements[1].elements[0].integer, 1);
  EXPECT_TRUE(r->elements[1].elements[1].is_nil());
  EXPECT_EQ(r->elements[2].kind, optaro::redis::reply::type::status);
}

TEST(RedisReply, ProtocolGarbageIsAnError) {
  const std::vector<std::string_view> garbage = {
      "?what\r\n", "hello\r\n", ":12abc\r\n", "$abc\r\n", "$-2\r\n", "*-2\r\n", "$99999999999999999999999\r\n",
  };
  for (std::string_view bytes : garbage) {
    SCOPED_TRACE(std::string(bytes));
    reply_decoder decoder;
    decoder.feed(bytes);
    try {
      (void)decoder.next();
      ADD_FAILURE() << "no exception";
    } catch (const std::runtime_error& e) {
      EXPECT_EQ(std::string_view(e.what()).find("redis reply: protocol error: "), 0U) << e.what();
    }
    // Unusable afterwards: the error stays.
    EXPECT_THROW((void)decoder.next(), std::runtime_error);
  }
}

TEST(RedisReply, DecoderMoves) {
  reply_decoder a;
  a.feed("+O");
  reply_decoder b(std::move(a));
  b.feed("K\r\n");
  EXPECT_EQ(b.next(), status("OK"));
  reply_decoder c;
  c = std::move(b);
  c.feed(":5\r\n");
  EXPECT_EQ(c.next(), integer(5));
}

TEST(RedisReply, RetryableErrorReplies) {
  using optaro::redis::is_retryable_error_reply;
  for (std::string_view text :
       {"LOADING Redis is loading the dataset in memory", "BUSY Redis is busy running a script.",
        "TRYAGAIN Multiple keys request during rehashing of slot", "MASTERDOWN Link with MASTER is down",
        "READONLY You can't write against a read only replica.", "CLUSTERDOWN The cluster is down",
        "NOREPLICAS Not enough good replicas to write.", "LOADING"}) {
    EXPECT_TRUE(is_retryable_error_reply(text)) << text;
  }
  for (std::string_view text :
       {"WRONGTYPE Operation against a key holding the wrong kind of value", "ERR syntax error",
        "NOSCRIPT No matching script.", "BUSYKEY Target key name already exists.",
        "BUSYGROUP Consumer Group name already exists", "NOAUTH Authentication required.",
        "WRONGPASS invalid username-password pair", "OOM command not allowed", "MOVED 3999 127.0.0.1:6381",
        "loading lower case", " LOADING", "", "LOADINGX"}) {
    EXPECT_FALSE(is_retryable_error_reply(text)) << text;
  }
}

// ---- RedisConnection: helpers ----------------------------------------------------------------------

std::optional<std::string> environment(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

connection_options options_for(std::string_view text) {
  connection_options o;
  o.address = url::parse(text);
  o.connect_timeout = 2s;
  o.command_timeout = 2s;
  return o;
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t size = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), size) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
    ::close(fd);
    throw std::runtime_error("bind");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

// A redis-server of the test's own (e.g. with a password), on a free loopback port; stopped at the end.
class redis_process {
 public:
  explicit redis_process(std::vector<std::string> extra) : port_(free_port()) {
    std::vector<std::string> args = {"redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1",
                                     "--save", "", "--appendonly", "no", "--logfile", "/dev/null"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (::posix_spawnp(&pid_, "redis-server", nullptr, nullptr, argv.data(), environ) != 0) pid_ = -1;
  }
  ~redis_process() { stop(); }
  void stop() noexcept {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
    }
  }
  redis_process(const redis_process&) = delete;
  redis_process& operator=(const redis_process&) = delete;
  redis_process(redis_process&&) = delete;
  redis_process& operator=(redis_process&&) = delete;

  // Waits until the port accepts connections.
  [[nodiscard]] bool ready() const {
    if (pid_ <= 0) return false;
    const auto deadline = steady_clock::now() + 10s;
    while (steady_clock::now() < deadline) {
      const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      address.sin_port = htons(static_cast<std::uint16_t>(port_));
      const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
      ::close(fd);
      if (ok) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }
  [[nodiscard]] int port() const noexcept { return port_; }

 private:
  int port_;
  pid_t pid_ = -1;
};

bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

class RedisConnection : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::optional<std::string> address = environment("OPTARO_TEST_REDIS_URL");
    if (!address) GTEST_SKIP() << "OPTARO_TEST_REDIS_URL is not set (tests/redis/with-redis.sh sets it)";
    options_ = options_for(*address);
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    prefix_ = "optaro:test:connection:"s + info->name() + ":";
  }

  [[nodiscard]] std::string key(std::string_view name) const { return prefix_ + std::string(name); }

  connection_options options_;
  std::string prefix_;
};

// ---- RedisConnection: the shared server --------------------------------------------------------------

TEST_F(RedisConnection, CommandRoundTripsBinaryData) {
  connection c(options_);
  EXPECT_FALSE(c.connected());  // lazy: the first command connects
  EXPECT_EQ(c.connects(), 0U);
  const std::string k = key("bin\0key\r\n"s);
  const std::string value = "\0\r\n$5\r\n\xff\xfe end\0"s;
  EXPECT_EQ(c.command({"SET", k, value}), status("OK"));
  EXPECT_TRUE(c.connected());
  EXPECT_EQ(c.connects(), 1U);
  EXPECT_EQ(c.command({"GET", k}), string(value));
  EXPECT_EQ(c.command({"STRLEN", k}), integer(static_cast<std::int64_t>(value.size())));
  EXPECT_TRUE(c.command({"GET", key("missing")}).is_nil());
  EXPECT_EQ(c.command({"DEL", k}), integer(1));

  const std::string big(2 * 1024 * 1024, 'x');
  EXPECT_EQ(c.command({"SET", k, big}), status("OK"));
  EXPECT_EQ(c.command({"GET", k}), string(big));
  EXPECT_EQ(c.command({"DEL", k}), integer(1));

  std::vector<std::string_view> args = {"RPUSH", k, "", "a"};
  EXPECT_EQ(c.command(std::span<const std::string_view>(args)), integer(2));
  EXPECT_EQ(c.command({"LRANGE", k, "0", "-1"}), array({string(""), string("a")}));
  EXPECT_EQ(c.command({"DEL", k}), integer(1));
  EXPECT_TRUE(c.ping());
  EXPECT_EQ(c.connects(), 1U);
  EXPECT_THROW((void)c.command(std::span<const std::string_view>{}), std::invalid_argument);
}

TEST_F(RedisConnection, ErrorReplyThrowsCommandError) {
  connection c(options_);
  const std::string k = key("k");
  ASSERT_EQ(c.command({"SET", k, "v"}), status("OK"));
  try {
    (void)c.command({"LPUSH", k, "x"});
    ADD_FAILURE() << "no exception";
  } catch (const command_error& e) {
    EXPECT_TRUE(contains(e.what(), "WRONGTYPE")) << e.what();
    EXPECT_TRUE(contains(e.what(), options_.address.redacted())) << e.what();
  }
  EXPECT_THROW((void)c.command({"NOSUCHCOMMAND"}), command_error);
  // An error reply leaves the connection as it was.
  EXPECT_TRUE(c.connected());
  EXPECT_EQ(c.command({"DEL", k}), integer(1));
  EXPECT_EQ(c.connects(), 1U);
}

TEST_F(RedisConnection, PipelineReturnsErrorsAsValues) {
  connection c(options_);
  const std::string k = key("n");
  std::vector<std::string> numbers;
  for (int i = 0; i < 1000; ++i) numbers.push_back(std::to_string(i));
  std::vector<std::vector<std::string_view>> commands;
  for (int i = 0; i < 1000; ++i) {
    if (i == 500) {
      commands.push_back({"HSET", k, "f", "v"});  // k is a list by then: WRONGTYPE
    } else {
      commands.push_back({"RPUSH", k, numbers[static_cast<std::size_t>(i)]});
    }
  }
  const std::vector<reply> replies = c.pipeline(commands);
  ASSERT_EQ(replies.size(), 1000U);
  for (std::size_t i = 0; i < 1000; ++i) {
    if (i == 500) {
      EXPECT_TRUE(replies[i].is_error());
      EXPECT_TRUE(contains(replies[i].text, "WRONGTYPE")) << replies[i].text;
    } else {
      EXPECT_EQ(replies[i], integer(static_cast<std::int64_t>(i < 500 ? i + 1 : i)));
    }
  }
  EXPECT_EQ(c.command({"LLEN", k}), integer(999));
  EXPECT_TRUE(c.pipeline({}).empty());
  // A command without arguments is refused before anything is sent.
  const std::vector<std::vector<std::string_view>> bad = {{"PING"}, {}};
  EXPECT_THROW((void)c.pipeline(bad), std::invalid_argument);
  EXPECT_EQ(c.command({"DEL", k}), integer(1));
  EXPECT_EQ(c.connects(), 1U);
}

TEST_F(RedisConnection, AConnectionTheServerClosedWhileIdleIsReplacedBeforeTheNextCommand) {
  connection c(options_);
  const std::int64_t id = c.command({"CLIENT", "ID"}).integer;
  connection killer(options_);
  ASSERT_EQ(killer.command({"CLIENT", "KILL", "ID", std::to_string(id)}), integer(1));
  // Nothing failed: the closed connection was noticed before the command went out on it.
  EXPECT_EQ(c.command({"PING"}), status("PONG"));
  EXPECT_EQ(c.connects(), 2U);
  EXPECT_NE(c.command({"CLIENT", "ID"}).integer, id);
  const std::int64_t second = c.command({"CLIENT", "ID"}).integer;
  ASSERT_EQ(killer.command({"CLIENT", "KILL", "ID", std::to_string(second)}), integer(1));
  const std::vector<std::vector<std::string_view>> two = {{"PING"}, {"PING"}};
  EXPECT_EQ(c.pipeline(two).size(), 2U);  // a pipeline as well
  EXPECT_EQ(c.connects(), 3U);
}

TEST_F(RedisConnection, SelectsTheDatabase) {
  connection_options three = options_;
  three.address.db = 3;
  connection c3(three);
  connection c0(options_);
  const std::string k = key("db");
  ASSERT_EQ(c3.command({"SET", k, "three"}), status("OK"));
  EXPECT_TRUE(contains(c3.command({"CLIENT", "INFO"}).text, " db=3 "));
  EXPECT_TRUE(c0.command({"GET", k}).is_nil());
  EXPECT_EQ(c3.command({"GET", k}), string("three"));
  EXPECT_EQ(c3.command({"DEL", k}), integer(1));

  connection_options out_of_range = options_;
  out_of_range.address.db = 100000;
  connection bad(out_of_range);
  try {
    (void)bad.command({"PING"});
    ADD_FAILURE() << "no exception";
  } catch (const command_error& e) {
    EXPECT_TRUE(contains(e.what(), "SELECT failed")) << e.what();
  }
  EXPECT_FALSE(bad.connected());
}

TEST_F(RedisConnection, ReadTimeoutLeavesTheConnectionUsable) {
  connection subscriber(options_);
  connection publisher(options_);
  const std::string channel = key("channel");
  subscriber.send({"SUBSCRIBE", channel});
  const std::optional<reply> confirmed = subscriber.read(2s);
  ASSERT_TRUE(confirmed);
  EXPECT_EQ(*confirmed, array({string("subscribe"), string(channel), integer(1)}));

  const auto start = steady_clock::now();
  EXPECT_FALSE(subscriber.read(50ms));
  const auto waited = steady_clock::now() - start;
  EXPECT_GE(waited, 45ms);
  EXPECT_LT(waited, 1s);
  EXPECT_TRUE(subscriber.connected());

  const std::string payload = "tick\0\r\n"s;
  EXPECT_EQ(publisher.command({"PUBLISH", channel, payload}), integer(1));
  const std::optional<reply> message = subscriber.read(2s);
  ASSERT_TRUE(message);
  EXPECT_EQ(*message, array({string("message"), string(channel), string(payload)}));
  EXPECT_FALSE(subscriber.read(0ms));
  EXPECT_EQ(subscriber.connects(), 1U);
}

// Two replies in one packet: the second is in hiredis's buffer, where poll() cannot see it.
TEST_F(RedisConnection, ReadReturnsRepliesAlreadyBuffered) {
  connection subscriber(options_);
  subscriber.send({"SUBSCRIBE", key("a"), key("b"), key("c")});
  std::vector<reply> got;
  for (int i = 0; i < 3; ++i) {
    const std::optional<reply> r = subscriber.read(i == 0 ? 2s : 200ms);
    ASSERT_TRUE(r) << "reply " << i;
    got.push_back(*r);
  }
  EXPECT_EQ(got[2], array({string("subscribe"), string(key("c")), integer(3)}));
  EXPECT_FALSE(subscriber.read(10ms));
}

TEST_F(RedisConnection, ReadWhenNotConnectedIsRetryable) {
  connection c(options_);
  EXPECT_THROW((void)c.read(10ms), retryable_error);
}

TEST_F(RedisConnection, CommandTimeoutIsRetryableAndReconnects) {
  connection_options quick = options_;
  quick.command_timeout = 100ms;
  connection c(quick);
  ASSERT_TRUE(c.ping());
  const auto start = steady_clock::now();
  try {
    (void)c.command({"BLPOP", key("never"), "5"});
    ADD_FAILURE() << "no exception";
  } catch (const retryable_error& e) {
    EXPECT_TRUE(contains(e.what(), "BLPOP")) << e.what();
  }
  EXPECT_LT(steady_clock::now() - start, 2s);
  EXPECT_FALSE(c.connected());
  EXPECT_TRUE(c.ping());  // the first reconnection is immediate
  EXPECT_EQ(c.connects(), 2U);
}

TEST_F(RedisConnection, DisconnectThenReconnect) {
  connection c(options_);
  ASSERT_TRUE(c.ping());
  c.disconnect();
  EXPECT_FALSE(c.connected());
  EXPECT_TRUE(c.ping());
  EXPECT_EQ(c.connects(), 2U);
  connection moved(std::move(c));
  EXPECT_TRUE(moved.ping());
  EXPECT_EQ(moved.connects(), 2U);
}

// The server goes away: a command fails at once with retryable_error, the next ones wait for the
// backoff without blocking, and once the server is back a command after the backoff reconnects.
TEST_F(RedisConnection, ServerRestartIsRetryableThenReconnects) {
  const std::optional<std::string> control = environment("OPTARO_TEST_REDIS_CONTROL");
  if (!control) GTEST_SKIP() << "OPTARO_TEST_REDIS_CONTROL is not set";
  const auto run = [&](std::string_view action) {
    const std::string command = "bash '" + *control + "' " + std::string(action) + " >/dev/null";
    return std::system(command.c_str()) == 0;
  };
  struct restart_at_exit {
    std::function<bool(std::string_view)> run;
    ~restart_at_exit() { run("start"); }
  } guard{run};

  connection_options o = options_;
  o.reconnect = optaro::retry_policy{0, 300ms, 2.0, 1s, optaro::retry_jitter::none};
  connection c(o);
  ASSERT_TRUE(c.ping());
  ASSERT_TRUE(run("stop"));

  const auto start = steady_clock::now();
  // Lost connection, then refused (the backoff starts), then within the backoff.
  EXPECT_THROW((void)c.command({"PING"}), retryable_error);
  EXPECT_THROW((void)c.command({"PING"}), retryable_error);
  try {
    (void)c.command({"PING"});
    ADD_FAILURE() << "no exception";
  } catch (const retryable_error& e) {
    EXPECT_TRUE(contains(e.what(), "reconnecting in")) << e.what();
    EXPECT_TRUE(contains(e.what(), o.address.redacted())) << e.what();
  }
  EXPECT_FALSE(c.ping());
  EXPECT_LT(steady_clock::now() - start, 250ms);  // nothing slept
  EXPECT_EQ(c.connects(), 1U);

  ASSERT_TRUE(run("start"));
  const auto deadline = steady_clock::now() + 5s;
  bool back = false;
  while (!back && steady_clock::now() < deadline) {
    try {
      back = c.command({"PING"}) == status("PONG");
    } catch (const retryable_error&) {
      std::this_thread::sleep_for(20ms);
    }
  }
  EXPECT_TRUE(back);
  EXPECT_EQ(c.connects(), 2U);
}

TEST_F(RedisConnection, PoolUnderEightThreads) {
  connection_pool pool(options_, 4);
  const std::string counter = key("counter");
  {
    auto l = pool.acquire();
    (void)l->command({"DEL", counter});
  }
  constexpr int threads = 8;
  constexpr int increments = 250;
  std::atomic<int> failures{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < increments; ++i) {
        try {
          auto l = pool.acquire();
          if (l->command({"INCR", counter}).kind != reply::type::integer) ++failures;
          if ((i + t) % 50 == 0) l->disconnect();  // dropped on return, not pooled
        } catch (const std::exception&) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& w : workers) w.join();
  EXPECT_EQ(failures.load(), 0);
  auto l = pool.acquire();
  EXPECT_EQ(l->command({"GET", counter}), string(std::to_string(threads * increments)));
  EXPECT_EQ(l->command({"DEL", counter}), integer(1));

  const optaro::port_health h = pool.health();
  EXPECT_TRUE(h.ok) << h.detail;
  EXPECT_EQ(h.detail, options_.address.redacted());
}

TEST_F(RedisConnection, PoolReusesConnections) {
  connection_pool pool(options_, 1);
  const connection* first = nullptr;
  {
    auto l = pool.acquire();
    ASSERT_TRUE(l->ping());
    first = &*l;
  }
  {
    auto l = pool.acquire();
    EXPECT_EQ(&*l, first);
    EXPECT_EQ(l->connects(), 1U);
    auto other = pool.acquire();  // none idle: a new one
    EXPECT_NE(&*other, first);
    EXPECT_FALSE(other->connected());
    auto moved = std::move(other);
    EXPECT_TRUE(moved->ping());
  }  // max_idle 1: one of the two is closed
}

// ---- RedisConnection: servers with passwords ---------------------------------------------------------

TEST_F(RedisConnection, AuthWithPassword) {
  const std::string secret = "Opt4ro-test-S3cret";
  redis_process server({"--requirepass", secret});
  ASSERT_TRUE(server.ready()) << "could not start redis-server";
  const std::string where = "127.0.0.1:" + std::to_string(server.port());

  connection good(options_for("redis://:" + secret + "@" + where + "/0"));
  EXPECT_EQ(good.command({"PING"}), status("PONG"));

  // No password: the server says NOAUTH, a command_error.
  connection none(options_for("redis://" + where + "/0"));
  EXPECT_THROW((void)none.command({"PING"}), command_error);

  // A wrong password: command_error naming the redacted URL, never the password; the next attempt
  // waits for the backoff and says the same kind of error.
  const std::string wrong = "Wr0ng-Passw0rd-xyz";
  connection_options bad_options = options_for("redis://:" + wrong + "@" + where + "/0");
  bad_options.reconnect = optaro::retry_policy{0, 10s, 2.0, 10s, optaro::retry_jitter::none};
  connection bad(bad_options);
  for (int attempt = 0; attempt < 2; ++attempt) {
    try {
      (void)bad.command({"PING"});
      ADD_FAILURE() << "no exception";
    } catch (const command_error& e) {
      const std::string_view what = e.what();
      EXPECT_FALSE(contains(what, wrong)) << what;
      EXPECT_FALSE(contains(what, secret)) << what;
      EXPECT_TRUE(contains(what, "redis://:***@" + where + "/0: AUTH failed: WRONGPASS")) << what;
      if (attempt == 1) {
        EXPECT_TRUE(contains(what, "reconnecting in")) << what;
      }
    }
  }
  EXPECT_FALSE(bad.ping());
  EXPECT_EQ(bad.connects(), 0U);

  connection_pool pool(bad_options);
  const optaro::port_health h = pool.health();
  EXPECT_FALSE(h.ok);
  EXPECT_FALSE(contains(h.detail, wrong)) << h.detail;
}

TEST_F(RedisConnection, AuthWithUsernameAndEscapedPassword) {
  const std::string admin = "Adm1n-secret";
  redis_process server({"--requirepass", admin});
  ASSERT_TRUE(server.ready()) << "could not start redis-server";
  const std::string where = "127.0.0.1:" + std::to_string(server.port());
  const std::string password = "p@ss:w/rd% x";

  connection root(options_for("redis://:" + admin + "@" + where + "/0"));
  ASSERT_EQ(root.command({"ACL", "SETUSER", "alice", "on", ">" + password, "~*", "&*", "+@all"}), status("OK"));

  connection alice(options_for("redis://alice:p%40ss%3Aw%2Frd%25%20x@" + where + "/2"));
  const std::string info = alice.command({"CLIENT", "INFO"}).text;
  EXPECT_TRUE(contains(info, " user=alice ")) << info;
  EXPECT_TRUE(contains(info, " db=2 ")) << info;

  connection wrong(options_for("redis://alice:nope-nope@" + where + "/0"));
  try {
    (void)wrong.command({"PING"});
    ADD_FAILURE() << "no exception";
  } catch (const command_error& e) {
    EXPECT_TRUE(contains(e.what(), "redis://alice:***@" + where + "/0: AUTH failed: WRONGPASS")) << e.what();
    EXPECT_FALSE(contains(e.what(), "nope-nope")) << e.what();
  }
}

// Writing to a socket the server has closed raises SIGPIPE, which would kill the process: the
// connection must turn it into a retryable_error (hiredis 0.14 writes with write(2)).
TEST_F(RedisConnection, ServerGoneDuringLargeWritesIsRetryableNotSigpipe) {
  redis_process server({});
  ASSERT_TRUE(server.ready()) << "could not start redis-server";
  connection c(options_for("redis://127.0.0.1:" + std::to_string(server.port()) + "/0"));
  ASSERT_TRUE(c.ping());
  server.stop();
  const std::string big(4 * 1024 * 1024, 'x');
  const std::vector<std::vector<std::string_view>> commands(8, std::vector<std::string_view>{"SET", "k", big});
  for (int attempt = 0; attempt < 3; ++attempt) {
    EXPECT_THROW((void)c.pipeline(commands), retryable_error);
    EXPECT_THROW((void)c.command({"SET", "k", big}), retryable_error);
  }
  EXPECT_EQ(c.connects(), 1U);
}

// ---- RedisConnectionOffline: no server needed ------------------------------------------------------

TEST(RedisConnectionOffline, RefusedIsRetryableAndQuick) {
  const int port = free_port();  // nothing listens there
  connection_options o = options_for("redis://:Hidden-Pw-9@127.0.0.1:" + std::to_string(port) + "/0");
  o.reconnect = optaro::retry_policy{0, 10s, 2.0, 10s, optaro::retry_jitter::none};
  connection c(o);
  const auto start = steady_clock::now();
  for (int attempt = 0; attempt < 3; ++attempt) {
    try {
      (void)c.command({"PING"});
      ADD_FAILURE() << "no exception";
    } catch (const retryable_error& e) {
      const std::string_view what = e.what();
      EXPECT_FALSE(contains(what, "Hidden-Pw")) << what;
      EXPECT_TRUE(contains(what, "redis://:***@127.0.0.1:" + std::to_string(port) + "/0")) << what;
      if (attempt == 0) {
        EXPECT_TRUE(contains(what, "connect")) << what;
      } else {
        EXPECT_TRUE(contains(what, "reconnecting in")) << what;
      }
    }
  }
  EXPECT_THROW(c.send({"SUBSCRIBE", "x"}), retryable_error);
  EXPECT_THROW((void)c.pipeline(std::vector<std::vector<std::string_view>>{{"PING"}}), retryable_error);
  EXPECT_FALSE(c.ping());
  EXPECT_LT(steady_clock::now() - start, 1s);
  EXPECT_EQ(c.connects(), 0U);
}

TEST(RedisConnectionOffline, PoolIsLazyAndHealthSaysWhy) {
  const int port = free_port();
  connection_pool pool(options_for("redis://:Hidden-Pw-9@127.0.0.1:" + std::to_string(port) + "/0"));
  {
    auto l = pool.acquire();  // never connects, never throws
    EXPECT_FALSE(l->connected());
  }
  const optaro::port_health h = pool.health();
  EXPECT_FALSE(h.ok);
  EXPECT_TRUE(contains(h.detail, "connect")) << h.detail;
  EXPECT_FALSE(contains(h.detail, "Hidden-Pw")) << h.detail;
}

TEST(RedisConnectionOffline, InvalidOptions) {
  connection_options o;
  o.connect_timeout = 0ms;
  EXPECT_THROW(connection{o}, std::invalid_argument);
  o = {};
  o.command_timeout = -1ms;
  EXPECT_THROW(connection{o}, std::invalid_argument);
  o = {};
  o.address.port = 0;
  EXPECT_THROW(connection_pool{o}, std::invalid_argument);
  o = {};
  o.reconnect.multiplier = 0.5;
  EXPECT_THROW(connection{o}, std::invalid_argument);
  o = {};
  o.address.host.clear();
  EXPECT_THROW(connection{o}, std::invalid_argument);
}

}  // namespace
