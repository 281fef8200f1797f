# Shared by scripts/start and scripts/test: installs what is missing, builds once, caches
# outside the clone so a second run (and CI on the same machine) is fast.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${REGIE_CACHE:-$HOME/.cache/regie}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CACHE/target}"
export NO_AT_BRIDGE=1
TOOLS="$CACHE/tools"

APT_PACKAGES=(libwebkit2gtk-4.1-dev libgtk-3-dev libsoup-3.0-dev librsvg2-dev libayatana-appindicator3-dev
  build-essential pkg-config libssl-dev xvfb xauth webkit2gtk-driver poppler-utils postgresql)

step() { printf '\n== %s\n' "$*"; }

install_system_packages() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
  if ((${#missing[@]})); then
    step "apt-get install ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  command -v cargo >/dev/null 2>&1 || { echo "Rust (cargo) is required: https://rustup.rs" >&2; exit 1; }
}

build_ui() {
  step "ui: npm ci + vite build"
  if [ ! -d "$ROOT/ui/node_modules" ] || [ "$ROOT/ui/package-lock.json" -nt "$ROOT/ui/node_modules/.package-lock.json" ]; then
    npm --prefix "$ROOT/ui" ci --no-audit --no-fund --loglevel=error
  fi
  npm --prefix "$ROOT/ui" run build --silent
}

# The end-to-end tests' WebDriver client (WebdriverIO), pinned by tests/e2e/package-lock.json.
install_e2e_client() {
  if [ ! -d "$ROOT/tests/e2e/node_modules" ] || [ "$ROOT/tests/e2e/package-lock.json" -nt "$ROOT/tests/e2e/node_modules/.package-lock.json" ]; then
    step "tests/e2e: npm ci (WebdriverIO)"
    npm --prefix "$ROOT/tests/e2e" ci --no-audit --no-fund --loglevel=error
  fi
}

build_rust() {
  step "cargo build --workspace (target: $CARGO_TARGET_DIR)"
  (cd "$ROOT" && cargo build --workspace --locked)
}

install_tauri_driver() {
  if [ ! -x "$TOOLS/bin/tauri-driver" ]; then
    step "cargo install tauri-driver"
    CARGO_TARGET_DIR="$CACHE/driver-target" cargo install tauri-driver --locked --version '^2' --root "$TOOLS" --quiet
  fi
}
