// The in-memory ports (include/optaro/memory_ports.hpp).
#include <optaro/memory_ports.hpp>

#include <algorithm>
#include <charconv>
#include <iterator>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace optaro {

namespace {

using std::chrono::nanoseconds;
using time_point = clock::time_point;

constexpr std::size_t kind_count = 3;

// now + span, saturating, so that a huge TTL means "never", not an overflow.
time_point later_by(time_point now, nanoseconds span) {
  const auto room = time_point::max() - now;
  return span >= room ? time_point::max() : now + span;
}

void require_positive_ttl(nanoseconds ttl, const char* function) {
  if (ttl.count() <= 0) {
    throw std::invalid_argument(std::string(function) + ": ttl must be > 0 (got " + std::to_string(ttl.count()) +
                                " ns)");
  }
}

std::optional<std::uint64_t> parse_receipt(std::string_view receipt) noexcept {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(receipt.data(), receipt.data() + receipt.size(), value);
  if (error != std::errc{} || end != receipt.data() + receipt.size() || receipt.empty()) return std::nullopt;
  return value;
}

// Product and id cannot contain '\0' in practice (decoded from JSON text), so it separates them.
std::string identity_of(message_kind kind, std::string_view product_or_symbol, std::string_view id) {
  if (kind == message_kind::option_chain) return std::string(id);
  std::string identity(product_or_symbol);
  identity += '\0';
  identity += id;
  return identity;
}

// Field by field: delivery may gain members, and a braced list would have to name them all.
delivery new_delivery(message_kind kind, std::string payload) {
  delivery item;
  item.kind = kind;
  item.payload = std::move(payload);
  return item;
}

}  // namespace

// ---- in_memory_source ------------------------------------------------------------------------------

in_memory_source::in_memory_source() : in_memory_source(options{}) {}

in_memory_source::in_memory_source(options settings) : settings_{std::move(settings)} {}

in_memory_source::~in_memory_source() = default;

const std::string& in_memory_source::channel(message_kind kind) const noexcept {
  switch (kind) {
    case message_kind::underlying: return settings_.underlying_channel;
    case message_kind::option_quote: return settings_.option_quote_channel;
    case message_kind::option_chain: return settings_.option_chain_channel;
  }
  return settings_.underlying_channel;
}

bool in_memory_source::push_locked(std::unique_lock<std::mutex>& lock, delivery item, bool wait) {
  const auto full = [this] { return settings_.capacity != 0 && queue_.size() >= settings_.capacity; };
  if (wait) {
    not_full_.wait(lock, [&] { return closed_ || !full(); });
  }
  if (closed_ || full()) return false;
  if (item.channel.empty()) item.channel = channel(item.kind);
  item.receipt = std::to_string(next_sequence_++);
  queue_.push_back(std::move(item));
  lock.unlock();
  not_empty_.notify_one();
  return true;
}

bool in_memory_source::push(message_kind kind, std::string payload) {
  std::unique_lock lock{mutex_};
  return push_locked(lock, new_delivery(kind, std::move(payload)), true);
}

bool in_memory_source::try_push(message_kind kind, std::string payload) {
  std::unique_lock lock{mutex_};
  return push_locked(lock, new_delivery(kind, std::move(payload)), false);
}

bool in_memory_source::push(delivery replayed) {
  std::unique_lock lock{mutex_};
  return push_locked(lock, std::move(replayed), true);
}

std::size_t in_memory_source::receive(std::vector<delivery>& out, std::size_t max, std::chrono::milliseconds timeout) {
  if (max == 0) return 0;
  std::unique_lock lock{mutex_};
  not_empty_.wait_for(lock, timeout, [this] { return closed_ || !queue_.empty(); });
  if (closed_) return 0;
  const std::size_t taken = std::min(max, queue_.size());
  for (std::size_t i = 0; i < taken; ++i) {
    delivery& item = queue_.front();
    // A receipt is always the decimal text of a sequence number this source assigned.
    unacknowledged_.insert_or_assign(parse_receipt(item.receipt).value_or(0), item);
    out.push_back(std::move(item));
    queue_.pop_front();
  }
  lock.unlock();
  if (taken > 0) not_full_.notify_all();
  return taken;
}

void in_memory_source::acknowledge(const delivery& handled) {
  const std::scoped_lock lock{mutex_};
  const auto sequence = parse_receipt(handled.receipt);
  if (!sequence || unacknowledged_.erase(*sequence) == 0) ++unknown_acknowledgements_;
}

void in_memory_source::close() {
  {
    const std::scoped_lock lock{mutex_};
    closed_ = true;
  }
  not_empty_.notify_all();
  not_full_.notify_all();
}

port_health in_memory_source::health() const {
  const std::scoped_lock lock{mutex_};
  return {true, closed_ ? "closed" : ""};
}

std::size_t in_memory_source::redeliver_unacknowledged() {
  std::size_t count = 0;
  {
    const std::scoped_lock lock{mutex_};
    count = unacknowledged_.size();
    // Walking from the newest to the oldest, each push_front leaves the oldest first.
    for (auto it = unacknowledged_.rbegin(); it != unacknowledged_.rend(); ++it) {
      queue_.push_front(std::move(it->second));
    }
    unacknowledged_.clear();
  }
  if (count > 0) not_empty_.notify_all();
  return count;
}

std::size_t in_memory_source::pending() const {
  const std::scoped_lock lock{mutex_};
  return queue_.size();
}

std::size_t in_memory_source::unacknowledged() const {
  const std::scoped_lock lock{mutex_};
  return unacknowledged_.size();
}

std::uint64_t in_memory_source::unknown_acknowledgements() const {
  const std::scoped_lock lock{mutex_};
  return unknown_acknowledgements_;
}

bool in_memory_source::closed() const {
  const std::scoped_lock lock{mutex_};
  return closed_;
}

// ---- in_memory_sink --------------------------------------------------------------------------------

in_memory_sink::in_memory_sink() : in_memory_sink(options{}) {}

in_memory_sink::in_memory_sink(options settings)
    : settings_{settings}, subscribers_{std::make_shared<const std::vector<subscriber>>()} {}

in_memory_sink::~in_memory_sink() = default;

void in_memory_sink::publish(std::string_view channel, std::string_view payload) {
  std::shared_ptr<const std::vector<subscriber>> to_call;
  {
    const std::scoped_lock lock{mutex_};
    auto found = channels_.find(channel);
    if (found == channels_.end()) found = channels_.emplace(std::string(channel), channel_log{}).first;
    ++found->second.published;
    ++total_;
    if (settings_.retain) found->second.messages.emplace_back(payload);
    to_call = subscribers_;
  }
  for (const subscriber& call : *to_call) call(channel, payload);
}

void in_memory_sink::subscribe(subscriber callback) {
  if (!callback) throw std::invalid_argument("in_memory_sink::subscribe: empty subscriber");
  const std::scoped_lock lock{mutex_};
  auto next = std::make_shared<std::vector<subscriber>>(*subscribers_);
  next->push_back(std::move(callback));
  subscribers_ = std::move(next);
}

std::vector<std::string> in_memory_sink::messages(std::string_view channel) const {
  const std::scoped_lock lock{mutex_};
  const auto found = channels_.find(channel);
  return found == channels_.end() ? std::vector<std::string>{} : found->second.messages;
}

std::size_t in_memory_sink::count(std::string_view channel) const {
  const std::scoped_lock lock{mutex_};
  const auto found = channels_.find(channel);
  return found == channels_.end() ? 0 : found->second.published;
}

std::size_t in_memory_sink::total() const {
  const std::scoped_lock lock{mutex_};
  return total_;
}

// ---- callback_sink ---------------------------------------------------------------------------------

callback_sink::callback_sink(callback on_publish) : on_publish_{std::move(on_publish)} {
  if (!on_publish_) throw std::invalid_argument("callback_sink: empty callback");
}

void callback_sink::publish(std::string_view channel, std::string_view payload) { on_publish_(channel, payload); }

// ---- in_memory_document_store ----------------------------------------------------------------------

in_memory_document_store::in_memory_document_store() : in_memory_document_store(options{}) {}

in_memory_document_store::in_memory_document_store(options settings) : settings_{settings}, collections_(kind_count) {}

in_memory_document_store::~in_memory_document_store() = default;

const in_memory_document_store::collection& in_memory_document_store::collection_of(message_kind kind) const {
  return collections_.at(static_cast<std::size_t>(kind));
}

in_memory_document_store::collection& in_memory_document_store::collection_of(message_kind kind) {
  return collections_.at(static_cast<std::size_t>(kind));
}

std::unordered_map<std::string, std::uint64_t>& in_memory_document_store::collection::index_for(
    std::string_view identity) {
  return by_identity[std::hash<std::string_view>{}(identity) % index_shards];
}

const std::unordered_map<std::string, std::uint64_t>& in_memory_document_store::collection::index_for(
    std::string_view identity) const {
  return by_identity[std::hash<std::string_view>{}(identity) % index_shards];
}

// Bounded stores only: drops records.front() and its entries in the identity and product indexes.
void in_memory_document_store::collection::evict_oldest() {
  record& oldest = records.front();
  const std::uint64_t sequence = evicted;
  index_for(oldest.identity).erase(oldest.identity);
  if (const auto held = held_by_product.find(oldest.product); held != held_by_product.end()) {
    held->second.erase({oldest.timestamp, sequence});
    if (held->second.empty()) held_by_product.erase(held);
  }
  records.pop_front();
  ++evicted;
}

insert_outcome in_memory_document_store::insert(const stored_document& document) {
  const std::scoped_lock lock{mutex_};
  ++inserts_attempted_;
  if (!available_) throw retryable_error("document store unavailable");
  if (document.id.empty()) throw std::invalid_argument("document store: id is empty");
  if (document.product.empty()) throw std::invalid_argument("document store: product is empty");
  const bool is_quote = document.kind == message_kind::option_quote;
  if (is_quote && document.symbol.empty()) throw std::invalid_argument("document store: symbol is empty");

  collection& target = collection_of(document.kind);
  std::string identity = identity_of(document.kind, is_quote ? document.symbol : document.product, document.id);
  auto& shard = target.index_for(identity);
  const std::uint64_t sequence = target.evicted + target.records.size();
  // A bounded store keeps the identity in the record too, to drop the index entry on eviction.
  const bool inserted = bounded() ? shard.try_emplace(identity, sequence).second
                                  : shard.try_emplace(std::move(identity), sequence).second;
  if (!inserted) return insert_outcome::duplicate;
  target.records.push_back(record{std::string(document.product), document.timestamp, std::string(document.json),
                                  bounded() ? std::move(identity) : std::string{}});

  if (!bounded()) {
    auto [latest, first_of_product] = target.latest_by_product.try_emplace(std::string(document.product), sequence);
    if (!first_of_product && document.timestamp >= target.at(latest->second).timestamp) latest->second = sequence;
    return insert_outcome::inserted;
  }
  target.held_by_product[std::string(document.product)].emplace(document.timestamp, sequence);
  // The new document itself is never the one evicted: N >= 1 and it is the newest.
  while (target.records.size() > settings_.max_documents_per_kind) target.evict_oldest();
  return insert_outcome::inserted;
}

port_health in_memory_document_store::health() const {
  const std::scoped_lock lock{mutex_};
  if (!available_) return {false, "unavailable (fault injected)"};
  return {};
}

void in_memory_document_store::set_available(bool available) {
  const std::scoped_lock lock{mutex_};
  available_ = available;
}

std::uint64_t in_memory_document_store::inserts_attempted() const {
  const std::scoped_lock lock{mutex_};
  return inserts_attempted_;
}

std::size_t in_memory_document_store::size(message_kind kind) const {
  const std::scoped_lock lock{mutex_};
  return collection_of(kind).records.size();
}

std::uint64_t in_memory_document_store::inserted(message_kind kind) const {
  const std::scoped_lock lock{mutex_};
  const collection& source = collection_of(kind);
  return source.evicted + source.records.size();
}

std::uint64_t in_memory_document_store::evicted(message_kind kind) const {
  const std::scoped_lock lock{mutex_};
  return collection_of(kind).evicted;
}

std::optional<std::string> in_memory_document_store::find(message_kind kind, std::string_view product_or_symbol,
                                                          std::string_view id) const {
  const std::scoped_lock lock{mutex_};
  const collection& source = collection_of(kind);
  const std::string identity = identity_of(kind, product_or_symbol, id);
  const auto& index = source.index_for(identity);
  const auto found = index.find(identity);
  if (found == index.end()) return std::nullopt;
  return source.at(found->second).json;
}

std::vector<std::string> in_memory_document_store::documents(message_kind kind) const {
  const std::scoped_lock lock{mutex_};
  const collection& source = collection_of(kind);
  std::vector<std::string> out;
  out.reserve(source.records.size());
  for (const record& r : source.records) out.push_back(r.json);
  return out;
}

std::optional<std::string> in_memory_document_store::latest(message_kind kind, std::string_view product) const {
  const std::scoped_lock lock{mutex_};
  const collection& source = collection_of(kind);
  if (bounded()) {
    const auto found = source.held_by_product.find(std::string(product));
    if (found == source.held_by_product.end() || found->second.empty()) return std::nullopt;
    // The greatest (timestamp, sequence): the greatest timestamp, ties to the later insert.
    return source.at(found->second.rbegin()->second).json;
  }
  const auto found = source.latest_by_product.find(std::string(product));
  if (found == source.latest_by_product.end()) return std::nullopt;
  return source.at(found->second).json;
}

// ---- in_memory_cache -------------------------------------------------------------------------------

in_memory_cache::in_memory_cache(const clock& time) : clock_{time} {}

in_memory_cache::~in_memory_cache() = default;

void in_memory_cache::require_available() const {
  if (!available_) throw retryable_error("cache unavailable");
}

// One pass over the keys per as many operations as keys held: amortised O(1) per operation.
void in_memory_cache::sweep_if_due(time_point now) {
  constexpr std::size_t minimum_interval = 64;
  if (++operations_since_sweep_ < std::max(minimum_interval, entries_.size())) return;
  operations_since_sweep_ = 0;
  std::erase_if(entries_, [now](const auto& key_and_entry) { return key_and_entry.second.expires_at <= now; });
}

const in_memory_cache::entry* in_memory_cache::live(std::string_view key, value_type type, time_point now) const {
  const auto found = entries_.find(key);
  if (found == entries_.end() || found->second.expires_at <= now || found->second.type != type) return nullptr;
  return &found->second;
}

void in_memory_cache::set(std::span<const cache_write> writes) {
  for (const cache_write& write : writes) require_positive_ttl(write.ttl, "in_memory_cache::set");
  const std::scoped_lock lock{mutex_};
  require_available();
  const time_point now = clock_.now();
  sweep_if_due(now);
  for (const cache_write& write : writes) {
    entries_.insert_or_assign(write.key, entry{value_type::string, write.value, {}, later_by(now, write.ttl)});
  }
}

std::optional<std::string> in_memory_cache::get(std::string_view key) {
  const std::scoped_lock lock{mutex_};
  require_available();
  const time_point now = clock_.now();
  sweep_if_due(now);
  const entry* found = live(key, value_type::string, now);
  if (found == nullptr) return std::nullopt;
  return found->text;
}

void in_memory_cache::replace_smile(std::string_view set_key, std::string_view iv_key,
                                    std::span<const smile_point> points, nanoseconds ttl) {
  require_positive_ttl(ttl, "in_memory_cache::replace_smile");
  entry scores{value_type::sorted_set, {}, {}, {}};
  entry ivs{value_type::hash, {}, {}, {}};
  for (const smile_point& point : points) {
    scores.fields.insert_or_assign(point.member, point.strike);
    ivs.fields.insert_or_assign(point.member, point.iv);
  }
  // Built outside the lock; swapped in under it, so a reader sees the old smile or the new one.
  const std::scoped_lock lock{mutex_};
  require_available();
  const time_point now = clock_.now();
  sweep_if_due(now);
  if (points.empty()) {
    if (const auto found = entries_.find(set_key); found != entries_.end()) entries_.erase(found);
    if (const auto found = entries_.find(iv_key); found != entries_.end()) entries_.erase(found);
    return;
  }
  scores.expires_at = ivs.expires_at = later_by(now, ttl);
  entries_.insert_or_assign(std::string(set_key), std::move(scores));
  entries_.insert_or_assign(std::string(iv_key), std::move(ivs));
}

port_health in_memory_cache::health() const {
  const std::scoped_lock lock{mutex_};
  if (!available_) return {false, "unavailable (fault injected)"};
  return {};
}

void in_memory_cache::set_available(bool available) {
  const std::scoped_lock lock{mutex_};
  available_ = available;
}

std::optional<nanoseconds> in_memory_cache::ttl(std::string_view key) const {
  const std::scoped_lock lock{mutex_};
  const time_point now = clock_.now();
  const auto found = entries_.find(key);
  if (found == entries_.end() || found->second.expires_at <= now) return std::nullopt;
  return found->second.expires_at - now;
}

std::vector<smile_point> in_memory_cache::sorted_set(std::string_view key) const {
  const std::scoped_lock lock{mutex_};
  const entry* found = live(key, value_type::sorted_set, clock_.now());
  if (found == nullptr) return {};
  std::vector<smile_point> members;
  members.reserve(found->fields.size());
  for (const auto& [member, score] : found->fields) members.push_back(smile_point{member, score, 0});
  // The map is ordered by member already; a stable sort by score keeps that as the tie-break.
  std::stable_sort(members.begin(), members.end(),
                   [](const smile_point& a, const smile_point& b) { return a.strike < b.strike; });
  return members;
}

std::optional<double> in_memory_cache::hash_value(std::string_view hash_key, std::string_view member) const {
  const std::scoped_lock lock{mutex_};
  const entry* found = live(hash_key, value_type::hash, clock_.now());
  if (found == nullptr) return std::nullopt;
  const auto field = found->fields.find(member);
  if (field == found->fields.end()) return std::nullopt;
  return field->second;
}

std::size_t in_memory_cache::size() const {
  const std::scoped_lock lock{mutex_};
  const time_point now = clock_.now();
  return static_cast<std::size_t>(
      std::count_if(entries_.begin(), entries_.end(), [now](const auto& kv) { return kv.second.expires_at > now; }));
}

// ---- in_memory_dead_letter_queue -------------------------------------------------------------------

in_memory_dead_letter_queue::in_memory_dead_letter_queue() = default;

in_memory_dead_letter_queue::~in_memory_dead_letter_queue() = default;

void in_memory_dead_letter_queue::push(const dead_letter& letter) {
  const std::scoped_lock lock{mutex_};
  letters_.push_back(letter);
}

std::vector<dead_letter> in_memory_dead_letter_queue::list(std::size_t offset, std::size_t count) const {
  const std::scoped_lock lock{mutex_};
  if (offset >= letters_.size()) return {};
  const std::size_t n = std::min(count, letters_.size() - offset);
  const auto first = letters_.begin() + static_cast<std::ptrdiff_t>(offset);
  return {first, first + static_cast<std::ptrdiff_t>(n)};
}

std::size_t in_memory_dead_letter_queue::size() const {
  const std::scoped_lock lock{mutex_};
  return letters_.size();
}

std::vector<dead_letter> in_memory_dead_letter_queue::take(std::size_t count) {
  const std::scoped_lock lock{mutex_};
  const std::size_t n = std::min(count, letters_.size());
  const auto last = letters_.begin() + static_cast<std::ptrdiff_t>(n);
  std::vector<dead_letter> taken(std::make_move_iterator(letters_.begin()), std::make_move_iterator(last));
  letters_.erase(letters_.begin(), last);
  return taken;
}

}  // namespace optaro
