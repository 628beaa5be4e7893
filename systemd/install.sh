#!/bin/sh
# Production install of monitord: a virtualenv with the package, the systemd unit pointing at
# it, and the configuration directories. Run as root from a checkout (or an unpacked sdist):
#
#     sudo sh systemd/install.sh            # the central daemon's unit, monitord.service
#     sudo sh systemd/install.sh --agent    # also a probe agent's unit, monitord-agent.service
#
# Then put the config in /etc/monitord/config.toml (an agent's in /etc/monitord/agent.toml),
# secrets in /etc/monitord/credentials/, and:
# systemctl daemon-reload && systemctl enable --now monitord (or monitord-agent)
#
# Settings (environment): PREFIX (/opt/monitord), UNIT_DIR (/etc/systemd/system), CONFIG_DIR
# (/etc/monitord), PYTHON (python3, >= 3.10), PACKAGE (what pip installs: this checkout, or a
# wheel's path). Running it again upgrades the package in place and rewrites the unit.
set -eu
units="monitord"
for arg in "$@"; do
    case "$arg" in
        --agent) units="monitord monitord-agent" ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown argument $arg (expected --agent)" >&2; exit 2 ;;
    esac
done
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
written=""
for unit in $units; do
    sed -e "s#/opt/monitord/#$PREFIX/#g" -e "s#/etc/monitord/#$CONFIG_DIR/#g" \
        "$source_dir/systemd/$unit.service" > "$UNIT_DIR/$unit.service.tmp"
    mv "$UNIT_DIR/$unit.service.tmp" "$UNIT_DIR/$unit.service"
    chmod 0644 "$UNIT_DIR/$unit.service"
    written="$written $UNIT_DIR/$unit.service"
done

echo "$("$PREFIX/bin/monitord" --version) installed in $PREFIX; unit:$written"
[ -e "$CONFIG_DIR/config.toml" ] || [ "$units" != "monitord" ] || echo "next: write" \
     "$CONFIG_DIR/config.toml (see config.example.toml), then" \
     "systemctl daemon-reload && systemctl enable --now monitord"
case "$units" in *monitord-agent*)
    [ -e "$CONFIG_DIR/agent.toml" ] || echo "next: write $CONFIG_DIR/agent.toml" \
         "(see config.agent.example.toml), then" \
         "systemctl daemon-reload && systemctl enable --now monitord-agent" ;;
esac
