#!/usr/bin/env bash
# The benchmark of `wsdbg relay` (issue 18) in one command: client -> hop -> echo server
# -> hop -> client on 127.0.0.1, with no hop, with `wsdbg relay` and with websocat as the
# hop, side by side in one run. Not part of the test run.
#
#   bash bench/relay.sh
#
# Builds wsdbg (release) unless WSDBG names a binary, installs the Node echo server's
# dependency (`ws`, pinned by bench/package-lock.json) and the latency client's Python
# `websockets` (in the repo's .venv, made here when missing, as scripts/test.sh does),
# then runs bench/relay.py, which prints a Markdown report and writes it to
# bench/out/relay.md (raw samples in bench/out/relay.json). websocat is used when
# installed (`cargo install websocat`); without it its rows say so.
# Settings (environment): BENCH_REPS (5), BENCH_LINES (200000), BENCH_BULK_MIB (16),
# BENCH_RTT_MSGS (2000), BENCH_MEM_SECONDS (10), BENCH_MEM_MIB (1024),
# BENCH_MEM_MSG_KIB (1024), BENCH_HOPS (direct,relay,relay-pretty,websocat),
# BENCH_MEM_HOPS (direct,relay,websocat,websocat-1m), BENCH_ECHOS (node,wsdbg),
# BENCH_TIMEOUT (120 s per client run), BENCH_PYTHON, WSDBG, WEBSOCAT.
# Needs node/npm, python3, GNU time (client peak RSS and CPU) and ss (iproute2).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${WSDBG:-}" ]; then
    cargo build --release --quiet
fi

# npm ci when ws is missing or the lock file changed since the last install.
if [ ! -d bench/node_modules/ws ] || [ bench/package-lock.json -nt bench/node_modules/.package-lock.json ]; then
    (cd bench && npm ci --no-audit --no-fund --loglevel=error)
fi

# The latency client's Python side: websockets in .venv.
if [ -z "${BENCH_PYTHON:-}" ] && ! .venv/bin/python -c 'import websockets' 2>/dev/null; then
    [ -x .venv/bin/python ] || python3 -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check websockets
fi

# Everything runs on 127.0.0.1: no proxy for the benchmark or any of its children.
unset http_proxy https_proxy all_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY
exec python3 bench/relay.py "$@"
