#!/usr/bin/env bash
# Autobahn|Testsuite cases 1.* to 10.* (or, with --compress, 12.* and 13.*) against
# wsdbg on both sides, through kosoku:
# kosoku's fuzzing client against `wsdbg listen`, and `wsdbg --echo` (one run per case)
# against kosoku's fuzzing server. Prints a tally per side and every case that is not
# OK or INFORMATIONAL; exits 1 when any case is FAILED, NON-STRICT, UNCLEAN (or any other
# failing verdict), 2 when the run could not be done.
#
#   bash scripts/autobahn.sh [--cases '1.*,2.*'] [--side server|client|both|relay] [--compress[=PARAMS]]
#                            [--case-timeout SECS] [--timeout SECS] [--outdir DIR] [--summary FILE]
#
# --side relay (not part of both): kosoku's fuzzing client through `wsdbg relay` in front
# of `wsdbg listen`, and again against a fresh `wsdbg listen` directly; prints a tally of
# each and every case whose verdicts differ; exits 0 when all are the same both ways, 1
# when any differs (or has a result on one side only), 2 when the run could not be done.
#
# --compress[=PARAMS]: wsdbg with --compress on both sides (listen --compress, and
# --compress[=PARAMS] --echo), and the permessage-deflate cases 12.* and 13.* unless
# --cases is given. With --side relay: both listens with --compress, the relay without
# (the extension is agreed end to end through it).
#
# wsdbg: $WSDBG when set (nothing is built), else target/release/wsdbg built here.
# Python: $WSDBG_PYTHON when set, else .venv/bin/python; it needs kosoku
# (bash scripts/test.sh installs it, or .venv/bin/pip install kosoku).
# Reports (kosoku's JSON and HTML per case, the wsdbg logs) go to target/autobahn/.
set -euo pipefail
cd "$(dirname "$0")/.."

python="${WSDBG_PYTHON:-.venv/bin/python}"
if [ ! -x "$python" ]; then
    echo "autobahn: no python at $python; run bash scripts/test.sh (it makes .venv) or set WSDBG_PYTHON" >&2
    exit 2
fi

# Checked here, before anything is built: a --side the driver does not know.
side_ok() {
    case "$1" in
        server | client | both | relay) return 0 ;;
        *)
            echo "autobahn: --side must be server, client, both or relay, not '$1'" >&2
            exit 2
            ;;
    esac
}
expect_side=0
for arg in "$@"; do
    if [ "$expect_side" = 1 ]; then
        side_ok "$arg"
        expect_side=0
        continue
    fi
    case "$arg" in
        -h | --help) exec "$python" scripts/autobahn.py --help ;;
        --side) expect_side=1 ;;
        --side=*) side_ok "${arg#--side=}" ;;
    esac
done
if [ "$expect_side" = 1 ]; then
    echo "autobahn: --side needs a value: server, client, both or relay" >&2
    exit 2
fi

if ! "$python" -c 'import kosoku' 2>/dev/null; then
    echo "autobahn: $python cannot import kosoku; run bash scripts/test.sh, or $python -m pip install kosoku" >&2
    exit 2
fi

if [ -z "${WSDBG:-}" ]; then
    cargo build --release --quiet
    WSDBG="$(pwd)/target/release/wsdbg"
fi
export WSDBG

exec "$python" scripts/autobahn.py --wsdbg "$WSDBG" "$@"
