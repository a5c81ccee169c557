#!/usr/bin/env bash
# Stage a private GStreamer 1.22 + GLib runtime and development files, and the project's other
# Debian build dependencies (nlohmann-json, SentencePiece, stb), from Debian packages, for a build
# host that has a compiler, CUDA and PyTorch but neither GStreamer nor a package registry (e.g. an
# Ubuntu 24.04 GPU host).
#
#   stage-gstreamer.sh download DIR   # on a Debian 12 machine with apt: fetch the .debs into DIR
#   stage-gstreamer.sh unpack DIR [PREFIX]   # on the target: unpack into PREFIX (default /opt/gst)
#   eval "$(stage-gstreamer.sh env [PREFIX])"  # on the target: export PATH, PKG_CONFIG_PATH, GST_* ...
set -euo pipefail
PKGS="libglib2.0-0 libglib2.0-dev libglib2.0-dev-bin libglib2.0-bin libgstreamer1.0-0 libgstreamer1.0-dev
libgstreamer-plugins-base1.0-0 libgstreamer-plugins-base1.0-dev gstreamer1.0-plugins-base
gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly gstreamer1.0-tools libx264-164 liborc-0.4-0
libunwind8 libdw1 libelf1 libcap2 libgudev-1.0-0
libpcre2-dev libffi-dev zlib1g-dev libmount-dev libselinux1-dev libblkid-dev libsepol-dev libunwind-dev
libdw-dev libelf-dev liblzma-dev liborc-0.4-dev
nlohmann-json3-dev libsentencepiece-dev libsentencepiece0 sentencepiece libprotobuf-lite32 libprotobuf32 libstb-dev libstb0
gstreamer1.0-plugins-base-apps"
cmd=${1:-}; shift || true
case "$cmd" in
download)
  dir=${1:?DIR}; mkdir -p "$dir"; (cd "$dir" && apt-get download $PKGS) ;;
unpack)
  dir=${1:?DIR}; prefix=${2:-/opt/gst}; mkdir -p "$prefix"
  for f in "$dir"/*.deb; do dpkg -x "$f" "$prefix"; done
  # .pc files say prefix=/usr: point them at the staged tree
  find "$prefix" -name '*.pc' -exec sed -i "s|^prefix=/usr|prefix=$prefix/usr|" {} +
  ;;
env)
  p=${1:-/opt/gst}/usr; m=$p/lib/x86_64-linux-gnu
  echo "export PATH=$p/bin:\$PATH"
  echo "export PKG_CONFIG_PATH=$m/pkgconfig:$p/share/pkgconfig\${PKG_CONFIG_PATH:+:\$PKG_CONFIG_PATH}"
  echo "export LD_LIBRARY_PATH=$m\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
  echo "export GST_PLUGIN_SYSTEM_PATH=$m/gstreamer-1.0"
  echo "export GST_PLUGIN_SCANNER=$m/gstreamer1.0/gstreamer-1.0/gst-plugin-scanner"
  echo "export GST_REGISTRY=/tmp/gst-registry-\$(id -u).bin"
  echo "export CPLUS_INCLUDE_PATH=$p/include\${CPLUS_INCLUDE_PATH:+:\$CPLUS_INCLUDE_PATH}"
  echo "export LIBRARY_PATH=$m\${LIBRARY_PATH:+:\$LIBRARY_PATH}"
  ;;
*) sed -n '2,9p' "$0"; exit 2 ;;
esac
