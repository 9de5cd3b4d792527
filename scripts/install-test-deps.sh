#!/usr/bin/env bash
# Debian packages the end-to-end tests drive: the real container clients. Run as root.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends \
  docker.io containerd runc crun podman buildah skopeo umoci \
  uidmap fuse-overlayfs slirp4netns iptables ca-certificates \
  openssl python3-jwt python3-cryptography \
  docker-registry chromium wrk
