#pragma once
// What the pipeline's subcommands share: the feed's configuration from the command line, poison
// messages for the fault tests, and the Ctrl-C / SIGTERM flag of the commands that run until stopped.
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "feed.hpp"
#include "instruments.hpp"

namespace optaro::pipeline {

/// What the command line sets of the feed besides its products and seed.
struct feed_shape {
  double rate = 1;                 ///< multiplies both rates when paced; 0 = unpaced (the rates keep their ratio)
  double ticks_per_second = 1000;  ///< event time, all products together
  double chains_per_second = 10;   ///< event time, all products and expiries together
  int strikes_each_side = 20;      ///< a chain lists 2N+1 strikes, 2 quotes each
};

/// The feed's configuration for products by name (an unknown name gets spot 10000, strike step 50), a
/// seed and a shape. std::invalid_argument naming the field when invalid.
[[nodiscard]] feed_config make_feed_config(const std::vector<std::string>& products, std::uint64_t seed,
                                           const feed_shape& shape);

/// Replaces every Nth message the feed emits by an invalid one, rotating among three faults: not JSON
/// (on the replaced message's channel), a chain with a negative open interest (the last chain seen,
/// altered), and a tick without its "price" field (the last tick seen, altered). A fault whose model
/// has not been seen yet falls back to not JSON. Each injected message is an expected dead letter.
class poisoner {
 public:
  explicit poisoner(std::uint64_t every) noexcept : every_(every) {}
  /// Looks at the next message to send; true when it was replaced (its kind and payload changed).
  bool apply(feed_message& m);
  [[nodiscard]] std::uint64_t injected() const noexcept { return injected_.load(std::memory_order_relaxed); }
  /// Generated messages of a kind that were replaced (to take off the feed's produced counts).
  [[nodiscard]] std::uint64_t replaced(message_kind kind) const noexcept {
    return replaced_[index_of(kind)].load(std::memory_order_relaxed);
  }
  [[nodiscard]] bool enabled() const noexcept { return every_ > 0; }

 private:
  std::uint64_t every_;
  std::uint64_t seen_ = 0;
  std::atomic<std::uint64_t> injected_{0};
  std::array<std::atomic<std::uint64_t>, kind_count> replaced_{};
  std::string last_tick_, last_chain_;
};

/// 1234567 -> "1,234,567".
[[nodiscard]] std::string grouped(std::uint64_t n);
/// A number with `decimals` decimals; "-" when not finite.
[[nodiscard]] std::string fixed(double v, int decimals);
/// "underlying 12, option_chain 3" (option_quote only when not 0).
[[nodiscard]] std::string kinds_text(const std::array<std::uint64_t, kind_count>& counts);

/// "market:underlying", "market:option_quote", "market:option_chain": where the feed publishes a kind.
[[nodiscard]] std::string_view market_channel(message_kind kind) noexcept;

/// The feed's producer loop, shared by `run` and `feed`: takes each message from the generator (poison
/// replaced), waits for its time when the schedule is paced (else records when it went out), and hands
/// the messages to `publish` in batches: what is due, at most 64. A batch that fails with a
/// retryable_error (a bus briefly away) is sent again every 100 ms, as a feed handler would wait, until
/// it goes through or `give_up` says so; a message is counted as sent once its batch went through.
class feed_pump {
 public:
  using publisher = std::function<void(std::span<feed_message>)>;
  feed_pump(feed_generator& generator, poisoner& poison, schedule& times, publisher publish)
      : generator_(generator), poison_(poison), times_(times), publish_(std::move(publish)) {}

  /// Runs until `stop()` (checked after every message and while waiting for one's time) or `limit`
  /// messages (0: no limit); `idle()` is called while waiting. Every generated message is sent. Throws
  /// what publish throws, other than a retryable_error before give_up().
  void run(const std::function<bool()>& stop, const std::function<bool()>& give_up, std::uint64_t limit,
           const std::function<void()>& idle = {});

  [[nodiscard]] std::uint64_t sent(message_kind kind) const noexcept {
    return sent_[index_of(kind)].load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::array<std::uint64_t, kind_count> sent() const noexcept;
  [[nodiscard]] std::uint64_t publish_retries() const noexcept { return retries_.load(std::memory_order_relaxed); }

 private:
  void flush(const std::function<bool()>& give_up);

  feed_generator& generator_;
  poisoner& poison_;
  schedule& times_;
  publisher publish_;
  std::vector<feed_message> pending_;
  std::vector<bool> pending_poisoned_;
  std::array<std::atomic<std::uint64_t>, kind_count> sent_{};
  std::atomic<std::uint64_t> retries_{0};
};

/// A feed_pump publisher onto a message sink (Redis pub/sub or streams): each batch as one publish_many
/// on the market:* channels.
[[nodiscard]] feed_pump::publisher publish_to(message_sink& sink);

/// SIGINT and SIGTERM set a flag (counted: a second one can cut a drain short).
void install_stop_signals();
[[nodiscard]] int stop_requests() noexcept;

}  // namespace optaro::pipeline
