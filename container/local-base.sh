#!/bin/sh
# A stand-in for python:3.11-slim where no image registry is reachable: Debian bookworm (its
# python3 is 3.11) with venv, pip, CA certificates and tini, from Debian's own packages with
# debootstrap, imported into the local Docker engine. Needs root, debootstrap and Debian's
# package mirror.
#
#   sh container/local-base.sh [tag]          (default tag: logibot-base:bookworm)
#   make image-test BASE_IMAGE=logibot-base:bookworm
set -eu
tag=${1:-logibot-base:bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
docker=${DOCKER:-docker}
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT INT TERM

debootstrap --variant=minbase \
    --include=python3,python3-venv,python3-pip,ca-certificates,tini \
    bookworm "$root" "$mirror"
# The image trusts what this host trusts (a proxy's CA included), so that pip in the build
# reaches PyPI the way the host does.
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb
tar -C "$root" -c . | "$docker" import \
    -c 'ENV LANG=C.UTF-8' \
    -c 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
    -c 'CMD ["python3"]' \
    - "$tag"
echo "built $tag"
