# shellcheck shell=bash
# Debian root file systems for images, without any registry (sourced by scripts/build-images.sh;
# scripts/build-sandbox-image.sh uses its debian_mirror):
#   debootstrap --variant=minbase --include=<packages> from the Debian mirror apt already uses, tarred
#   and cached in $CACHE, then `docker import`ed as palisade/rootfs-<name>:<key>. Same approach and
#   mirror discovery as scripts/build-sandbox-image.sh.
# Needs: CACHE, LOG, SUITE set by the caller; root for debootstrap (only when nothing is cached).

# The Debian mirror this machine's apt uses (deb822 *.sources or one-line *.list), main component.
debian_mirror() {
  if [ -n "${PALISADE_DEBIAN_MIRROR:-}" ]; then echo "$PALISADE_DEBIAN_MIRROR"; return; fi
  local f found=""
  shopt -s nullglob
  for f in /etc/apt/sources.list.d/*.sources; do
    found="$(awk -v suite="$SUITE" '
      BEGIN { RS = ""; FS = "\n" }
      {
        uri = ""; suites = ""; types = ""; enabled = "yes"
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) { uri = $i; sub(/^URIs:[ \t]*/, "", uri); split(uri, u, /[ \t]+/); uri = u[1] }
          if ($i ~ /^Suites:/) suites = " " $i " "
          if ($i ~ /^Types:/) types = " " $i " "
          if ($i ~ /^Enabled:[ \t]*[Nn]o/) enabled = "no"
        }
        if (enabled == "yes" && types ~ /[ \t]deb[ \t]/ && suites ~ ("[ \t]" suite "[ \t]") && uri != "") { print uri; exit }
      }' "$f")"
    [ -n "$found" ] && break
  done
  if [ -z "$found" ]; then
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [ -f "$f" ] || continue
      found="$(awk -v suite="$SUITE" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } if ($(i + 1) == suite) { print $i; exit } }' "$f")"
      [ -n "$found" ] && break
    done
  fi
  shopt -u nullglob
  [ -n "$found" ] && echo "$found"
}

# rootfs_image <name> <packages file> → prints the image tag palisade/rootfs-<name>:<key>, building it
# (debootstrap + docker import) unless an image or a cached tarball of the same key exists.
rootfs_image() {
  local name="$1" list="$2" arch key tag tarball include work mirror
  arch="$(dpkg --print-architecture 2>/dev/null || echo amd64)"
  include="$(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$list" | paste -sd, -)"
  key="$(echo "suite=$SUITE variant=minbase arch=$arch include=$include v1" | sha256sum | cut -c1-16)"
  tag="palisade/rootfs-$name:$key"
  tarball="$CACHE/rootfs-$name-$SUITE-$arch-$key.tar"
  if docker image inspect "$tag" >/dev/null 2>&1; then echo "$tag"; return 0; fi
  if [ ! -s "$tarball" ]; then
    [ "$(id -u)" = 0 ] || { echo "debootstrap needs root" >&2; return 1; }
    command -v debootstrap >/dev/null || { echo "debootstrap is not installed (apt-get install debootstrap)" >&2; return 1; }
    mirror="$(debian_mirror)" || { echo "no Debian mirror for '$SUITE' in /etc/apt (set PALISADE_DEBIAN_MIRROR)" >&2; return 1; }
    work="$(mktemp -d "$CACHE/rootfs.XXXXXX")"
    echo "debootstrap --variant=minbase --arch=$arch --include=$include $SUITE <rootfs> $mirror" >>"$LOG"
    if ! debootstrap --variant=minbase --arch="$arch" --include="$include" "$SUITE" "$work/rootfs" "$mirror" >>"$LOG" 2>&1; then
      rm -rf --one-file-system "$work"; return 1
    fi
    rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/cache/apt/"*.bin \
           "$work/rootfs/var/lib/apt/lists/"* "$work/rootfs/var/log/"* \
           "$work/rootfs/usr/share/doc/"* "$work/rootfs/usr/share/man/"* "$work/rootfs/usr/share/info/"*
    find "$work/rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
    tar --numeric-owner --xattrs -C "$work/rootfs" \
        --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -cf "$work/rootfs.tar" . >>"$LOG" 2>&1
    mv "$work/rootfs.tar" "$tarball"
    rm -rf --one-file-system "$work"
  fi
  docker import --change "LABEL palisade.role=rootfs-$name" --message "debootstrap minbase $SUITE +$include" \
    "$tarball" "$tag" >>"$LOG" 2>&1
  # Older rootfs tarballs of this name are no longer needed.
  find "$CACHE" -maxdepth 1 -name "rootfs-$name-*.tar" ! -name "$(basename "$tarball")" -delete
  echo "$tag"
}
