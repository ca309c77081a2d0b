#!/usr/bin/env python3
"""Run the Autobahn|Testsuite cases (through kosoku) against wsdbg, both ways.

server side: `wsdbg listen --port 0` is started and `kosoku ADDR` (the fuzzing client)
             drives it;
client side: `kosoku -m fuzzingserver 127.0.0.1:0` is started and, for each case N,
             `wsdbg --echo --keep-open ws://HOST:PORT/runCase?case=N&agent=wsdbg` runs
             against it; then `/updateReports` makes kosoku write its report and exit;
relay side:  (only with --side relay; `both` is server and client) `wsdbg listen --port 0`
             is started, `wsdbg relay --port 0 ws://LISTEN/` in front of it, and kosoku's
             fuzzing client drives the relay; then kosoku drives a second, fresh `wsdbg
             listen` (the same flags) directly, and the verdicts of the two runs are
             compared case by case, on "behavior" and "behaviorClose" both.

--compress[=PARAMS]: wsdbg runs with --compress on both sides (`wsdbg listen --compress`,
`wsdbg --compress[=PARAMS] --echo --keep-open`: the browser's offer, or the parameters
given), and the cases are the permessage-deflate ones, 12.* and 13.* (216), unless
--cases says otherwise. UNIMPLEMENTED (the extension was not agreed) then fails the
server side, where `wsdbg listen --compress` must take every offer kosoku makes; on the
client side it is listed but does not fail: kosoku's fuzzing server declines the offer
in 13.2, 13.5 and 13.6 unless it names client_no_context_takeover (the browser's does
not), so --compress='client_no_context_takeover; client_max_window_bits' runs them all.

Then a tally per side of kosoku's verdicts ("behavior" for the message exchange,
"behaviorClose" for the closing handshake), and every case that is not OK or
INFORMATIONAL with what kosoku expected and what it saw. Exit status: 0 when every case
is OK, INFORMATIONAL or UNIMPLEMENTED on both counts; 1 when any is not (FAILED,
NON-STRICT, UNCLEAN, WRONG CODE, FAILED BY CLIENT, ERROR, or a selected case with no
result); 2 when the run itself could not be done (kosoku missing, a process that did not
start, a run past its deadline).

The relay side is judged by the comparison, not by the verdicts themselves: a tally for
the direct run and one for the run through the relay, then every case whose verdicts
differ (or that has a result on one side only), one line each: the case id, the direct
verdicts, the relay's, and kosoku's description, expectation and result for the run
through the relay. Its exit status: 0 when every case has the same verdicts both ways
(whatever they are), 1 when any differs or has no result on one side, 2 when the run
could not be done. With --compress both `wsdbg listen`s get --compress and the relay
none: it passes the extension offer and answer on, and the extension is agreed end to
end between kosoku and the `listen` behind it. --summary then writes the comparison.

Everything stays on 127.0.0.1. Every wait is bounded: each client case by
--case-timeout, each side by --timeout (on the relay side, each of its two kosoku runs).
Reports (kosoku's JSON and HTML, and the logs of wsdbg) go under --outdir: server/,
client/, and relay/through-relay/ and relay/direct/. Normally run through
scripts/autobahn.sh, which builds wsdbg.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# 1.* to 10.*: the suite has no section 8, and kosoku refuses a pattern that matches nothing.
DEFAULT_CASES = [f"{n}.*" for n in (1, 2, 3, 4, 5, 6, 7, 9, 10)]
# With --compress: the permessage-deflate cases (12.*: the default offer, five kinds of
# data, 18 sizes and fragmentations each; 13.*: seven offers and answers of parameters).
COMPRESSION_CASES = ["12.*", "13.*"]
# Verdicts that meet the target (issue 9: "OK or INFORMATIONAL on every case");
# UNIMPLEMENTED is a feature wsdbg does not have (compression, 12.* and 13.*), listed but
# not a failure.
GOOD = {"OK", "INFORMATIONAL"}
NOT_FAILING = GOOD | {"UNIMPLEMENTED"}
# With --compress, UNIMPLEMENTED on the server side means `wsdbg listen --compress` did not
# agree to permessage-deflate: a failure.
NOT_FAILING_COMPRESSED_SERVER = GOOD
AGENT = "wsdbg"
NO_REPORT = "NO REPORT"
# How a `wsdbg --echo` case run may end: a completed closing handshake (0), or the
# connection failed or lost, mostly for a protocol violation seen (3). Anything else (a
# timeout, a panic's 101, a connect failure) is listed and fails the run, whatever
# kosoku's verdict.
CLIENT_EXITS = {0, 3}
START_DEADLINE = 20.0


class RunError(Exception):
    """The run could not be done (as opposed to a case that failed)."""


def no_proxy_env() -> dict[str, str]:
    """The environment without proxy variables: everything here is 127.0.0.1."""
    env = dict(os.environ)
    for name in list(env):
        if name.lower() in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
            del env[name]
    return env


def kosoku_command() -> list[str]:
    """kosoku's console script beside this python (the venv's), else on PATH."""
    beside = Path(sys.executable).parent / "kosoku"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("kosoku")
    if found:
        return [found]
    try:
        import kosoku  # noqa: F401
    except ImportError:
        raise RunError(
            "kosoku is not installed for "
            f"{sys.executable} (bash scripts/test.sh installs it in .venv, "
            "or .venv/bin/pip install kosoku)"
        ) from None
    return [sys.executable, "-c", "from kosoku._cli import main; main()"]


def wait_for_line(proc: subprocess.Popen, log: Path, pattern: str, what: str) -> re.Match:
    """Poll `log` (where `proc` writes) until a line matches `pattern`; bounded."""
    deadline = time.monotonic() + START_DEADLINE
    rx = re.compile(pattern)
    while True:
        text = log.read_text(errors="replace") if log.exists() else ""
        for line in text.splitlines():
            m = rx.search(line)
            if m:
                return m
        if proc.poll() is not None:
            raise RunError(f"{what} exited with {proc.returncode} before it was ready:\n{text.strip()}")
        if time.monotonic() > deadline:
            raise RunError(f"{what} did not say where it listens within {START_DEADLINE:.0f} s:\n{text.strip()}")
        time.sleep(0.02)


def stop(proc: subprocess.Popen | None) -> None:
    """End a process this script started (by its own handle), bounded."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def include_args(cases: list[str]) -> list[str]:
    out: list[str] = []
    for c in cases:
        out += ["-i", c]
    return out


def tail(path: Path, n: int = 5) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.strip().splitlines()[-n:])


def read_reports(outdir: Path, log: Path) -> dict[str, dict]:
    """kosoku's per-case JSON reports in `outdir`, by case id (one agent expected)."""
    index_path = outdir / "index.json"
    if not index_path.exists():
        raise RunError(f"kosoku wrote no {index_path}; the end of {log}:\n{tail(log)}")
    index = json.loads(index_path.read_text())
    cases: dict[str, dict] = {}
    for agent, entries in index.items():
        for case_id, entry in entries.items():
            report = json.loads((outdir / entry["reportfile"]).read_text())
            report["agent"] = agent
            cases[case_id] = report
    return cases


def listen_command(args: argparse.Namespace) -> list[str]:
    """`wsdbg listen` on a free port, as the server and relay sides run it."""
    return [args.wsdbg, "listen", "--port", "0", "-o", "payload"] + (["--compress"] if args.compress is not None else [])


def start_wsdbg(cmd: list[str], log: Path, what: str) -> tuple[subprocess.Popen, str]:
    """Start a wsdbg that listens (stdin /dev/null, stdout dropped, stderr to `log`) and
    wait, bounded, for its `listening on ws://ADDR`: (the process, ADDR)."""
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=no_proxy_env(),
        )
    try:
        m = wait_for_line(proc, log, r"listening on ws://(\S+?)/?$", what)
    except BaseException:
        stop(proc)
        raise
    return proc, m.group(1)


def run_fuzzing_client(args: argparse.Namespace, addr: str, outdir: Path, side: str) -> dict[str, dict]:
    """kosoku's fuzzing client against `addr`, bounded by --timeout; its verdicts."""
    kosoku_out = outdir / "kosoku.log"
    with open(kosoku_out, "wb") as kout:
        try:
            subprocess.run(
                kosoku_command() + include_args(args.cases) + ["-o", str(outdir / "reports"), addr],
                stdin=subprocess.DEVNULL,
                stdout=kout,
                stderr=subprocess.STDOUT,
                env=no_proxy_env(),
                timeout=args.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise RunError(
                f"{side}: kosoku did not finish within {args.timeout:g} s "
                f"(--timeout); its output: {kosoku_out}"
            ) from None
    return read_reports(outdir / "reports", kosoku_out)


def warn_if_exited(proc: subprocess.Popen, what: str, log: Path) -> None:
    if proc.poll() is not None:
        print(f"warning: {what} exited with {proc.returncode} during the run (log: {log})", file=sys.stderr)


def run_server_side(args: argparse.Namespace, outdir: Path, side: str = "server side") -> tuple[dict[str, dict], int | None]:
    """kosoku (the fuzzing client) against `wsdbg listen`."""
    outdir.mkdir(parents=True, exist_ok=True)
    log = outdir / "wsdbg-listen.log"
    listen = None
    try:
        listen, addr = start_wsdbg(listen_command(args), log, "wsdbg listen")
        print(f"{side}: kosoku against wsdbg listen at {addr}", file=sys.stderr)
        cases = run_fuzzing_client(args, addr, outdir, side)
        warn_if_exited(listen, "wsdbg listen", log)
        return cases, None
    finally:
        stop(listen)


def run_through_relay(args: argparse.Namespace, outdir: Path) -> dict[str, dict]:
    """kosoku (the fuzzing client) against `wsdbg relay` in front of `wsdbg listen`."""
    outdir.mkdir(parents=True, exist_ok=True)
    listen_log = outdir / "wsdbg-listen.log"
    relay_log = outdir / "wsdbg-relay.log"
    listen = relay = None
    try:
        listen, listen_addr = start_wsdbg(listen_command(args), listen_log, "wsdbg listen (behind the relay)")
        relay, addr = start_wsdbg(
            [args.wsdbg, "relay", "--port", "0", "-o", "payload", f"ws://{listen_addr}/"],
            relay_log,
            "wsdbg relay",
        )
        print(
            f"relay side: kosoku against wsdbg relay at {addr}, in front of wsdbg listen at {listen_addr}",
            file=sys.stderr,
        )
        cases = run_fuzzing_client(args, addr, outdir, "relay side (through the relay)")
        warn_if_exited(relay, "wsdbg relay", relay_log)
        warn_if_exited(listen, "wsdbg listen (behind the relay)", listen_log)
        return cases
    finally:
        stop(relay)
        stop(listen)


def wsdbg_client(args: argparse.Namespace, url: str, echo: bool, timeout: float) -> tuple[object, bytes]:
    """One wsdbg client run, bounded: (its exit status, or how it was stopped; its stderr
    with --echo, else its stdout: the payload of /getCaseCount)."""
    cmd = [args.wsdbg, "--no-proxy", "--keep-open", "-o", "payload"]
    if echo:
        cmd.insert(1, "--echo")
        if args.compress is not None:
            cmd.insert(1, f"--compress={args.compress}" if args.compress else "--compress")
    try:
        r = subprocess.run(
            cmd + [url],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL if echo else subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=no_proxy_env(),
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        return f"timeout (killed after {timeout:g} s)", e.stderr or b""
    if echo:
        return r.returncode, r.stderr
    return r.returncode, r.stdout


def run_client_side(args: argparse.Namespace, outdir: Path) -> tuple[dict[str, dict], int | None]:
    """`wsdbg --echo` against kosoku's fuzzing server, one wsdbg per case."""
    outdir.mkdir(parents=True, exist_ok=True)
    log = outdir / "kosoku.log"
    env = no_proxy_env()
    server = None
    runs: dict[int, dict] = {}
    try:
        with open(log, "wb") as err:
            server = subprocess.Popen(
                kosoku_command()
                + ["-m", "fuzzingserver"]
                + include_args(args.cases)
                + ["-o", str(outdir / "reports"), "127.0.0.1:0"],
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=err,
                env=env,
            )
        m = wait_for_line(server, log, r"listening on ws://(\S+?)/?$", "kosoku -m fuzzingserver")
        base = f"ws://{m.group(1)}"
        status, out = wsdbg_client(args, f"{base}/getCaseCount", echo=False, timeout=30)
        try:
            count = int(out.decode().strip())
        except ValueError:
            raise RunError(f"client side: /getCaseCount answered {out!r} (wsdbg exit {status})") from None
        print(f"client side: wsdbg --echo against kosoku's fuzzing server at {base}, {count} cases", file=sys.stderr)
        deadline = time.monotonic() + args.timeout
        wlog = outdir / "wsdbg-client.log"
        with open(wlog, "wb") as wl:
            for n in range(1, count + 1):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RunError(f"client side: not done within {args.timeout:g} s (--timeout), at case {n} of {count}")
                status, err_text = wsdbg_client(
                    args, f"{base}/runCase?case={n}&agent={AGENT}", echo=True, timeout=min(args.case_timeout, left)
                )
                runs[n] = {"exit": status, "stderr": err_text.decode(errors="replace").strip()}
                wl.write(f"=== case {n}: exit {status}\n".encode() + err_text)
        # kosoku writes its reports, drops this connection and exits.
        wsdbg_client(args, f"{base}/updateReports?agent={AGENT}", echo=False, timeout=30)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            raise RunError("client side: kosoku did not exit within 60 s of /updateReports") from None
        cases = read_reports(outdir / "reports", log)
    finally:
        stop(server)
    reported = set()
    for report in cases.values():
        run = runs.get(report.get("case"))
        if run is not None:
            report["wsdbg"] = run
            reported.add(report["case"])
    # A case kosoku has no report for (wsdbg never got through to it): listed as such,
    # by its number in the selection.
    for n, run in runs.items():
        if n not in reported:
            cases[f"#{n}"] = {
                "case": n,
                "behavior": NO_REPORT,
                "behaviorClose": NO_REPORT,
                "description": f"case number {n} of the selection",
                "result": "kosoku has no report for it",
                "resultClose": "",
                "wsdbg": run,
            }
    return cases, count


def bad_exit(report: dict) -> bool:
    run = report.get("wsdbg")
    return run is not None and run["exit"] not in CLIENT_EXITS


def bad(report: dict, strict: bool = False) -> bool:
    passing = NOT_FAILING_COMPRESSED_SERVER if strict else NOT_FAILING
    return report["behavior"] not in passing or report["behaviorClose"] not in passing or bad_exit(report)


def listed(report: dict) -> bool:
    return report["behavior"] not in GOOD or report["behaviorClose"] not in GOOD or bad_exit(report)


def case_key(case_id: str) -> list[int]:
    if case_id.startswith("#"):
        return [1000, int(case_id[1:])]
    return [int(p) for p in case_id.split(".")]


def describe(case_id: str, r: dict) -> list[str]:
    """What kosoku expected and saw, and how wsdbg ended, for a listed case."""
    lines = [f"  {case_id:<8} behavior {r['behavior']}, close {r['behaviorClose']}"]
    lines.append(f"           case: {one_line(r.get('description', ''))}")
    if "expectation" in r:
        lines.append(f"           expected: {one_line(r['expectation'])}")
    lines.append(f"           kosoku: {one_line(r.get('result', ''))} / {one_line(r.get('resultClose', ''))}")
    if "wasClean" in r:
        closes = (
            f"           close: wsdbg sent {r.get('remoteCloseCode')} "
            f"{one_line(r.get('remoteCloseReason') or '')!r}, kosoku sent {r.get('localCloseCode')}; "
            f"clean={r.get('wasClean')}"
        )
        if r.get("wasNotCleanReason"):
            closes += f" ({one_line(r['wasNotCleanReason'])})"
        lines.append(closes)
    run = r.get("wsdbg")
    if run is not None:
        last = run["stderr"].splitlines()[-1] if run["stderr"] else ""
        lines.append(f"           wsdbg: exit {run['exit']}" + (f": {one_line(last)}" if last else ""))
    return lines


def one_line(s: str, limit: int = 300) -> str:
    s = " ".join(str(s).replace("<br>", " ").split())
    return s if len(s) <= limit else s[: limit - 3] + "..."


def tally(side: str, cases: dict[str, dict], selected: int | None, strict: bool = False) -> tuple[list[str], bool]:
    """Lines to print and whether the side met the target."""
    lines = [f"{side}: {len(cases)} cases"]
    for field in ("behavior", "behaviorClose"):
        counts: dict[str, int] = {}
        for r in cases.values():
            counts[r[field]] = counts.get(r[field], 0) + 1
        order = ["OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED", "UNCLEAN"]
        names = [n for n in order if n in counts] + sorted(n for n in counts if n not in order)
        lines.append(f"  {field + ':':<15}" + ", ".join(f"{n} {counts[n]}" for n in names))
    ok = True
    shown = sorted((cid for cid, r in cases.items() if listed(r)), key=case_key)
    if shown:
        lines.append("  not OK/INFORMATIONAL, or wsdbg did not end with 0 or 3:")
        for cid in shown:
            lines += describe(cid, cases[cid])
            ok = ok and not bad(cases[cid], strict)
    if selected is not None and selected != len(cases):
        lines.append(f"  {selected} cases were selected but there are {len(cases)} verdicts")
        ok = False
    return lines, ok


VERDICTS = ("behavior", "behaviorClose")


def verdicts(r: dict | None) -> tuple[str, str]:
    if r is None:
        return (NO_REPORT, NO_REPORT)
    return (r["behavior"], r["behaviorClose"])


def compare(direct: dict[str, dict], relayed: dict[str, dict]) -> tuple[list[str], list[str]]:
    """(every case id of either run, in order; those whose verdicts differ or that have a
    result on one side only)."""
    ids = sorted(set(direct) | set(relayed), key=case_key)
    differ = [cid for cid in ids if cid not in direct or cid not in relayed or verdicts(direct[cid]) != verdicts(relayed[cid])]
    return ids, differ


def difference_line(cid: str, direct: dict | None, relayed: dict | None) -> str:
    """One line for a case that differs: its id, both verdicts, and what kosoku said of
    the run through the relay."""
    d, r = verdicts(direct), verdicts(relayed)
    line = f"  {cid:<8} direct {d[0]}/{d[1]}, relay {r[0]}/{r[1]}"
    src = relayed if relayed is not None else direct
    if src is not None:
        whose = "" if relayed is not None else " (the direct run's: none through the relay)"
        line += f"; case{whose}: {one_line(src.get('description', ''), 200)}"
        if "expectation" in src:
            line += f"; expected: {one_line(src['expectation'], 200)}"
        line += f"; kosoku: {one_line(src.get('result', ''), 200)}"
        if src.get("resultClose"):
            line += f" / {one_line(src['resultClose'], 200)}"
    return line


def counts(cases: dict[str, dict], field: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in cases.values():
        out[r[field]] = out.get(r[field], 0) + 1
    return out


def run_relay_side(args: argparse.Namespace, outdir: Path) -> tuple[list[str], bool, dict]:
    """The run through the relay, then the direct one, compared: (lines to print, whether
    every case is the same both ways, the comparison for --summary)."""
    times: dict[str, float] = {}
    t0 = time.monotonic()
    relayed = run_through_relay(args, outdir / "through-relay")
    times["relay"] = time.monotonic() - t0
    t0 = time.monotonic()
    direct, _ = run_server_side(args, outdir / "direct", "relay side (directly, a second listen)")
    times["direct"] = time.monotonic() - t0
    listen = "wsdbg listen --compress" if args.compress is not None else "wsdbg listen"
    lines: list[str] = []
    for name, cases, took, d in (
        (f"direct ({listen})", direct, times["direct"], outdir / "direct"),
        (f"through the relay (wsdbg relay -> {listen})", relayed, times["relay"], outdir / "through-relay"),
    ):
        # The verdicts as such do not decide the exit status here; the comparison does.
        part, _ = tally(name, cases, None)
        part[0] += f" in {took:.1f} s; reports in {d / 'reports'}"
        lines += part
    ids, differ = compare(direct, relayed)
    lines.append(f"relay vs direct: {len(ids) - len(differ)} of {len(ids)} cases with the same verdicts (behavior and behaviorClose)")
    for field in VERDICTS:
        same = sum(1 for cid in ids if cid in direct and cid in relayed and direct[cid][field] == relayed[cid][field])
        lines.append(f"  {field + ':':<15}{same} of {len(ids)} the same")
    if differ:
        lines.append("  differing (case, direct behavior/close, relay behavior/close; kosoku on the run through the relay):")
        lines += [difference_line(cid, direct.get(cid), relayed.get(cid)) for cid in differ]
    fields = ("behavior", "behaviorClose", "description", "expectation", "result", "resultClose")
    comparison = {
        "same": not differ,
        "cases": len(ids),
        "differ": differ,
        "seconds": {k: round(v, 1) for k, v in times.items()},
        "tally": {
            "direct": {f: counts(direct, f) for f in VERDICTS},
            "relay": {f: counts(relayed, f) for f in VERDICTS},
        },
        "verdicts": {
            cid: {
                "same": cid not in differ,
                "direct": {k: direct[cid].get(k) for k in fields} if cid in direct else None,
                "relay": {k: relayed[cid].get(k) for k in fields} if cid in relayed else None,
            }
            for cid in ids
        },
    }
    return lines, not differ, comparison


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--wsdbg", default=os.environ.get("WSDBG", str(ROOT / "target/release/wsdbg")), help="the wsdbg binary (default: $WSDBG, else target/release/wsdbg)")
    p.add_argument("--cases", help="comma-separated case ids or globs (default: 1.* to 10.*; with --compress, 12.* and 13.*)")
    p.add_argument(
        "--compress",
        nargs="?",
        const="",
        metavar="PARAMS",
        help="run wsdbg with --compress on both sides (listen --compress, --compress[=PARAMS] --echo); the cases default to 12.* and 13.*",
    )
    p.add_argument(
        "--side",
        choices=["server", "client", "both", "relay"],
        default="both",
        help="which side of wsdbg to test (default: both, meaning server and client; relay: "
        "kosoku through wsdbg relay in front of wsdbg listen, compared with kosoku on wsdbg listen directly)",
    )
    p.add_argument("--outdir", default=str(ROOT / "target/autobahn"), help="where kosoku's reports and the logs go (default: target/autobahn)")
    p.add_argument("--case-timeout", type=float, default=60, help="seconds one client case may take (default 60)")
    p.add_argument("--timeout", type=float, default=900, help="seconds one side may take in all (default 900; relay: each of its two runs)")
    p.add_argument("--summary", help="also write the verdicts as JSON to this file (relay: the comparison)")
    args = p.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    if args.cases is None:
        args.cases = ",".join(COMPRESSION_CASES if args.compress is not None else DEFAULT_CASES)
    args.cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    if not args.cases:
        p.error("--cases selects nothing")
    if not (os.path.isfile(args.wsdbg) and os.access(args.wsdbg, os.X_OK)):
        p.error(f"no wsdbg binary at {args.wsdbg} (build it, or set WSDBG / --wsdbg)")
    outdir = Path(args.outdir)

    if args.side == "relay":
        d = outdir / "relay"
        shutil.rmtree(d, ignore_errors=True)
        try:
            kosoku_command()
            lines, same, comparison = run_relay_side(args, d)
        except RunError as e:
            print(f"autobahn: {e}", file=sys.stderr)
            return 2
        print("\n".join(lines))
        if args.summary:
            Path(args.summary).write_text(json.dumps({"relay": comparison}, indent=1, sort_keys=True))
        return 0 if same else 1

    sides = ["server", "client"] if args.side == "both" else [args.side]
    results: dict[str, dict[str, dict]] = {}
    all_ok = True
    try:
        kosoku_command()
        for side in sides:
            d = outdir / side
            shutil.rmtree(d, ignore_errors=True)
            t0 = time.monotonic()
            # The client side knows how many cases were selected (/getCaseCount): each must report.
            cases, selected = run_server_side(args, d) if side == "server" else run_client_side(args, d)
            took = time.monotonic() - t0
            results[side] = cases
            label = "server (wsdbg listen)" if side == "server" else "client (wsdbg --echo)"
            if args.compress is not None:
                flag = f"--compress={args.compress!r}" if args.compress else "--compress"
                label = label.replace("wsdbg listen", "wsdbg listen --compress").replace("wsdbg --echo", f"wsdbg {flag} --echo")
            lines, ok = tally(label, cases, selected, strict=args.compress is not None and side == "server")
            lines[0] += f" in {took:.1f} s; reports in {d / 'reports'}"
            print("\n".join(lines))
            all_ok = all_ok and ok
    except RunError as e:
        print(f"autobahn: {e}", file=sys.stderr)
        return 2
    if args.summary:
        summary = {
            side: {
                cid: {
                    k: r.get(k)
                    for k in ("behavior", "behaviorClose", "result", "resultClose", "expectation", "wsdbg")
                }
                for cid, r in cases.items()
            }
            for side, cases in results.items()
        }
        Path(args.summary).write_text(json.dumps(summary, indent=1, sort_keys=True))
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
