#!/bin/sh
# Installs the Debian packages a target needs when its base lacks them (registry bases such as
# debian:bookworm-slim). Offline bases from scripts/build-images.sh already hold them: then nothing is
# downloaded. Cleans up package caches and documentation either way.
set -eu
list="$1"
pkgs="$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$list" | tr '\n' ' ')"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  apt-get update
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
fi
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log \
       /usr/share/doc/* /usr/share/man/* /usr/share/info/* "$list"
