#!/bin/sh
# Installs the few Debian/Ubuntu packages that Python's venv and Qt need when a
# fresh machine lacks them. Does nothing when everything is present.
set -e
missing=""
python3 -c 'import ensurepip, venv' 2>/dev/null || missing="$missing python3-venv"
have_lib() { ldconfig -p 2>/dev/null | grep -q "$1"; }
have_lib 'libEGL.so.1'        || missing="$missing libegl1"
have_lib 'libGL.so.1'         || missing="$missing libgl1"
have_lib 'libxkbcommon.so.0'  || missing="$missing libxkbcommon0"
have_lib 'libfontconfig.so.1' || missing="$missing libfontconfig1"
have_lib 'libdbus-1.so.3'     || missing="$missing libdbus-1-3"
have_lib 'libglib-2.0.so.0'   || missing="$missing libglib2.0-0"
have_lib 'libxkbcommon-x11.so.0' || missing="$missing libxkbcommon-x11-0"
have_lib 'libxcb-cursor.so.0' || missing="$missing libxcb-cursor0"
[ -z "$missing" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
    echo "heatmeter: please install:$missing (no apt-get on this machine)" >&2
    exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "heatmeter: installing system packages:$missing" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
