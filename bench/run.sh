#!/usr/bin/env bash
# The end-to-end benchmark in one command: wsdbg against websocat and a bare C client (the
# yardstick, bench/c-client.c) through the same echo servers on 127.0.0.1 (wsdbg listen,
# Node ws, websocat's mirror, websocat 4's when installed). Not part of the test run.
#
#   bash bench/run.sh
#
# Builds wsdbg (release; not when WSDBG names the binary to measure), compiles the C client
# to bench/out/c-client when `cc` is there (without it the C client's columns are skipped),
# installs the Node echo server's dependency (`ws`, pinned by
# bench/package-lock.json), then runs bench/run.py, which prints a Markdown report and
# writes it to bench/out/results.md. websocat is used when installed
# (`cargo install websocat`); without it only wsdbg is measured.
# The compressed row (permessage-deflate) runs JSON messages through a Python aiohttp
# echo, wsdbg --compress against Python websockets' and Node ws' clients; it needs the
# repo's .venv with aiohttp and websockets, made here when missing (as scripts/test.sh does).
# Settings (environment): BENCH_REPS (5), BENCH_ONESHOT_RUNS (20), BENCH_IDLE (1000), BENCH_SERVERS
# (listen,node,websocat,websocat4), BENCH_LINES (200000), BENCH_BULK_MIB (16), BENCH_TIMEOUT (120 s per
# client run), BENCH_COMPRESS (1; 0 skips the compressed row), BENCH_COMPRESS_SERVER
# (aiohttp or node), BENCH_COMPRESS_CLIENTS (python,node), BENCH_COMPRESS_CHECK (2000),
# BENCH_PYTHON, WSDBG, WEBSOCAT, WEBSOCAT4, BENCH_C_CLIENT. Needs node/npm, python3 and,
# for peak RSS, GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${WSDBG:-}" ]; then
    cargo build --release --quiet
fi

# The yardstick: a bare C WebSocket client (bench/out is not committed).
if [ -z "${BENCH_C_CLIENT:-}" ] && command -v cc >/dev/null; then
    mkdir -p bench/out
    cc -O2 -pthread -o bench/out/c-client bench/c-client.c
fi

# npm ci when ws is missing or the lock file changed since the last install.
if [ ! -d bench/node_modules/ws ] || [ bench/package-lock.json -nt bench/node_modules/.package-lock.json ]; then
    (cd bench && npm ci --no-audit --no-fund --loglevel=error)
fi

# The compressed row's Python side: aiohttp (server) and websockets (client) in .venv.
case "${BENCH_COMPRESS:-1}" in
    0 | no | false) ;;
    *)
        if [ -z "${BENCH_PYTHON:-}" ] && ! .venv/bin/python -c 'import aiohttp, websockets' 2>/dev/null; then
            [ -x .venv/bin/python ] || python3 -m venv .venv
            .venv/bin/pip install -q --disable-pip-version-check aiohttp websockets
        fi
        ;;
esac

exec python3 bench/run.py "$@"
