#include "instruments.hpp"

#include <algorithm>

#include <optaro/codec.hpp>

namespace optaro::pipeline {

steady::time_point schedule::due(timestamp_ns event_time) const noexcept {
  const double offset_ns = static_cast<double>(event_time - feed_start_) / speed_;
  return start_ + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double, std::nano>{offset_ns});
}

void schedule::record(timestamp_ns event_time, steady::time_point sent) {
  const std::scoped_lock lock{mutex_};
  if (sent_at_.empty() || sent_at_.back().first < event_time) {
    sent_at_.emplace_back(event_time, sent.time_since_epoch().count());
  }
}

std::optional<steady::time_point> schedule::scheduled(timestamp_ns event_time) const {
  if (paced_) return due(event_time);
  const std::scoped_lock lock{mutex_};
  const auto it = std::lower_bound(sent_at_.begin(), sent_at_.end(), event_time,
                                   [](const auto& entry, timestamp_ns t) { return entry.first < t; });
  if (it == sent_at_.end() || it->first != event_time) return std::nullopt;
  return steady::time_point{steady::duration{it->second}};
}

std::string_view first_string_field(std::string_view json, std::string_view key) noexcept {
  // Looks for "key":" — the quotes on both sides keep "timestamp" from matching inside another name.
  std::size_t from = 0;
  while (true) {
    const std::size_t at = json.find(key, from);
    if (at == std::string_view::npos) return {};
    const std::size_t value = at + key.size() + 3;
    if (at > 0 && json[at - 1] == '"' && value <= json.size() && json.substr(at + key.size(), 3) == "\":\"") {
      const std::size_t end = json.find('"', value);
      if (end == std::string_view::npos) return {};
      return json.substr(value, end - value);
    }
    from = at + 1;
  }
}

enriched_meter::enriched_meter(const enricher_names& names, const schedule& times, message_sink* forward)
    : times_(times), forward_(forward), latency_ms_(exponential_buckets(0.01, 1.25, 72)) {
  channels_[index_of(message_kind::underlying)] = names.enriched_underlying;
  channels_[index_of(message_kind::option_quote)] = names.enriched_option_quote;
  channels_[index_of(message_kind::option_chain)] = names.enriched_option_chain;
}

// Passed on first: a failure there is the engine's to retry, and a message is counted once it is out.
void enriched_meter::publish(std::string_view channel, std::string_view payload) {
  if (forward_ != nullptr) forward_->publish(channel, payload);
  measure(channel, payload, steady::now());
}

void enriched_meter::publish_many(std::span<const outbound_message> messages) {
  if (forward_ != nullptr) forward_->publish_many(messages);
  const steady::time_point seen = steady::now();
  for (const outbound_message& m : messages) measure(m.channel, m.payload, seen);
}

void enriched_meter::measure(std::string_view channel, std::string_view payload, steady::time_point seen) {
  std::size_t kind = kind_count;
  for (std::size_t k = 0; k < kind_count; ++k) {
    if (!channels_[k].empty() && channel == channels_[k]) kind = k;
  }
  if (kind == kind_count) {
    other_.fetch_add(1, std::memory_order_relaxed);
    return;
  }

  if (const std::optional<timestamp_ns> event = parse_timestamp(first_string_field(payload, "timestamp"))) {
    if (const std::optional<steady::time_point> due = times_.scheduled(*event)) {
      // A message sent ahead of its time (the feed stopping early on Ctrl-C) counts as no latency.
      const double ms = std::max(0.0, std::chrono::duration<double, std::milli>(seen - *due).count());
      latency_ms_.observe(ms);
      double max = max_ms_.load(std::memory_order_relaxed);
      while (ms > max && !max_ms_.compare_exchange_weak(max, ms, std::memory_order_relaxed)) {
      }
    }
  }

  if (kind == index_of(message_kind::option_chain)) {
    const std::string_view product = first_string_field(payload, "product");
    const std::string_view expiry = first_string_field(payload, "expiry");
    if (!product.empty() && !expiry.empty()) {
      const std::scoped_lock lock{expiries_mutex_};
      auto it = expiries_.find(product);
      if (it == expiries_.end()) it = expiries_.emplace(std::string{product}, std::set<std::string, std::less<>>{}).first;
      if (!it->second.contains(expiry)) it->second.emplace(expiry);
    }
  }
  // Counted last, so that a reader who sees the count also sees the latency and the expiry.
  published_[kind].fetch_add(1, std::memory_order_release);
}

std::vector<std::string> enriched_meter::expiries(std::string_view product) const {
  const std::scoped_lock lock{expiries_mutex_};
  const auto it = expiries_.find(product);
  if (it == expiries_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

insert_outcome counting_store::insert(const stored_document& document) {
  const insert_outcome outcome = inner_.insert(document);
  count(document, outcome);
  return outcome;
}

std::vector<insert_outcome> counting_store::insert_many(std::span<const stored_document> documents) {
  std::vector<insert_outcome> outcomes = inner_.insert_many(documents);
  for (std::size_t i = 0; i < documents.size() && i < outcomes.size(); ++i) count(documents[i], outcomes[i]);
  return outcomes;
}

void counting_store::count(const stored_document& document, insert_outcome outcome) {
  const std::size_t k = index_of(document.kind);
  if (!track_) {
    (outcome == insert_outcome::inserted ? inserted_ : repeated_)[k].fetch_add(1, std::memory_order_relaxed);
    return;
  }
  std::string identity;
  identity.reserve(4 + document.product.size() + document.symbol.size() + document.id.size());
  identity.append(std::to_string(k)).append(1, '\x1f');
  identity.append(document.kind == message_kind::option_quote ? document.symbol : document.product);
  identity.append(1, '\x1f').append(document.id);
  const std::scoped_lock lock{mutex_};
  if (outcome == insert_outcome::inserted) {
    mine_.insert(std::move(identity));
    inserted_[k].fetch_add(1, std::memory_order_relaxed);
  } else if (mine_.contains(identity)) {
    repeated_[k].fetch_add(1, std::memory_order_relaxed);
  } else {
    // Stored before this run; remembered, so that a second duplicate of it counts as a repeat.
    mine_.insert(std::move(identity));
    preexisting_[k].fetch_add(1, std::memory_order_relaxed);
  }
}

std::vector<claim_result> prefixed_claims::claim_many(std::span<const std::string_view> keys,
                                                      std::chrono::nanoseconds lease) {
  std::vector<std::string> names;
  names.reserve(keys.size());
  for (const std::string_view key : keys) names.push_back(prefixed(key));
  const std::vector<std::string_view> views(names.begin(), names.end());
  return inner_.claim_many(views, lease);
}

std::vector<bool> prefixed_claims::complete_many(std::span<const held_claim> claims, std::chrono::nanoseconds ttl) {
  std::vector<std::string> names;
  names.reserve(claims.size());
  for (const held_claim& c : claims) names.push_back(prefixed(c.key));
  std::vector<held_claim> renamed;
  renamed.reserve(claims.size());
  for (std::size_t i = 0; i < claims.size(); ++i) renamed.push_back({names[i], claims[i].token});
  return inner_.complete_many(renamed, ttl);
}

}  // namespace optaro::pipeline
