// The Redis message sources (include/optaro/redis/ports.hpp): pub/sub (at most once) and a stream
// consumer group (at least once).
#include <optaro/redis/ports.hpp>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <limits>
#include <mutex>
#include <random>
#include <string>
#include <utility>

#include "ports_detail.hpp"

namespace optaro::redis {

namespace {

using std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

// How long a receive waits on a socket before it looks at the close flag again.
constexpr milliseconds close_slice{50};

constexpr std::array<message_kind, 3> all_kinds{message_kind::underlying, message_kind::option_quote,
                                                message_kind::option_chain};

const std::string& name_of(const inbound_names& names, message_kind kind) noexcept {
  switch (kind) {
    case message_kind::underlying: return names.underlying;
    case message_kind::option_quote: return names.option_quote;
    case message_kind::option_chain: return names.option_chain;
  }
  return names.underlying;
}

std::optional<message_kind> kind_of(const inbound_names& names, std::string_view name) noexcept {
  for (const message_kind kind : all_kinds) {
    if (name_of(names, kind) == name) return kind;
  }
  return std::nullopt;
}

milliseconds remaining(steady::time_point deadline) {
  const auto left = std::chrono::ceil<milliseconds>(deadline - steady::now());
  return left.count() > 0 ? left : milliseconds{0};
}

bool is_string(const reply& r) noexcept { return r.kind == reply::type::string || r.kind == reply::type::status; }

}  // namespace

// ---- pub/sub ---------------------------------------------------------------------------------------

// One connection in subscriber mode, used only by the thread in receive() (a mutex makes concurrent
// receives safe, not useful). close() only sets a flag: receive waits in slices of close_slice and
// looks at it between them. When the connection fails, receive throws retryable_error and the next
// receive reconnects (the connection's backoff) and subscribes again; whatever was published meanwhile
// is lost, which is what pub/sub promises.
struct pubsub_source::impl {
  connection subscriber;
  connection_pool pinger;  // health() must not touch the subscriber, which another thread may be reading
  inbound_names names;
  std::atomic<bool> closed{false};
  std::atomic<bool> subscribed{false};
  std::mutex mutex;
  std::uint64_t subscribed_connects = 0;
  std::deque<delivery> pending;  // messages that arrived between subscription confirmations

  impl(connection_options options, inbound_names n)
      : subscriber(options), pinger(std::move(options), 1), names(std::move(n)) {}

  // A pushed message becomes a delivery; subscription confirmations are counted; anything else (an
  // unsubscribe, a pong) is ignored. Returns whether it was a confirmation.
  bool handle(reply r) {
    if (r.is_error()) detail::throw_error_reply("redis pub/sub", r);
    if (r.kind != reply::type::array || r.elements.size() < 3 || !is_string(r.elements[0])) return false;
    const std::string_view type = r.elements[0].text;
    if (type == "subscribe") return true;
    if (type == "message") {
      const std::optional<message_kind> kind = kind_of(names, r.elements[1].text);
      if (!kind) return false;
      pending.push_back(delivery{*kind, std::move(r.elements[1].text), std::move(r.elements[2].text), {}});
    }
    return false;
  }

  // SUBSCRIBE and wait for the three confirmations (a server confirms every channel named, repeated or
  // not); messages that arrive in between are kept.
  void subscribe() {
    subscribed.store(false, std::memory_order_release);
    const std::array<std::string_view, 4> command{"SUBSCRIBE", names.underlying, names.option_quote,
                                                  names.option_chain};
    subscriber.send(command);
    const steady::time_point deadline = steady::now() + subscriber.options().command_timeout;
    int confirmations = 0;
    while (confirmations < 3) {
      if (closed.load(std::memory_order_acquire)) return;
      const milliseconds left = remaining(deadline);
      if (left.count() == 0) {
        subscriber.disconnect();
        throw retryable_error("redis pub/sub: SUBSCRIBE not confirmed in time");
      }
      std::optional<reply> r = subscriber.read(std::min(left, close_slice));
      if (r && handle(std::move(*r))) ++confirmations;
    }
    subscribed_connects = subscriber.connects();
    subscribed.store(true, std::memory_order_release);
  }

  std::size_t take(std::vector<delivery>& out, std::size_t max, std::size_t n) {
    while (n < max && !pending.empty()) {
      out.push_back(std::move(pending.front()));
      pending.pop_front();
      ++n;
    }
    return n;
  }

  std::size_t receive(std::vector<delivery>& out, std::size_t max, milliseconds timeout) {
    const std::scoped_lock lock{mutex};
    if (closed.load(std::memory_order_acquire) || max == 0) return 0;
    try {
      // A connection that reconnected by itself (connects() moved) lost its subscriptions.
      if (!subscribed.load(std::memory_order_acquire) || subscriber.connects() != subscribed_connects) subscribe();
      std::size_t n = take(out, max, 0);
      const steady::time_point deadline = steady::now() + timeout;
      while (n == 0) {
        if (closed.load(std::memory_order_acquire)) return 0;
        const milliseconds left = remaining(deadline);
        std::optional<reply> r = subscriber.read(std::min(left, close_slice));
        if (r) {
          handle(std::move(*r));
          n = take(out, max, n);
        } else if (left.count() == 0) {
          return 0;
        }
      }
      // What has already arrived, without waiting.
      while (n < max) {
        std::optional<reply> r = subscriber.read(milliseconds{0});
        if (!r) break;
        handle(std::move(*r));
        n = take(out, max, n);
      }
      return n;
    } catch (...) {
      subscribed.store(false, std::memory_order_release);
      throw;
    }
  }
};

pubsub_source::pubsub_source(connection_options options, inbound_names names)
    : impl_(std::make_unique<impl>(std::move(options), std::move(names))) {
  // Subscribe now, so that what is published after the constructor returns is received. A server
  // that is down is not an error here: the first receive subscribes (an engine may start before Redis).
  const std::scoped_lock lock{impl_->mutex};
  try {
    impl_->subscribe();
  } catch (const retryable_error&) {
    impl_->subscribed.store(false, std::memory_order_release);
  }
}

pubsub_source::~pubsub_source() = default;

std::size_t pubsub_source::receive(std::vector<delivery>& out, std::size_t max, milliseconds timeout) {
  return impl_->receive(out, max, timeout);
}

void pubsub_source::acknowledge(const delivery& /*handled*/) {}

void pubsub_source::close() { impl_->closed.store(true, std::memory_order_release); }

port_health pubsub_source::health() const {
  port_health h = impl_->pinger.health();
  if (h.ok && !impl_->subscribed.load(std::memory_order_acquire) && !impl_->closed.load(std::memory_order_acquire)) {
    h.ok = false;
    h.detail = "not subscribed (reconnecting)";
  }
  return h;
}

// ---- streams ---------------------------------------------------------------------------------------

namespace {

// The longest XREADGROUP BLOCK: a longer receive() issues several. The reader connection's
// command_timeout is raised to at least this plus one second, so that a command behind a block is
// never taken for a dead server.
constexpr milliseconds max_block{1000};

connection_options reader_options(connection_options options) {
  options.command_timeout = std::max(options.command_timeout, max_block + milliseconds{1000});
  return options;
}

std::string default_consumer_name() {
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
  std::string name = host[0] != '\0' ? std::string(host.data()) : std::string("consumer");
  std::random_device device;
  std::array<char, 17> suffix{};
  std::snprintf(suffix.data(), suffix.size(), "%08x", device());
  name.append("-").append(std::to_string(::getpid())).append("-").append(suffix.data());
  return name;
}

// The "payload" field of an entry's [field, value, ...] array.
const reply* payload_field(const reply& fields) noexcept {
  for (std::size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
    if (fields.elements[i].text == "payload") return &fields.elements[i + 1];
  }
  return nullptr;
}

}  // namespace

// The reader connection (XGROUP, XAUTOCLAIM, XPENDING, XREADGROUP) belongs to the thread in receive();
// acknowledge() comes from the engine's workers and goes through a pool of its own.
//
// Groups are created at "$" (only what is added from now on) when the source is constructed. When the
// group disappears later (NOGROUP: a server restarted without persistence, or the group deleted) it is
// created again at "0": every entry then in the stream was written while no group existed, so none of
// them has been processed, and skipping them would lose messages; idempotency absorbs any repeat.
struct stream_source::impl {
  connection reader;
  connection_pool acks;
  stream_options settings;
  optaro::dead_letter_queue& dead_letters;
  std::string consumer;
  std::string claim_idle_ms;
  std::string claim_count;
  std::atomic<bool> closed{false};
  std::mutex mutex;  // receive
  bool groups_ready = false;
  std::string group_start = "$";
  steady::time_point next_claim{};  // the first receive claims at once: a restarted worker's own leftovers
  std::array<std::string, 3> cursors{"0-0", "0-0", "0-0"};
  std::deque<delivery> buffered;  // read from Redis (so pending for us) but beyond the caller's max
  std::uint64_t connects_seen = 0;  // the reader's connects() when it last read its own pending entries

  impl(connection_options options, stream_options s, optaro::dead_letter_queue& letters)
      : reader(reader_options(options)),
        acks(std::move(options), 4),
        settings(std::move(s)),
        dead_letters(letters),
        consumer(settings.consumer.empty() ? default_consumer_name() : settings.consumer),
        claim_idle_ms(std::to_string(std::max<std::int64_t>(settings.claim_idle.count(), 1))),
        claim_count(std::to_string(std::max<std::size_t>(settings.claim_batch, 1))) {}

  [[nodiscard]] const std::string& stream(std::size_t i) const noexcept {
    return name_of(settings.streams, all_kinds.at(i));
  }

  void ensure_groups() {
    if (groups_ready) return;
    for (std::size_t i = 0; i < all_kinds.size(); ++i) {
      const reply r = detail::call(reader, {"XGROUP", "CREATE", stream(i), settings.group, group_start, "MKSTREAM"});
      if (r.is_error() && !detail::has_error_code(r, "BUSYGROUP")) detail::throw_error_reply("redis stream XGROUP", r);
    }
    groups_ready = true;
  }

  // NOGROUP anywhere: make the group again (from the start of the stream) at the next receive.
  bool lost_group(const reply& r) {
    if (!detail::has_error_code(r, "NOGROUP")) return false;
    groups_ready = false;
    group_start = "0";
    return true;
  }

  void dead_letter(message_kind kind, std::size_t index, std::string payload, std::string error,
                   dead_letter_reason reason, int attempts) {
    optaro::dead_letter letter;
    letter.kind = kind;
    letter.channel = stream(index);
    letter.error = std::move(error);
    letter.reason = reason;
    letter.attempts = std::max(attempts, 1);
    letter.first_failed_at = letter.failed_at = detail::now_ns();
    letter.payload = std::move(payload);
    dead_letters.push(letter);
  }

  void ack_on_reader(std::size_t index, std::string_view id) {
    detail::checked("redis stream XACK", detail::call(reader, {"XACK", stream(index), settings.group, id}));
  }

  // An entry [id, [field, value, ...]] read or claimed from stream `index`: buffered as a delivery, or,
  // without a payload field (written by something else), dead-lettered and acknowledged.
  void accept(std::size_t index, reply& entry) {
    if (entry.kind != reply::type::array || entry.elements.size() < 2) return;
    const std::string id = entry.elements[0].text;
    const reply* payload = payload_field(entry.elements[1]);
    if (entry.elements[1].is_nil()) {  // deleted while pending: nothing to deliver
      ack_on_reader(index, id);
      return;
    }
    if (payload == nullptr) {
      dead_letter(all_kinds.at(index), index, {}, "stream entry " + id + " has no \"payload\" field",
                  dead_letter_reason::invalid_message, 1);
      ack_on_reader(index, id);
      return;
    }
    buffered.push_back(delivery{all_kinds.at(index), stream(index), payload->text, id});
  }

  // XAUTOCLAIM entries idle longer than claim_idle, at most every claim_idle/2; those delivered more
  // than max_deliveries times (XAUTOCLAIM counts this claim as a delivery) are dead-lettered and acked.
  void claim_abandoned() {
    const steady::time_point now = steady::now();
    if (now < next_claim) return;
    bool more = false;
    for (std::size_t i = 0; i < all_kinds.size(); ++i) {
      reply r = detail::call(reader, {"XAUTOCLAIM", stream(i), settings.group, consumer, claim_idle_ms, cursors.at(i),
                                      "COUNT", claim_count});
      if (lost_group(r)) return;
      detail::checked("redis stream XAUTOCLAIM", r);
      if (r.kind != reply::type::array || r.elements.size() < 2) continue;
      cursors.at(i) = r.elements[0].text;
      if (cursors.at(i) != "0-0") more = true;
      std::vector<reply>& entries = r.elements[1].elements;
      if (entries.empty()) continue;
      // The delivery count of each claimed entry: one XPENDING per entry, in one round trip.
      std::vector<std::vector<std::string_view>> queries;
      queries.reserve(entries.size());
      for (const reply& entry : entries) {
        const std::string_view id = entry.elements.empty() ? std::string_view{} : entry.elements[0].text;
        queries.push_back({"XPENDING", stream(i), settings.group, id, id, "1"});
      }
      const std::vector<reply> counts = reader.pipeline(queries);
      for (std::size_t e = 0; e < entries.size(); ++e) {
        std::int64_t deliveries = 0;
        if (e < counts.size() && !counts[e].is_error() && !counts[e].elements.empty() &&
            counts[e].elements[0].elements.size() >= 4) {
          deliveries = counts[e].elements[0].elements[3].integer;
        }
        const bool has_fields = entries[e].elements.size() >= 2 && !entries[e].elements[1].is_nil();
        if (deliveries > settings.max_deliveries && has_fields) {
          const reply* payload = payload_field(entries[e].elements[1]);
          const int handed_out =
              static_cast<int>(std::min<std::int64_t>(deliveries - 1, std::numeric_limits<int>::max()));
          dead_letter(all_kinds.at(i), i, payload != nullptr ? payload->text : std::string{},
                      "delivered " + std::to_string(handed_out) + " times without acknowledgement (max_deliveries " +
                          std::to_string(settings.max_deliveries) + ")",
                      dead_letter_reason::retries_exhausted, handed_out);
          ack_on_reader(i, entries[e].elements[0].text);
          continue;
        }
        accept(i, entries[e]);
      }
    }
    // A scan that stopped early (COUNT) goes on at the next receive; a finished one waits.
    const auto interval = std::max(settings.claim_idle / 2, milliseconds{1});
    next_claim = more ? now : now + interval;
  }

  // One XREADGROUP of new entries, blocking up to `block` (0: not at all); its reply is read in
  // slices so that close() takes effect within close_slice. Returns false when closed meanwhile.
  bool read_new(std::size_t count, milliseconds block) {
    const std::string count_text = std::to_string(count);
    const std::string block_text = std::to_string(block.count());
    std::vector<std::string_view> command{"XREADGROUP", "GROUP", settings.group, consumer, "COUNT", count_text};
    if (block.count() > 0) {
      command.emplace_back("BLOCK");
      command.emplace_back(block_text);
    }
    command.emplace_back("STREAMS");
    for (std::size_t i = 0; i < all_kinds.size(); ++i) command.emplace_back(stream(i));
    for (std::size_t i = 0; i < all_kinds.size(); ++i) command.emplace_back(">");
    reader.send(command);
    const steady::time_point deadline = steady::now() + block + reader.options().command_timeout;
    std::optional<reply> r;
    while (!r) {
      if (closed.load(std::memory_order_acquire)) {
        // The reply still on its way is abandoned with the connection; entries it carried stay
        // pending for this consumer and are claimed after claim_idle (at least once).
        reader.disconnect();
        return false;
      }
      if (steady::now() >= deadline) {
        reader.disconnect();
        throw retryable_error("redis stream XREADGROUP: no reply in time");
      }
      try {
        r = reader.read(std::min(remaining(deadline), close_slice));
      } catch (const command_error& e) {
        // A connection that throws error replies rather than returning them: NOGROUP is still ours.
        const std::string_view text = e.what();
        if (text.find("NOGROUP") == std::string_view::npos) throw;
        groups_ready = false;
        group_start = "0";
        return true;
      }
    }
    if (lost_group(*r)) return true;
    detail::checked("redis stream XREADGROUP", *r);
    for (reply& per_stream : r->elements) {  // nil (timed out) has none
      if (per_stream.elements.size() < 2) continue;
      const std::optional<message_kind> kind = kind_of(settings.streams, per_stream.elements[0].text);
      if (!kind) continue;
      const auto found = std::find(all_kinds.begin(), all_kinds.end(), *kind);
      const auto index = static_cast<std::size_t>(found - all_kinds.begin());
      for (reply& entry : per_stream.elements[1].elements) accept(index, entry);
    }
    return true;
  }

  // Entries handed to this consumer whose XREADGROUP reply was lost with a broken connection stay
  // pending for it, where only XAUTOCLAIM would find them, after claim_idle. So after every (re)connect
  // of the reader, its own pending entries are read again (XREADGROUP from id 0). Those still in work
  // come back too: the engine's idempotency claims keep them from being processed twice.
  void reread_own_pending() {
    if (reader.connects() == connects_seen) return;
    for (std::size_t i = 0; i < all_kinds.size(); ++i) {
      std::string after = "0";
      while (true) {
        reply r = detail::call(reader, {"XREADGROUP", "GROUP", settings.group, consumer, "COUNT", claim_count,
                                        "STREAMS", stream(i), after});
        if (lost_group(r)) return;
        detail::checked("redis stream XREADGROUP (own pending)", r);
        if (r.kind != reply::type::array || r.elements.empty() || r.elements[0].elements.size() < 2) break;
        std::vector<reply>& entries = r.elements[0].elements[1].elements;
        if (entries.empty()) break;
        after = entries.back().elements.empty() ? after : entries.back().elements[0].text;
        for (reply& entry : entries) {
          if (entry.elements.empty()) continue;
          const std::string& id = entry.elements[0].text;
          const bool held = std::any_of(buffered.begin(), buffered.end(), [&](const delivery& d) {
            return d.receipt == id && d.kind == all_kinds.at(i);
          });
          if (!held) accept(i, entry);
        }
        if (after == "0") break;
      }
    }
    connects_seen = reader.connects();
  }

  std::size_t take(std::vector<delivery>& out, std::size_t max, std::size_t n) {
    while (n < max && !buffered.empty()) {
      out.push_back(std::move(buffered.front()));
      buffered.pop_front();
      ++n;
    }
    return n;
  }

  std::size_t receive(std::vector<delivery>& out, std::size_t max, milliseconds timeout) {
    const std::scoped_lock lock{mutex};
    if (closed.load(std::memory_order_acquire) || max == 0) return 0;
    std::size_t n = take(out, max, 0);
    if (n == max) return n;
    ensure_groups();
    reread_own_pending();
    claim_abandoned();
    n = take(out, max, n);
    if (n > 0) return n;
    const steady::time_point deadline = steady::now() + timeout;
    while (n == 0) {
      if (!groups_ready) {
        ensure_groups();  // lost and made again: read at once
      }
      reread_own_pending();
      const milliseconds block = std::min(remaining(deadline), max_block);
      if (!read_new(max - n, block)) return 0;
      n = take(out, max, n);
      if (remaining(deadline).count() == 0 || closed.load(std::memory_order_acquire)) break;
    }
    return n;
  }
};

stream_source::stream_source(connection_options options, stream_options settings,
                             optaro::dead_letter_queue& dead_letters)
    : impl_(std::make_unique<impl>(std::move(options), std::move(settings), dead_letters)) {
  // The groups are made now, so that entries added after the constructor returns are delivered.
  // A server that is down is not an error here: the first receive makes them.
  const std::scoped_lock lock{impl_->mutex};
  try {
    impl_->ensure_groups();
  } catch (const retryable_error&) {
    impl_->groups_ready = false;
  }
}

stream_source::~stream_source() = default;

std::size_t stream_source::receive(std::vector<delivery>& out, std::size_t max, milliseconds timeout) {
  return impl_->receive(out, max, timeout);
}

void stream_source::acknowledge(const delivery& handled) {
  if (handled.receipt.empty()) return;
  const std::string& key = name_of(impl_->settings.streams, handled.kind);
  auto c = impl_->acks.acquire();
  c->command({"XACK", key, impl_->settings.group, handled.receipt});
}

void stream_source::acknowledge_many(std::span<const delivery* const> handled) {
  // One XACK per stream, in the order the streams first appear.
  std::vector<std::vector<std::string_view>> commands;
  std::vector<message_kind> kinds;
  for (const delivery* d : handled) {
    if (d->receipt.empty()) continue;
    std::size_t at = static_cast<std::size_t>(std::find(kinds.begin(), kinds.end(), d->kind) - kinds.begin());
    if (at == kinds.size()) {
      kinds.push_back(d->kind);
      commands.push_back({"XACK", name_of(impl_->settings.streams, d->kind), impl_->settings.group});
    }
    commands[at].push_back(d->receipt);
  }
  if (commands.empty()) return;
  auto c = impl_->acks.acquire();
  for (const reply& r : c->pipeline(commands)) detail::checked("redis stream_source: XACK", r);
}

void stream_source::close() { impl_->closed.store(true, std::memory_order_release); }

port_health stream_source::health() const { return impl_->acks.health(); }

const std::string& stream_source::consumer() const noexcept { return impl_->consumer; }

}  // namespace optaro::redis
