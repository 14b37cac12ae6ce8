#!/usr/bin/env bash
# Set up everything storehub needs on a fresh Debian/Ubuntu machine:
# system packages (Mosquitto, zbar, Chromium for the page tests, fonts) and a
# Python virtual environment in .venv with the project and its tools.
# Idempotent: a second run only checks. Used by `make demo` and `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(mosquitto mosquitto-clients libzbar0 chromium chromium-driver
              fonts-wqy-zenhei fonts-dejavu-core python3-venv python3-dev make)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$pkg")
done
if ((${#missing[@]})); then
    echo "==> installing system packages: ${missing[*]}"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# Mosquitto's Debian package starts a system broker on :1883; the hub runs its
# own, so stop that one if it is running (harmless when it is not).
if command -v systemctl >/dev/null && systemctl is-active --quiet mosquitto 2>/dev/null; then
    ${SUDO:-} systemctl disable --now mosquitto >/dev/null 2>&1 || true
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv"
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.storehub-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "==> installing storehub and its Python dependencies into .venv"
    # torch's CUDA build with its libraries takes about 6 GB in .venv: say so up front
    # rather than let pip fail half-way with "No space left on device".
    free_mb=$(df -Pm . | awk 'NR==2 {print $4}')
    if [ "${free_mb:-0}" -lt 8000 ]; then
        echo "warning: ${free_mb} MB free here; the set-up needs about 8 GB" >&2
    fi
    # (--no-cache-dir: the wheels are not kept a second time in pip's cache)
    .venv/bin/python -m pip install -q --no-cache-dir -e ".[dev,vision,vision-train]"
    touch "$stamp"
fi
echo "==> setup done"
