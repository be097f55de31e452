#!/usr/bin/env bash
# Installs everything videopoet needs on a fresh Debian/Ubuntu machine, idempotently:
# Debian packages (the emoji font, OpenCV's sample photos and videos, MATE's photos, chromium for the
# browser test), the pinned Python packages, and the world's sprite atlas (built from the font).
set -euo pipefail
cd "$(dirname "$0")/.."

debs=(fonts-noto-color-emoji opencv-doc mate-backgrounds chromium)
missing=()
for d in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$d" 2>/dev/null | grep -q "install ok installed" || missing+=("$d")
done
if ((${#missing[@]})); then
  if command -v apt-get >/dev/null; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing Debian packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "warning: no apt-get here; install these yourself: ${missing[*]}" >&2
  fi
fi

python3 -m pip install -q --disable-pip-version-check -r requirements.txt
python3 -m videopoet.world build-atlas >/dev/null
