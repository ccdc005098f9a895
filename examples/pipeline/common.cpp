#include "common.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <csignal>
#include <thread>
#include <string_view>

namespace optaro::pipeline {

feed_config make_feed_config(const std::vector<std::string>& products, std::uint64_t seed, const feed_shape& shape) {
  feed_config config;
  const std::vector<product_spec> known = config.products;
  config.products.clear();
  for (const std::string& name : products) {
    const auto it = std::find_if(known.begin(), known.end(), [&](const product_spec& p) { return p.name == name; });
    if (it != known.end()) {
      config.products.push_back(*it);
    } else {
      product_spec spec;
      spec.name = name;
      spec.spot = 10000;
      spec.strike_step = 50;
      config.products.push_back(spec);
    }
    config.products.back().strikes_each_side = shape.strikes_each_side;
  }
  config.seed = seed;
  const double multiplier = shape.rate > 0 ? shape.rate : 1;
  config.ticks_per_second = shape.ticks_per_second * multiplier;
  config.chains_per_second = shape.chains_per_second * multiplier;
  config.validate();
  return config;
}

namespace {

// The payload with the value of the first `"key":` number replaced by `value`; empty if no such field.
// `"key":`, built by appends (GCC 12 at -O3 warns falsely about `"\"" + key`: its bug 105329).
std::string field_needle(std::string_view key) {
  std::string needle;
  needle.reserve(key.size() + 3);
  needle.append(1, '"').append(key).append("\":");
  return needle;
}

std::string replace_number(const std::string& json, std::string_view key, std::string_view value) {
  const std::string needle = field_needle(key);
  const std::size_t at = json.find(needle);
  if (at == std::string::npos) return {};
  const std::size_t begin = at + needle.size();
  std::size_t end = begin;
  while (end < json.size() && json[end] != ',' && json[end] != '}' && json[end] != ']') ++end;
  std::string out = json.substr(0, begin);
  out.append(value).append(json, end);
  return out;
}

// The payload without its first `"key":value` field (a number or a plain value); empty if absent.
std::string remove_field(const std::string& json, std::string_view key) {
  const std::string needle = field_needle(key);
  const std::size_t at = json.find(needle);
  if (at == std::string::npos) return {};
  std::size_t end = at + needle.size();
  while (end < json.size() && json[end] != ',' && json[end] != '}') ++end;
  if (end < json.size() && json[end] == ',') return json.substr(0, at).append(json, end + 1);
  // The last field: drop the comma before it.
  std::size_t begin = at;
  if (begin > 0 && json[begin - 1] == ',') --begin;
  return json.substr(0, begin).append(json, end);
}

}  // namespace

bool poisoner::apply(feed_message& m) {
  if (m.kind == message_kind::underlying) last_tick_ = m.payload;
  if (m.kind == message_kind::option_chain) last_chain_ = m.payload;
  if (every_ == 0 || ++seen_ % every_ != 0) return false;
  const std::uint64_t n = injected_.load(std::memory_order_relaxed);
  const message_kind original = m.kind;
  std::string poison;
  message_kind kind = m.kind;
  if (n % 3 == 1 && !last_chain_.empty()) {
    poison = replace_number(last_chain_, "open_interest", "-5");
    kind = message_kind::option_chain;
  } else if (n % 3 == 2 && !last_tick_.empty()) {
    poison = remove_field(last_tick_, "price");
    kind = message_kind::underlying;
  }
  if (poison.empty()) {
    poison = "poison #" + std::to_string(n + 1) + ": this is not JSON {";
    kind = m.kind;
  }
  m.kind = kind;
  m.payload = std::move(poison);
  replaced_[index_of(original)].fetch_add(1, std::memory_order_relaxed);
  injected_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

std::string grouped(std::uint64_t n) {
  std::string digits = std::to_string(n);
  for (std::size_t i = digits.size(); i > 3; i -= 3) digits.insert(i - 3, 1, ',');
  return digits;
}

std::string fixed(double v, int decimals) {
  if (!std::isfinite(v)) return "-";
  std::array<char, 64> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%.*f", decimals, v);
  return buffer.data();
}

std::string kinds_text(const std::array<std::uint64_t, kind_count>& counts) {
  std::string text;
  for (const message_kind k : all_kinds) {
    if (counts[index_of(k)] == 0 && k == message_kind::option_quote) continue;
    if (!text.empty()) text += ", ";
    text.append(to_string(k)).append(" ").append(grouped(counts[index_of(k)]));
  }
  return text;
}

std::string_view market_channel(message_kind kind) noexcept {
  static constexpr std::array<std::string_view, kind_count> channels{"market:underlying", "market:option_quote",
                                                                     "market:option_chain"};
  return channels[index_of(kind)];
}

void feed_pump::flush(const std::function<bool()>& give_up) {
  if (pending_.empty()) return;
  while (true) {
    try {
      publish_(pending_);
      break;
    } catch (const retryable_error&) {
      if (give_up()) throw;
      retries_.fetch_add(1, std::memory_order_relaxed);
      std::this_thread::sleep_for(std::chrono::milliseconds{100});
    }
  }
  for (std::size_t i = 0; i < pending_.size(); ++i) {
    if (!pending_poisoned_[i]) sent_[index_of(pending_[i].kind)].fetch_add(1, std::memory_order_relaxed);
  }
  pending_.clear();
  pending_poisoned_.clear();
}

void feed_pump::run(const std::function<bool()>& stop, const std::function<bool()>& give_up, std::uint64_t limit,
                    const std::function<void()>& idle) {
  constexpr std::size_t batch = 64;
  std::uint64_t generated = 0;
  while (true) {
    feed_message m = generator_.next();
    const bool poisoned = poison_.apply(m);
    if (times_.paced()) {
      const steady::time_point due = times_.due(m.event_time);
      if (steady::now() < due) flush(give_up);  // what is due goes out before the feed waits
      while (!stop()) {
        const steady::time_point now = steady::now();
        if (now >= due) break;
        std::this_thread::sleep_for(std::min<steady::duration>(due - now, std::chrono::milliseconds{50}));
        if (idle) idle();
      }
    } else {
      times_.record(m.event_time, steady::now());
    }
    pending_.push_back(std::move(m));
    pending_poisoned_.push_back(poisoned);
    if (pending_.size() >= batch) flush(give_up);
    ++generated;
    if (stop() || (limit > 0 && generated >= limit)) break;
    if (idle && !times_.paced() && (generated & 255U) == 0) idle();
  }
  flush(give_up);
}

feed_pump::publisher publish_to(message_sink& sink) {
  return [&sink](std::span<feed_message> batch) {
    std::vector<outbound_message> messages;
    messages.reserve(batch.size());
    for (const feed_message& m : batch) messages.push_back({market_channel(m.kind), m.payload});
    sink.publish_many(messages);
  };
}

std::array<std::uint64_t, kind_count> feed_pump::sent() const noexcept {
  std::array<std::uint64_t, kind_count> counts{};
  for (std::size_t i = 0; i < kind_count; ++i) counts[i] = sent_[i].load(std::memory_order_relaxed);
  return counts;
}

namespace {
std::atomic<int> stop_flag{0};
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs a lock-free counter");
extern "C" void on_stop_signal(int /*signal*/) { stop_flag.fetch_add(1, std::memory_order_relaxed); }
}  // namespace

void install_stop_signals() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

int stop_requests() noexcept { return stop_flag.load(std::memory_order_relaxed); }

}  // namespace optaro::pipeline
