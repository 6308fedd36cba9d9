#!/bin/sh
# Installs the Debian/Ubuntu packages that Python's venv and Qt's X11 platform (xcb) need when a fresh
# machine lacks them. Does nothing when everything is present.
#
#   sh packaging/system-deps.sh            before the venv: the libraries listed below
#   sh packaging/system-deps.sh --qt VENV  after it: every library Qt's xcb platform plugin in VENV links to
#                                          (ldd), so that a library a newer Qt needs is not missed either
#
# The list is what `ldd` shows for PySide6's libqxcb.so and the Qt libraries it loads (Qt 6.5+: xcb-cursor,
# icccm, keysyms, image, render-util ... are loaded by the plugin, and without one of them Qt aborts with
# a misleading "xcb-cursor0 is needed" although another one is missing).
set -e

# shared library (soname)        Debian package
LIBS='
libEGL.so.1                      libegl1
libGL.so.1                       libgl1
libfontconfig.so.1               libfontconfig1
libfreetype.so.6                 libfreetype6
libdbus-1.so.3                   libdbus-1-3
libglib-2.0.so.0                 libglib2.0-0
libgthread-2.0.so.0              libglib2.0-0
libX11.so.6                      libx11-6
libX11-xcb.so.1                  libx11-xcb1
libxcb.so.1                      libxcb1
libxcb-cursor.so.0               libxcb-cursor0
libxcb-icccm.so.4                libxcb-icccm4
libxcb-image.so.0                libxcb-image0
libxcb-keysyms.so.1              libxcb-keysyms1
libxcb-randr.so.0                libxcb-randr0
libxcb-render.so.0               libxcb-render0
libxcb-render-util.so.0          libxcb-render-util0
libxcb-shape.so.0                libxcb-shape0
libxcb-shm.so.0                  libxcb-shm0
libxcb-sync.so.1                 libxcb-sync1
libxcb-util.so.1                 libxcb-util1
libxcb-xfixes.so.0               libxcb-xfixes0
libxcb-xkb.so.1                  libxcb-xkb1
libxkbcommon.so.0                libxkbcommon0
libxkbcommon-x11.so.0            libxkbcommon-x11-0
'

package_of() {
    echo "$LIBS" | awk -v lib="$1" '$1 == lib { print $2; exit }'
}

missing=""
add() { case " $missing " in *" $1 "*) ;; *) missing="$missing $1" ;; esac; }

if [ "$1" = "--qt" ]; then
    venv="${2:-.venv}"
    plugin=$(find "$venv" -path '*PySide6/Qt/plugins/platforms/libqxcb.so' 2>/dev/null | head -n 1)
    [ -n "$plugin" ] || exit 0                       # no PySide6 in this venv (yet): nothing to check
    qtlib="$(dirname "$plugin")/../../lib"
    unknown=""
    for lib in $( (ldd "$plugin"; ldd "$qtlib"/libQt6XcbQpa.so.6; ldd "$qtlib"/libQt6Gui.so.6) 2>/dev/null \
                  | awk '/not found/ { print $1 }' | sort -u); do
        pkg=$(package_of "$lib")
        if [ -n "$pkg" ]; then add "$pkg"; else unknown="$unknown $lib"; fi
    done
    [ -z "$unknown" ] || echo "heatmeter: Qt's X11 platform also needs:$unknown (install the packages that provide them)" >&2
else
    python3 -c 'import ensurepip, venv' 2>/dev/null || add python3-venv
    have_lib() { ldconfig -p 2>/dev/null | grep -q "$1"; }
    for lib in $(echo "$LIBS" | awk 'NF == 2 { print $1 }'); do
        have_lib "$lib" || add "$(package_of "$lib")"
    done
fi
[ -z "$missing" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
    echo "heatmeter: please install:$missing (no apt-get on this machine)" >&2
    exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "heatmeter: installing system packages:$missing" >&2
$SUDO apt-get update -qq
# shellcheck disable=SC2086  # one word per package
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
