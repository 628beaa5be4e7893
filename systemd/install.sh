#!/bin/sh
# Production install of monitord: a virtualenv with the package, the systemd unit pointing at
# it, and the configuration directories. Run as root from a checkout (or an unpacked sdist):
#
#     sudo sh systemd/install.sh
#
# Then put the config in /etc/monitord/config.toml, secrets in /etc/monitord/credentials/,
# and: systemctl daemon-reload && systemctl enable --now monitord
#
# Settings (environment): PREFIX (/opt/monitord), UNIT_DIR (/etc/systemd/system), CONFIG_DIR
# (/etc/monitord), PYTHON (python3, >= 3.10), PACKAGE (what pip installs: this checkout, or a
# wheel's path). Running it again upgrades the package in place and rewrites the unit.
set -eu
PREFIX=${PREFIX:-/opt/monitord}
UNIT_DIR=${UNIT_DIR:-/etc/systemd/system}
CONFIG_DIR=${CONFIG_DIR:-/etc/monitord}
PYTHON=${PYTHON:-python3}
source_dir=$(cd "$(dirname "$0")/.." && pwd)
PACKAGE=${PACKAGE:-$source_dir}

"$PYTHON" -m venv "$PREFIX"
"$PREFIX/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "$PACKAGE"

install -d -m 0755 "$CONFIG_DIR"
# Read by the service manager only: the service sees copies in $CREDENTIALS_DIRECTORY.
install -d -m 0700 "$CONFIG_DIR/credentials"
install -d -m 0755 "$UNIT_DIR"
sed -e "s#/opt/monitord/#$PREFIX/#g" -e "s#/etc/monitord/#$CONFIG_DIR/#g" \
    "$source_dir/systemd/monitord.service" > "$UNIT_DIR/monitord.service.tmp"
mv "$UNIT_DIR/monitord.service.tmp" "$UNIT_DIR/monitord.service"
chmod 0644 "$UNIT_DIR/monitord.service"

echo "$("$PREFIX/bin/monitord" --version) installed in $PREFIX;" \
     "unit: $UNIT_DIR/monitord.service"
[ -e "$CONFIG_DIR/config.toml" ] || echo "next: write $CONFIG_DIR/config.toml" \
     "(see config.example.toml), then systemctl daemon-reload && systemctl enable --now monitord"
