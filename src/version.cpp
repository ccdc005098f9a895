#include <optaro/version.hpp>

namespace optaro {
std::string_view version() noexcept { return OPTARO_VERSION_STRING; }
}  // namespace optaro
