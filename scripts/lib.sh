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
#   pb_aarch64_build_dir/pb_aarch64_build  the aarch64 cross build, shared by
#                 scripts/cross-test-aarch64 and scripts/test-arm64-system
#   pb_deb_cache  where scripts/setup --system arm64 keeps downloaded .debs
#   pb_arm64_deb  the newest cached .deb of the arm64 kernel, RT kernel or busybox

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

# The directory where scripts/setup --system arm64 downloads the .debs that
# scripts/test-arm64-system unpacks: $PB_DEB_CACHE, else a machine-wide cache
# that outlives clean clones.
pb_deb_cache() {
  printf '%s\n' "${PB_DEB_CACHE:-/var/cache/preemptbench/debs}"
}

# pb_arm64_deb kernel|kernel-rt|busybox: prints the path of the newest
# (by version) cached .deb of Debian's generic arm64 kernel image, its
# PREEMPT_RT kernel image, or busybox-static:arm64; returns 1 if none is there.
pb_arm64_deb() {
  local dir f base pick=""
  dir="$(pb_deb_cache)"
  for f in "$dir"/*_arm64.deb; do
    [[ -f "$f" ]] || continue
    base="${f##*/}"
    case "$1" in
      kernel) [[ "$base" =~ ^linux-image-[0-9][^_]*-arm64_ && "$base" != *-rt-arm64_* ]] || continue ;;
      kernel-rt) [[ "$base" =~ ^linux-image-[0-9][^_]*-rt-arm64_ ]] || continue ;;
      busybox) [[ "$base" == busybox-static_* ]] || continue ;;
      *) return 2 ;;
    esac
    pick+="$f"$'\n'
  done
  [[ -n "$pick" ]] || return 1
  printf '%s' "$pick" | sort -V | tail -1
}

# The aarch64 cross build's directory: $PB_AARCH64_BUILD_DIR, else
# build-aarch64/ in the repository.
pb_aarch64_build_dir() {
  PB_BUILD_DIR="${PB_AARCH64_BUILD_DIR:-}" pb_build_dir build-aarch64
}

# pb_aarch64_build BUILD_DIR: configures and builds the aarch64 cross build
# (cmake/aarch64-linux-gnu.cmake) with the same options for every script
# that uses it, so the second one finds nothing to rebuild.
#
# -O2 and -Werror as natively (PB_CROSS_WERROR=OFF to relax), except for
# GCC 12's -Wmaybe-uninitialized: at -O2 for aarch64 it flags std::optional
# of small structs that x86-64 does not (GCC bug 80635). It stays a warning
# in the log. No debug info (Release with -O2, not RelWithDebInfo): nothing
# debugs these binaries, and -g made the heaviest test file's compile 1.7x
# slower.
pb_aarch64_build() {
  local build="$1"
  pb_timed configure pb_configure "$build" \
    -DCMAKE_TOOLCHAIN_FILE="$PB_ROOT/cmake/aarch64-linux-gnu.cmake" \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
    -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" -DPB_SANITIZE=OFF \
    -DPB_WERROR="${PB_CROSS_WERROR:-ON}" \
    -DCMAKE_CXX_FLAGS=-Wno-error=maybe-uninitialized
  pb_timed build pb_build "$build"
}
