#!/usr/bin/env bash
# Static checks, run by hand (`bash .ci/lint.sh`); not part of .ci/run. Needs clang-tidy and
# clang-format (apt-get install clang-tidy clang-format). Three steps, each reported:
#   1. the .clang-tidy configuration enables what it says: every enabling glob in Checks enables at
#      least one check, and every disabling glob names checks that exist (a missing comma or a stray
#      quote otherwise switches whole groups off without a word);
#   2. clang-format --dry-run over optaro's C++ sources;
#   3. clang-tidy over src/ and examples/, with the compile commands of a dev-preset build.
# Exits non-zero if any step finds something. `--config-only` runs step 1 alone.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

for tool in clang-tidy clang-format; do
  command -v "$tool" >/dev/null || { echo "lint: $tool not found (apt-get install $tool)" >&2; exit 2; }
done
status=0

echo "==== 1. .clang-tidy enables what it says"
enabled=$(clang-tidy --list-checks 2>/dev/null | tail -n +2 | sed 's/^ *//')
available=$(clang-tidy --list-checks --checks='*' 2>/dev/null | tail -n +2 | sed 's/^ *//')
# The effective Checks string, as clang-tidy parsed it from .clang-tidy (one line, quoted, with
# \n escapes; clang-tidy puts its defaults clang-diagnostic-*,clang-analyzer-* in front).
checks=$(clang-tidy --dump-config 2>/dev/null | sed -n 's/^Checks: *//p' | tr -d "\"'" | sed 's/\\n//g')
[ -n "$checks" ] || { echo "  could not read Checks from clang-tidy --dump-config"; exit 1; }
IFS=',' read -r -a globs <<<"$checks"
for raw in "${globs[@]}"; do
  glob=$(echo "$raw" | tr -d '[:space:]')
  [ -z "$glob" ] && { echo "  empty glob in Checks (doubled comma?)"; status=1; continue; }
  case "$glob" in -\*|clang-diagnostic-\*) continue ;; esac
  if [[ $glob == -* ]]; then
    pattern=${glob#-}
    n=0; while read -r c; do [[ $c == $pattern ]] && n=$((n + 1)); done <<<"$available"
    still=0; while read -r c; do [[ $c == $pattern ]] && still=$((still + 1)); done <<<"$enabled"
    if [ "$n" -eq 0 ]; then echo "  '$glob' disables nothing: no such check (typo?)"; status=1
    elif [ "$still" -ne 0 ]; then echo "  '$glob' leaves $still check(s) enabled"; status=1; fi
  else
    n=0; while read -r c; do [[ $c == $glob ]] && n=$((n + 1)); done <<<"$enabled"
    if [ "$n" -eq 0 ]; then echo "  '$glob' enables no check (missing comma, stray quote, typo?)"; status=1
    else printf '  %-22s %3d checks\n' "$glob" "$n"; fi
  fi
done
echo "  $(echo "$enabled" | wc -l) checks enabled in total"
if [ "${1:-}" = "--config-only" ]; then exit "$status"; fi

# Our C++ files: everything tracked or new, outside build trees. Not the CMake templates (*.hpp.in):
# clang-format would split their @VAR@ placeholders.
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.cpp' '*.hpp' |
  grep -v '^build' || true)

echo "==== 2. clang-format"
# One line per file that differs from .clang-format, with the number of places.
unformatted=$(clang-format --dry-run "${files[@]}" 2>&1 | grep -- '-Wclang-format-violations' |
  cut -d: -f1 | sort | uniq -c || true)
if [ -n "$unformatted" ]; then
  echo "$unformatted" | sed 's/^/  /'
  echo "  (clang-format -i <file> rewrites a file)"
  status=1
fi

echo "==== 3. clang-tidy (src/, examples/)"
build=${OPTARO_LINT_BUILD_DIR:-build/dev}
if [ ! -f "$build/compile_commands.json" ]; then
  cmake --preset dev -B "$build" >/dev/null
  cmake --build "$build" --target optaro >/dev/null  # generates <optaro/version.hpp>
fi
for f in src/*.cpp examples/*.cpp; do
  clang-tidy --quiet -p "$build" "$f" 2>/dev/null | grep -E 'warning:|error:' || true
done | tee /tmp/optaro-lint-tidy.$$ | sed 's/^/  /'
if [ -s /tmp/optaro-lint-tidy.$$ ]; then status=1; fi
rm -f /tmp/optaro-lint-tidy.$$
exit "$status"
