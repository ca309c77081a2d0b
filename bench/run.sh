#!/usr/bin/env bash
# The end-to-end benchmark in one command: wsdbg against websocat through the same
# third-party echo servers on 127.0.0.1. Not part of the test run.
#
#   bash bench/run.sh
#
# Builds wsdbg (release), installs the Node echo server's dependency (`ws`, pinned by
# bench/package-lock.json), then runs bench/run.py, which prints a Markdown report and
# writes it to bench/out/results.md. websocat is used when installed
# (`cargo install websocat`); without it only wsdbg is measured.
# The compressed row (permessage-deflate) runs JSON messages through a Python aiohttp
# echo, wsdbg --compress against Python websockets' and Node ws' clients; it needs the
# repo's .venv with aiohttp and websockets, made here when missing (as scripts/test.sh does).
# Settings (environment): BENCH_REPS (5), BENCH_ONESHOT_RUNS (20), BENCH_SERVERS
# (node,websocat), BENCH_LINES (200000), BENCH_BULK_MIB (16), BENCH_TIMEOUT (120 s per
# client run), BENCH_COMPRESS (1; 0 skips the compressed row), BENCH_COMPRESS_SERVER
# (aiohttp or node), BENCH_COMPRESS_CLIENTS (python,node), BENCH_COMPRESS_CHECK (2000),
# BENCH_PYTHON, WSDBG, WEBSOCAT. Needs node/npm, python3 and, for peak RSS, GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet

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
