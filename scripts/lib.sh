# shellcheck shell=bash
# Shared helpers for scripts/*. Source it; it defines functions and a few
# variables and runs nothing else.
#
#   PB_ROOT       the repository root (the parent of scripts/)
#   pb_section    a banner that stands out in CI logs
#   pb_log/warn   one-line messages on stderr, prefixed with the script name
#   pb_die        pb_log and exit 1
#   pb_as_root    run a command as root (directly, or through sudo)
#   pb_missing    print which of the given Debian packages are not installed
#   pb_cmake_gen  the CMake generator to use (Ninja when ninja is there)
#   pb_timed      run a command and report how long it took

PB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PB_SCRIPT="$(basename "$0")"
PB_JOBS="${PB_JOBS:-$(nproc 2>/dev/null || echo 2)}"

pb_section() {
  printf '\n==================== %s ====================\n' "$*"
}

pb_log() { printf '[%s] %s\n' "$PB_SCRIPT" "$*" >&2; }
pb_warn() { printf '[%s] warning: %s\n' "$PB_SCRIPT" "$*" >&2; }
pb_die() {
  printf '[%s] error: %s\n' "$PB_SCRIPT" "$*" >&2
  exit 1
}

# Runs "$@" as root: directly when we are root, through sudo otherwise.
# DEBIAN_FRONTEND is passed explicitly since sudo resets the environment.
pb_as_root() {
  if [[ "$(id -u)" -eq 0 ]]; then
    DEBIAN_FRONTEND=noninteractive "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo env DEBIAN_FRONTEND=noninteractive "$@"
  else
    pb_die "need root to run '$*' and sudo is not installed"
  fi
}

# Prints, one per line, each package of "$@" (name or name:arch) that dpkg
# does not have fully installed. Costs one dpkg-query call.
pb_missing() {
  local pkg status name arch native
  native="$(dpkg --print-architecture)"
  declare -A ok=()
  # dpkg-query names Multi-Arch: same packages "name:arch" and the others
  # plain "name"; it exits 1 when some name is unknown, and leaves it out.
  while read -r pkg status; do
    [[ "$status" == "ii" ]] && ok["$pkg"]=1
  done < <(dpkg-query -W -f='${binary:Package} ${db:Status-Abbrev}\n' "$@" 2>/dev/null || true)
  for pkg in "$@"; do
    name="${pkg%%:*}"
    arch="${pkg#"$name"}"
    arch="${arch#:}"
    [[ -n "${ok[$pkg]:-}" ]] && continue
    if [[ -z "$arch" || "$arch" == "$native" ]]; then
      [[ -n "${ok[$name]:-}" || -n "${ok[$name:$native]:-}" ]] && continue
    fi
    printf '%s\n' "$pkg"
  done
}

pb_cmake_gen() {
  if command -v ninja >/dev/null 2>&1; then echo Ninja; else echo "Unix Makefiles"; fi
}

# pb_timed LABEL CMD...: runs CMD, then logs LABEL with the elapsed seconds.
# Returns CMD's exit status.
pb_timed() {
  local label="$1" start rc=0
  shift
  start=$(date +%s)
  "$@" || rc=$?
  pb_log "$label: $(($(date +%s) - start)) s (exit $rc)"
  return "$rc"
}

# pb_build_dir DEFAULT: the build directory, from $PB_BUILD_DIR or DEFAULT;
# relative paths are taken from the repository root.
pb_build_dir() {
  local dir="${PB_BUILD_DIR:-$1}"
  [[ "$dir" == /* ]] || dir="$PB_ROOT/$dir"
  printf '%s\n' "$dir"
}

# pb_configure BUILD_DIR CMAKE_ARGS...: configures with Ninja, or with the
# generator an existing build directory already uses (cmake refuses to
# switch generators in place).
pb_configure() {
  local dir="$1" gen
  shift
  gen="$(pb_cmake_gen)"
  if [[ -f "$dir/CMakeCache.txt" ]]; then
    local cached
    cached="$(sed -n 's/^CMAKE_GENERATOR:INTERNAL=//p' "$dir/CMakeCache.txt")"
    if [[ -n "$cached" && "$cached" != "$gen" ]]; then
      pb_warn "$dir was configured with '$cached'; keeping it"
      gen="$cached"
    fi
  fi
  pb_log "configure: cmake -S $PB_ROOT -B $dir -G '$gen' $*"
  cmake -S "$PB_ROOT" -B "$dir" -G "$gen" "$@"
}

pb_build() {
  pb_log "build: cmake --build $1 -j $PB_JOBS"
  cmake --build "$1" -j "$PB_JOBS"
}

# pb_ctest BUILD_DIR [CTEST_ARGS...]: runs the suite; a suite that registered
# no test is an error, not a pass.
pb_ctest() {
  local dir="$1"
  shift
  pb_log "test: ctest --test-dir $dir --output-on-failure --no-tests=error -j $PB_JOBS $*"
  ctest --test-dir "$dir" --output-on-failure --no-tests=error -j "$PB_JOBS" "$@"
}
