#pragma once
// What the reference pipeline measures, as thin wrappers around the engine's ports: nothing here parses
// a whole message on the hot path. The enriched meter sees every published message (a few string
// scans and atomic updates each); the store and claim wrappers count or rename and pass on.
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include <optaro/engine.hpp>
#include <optaro/idempotency.hpp>
#include <optaro/market.hpp>
#include <optaro/metrics.hpp>
#include <optaro/ports.hpp>

namespace optaro::pipeline {

using steady = std::chrono::steady_clock;
inline constexpr std::size_t kind_count = 3;
[[nodiscard]] inline std::size_t index_of(message_kind kind) noexcept { return static_cast<std::size_t>(kind); }
inline constexpr std::array<message_kind, kind_count> all_kinds{message_kind::underlying, message_kind::option_quote,
                                                                message_kind::option_chain};

/// When each message was due to be produced, so that the sink can tell a message's feed-to-enriched
/// latency from its event time alone. Paced: the producer sends message i when
/// steady_now >= start + (event_time - feed_start) / speed, a pure function of the event time. Unpaced
/// (as fast as possible): the producer records when it handed each new event time to the bus.
class schedule {
 public:
  schedule(steady::time_point start, timestamp_ns feed_start, double speed, bool paced) noexcept
      : start_(start), feed_start_(feed_start), speed_(speed), paced_(paced) {}

  [[nodiscard]] bool paced() const noexcept { return paced_; }
  [[nodiscard]] steady::time_point start() const noexcept { return start_; }
  /// Paced only: when a message of this event time is due.
  [[nodiscard]] steady::time_point due(timestamp_ns event_time) const noexcept;
  /// Unpaced only: the producer handed a message of this event time to the bus now (event times never
  /// decrease; the first of equal ones counts).
  void record(timestamp_ns event_time, steady::time_point sent);
  /// When a message of this event time was due (paced) or first sent (unpaced); nullopt if unknown.
  [[nodiscard]] std::optional<steady::time_point> scheduled(timestamp_ns event_time) const;

 private:
  steady::time_point start_;
  timestamp_ns feed_start_;
  double speed_;
  bool paced_;
  mutable std::mutex mutex_;                                   // unpaced only
  std::vector<std::pair<timestamp_ns, steady::rep>> sent_at_;  // ascending event times
};

/// The engine's sink in the pipeline: passes each enriched message on (to Redis, or nowhere when
/// embedded), then counts it per channel, measures its feed-to-enriched latency in milliseconds and
/// remembers which expiries each product's chains carry (for the live display).
class enriched_meter final : public message_sink {
 public:
  /// `forward` may be null; it and `times` must outlive the meter.
  enriched_meter(const enricher_names& names, const schedule& times, message_sink* forward);

  void publish(std::string_view channel, std::string_view payload) override;
  void publish_many(std::span<const outbound_message> messages) override;
  [[nodiscard]] bool publishes_batches() const noexcept override {
    return forward_ == nullptr || forward_->publishes_batches();
  }

  /// Messages published on the enriched channel of a kind (quotes: 0 unless the engine publishes them).
  [[nodiscard]] std::uint64_t published(message_kind kind) const noexcept {
    return published_[index_of(kind)].load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t published_elsewhere() const noexcept { return other_.load(std::memory_order_relaxed); }
  [[nodiscard]] const histogram& latency_ms() const noexcept { return latency_ms_; }
  [[nodiscard]] double max_latency_ms() const noexcept { return max_ms_.load(std::memory_order_relaxed); }
  /// The expiries ("YYYY-MM-DD", ascending) of the chains enriched so far for a product.
  [[nodiscard]] std::vector<std::string> expiries(std::string_view product) const;
  /// Whether the engine publishes a kind at all (quotes only with a channel name).
  [[nodiscard]] bool publishes(message_kind kind) const noexcept { return !channels_[index_of(kind)].empty(); }

 private:
  void measure(std::string_view channel, std::string_view payload, steady::time_point seen);

  std::array<std::string, kind_count> channels_;
  const schedule& times_;
  message_sink* forward_;
  std::array<std::atomic<std::uint64_t>, kind_count> published_{};
  std::atomic<std::uint64_t> other_{0};
  histogram latency_ms_;
  std::atomic<double> max_ms_{0.0};
  mutable std::mutex expiries_mutex_;
  std::map<std::string, std::set<std::string, std::less<>>, std::less<>> expiries_;
};

/// The value of the first `"key":"..."` string field of a compact JSON text (the encoders write no
/// spaces), without parsing the rest; empty when absent. Enriched messages start with their header
/// fields, so the scan stops within the first hundred bytes.
[[nodiscard]] std::string_view first_string_field(std::string_view json, std::string_view key) noexcept;

/// A document store that counts outcomes per kind: inserted, and duplicate (the identity was there
/// already: stored by an earlier run, or inserted again by this one). With track_identities it tells
/// the two apart by remembering this run's identities.
class counting_store final : public document_store {
 public:
  counting_store(document_store& inner, bool track_identities) : inner_(inner), track_(track_identities) {}
  [[nodiscard]] insert_outcome insert(const stored_document& document) override;
  [[nodiscard]] std::vector<insert_outcome> insert_many(std::span<const stored_document> documents) override;
  [[nodiscard]] port_health health() const override { return inner_.health(); }

  [[nodiscard]] std::uint64_t inserted(message_kind kind) const noexcept {
    return inserted_[index_of(kind)].load(std::memory_order_relaxed);
  }
  /// Duplicates of identities this run inserted itself (only with track_identities; else every one).
  [[nodiscard]] std::uint64_t repeated(message_kind kind) const noexcept {
    return repeated_[index_of(kind)].load(std::memory_order_relaxed);
  }
  /// Duplicates of identities stored before this run (only with track_identities; else 0).
  [[nodiscard]] std::uint64_t preexisting(message_kind kind) const noexcept {
    return preexisting_[index_of(kind)].load(std::memory_order_relaxed);
  }

 private:
  void count(const stored_document& document, insert_outcome outcome);

  document_store& inner_;
  bool track_;
  std::array<std::atomic<std::uint64_t>, kind_count> inserted_{}, repeated_{}, preexisting_{};
  std::mutex mutex_;
  std::unordered_set<std::string> mine_;
};

/// An idempotency store whose keys live under a prefix of their own. The feed is deterministic and
/// restarts its ids at every run, so a run against a Redis that remembers an earlier run's claims for
/// an hour would take its own messages for those, already done: each run claims in its own key space.
class prefixed_claims final : public idempotency_store {
 public:
  prefixed_claims(idempotency_store& inner, std::string prefix) : inner_(inner), prefix_(std::move(prefix)) {}
  [[nodiscard]] claim_result claim(std::string_view key, std::chrono::nanoseconds lease) override {
    return inner_.claim(prefixed(key), lease);
  }
  [[nodiscard]] bool complete(std::string_view key, claim_token token, std::chrono::nanoseconds ttl) override {
    return inner_.complete(prefixed(key), token, ttl);
  }
  bool release(std::string_view key, claim_token token) override { return inner_.release(prefixed(key), token); }
  [[nodiscard]] std::vector<claim_result> claim_many(std::span<const std::string_view> keys,
                                                     std::chrono::nanoseconds lease) override;
  [[nodiscard]] std::vector<bool> complete_many(std::span<const held_claim> claims,
                                                std::chrono::nanoseconds ttl) override;

 private:
  [[nodiscard]] std::string prefixed(std::string_view key) const {
    std::string k;
    k.reserve(prefix_.size() + key.size());
    k.append(prefix_).append(key);
    return k;
  }
  idempotency_store& inner_;
  std::string prefix_;
};

}  // namespace optaro::pipeline
