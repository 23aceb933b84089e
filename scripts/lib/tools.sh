# shellcheck shell=bash
# Shared helpers for scripts/book, scripts/notebooks, scripts/fuzz and their self-tests (sourced, not run).
#
# Every tool is pinned; an install is skipped when the pinned version is already on PATH, so a
# second run of either script costs nothing. `cargo install` uses one job by default (the machines
# this was written on share two cores between several builds); CARGO_INSTALL_JOBS overrides it.

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# is_ci: running under CI (CI=true, as GitHub Actions and .ci/run's callers set it).
is_ci() { [ "${CI:-}" = true ] || [ "${CI:-}" = 1 ]; }

# skip_or_fail REASON: a check that cannot run here. The policy of every script: under CI a check
# that cannot run is a failure (one line on stderr, exit 1), so CI never passes by skipping;
# elsewhere it is skipped with a "SKIPPED: REASON" line on stderr, and the caller goes on.
skip_or_fail() {
  is_ci && die "cannot run under CI=true: $* (CI fails rather than skip a check)"
  printf 'SKIPPED: %s\n' "$*" >&2
}

# has_version BIN VERSION: BIN is on PATH and `BIN --version` mentions VERSION.
has_version() {
  command -v "$1" >/dev/null 2>&1 || return 1
  # "mdbook v0.5.4" matches 0.5.4, but "0.5.40" and "10.5.4" do not.
  # (The output is captured first: `grep -q` closing a pipe early would fail it under pipefail.)
  local reported
  reported=$("$1" --version 2>/dev/null) || return 1
  grep -qE -- "(^|[^0-9.])${2//./\\.}([^0-9.]|$)" <<<"$reported"
}

# cargo_installed CRATE VERSION: `cargo install` has CRATE at VERSION (for tools without --version,
# such as evcxr_jupyter).
cargo_installed() {
  local installed
  command -v cargo >/dev/null 2>&1 || return 1
  installed=$(cargo install --list 2>/dev/null) || return 1
  grep -qxF -- "$1 v$2:" <<<"$installed"
}

# cargo_tool CRATE VERSION [BIN]: installs CRATE@VERSION with `cargo install --locked` unless BIN
# (default: CRATE) already reports VERSION. --locked matters: evcxr_jupyter, for one, no longer
# builds against the newest versions of its dependencies.
cargo_tool() {
  local crate=$1 version=$2 bin=${3:-$1}
  if has_version "$bin" "$version" || { command -v "$bin" >/dev/null 2>&1 && cargo_installed "$crate" "$version"; }; then
    return 0
  fi
  command -v cargo >/dev/null 2>&1 || die "cargo is needed to install $crate $version (https://rustup.rs)"
  log "installing $crate $version (cargo install --locked; this takes minutes, once per machine)"
  local start=$SECONDS
  cargo install --locked -j "${CARGO_INSTALL_JOBS:-1}" "$crate" --version "$version"
  log "$crate $version installed in $((SECONDS - start))s"
  # cargo's bin directory may not be on PATH yet on a fresh machine.
  PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
  has_version "$bin" "$version" || cargo_installed "$crate" "$version" ||
    die "$bin $version is not on PATH after installing it"
}

# as_root CMD...: runs CMD as root (directly, or through sudo when there is one).
as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root to run: $*"
  fi
}

# apt_install PACKAGE...: installs Debian/Ubuntu packages, refreshing the package lists only when
# the first try fails (a fresh machine may have none yet).
apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "install $* with your system's package manager"
  log "installing $* (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y "$@" ||
    { as_root apt-get update && as_root apt-get install -y "$@"; }
}
