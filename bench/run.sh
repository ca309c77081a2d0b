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
# Settings (environment): BENCH_REPS (5), BENCH_ONESHOT_RUNS (20), BENCH_SERVERS
# (node,websocat), BENCH_LINES (200000), BENCH_BULK_MIB (16), BENCH_TIMEOUT (120 s per
# client run), WSDBG, WEBSOCAT. Needs node/npm, python3 and, for peak RSS, GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet

# npm ci when ws is missing or the lock file changed since the last install.
if [ ! -d bench/node_modules/ws ] || [ bench/package-lock.json -nt bench/node_modules/.package-lock.json ]; then
    (cd bench && npm ci --no-audit --no-fund --loglevel=error)
fi

exec python3 bench/run.py "$@"
