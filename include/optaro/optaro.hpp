#pragma once
// Umbrella header: everything public in the optaro core.
#include <optaro/batch.hpp>
#include <optaro/chain.hpp>
#include <optaro/clock.hpp>
#include <optaro/codec.hpp>
#include <optaro/idempotency.hpp>
#include <optaro/implied_vol.hpp>
#include <optaro/market.hpp>
#include <optaro/ohlc.hpp>
#include <optaro/pricing.hpp>
#include <optaro/retry.hpp>
#include <optaro/status.hpp>
#include <optaro/surface.hpp>
#include <optaro/svi.hpp>
#include <optaro/version.hpp>
