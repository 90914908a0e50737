#!/usr/bin/env bash
# Install Debian's chromium (if absent): the headless browser the segment report's test
# opens the page in. Playwright drives it; its own browser download needs the internet.
# Runs as root (CI) or as a user with sudo.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
    echo "install_chromium: $(command -v chromium) already installed" >&2
    exit 0
fi
SUDO=()
[ "$(id -u)" -eq 0 ] || SUDO=(sudo)
echo "install_chromium: installing chromium from the Debian packages" >&2
"${SUDO[@]}" apt-get update -qq >&2
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
command -v chromium
