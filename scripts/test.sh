#!/usr/bin/env bash
# The whole check, as CI runs it: Python venv for the interop tests, tmux for the REPL
# tests, then fmt, clippy and every test target.
set -euo pipefail
cd "$(dirname "$0")/.."

# Python `websockets` and `aiohttp`, and Node `ws`: the third-party servers that
# tests/interop.rs runs against (tests/common/peers.rs starts them); `kosoku`, the
# Autobahn|Testsuite cases that tests/autobahn.rs runs through scripts/autobahn.py;
# `python-socketio` and `jsonrpcserver`, servers of tests/proto.rs (npm `socket.io`,
# `graphql-ws`, `graphql` and `stomp-broker-js` come with the Node packages below).
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check websockets aiohttp kosoku python-socketio jsonrpcserver
WSDBG_PYTHON="$(pwd)/.venv/bin/python"
export WSDBG_PYTHON
# Node `ws` and `playwright-core` (which drives Debian's Chromium for the browser HAR
# test, tests/replay.rs), as tests/peers/node/package-lock.json pins them.
if [ ! -d tests/peers/node/node_modules/ws ] || [ ! -d tests/peers/node/node_modules/playwright-core ]; then
    if command -v npm >/dev/null 2>&1; then
        (cd tests/peers/node && npm ci --silent --no-audit --no-fund) \
            || echo "warning: npm ci in tests/peers/node failed; the Node ws tests skip (or fail under CI)" >&2
    else
        echo "warning: npm is missing; the Node ws tests skip (or fail under CI)" >&2
    fi
fi

# tmux drives the REPL tests, openssl makes PKCS#1/SEC1 keys for the mutual-TLS tests,
# Chromium (Debian's, at /usr/bin/chromium) records a real browser HAR for the replay
# test, and mosquitto (Debian's) is the MQTT broker of tests/proto.rs; install them when
# they are missing and apt-get is there.
missing=""
command -v tmux >/dev/null 2>&1 || missing="$missing tmux"
command -v openssl >/dev/null 2>&1 || missing="$missing openssl"
[ -x /usr/bin/chromium ] || missing="$missing chromium"
[ -x /usr/sbin/mosquitto ] || missing="$missing mosquitto"
if [ -n "$missing" ]; then
    if command -v apt-get >/dev/null 2>&1; then
        # shellcheck disable=SC2086
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing; } \
            || echo "warning: could not install$missing; tests needing them skip (or fail under CI)" >&2
    else
        echo "warning:$missing missing and apt-get is not available; tests needing them skip (or fail under CI)" >&2
    fi
fi

cargo fmt --check
cargo clippy --all-targets -- -D warnings
cargo test --all-targets --no-fail-fast
