#!/usr/bin/env bash
# The whole check, as CI runs it: Python venv for the interop tests, tmux for the REPL
# tests, then fmt, clippy and every test target.
set -euo pipefail
cd "$(dirname "$0")/.."

# Python `websockets` for tests/interop.rs.
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check websockets
WSDBG_PYTHON="$(pwd)/.venv/bin/python"
export WSDBG_PYTHON

# tmux drives the REPL tests; install it when it is missing and apt-get is there.
if ! command -v tmux >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux; } \
            || echo "warning: could not install tmux; the REPL tests will skip" >&2
    else
        echo "warning: tmux is missing and apt-get is not available; the REPL tests will skip" >&2
    fi
fi

cargo fmt --check
cargo clippy --all-targets -- -D warnings
cargo test --all-targets --no-fail-fast
