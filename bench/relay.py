#!/usr/bin/env python3
"""End-to-end benchmark of `wsdbg relay` (issue 18): one WebSocket hop between a client
and an echo server, against no hop at all and against websocat as the hop.

Run it through bench/relay.sh (which builds wsdbg and installs the Node echo server's
dependency and the Python `websockets` of the latency client first). The driver uses
the standard library only, and run.py's helpers (run_client, compare, version, ...).

Topology: client -> [hop] -> echo server -> [hop] -> client, all on 127.0.0.1.

Hops (BENCH_HOPS, comma-separated, default "direct,relay,relay-pretty,websocat"):
  direct        no hop: the client connects to the echo server itself
  relay         `wsdbg relay --port 0 -o payload ws://127.0.0.1:ECHO/`, stdin and stdout
                /dev/null (payload mode prints `listening on ...` on stderr)
  relay-pretty  `wsdbg relay --port 0 ws://127.0.0.1:ECHO/`, stdout to a file (pretty
                mode: every frame and message of both legs), stdin /dev/null
  websocat      `websocat -b --binary-prefix b: --text-prefix t: -B BUF
                ws-l:127.0.0.1:PORT ws://127.0.0.1:ECHO/` (BUF holds the bulk message;
                the prefixes keep each message's type, else websocat sends all as text);
                checked below to forward message by message, text as text and binary
                as binary

Echo servers (BENCH_ECHOS, default "node,wsdbg"), each row says which:
  node   bench/echo-server.js (the `ws` package from npm)
  wsdbg  `wsdbg listen -o payload --port 0` (stdout /dev/null)

Before the timed runs, every hop is checked with `rtt-client.py --check`: a mix of text
and binary messages (empty, 1 byte, 100 KiB, 1 MiB) sent back to back must come back
one echo per message, each the same bytes and the same type. A hop that fails the check
is still measured, and the failure is reported (exit 1).

Workloads, each hop started afresh for each workload and echo server, one uncounted
warm-up run per hop, then BENCH_REPS (5) runs with the hops' order rotated:

a. throughput: BENCH_LINES (200,000) lines of 32 bytes piped into
   `wsdbg -o payload ws://HOP/` (`cat lines | client`, as run.py), every echo checked on
   its stdout: messages/s, median.
b. bulk: one BENCH_BULK_MIB (16) MiB text message (one line) in and back, checked byte
   for byte: MB/s (10^6 payload bytes per second, one direction), median.
c. latency: bench/rtt-client.py (Python websockets, sync client, TCP_NODELAY) sends
   BENCH_RTT_MSGS (2,000) text messages of 32 bytes one at a time, each after the echo
   of the one before (100 warm-up messages first): median and p99 of all the round
   trips of all runs; the hop's added RTT is its median minus direct's.
d. memory, one side never reading: a sink server in this process answers the upgrade
   and never reads its socket again; a raw-socket client here pushes binary messages
   of BENCH_MEM_MSG_KIB (1024) KiB through the hop as fast as the socket takes them,
   for BENCH_MEM_SECONDS (10) s or until BENCH_MEM_MIB (1024) MiB are written. Reported:
   the hop's peak RSS (VmHWM, /proc/PID/status, sampled every 50 ms too), what the
   client managed to write and when it stalled, and where the bytes sit (`ss`: the
   kernel's send and receive queues of the four sockets). The hops here
   (BENCH_MEM_HOPS, default "direct,relay,websocat,websocat-1m"): websocat-1m is
   websocat with -B just above one message.

Every client run has a timeout (BENCH_TIMEOUT, 120 s); every long-running child (echo
servers, hops) is stopped at the end and dies with this process (PR_SET_PDEATHSIG).
A failed or short run is listed with its command and marks its cell; nothing is dropped.

Environment: WSDBG (default target/release/wsdbg), WEBSOCAT (default: websocat on PATH,
then ~/.cargo/bin/websocat), BENCH_PYTHON (default .venv/bin/python, with websockets),
BENCH_REPS, BENCH_LINES, BENCH_BULK_MIB, BENCH_RTT_MSGS, BENCH_MEM_SECONDS,
BENCH_MEM_MIB, BENCH_MEM_MSG_KIB, BENCH_HOPS, BENCH_MEM_HOPS, BENCH_ECHOS, BENCH_TIMEOUT.

Prints a Markdown report and writes it to bench/out/relay.md (raw samples in
bench/out/relay.json). Exits 1 when any run or check failed.
"""

import base64
import ctypes
import datetime
import json
import os
import platform
import re
import select
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import run as base  # noqa: E402  (run.py: run_client, compare, version, cpu_model, ...)

OUT = base.OUT
env_int = base.env_int
REPS = env_int("BENCH_REPS", 5)
LINES = env_int("BENCH_LINES", 200_000)
LINE_PAYLOAD = 32
BULK_MIB = env_int("BENCH_BULK_MIB", 16)
RTT_MSGS = env_int("BENCH_RTT_MSGS", 2000)
MEM_SECONDS = env_int("BENCH_MEM_SECONDS", 10)
MEM_MIB = env_int("BENCH_MEM_MIB", 1024)
MEM_MSG_KIB = env_int("BENCH_MEM_MSG_KIB", 1024)
TIMEOUT = base.TIMEOUT
WSDBG = base.WSDBG
WEBSOCAT = base.WEBSOCAT
PYTHON = os.environ.get("BENCH_PYTHON") or os.path.join(ROOT, ".venv", "bin", "python")


def env_list(name, default):
    return [s.strip() for s in os.environ.get(name, default).split(",") if s.strip()]


HOPS = env_list("BENCH_HOPS", "direct,relay,relay-pretty,websocat")
MEM_HOPS = env_list("BENCH_MEM_HOPS", "direct,relay,websocat,websocat-1m")
ECHOS = env_list("BENCH_ECHOS", "node,wsdbg")
# websocat's message buffer (-B) must hold the bulk message and its newline (as run.py).
WEBSOCAT_BUF = base.WEBSOCAT_BUF
# ... and for websocat-1m, one message of the memory workload and a little.
WEBSOCAT_BUF_1M = str(MEM_MSG_KIB * 1024 + 64)
WEBSOCAT_FLAGS = ["-b", "--binary-prefix", "b:", "--text-prefix", "t:"]
WEBSOCAT_SHOWN = " ".join(WEBSOCAT_FLAGS)

# Targets of issue 18.
TARGET_RATIO = 0.8
TARGET_ADDED_RTT_MS = 1.0
TARGET_RSS_MIB = 64

log = base.log
median = base.median


# One error for a run that failed, here and in run.py.
RunError = base.RunError
accept_key = base.accept_key
ws_client_socket = base.ws_client_socket


# ---------------------------------------------------------------- children


def _die_with_parent():
    # PR_SET_PDEATHSIG (1): the child gets SIGKILL when this process dies, however.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def port_listening(port):
    """Whether something listens on 127.0.0.1:port (read from /proc/net/tcp, without
    connecting: a probe connection would be a client of the hop)."""
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                parts = line.split()
                if parts[3] == "0A" and int(parts[1].split(":")[1], 16) == port:
                    return True
    except (OSError, StopIteration, IndexError, ValueError):
        pass
    return False


LISTENING = re.compile(rb"listening on ws://127\.0\.0\.1:(\d+)")


class Proc:
    """A long-running child: an echo server or a hop. `ready` says how to learn its port:
    ("stdout-line",) its first stdout line is the port (Node echo); ("listening", path)
    a `listening on ws://127.0.0.1:PORT` line appears in the file `path` (wsdbg: its
    stderr in payload mode, its stdout in pretty mode); ("port", N) N is in LISTEN state."""

    def __init__(self, name, label, argv, ready, stdout_path=None):
        self.name, self.label, self.argv = name, label, argv
        self.err_path = os.path.join(OUT, f"{name}.stderr")
        self.stdout_path = stdout_path
        if ready[0] == "stdout-line":
            stdout = subprocess.PIPE
        elif stdout_path:
            # Appending, so the driver can truncate it between runs (relay-pretty).
            stdout = open(stdout_path, "ab")
        else:
            stdout = subprocess.DEVNULL
        self.proc = subprocess.Popen(
            argv, cwd=HERE, stdin=subprocess.DEVNULL, stdout=stdout,
            stderr=open(self.err_path, "wb"), preexec_fn=_die_with_parent,
        )
        self.pid = self.proc.pid
        end = time.monotonic() + 10
        self.port = None
        if ready[0] == "stdout-line":
            line = self.proc.stdout.readline().decode().strip()
            if not line.isdigit():
                self.stop()
                raise RunError(f"{self.cmd()}: expected a port on the first line, got {line!r}")
            self.port = int(line)
        elif ready[0] == "listening":
            while time.monotonic() < end and self.proc.poll() is None:
                with open(ready[1], "rb") as f:
                    m = LISTENING.search(f.read(4096))
                if m:
                    self.port = int(m.group(1))
                    break
                time.sleep(0.02)
        else:
            self.port = ready[1]
            while time.monotonic() < end and self.proc.poll() is None and not port_listening(self.port):
                time.sleep(0.02)
            if not port_listening(self.port):
                self.port = None
        if self.port is None:
            self.stop()
            raise RunError(f"{self.cmd()}: not listening after 10 s (exit status "
                           f"{self.proc.returncode}){base.stderr_tail(self.err_path)}")
        if ready[0] == "stdout-line":
            # Nothing else comes on its stdout; do not leave the pipe to fill.
            self.proc.stdout.close()

    def cmd(self):
        return " ".join(shlex.quote(a) for a in self.argv)

    def alive(self):
        return self.proc.poll() is None

    def cpu(self):
        return base.cpu_seconds(self.pid)

    def status(self, field):
        """A kB field of /proc/PID/status (VmRSS, VmHWM), in KiB, or None."""
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith(field + ":"):
                        return int(line.split()[1])
        except (OSError, ValueError, IndexError):
            pass
        return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_echo(name):
    if name == "node":
        return Proc("echo-node", f"Node ws {base.ws_version()} (`bench/echo-server.js`)",
                    ["node", "echo-server.js"], ("stdout-line",))
    if name == "wsdbg":
        err = os.path.join(OUT, "echo-wsdbg.stderr")
        return Proc("echo-wsdbg", "wsdbg listen (`wsdbg listen -o payload --port 0`, stdout /dev/null)",
                    [WSDBG, "listen", "-o", "payload", "--port", "0"], ("listening", err))
    raise SystemExit(f"BENCH_ECHOS: unknown echo server {name!r} (node, wsdbg)")


def websocat_argv(port, url, buf):
    # -b --binary-prefix b: --text-prefix t:: without them websocat sends every message
    # on as text (its default, -t); with them each message it receives is tagged with its
    # type and sent on as that type (the check below makes sure), except a text message
    # that starts with the binary prefix: that one goes on as binary, prefix stripped (so
    # the prefix is one no text of these workloads starts with; run.py's bulk line
    # starts with "B", which `--binary-prefix B` turned into binary). Not -E (end the other
    # direction when one side ends): with it, websocat drops the client's TCP connection
    # without answering its close frame (wsdbg exits 3, "connection closed without a
    # close frame"); without it the close is answered, and websocat warns that serving
    # many clients without -E may leak sockets (a few dozen connections here).
    return [WEBSOCAT] + WEBSOCAT_FLAGS + ["-B", buf, f"ws-l:127.0.0.1:{port}", url]


HOP_LABELS = {
    "direct": "direct (no hop)",
    "relay": "wsdbg relay `-o payload`, stdout /dev/null",
    "relay-pretty": "wsdbg relay pretty, stdout to a file",
    "websocat": f"websocat `-B {WEBSOCAT_BUF}`",
    "websocat-1m": f"websocat `-B {WEBSOCAT_BUF_1M}`",
}


def start_hop(hop, upstream_url):
    """The hop's process toward upstream_url, or None for direct."""
    if hop == "direct":
        return None
    if hop == "relay":
        err = os.path.join(OUT, "hop-relay.stderr")
        return Proc("hop-relay", HOP_LABELS[hop],
                    [WSDBG, "relay", "--port", "0", "-o", "payload", upstream_url], ("listening", err))
    if hop == "relay-pretty":
        path = os.path.join(OUT, "hop-relay-pretty.stdout")
        open(path, "wb").close()
        return Proc("hop-relay-pretty", HOP_LABELS[hop],
                    [WSDBG, "relay", "--port", "0", upstream_url], ("listening", path), stdout_path=path)
    if hop in ("websocat", "websocat-1m"):
        if not WEBSOCAT:
            raise RunError("websocat is not installed (`cargo install websocat`)")
        port = base.free_port()
        buf = WEBSOCAT_BUF if hop == "websocat" else WEBSOCAT_BUF_1M
        return Proc(f"hop-{hop}", HOP_LABELS[hop], websocat_argv(port, upstream_url, buf), ("port", port))
    raise SystemExit(f"unknown hop {hop!r} (direct, relay, relay-pretty, websocat, websocat-1m)")


def hop_url(proc, echo_url):
    return echo_url if proc is None else f"ws://127.0.0.1:{proc.port}/"


# ---------------------------------------------------------------- results


class Results:
    def __init__(self):
        # samples[(echo, workload, hop)] = [dict, ...]
        self.samples = {}
        self.errors = []  # (echo, workload, hop, message)
        self.notes = {}  # (echo, workload, hop) -> dict: hop peak RSS, pretty output, ...
        self.checks = {}  # (echo, hop) -> "ok" or the failure

    def add(self, key, sample):
        self.samples.setdefault(key, []).append(sample)

    def get(self, key):
        return self.samples.get(key, [])

    def fail(self, key, msg):
        self.errors.append(key + (msg,))
        log(f"  ERROR {' / '.join(key)}: {msg}")

    def nfail(self, key):
        return sum(1 for e in self.errors if e[:3] == key and not e[3].startswith("warm-up"))


# ---------------------------------------------------------------- inputs


def make_inputs():
    os.makedirs(OUT, exist_ok=True)
    lines = os.path.join(OUT, "relay-lines.txt")
    with open(lines, "wb") as f:
        filler = b"abcdefghijklmnopqrstuvwxyz"
        buf = bytearray()
        for i in range(LINES):
            head = b"m%09d-" % i
            buf += head + filler[: LINE_PAYLOAD - len(head)] + b"\n"
        f.write(buf)
    bulk = os.path.join(OUT, "relay-bulk.txt")
    n = BULK_MIB * 1024 * 1024
    raw = base64.b64encode(os.urandom(n * 3 // 4 + 3))[:n].translate(bytes.maketrans(b"+/", b"xy"))
    with open(bulk, "wb") as f:
        f.write(b"B" + raw[1:] + b"\n")
    return {"throughput": lines, "bulk": bulk}


# ---------------------------------------------------------------- a, b: wsdbg client


def run_stream(res, echo, hops, workload, path):
    """Workloads a and b: the file piped into `wsdbg -o payload`, through each hop."""
    echo_url = f"ws://127.0.0.1:{echo.port}/"
    procs = {}
    for hop in hops:
        try:
            procs[hop] = start_hop(hop, echo_url)
        except RunError as e:
            res.fail((echo.name, workload, hop), f"hop did not start: {e}")
    live = [h for h in hops if h in procs]

    def one(hop, tag, counted):
        p = procs[hop]
        key = (echo.name, workload, hop)
        if p is not None and not p.alive():
            res.fail(key, f"the hop exited ({p.proc.returncode}) before this run: {p.cmd()}"
                          f"{base.stderr_tail(p.err_path)}")
            return
        argv = [WSDBG, "-o", "payload", hop_url(p, echo_url)]
        h0 = p.cpu() if p else None
        e0 = echo.cpu()
        try:
            wall, rss, ccpu = base.run_client(argv, path, path, tag, rss=counted)
        except base.RunError as e:
            res.fail(key, ("warm-up run: " if not counted else "") + str(e))
            return
        finally:
            if p is not None and p.stdout_path:
                out_bytes = os.path.getsize(p.stdout_path)
                os.truncate(p.stdout_path, 0)
        h1 = p.cpu() if p else None
        e1 = echo.cpu()
        if counted:
            s = {"wall": wall, "client_rss_kib": rss, "client_cpu": ccpu,
                 "hop_cpu": h1 - h0 if h0 is not None and h1 is not None else None,
                 "echo_cpu": e1 - e0 if e0 is not None and e1 is not None else None}
            if p is not None and p.stdout_path:
                s["hop_stdout_bytes"] = out_bytes
            res.add(key, s)

    try:
        for hop in live:
            one(hop, f"relay-{echo.name}-{workload}-{hop}-warmup", False)
        for i in range(REPS):
            order = live[i % len(live):] + live[: i % len(live)]
            for hop in order:
                if not echo.alive():
                    raise SystemExit(f"the {echo.name} echo server died (see {echo.err_path})")
                one(hop, f"relay-{echo.name}-{workload}-{hop}-{i}", True)
            log(f"  {workload} {i + 1}/{REPS} " + "  ".join(
                f"{h}={res.get((echo.name, workload, h))[-1]['wall']:.3f}s"
                for h in live if res.get((echo.name, workload, h))))
    finally:
        for hop, p in procs.items():
            if p is not None:
                res.notes[(echo.name, workload, hop)] = {"hop_hwm_kib": p.status("VmHWM")}
                p.stop()


# ---------------------------------------------------------------- c: latency


def rtt_client(url, tag, count, check=False):
    argv = [PYTHON, os.path.join(HERE, "rtt-client.py")] + (["--check"] if check else []) + [url, str(count)]
    cmd = " ".join(shlex.quote(a) for a in argv)
    try:
        r = subprocess.run(argv, capture_output=True, timeout=TIMEOUT, cwd=HERE)
    except subprocess.TimeoutExpired:
        raise RunError(f"timed out after {TIMEOUT}s (killed): {cmd}")
    if r.returncode != 0:
        err = r.stderr.decode(errors="replace").strip().splitlines()[-5:]
        raise RunError(f"exit status {r.returncode}: {cmd}" + "".join(f"\n      stderr: {x}" for x in err))
    try:
        return json.loads(r.stdout)
    except ValueError:
        raise RunError(f"no JSON on stdout: {cmd}")


def run_latency(res, echo, hops):
    echo_url = f"ws://127.0.0.1:{echo.port}/"
    procs = {}
    for hop in hops:
        try:
            procs[hop] = start_hop(hop, echo_url)
        except RunError as e:
            res.fail((echo.name, "latency", hop), f"hop did not start: {e}")
    live = [h for h in hops if h in procs]
    try:
        # The check first: message by message, types kept (a failure is reported, the
        # hop still measured).
        for hop in live:
            try:
                out = rtt_client(hop_url(procs[hop], echo_url), hop, 0, check=True)
                res.checks[(echo.name, hop)] = "ok" + (
                    "" if out.get("special") == "ok" else f" (but: {out.get('special')})")
            except RunError as e:
                res.checks[(echo.name, hop)] = str(e)
                res.fail((echo.name, "check", hop), str(e))
        for hop in live:  # warm-up
            try:
                rtt_client(hop_url(procs[hop], echo_url), hop, RTT_MSGS // 4)
            except RunError as e:
                res.fail((echo.name, "latency", hop), f"warm-up run: {e}")
        for i in range(REPS):
            order = live[i % len(live):] + live[: i % len(live)]
            for hop in order:
                p = procs[hop]
                key = (echo.name, "latency", hop)
                h0 = p.cpu() if p else None
                try:
                    out = rtt_client(hop_url(p, echo_url), hop, RTT_MSGS)
                except RunError as e:
                    res.fail(key, str(e))
                    continue
                h1 = p.cpu() if p else None
                rtts = out["rtt_us"]
                if len(rtts) != RTT_MSGS:
                    res.fail(key, f"{len(rtts)} round trips, expected {RTT_MSGS}")
                    continue
                res.add(key, {"rtt_us": rtts, "hop_cpu": h1 - h0 if h0 is not None and h1 is not None else None})
            log(f"  latency {i + 1}/{REPS} " + "  ".join(
                f"{h}={median(res.get((echo.name, 'latency', h))[-1]['rtt_us']):.0f}us"
                for h in live if res.get((echo.name, "latency", h))))
    finally:
        for hop, p in procs.items():
            if p is not None:
                p.stop()


# ---------------------------------------------------------------- d: memory


class Sink:
    """A WebSocket server that answers the upgrade, then never reads its socket again."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.conns = []
        self.errors = []
        self.stopped = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.listener.settimeout(0.2)
        while not self.stopped:
            try:
                c, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                c.settimeout(10)
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = c.recv(4096)
                    if not chunk:
                        raise OSError("closed before the end of the request")
                    head += chunk
                m = re.search(rb"(?im)^sec-websocket-key:\s*(\S+)", head)
                if not m:
                    raise OSError(f"no Sec-WebSocket-Key in {head[:200]!r}")
                c.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Accept: "
                           f"{accept_key(m.group(1).decode())}\r\n\r\n").encode())
                self.conns.append(c)  # and never read again
            except OSError as e:
                self.errors.append(str(e))
                c.close()

    def unread(self):
        """Bytes waiting in the receive queues of the accepted sockets."""
        import fcntl
        import termios
        n = 0
        for c in self.conns:
            try:
                n += int.from_bytes(fcntl.ioctl(c.fileno(), termios.FIONREAD, b"\0\0\0\0"), "little")
            except OSError:
                pass
        return n

    def close(self):
        self.stopped = True
        self.thread.join(2)
        for c in self.conns:
            c.close()
        self.listener.close()


def ss_queues(ports):
    """(local, peer, Recv-Q, Send-Q) of the established TCP sockets on these ports (ss)."""
    try:
        out = subprocess.run(["ss", "-tnH", "state", "established"], capture_output=True,
                             text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    rows = []
    for line in out.splitlines():
        f = line.split()
        if len(f) < 4:
            continue
        rq, sq, local, peer = f[0], f[1], f[2], f[3]
        lp, pp = int(local.rsplit(":", 1)[1]), int(peer.rsplit(":", 1)[1])
        if lp in ports or pp in ports:
            rows.append((local, peer, int(rq), int(sq)))
    return rows


def run_memory(res, hops):
    msg = MEM_MSG_KIB * 1024
    payload = os.urandom(msg)
    # FIN + binary, mask bit + 64-bit length, mask key 0 (the payload goes as it is).
    frame = bytes([0x82, 0x80 | 127]) + msg.to_bytes(8, "big") + b"\0\0\0\0" + payload
    limit = MEM_MIB * 1024 * 1024
    for hop in hops:
        key = ("-", "memory", hop)
        sink = Sink()
        sink_url = f"ws://127.0.0.1:{sink.port}/"
        p = None
        sock = None
        samples = []
        stop = threading.Event()
        try:
            try:
                p = start_hop(hop, sink_url)
            except RunError as e:
                res.fail(key, f"hop did not start: {e}")
                continue
            port = sink.port if p is None else p.port

            def sample():
                t0 = time.monotonic()
                while not stop.is_set():
                    samples.append((round(time.monotonic() - t0, 3), p.status("VmRSS")))
                    stop.wait(0.05)

            sampler = threading.Thread(target=sample, daemon=True) if p else None
            if sampler:
                sampler.start()
            rss0 = p.status("VmRSS") if p else None
            cpu0 = p.cpu() if p else None
            try:
                sock = ws_client_socket(port)
            except (RunError, OSError) as e:
                res.fail(key, f"client handshake through the hop: {e}")
                continue
            sock.setblocking(False)
            view = memoryview(frame)
            written = off = 0
            t0 = time.monotonic()
            deadline = t0 + MEM_SECONDS
            last_progress = t0
            progress = []  # (s, bytes written) each second
            next_mark = t0 + 1
            error = None
            while written < limit:
                now = time.monotonic()
                if now >= deadline:
                    break
                if now >= next_mark:
                    progress.append((round(now - t0, 1), written))
                    next_mark += 1
                _, w, _ = select.select([], [sock], [], min(deadline, next_mark) - now)
                if not w:
                    continue
                try:
                    n = sock.send(view[off:off + min(len(frame) - off, limit - written)])
                except BlockingIOError:
                    continue
                except OSError as e:
                    error = f"the hop's socket failed after {written} bytes: {e}"
                    break
                written += n
                off = (off + n) % len(frame)
                last_progress = time.monotonic()
            elapsed = time.monotonic() - t0
            cpu1 = p.cpu() if p else None
            queues = ss_queues({port, sink.port})
            unread = sink.unread()
            time.sleep(0.1)
            stop.set()
            if sampler:
                sampler.join(2)
            s = {
                "written": written, "seconds": elapsed, "stalled_at": round(last_progress - t0, 2),
                "progress": progress, "sink_unread": unread, "queues": queues,
                "hop_rss0_kib": rss0,
                "hop_hwm_kib": p.status("VmHWM") if p else None,
                "hop_rss_end_kib": p.status("VmRSS") if p else None,
                "hop_cpu": cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None,
                "rss_samples": samples,
                "hop_alive": p.alive() if p else None,
            }
            if sink.errors:
                res.fail(key, f"the sink: {'; '.join(sink.errors)}")
            if error:
                res.fail(key, error)
            if p is not None and not p.alive():
                res.fail(key, f"the hop exited ({p.proc.returncode}) during the push: {p.cmd()}"
                              f"{base.stderr_tail(p.err_path)}")
            res.add(key, s)
            log(f"  memory {hop}: wrote {written / 2**20:.1f} MiB in {elapsed:.1f} s (last progress at "
                f"{s['stalled_at']} s), hop peak RSS "
                f"{s['hop_hwm_kib'] / 1024 if s['hop_hwm_kib'] else 0:.1f} MiB")
        finally:
            stop.set()
            if sock is not None:
                sock.close()
            if p is not None:
                p.stop()
            sink.close()


# ---------------------------------------------------------------- report


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def pct(xs, q):
    if not xs:
        return None
    xs = sorted(xs)
    i = min(len(xs) - 1, max(0, int(round(q / 100 * len(xs) + 0.5)) - 1))
    return xs[i]


def fmt(v, f, dash="—"):
    return dash if v is None else f(v)


def echo_label(name, echos):
    for e in echos:
        if e.name == name:
            return e.label
    return name


def report(res, echos, meta):
    L = []
    L.append("# wsdbg relay benchmark (issue 18)")
    L.append("")
    L.append(f"- date: {meta['date']}")
    L.append(f"- machine: {base.cpu_model()}, {os.cpu_count()} CPUs (nproc), {base.mem_total()} RAM, "
             f"Linux {platform.release()}")
    L.append(f"- load average (1, 5, 15 min): {meta['load_start']} at the start, {loadavg()} at the end "
             f"(`uptime` at the start: `{meta['uptime_start']}`)")
    rev = base.version(["git", "-C", ROOT, "describe", "--always", "--dirty"])
    L.append(f"- wsdbg: {base.version([WSDBG, '--version'])} (`{WSDBG}`; bench source at {rev})")
    L.append(f"- websocat: {base.version([WEBSOCAT, '--version']) if WEBSOCAT else 'not installed: its rows are skipped'}")
    L.append(f"- node: {base.version(['node', '--version'])}, ws {base.ws_version()}; Python "
             f"{base.version([PYTHON, '-c', 'import sys; print(sys.version.split()[0])'])}, websockets "
             f"{base.version([PYTHON, '-c', 'import websockets; print(websockets.__version__)'])}")
    L.append(f"- repetitions: {REPS} per hop and workload after one uncounted warm-up, the hops' order "
             f"rotated each repetition; every hop process started afresh per workload and echo server")
    L.append("")
    L.append("Topology: client → [hop] → echo server → [hop] → client, all on 127.0.0.1. Hops:")
    L.append("")
    L.append("- direct: none, the client talks to the echo server;")
    L.append("- relay: `wsdbg relay --port 0 -o payload ws://127.0.0.1:ECHO/`, stdin and stdout "
             "/dev/null (in payload mode its `listening on ws://127.0.0.1:PORT` goes to stderr; "
             "the received payloads of both legs would go to stdout);")
    L.append("- relay-pretty: `wsdbg relay --port 0 ws://127.0.0.1:ECHO/`, stdout to a file "
             "(every frame and message of both legs in pretty form; the file is emptied after each run, "
             "its size per run is below);")
    L.append(f"- websocat: `websocat {WEBSOCAT_SHOWN} -B {WEBSOCAT_BUF} ws-l:127.0.0.1:PORT "
             f"ws://127.0.0.1:ECHO/`: `-b --binary-prefix b: --text-prefix t:` tag each message it "
             f"receives with its type and send it on as that type (without them websocat 1.x sends "
             f"every message on as text: a binary echo came back as text in the check), but for a text "
             f"message that begins with the binary prefix, which goes on as binary with the prefix "
             f"stripped (seen in the check below: no text message of the workloads begins with `b:`); not `-E` "
             f"(end the other direction when one side ends): with it websocat dropped the client's "
             f"TCP connection without answering its close frame, so wsdbg exited 3 on every run; "
             f"without it websocat warns that serving many clients may leak sockets; `-B`: the largest message it forwards whole, "
             f"here one that holds the bulk message, as run.py does. websocat-1m in the memory table: "
             f"the same with `-B {WEBSOCAT_BUF_1M}`.")
    L.append("")
    L.append("Echo servers: " + "; ".join(f"`{e.name}` = {e.label}" for e in echos) + ".")
    L.append("")
    # the check
    if res.checks:
        L.append("Forwarding check (`rtt-client.py --check`: text and binary messages of 1 B, "
                 "100 KiB and 1 MiB, sent back to back, must each come back once, same bytes, same type): "
                 + "; ".join(f"{e}/{h}: {v if v.startswith('ok') else 'FAILED (' + v.splitlines()[0][:300] + ')'}"
                             for (e, h), v in res.checks.items())
                 + ". Then an empty text, an empty binary and a text `b:x` message, each followed by "
                   "a 1-byte text, should come back the same (noted when not; not a failure).")
        L.append("")

    def direct_med(echo, w, f):
        xs = [f(s) for s in res.get((echo, w, "direct"))]
        return median(xs)

    def stream_table(w, title, value, unit, fmtv):
        L.append(f"## {title}")
        L.append("")
        L.append(f"| echo | hop | {unit} (median) | min–max | hop / direct | wall | client CPU | hop CPU | echo CPU | "
                 f"CPU, all three | hop peak RSS | runs |")
        L.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        for e in echos:
            d = direct_med(e.name, w, value)
            for hop in HOPS:
                key = (e.name, w, hop)
                ss = res.get(key)
                vs = [value(s) for s in ss]
                v = median(vs)
                ratio = "—" if hop == "direct" or not (v and d) else f"{v / d:.2f}×"
                cc = median([s["client_cpu"] for s in ss if s["client_cpu"] is not None])
                hc = median([s["hop_cpu"] for s in ss if s["hop_cpu"] is not None])
                ec = median([s["echo_cpu"] for s in ss if s["echo_cpu"] is not None])
                hwm = res.notes.get(key, {}).get("hop_hwm_kib")
                wall = median([s["wall"] for s in ss])
                tot = median([s["client_cpu"] + (s["hop_cpu"] or 0) + s["echo_cpu"] for s in ss
                              if s["client_cpu"] is not None and s["echo_cpu"] is not None])
                nf = res.nfail(key)
                runs = f"{len(ss)} ok" + (f", ⚠ {nf} failed" if nf else "")
                L.append(f"| {e.name} | {HOP_LABELS.get(hop, hop)} | {fmt(v, fmtv)} | "
                         f"{fmt(min(vs) if vs else None, fmtv)}–{fmt(max(vs) if vs else None, fmtv)} | {ratio} | "
                         f"{fmt(wall, lambda x: f'{x:.3f} s')} | "
                         f"{fmt(cc, lambda x: f'{x:.2f} s')} | {fmt(hc, lambda x: f'{x:.2f} s')} | "
                         f"{fmt(ec, lambda x: f'{x:.2f} s')} | {fmt(tot, lambda x: f'{x:.2f} s')} | "
                         f"{fmt(hwm, lambda x: f'{x / 1024:.1f} MiB')} | {runs} |")
        L.append("")

    stream_table("throughput", f"a. Throughput: {LINES:,} text messages of {LINE_PAYLOAD} B",
                 lambda s: LINES / s["wall"], "msg/s", lambda x: f"{x:,.0f}")
    L.append(f"Client: `cat relay-lines.txt | wsdbg -o payload ws://HOP/`; each run's stdout must equal "
             f"its input (every echo, in order) and its exit status be 0, else the run failed. Wall time "
             f"from spawning the client to reaping it. CPU = user + system seconds during the run "
             f"(client: GNU time; hop and echo: /proc/PID/stat), medians; CPU, all three: client + hop + echo server, the median of their per-run sums (`cat` not counted): when it is close to the wall time, the three took turns on the CPUs rather than overlapping; hop peak RSS = the hop's VmHWM "
             f"at the end of the workload (warm-up and all runs).")
    pretty = [s.get("hop_stdout_bytes") for e in echos for s in res.get((e.name, "throughput", "relay-pretty"))]
    pretty = [x for x in pretty if x]
    if pretty:
        L.append(f"relay-pretty wrote {median(pretty) / 1e6:.1f} MB of pretty output per throughput run (median).")
    L.append("")
    bulk_bytes = BULK_MIB * 1024 * 1024
    stream_table("bulk", f"b. Bulk: one {BULK_MIB} MiB text message", lambda s: bulk_bytes / 1e6 / s["wall"],
                 "MB/s", lambda x: f"{x:,.1f}")
    L.append("Client: `cat relay-bulk.txt | wsdbg -o payload ws://HOP/` (one line: one text message), "
             "checked byte for byte; MB/s = 10^6 payload bytes per second of wall time, one direction.")
    L.append("")

    # c. latency
    L.append(f"## c. Round-trip latency: {RTT_MSGS:,} text messages of 32 B, one at a time")
    L.append("")
    L.append("| echo | hop | median RTT | p99 RTT | added median (hop − direct) | added p99 | hop CPU per run | runs |")
    L.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for e in echos:
        dall = [x for s in res.get((e.name, "latency", "direct")) for x in s["rtt_us"]]
        dmed, dp99 = median(dall), pct(dall, 99)
        for hop in HOPS:
            key = (e.name, "latency", hop)
            ss = res.get(key)
            allx = [x for s in ss for x in s["rtt_us"]]
            m, p99 = median(allx), pct(allx, 99)
            add_m = "—" if hop == "direct" or m is None or dmed is None else f"{(m - dmed) / 1000:+.3f} ms"
            add_p = "—" if hop == "direct" or p99 is None or dp99 is None else f"{(p99 - dp99) / 1000:+.3f} ms"
            hc = median([s["hop_cpu"] for s in ss if s.get("hop_cpu") is not None])
            nf = res.nfail(key)
            runs = f"{len(ss)} ok" + (f", ⚠ {nf} failed" if nf else "")
            L.append(f"| {e.name} | {HOP_LABELS.get(hop, hop)} | {fmt(m, lambda x: f'{x / 1000:.3f} ms')} | "
                     f"{fmt(p99, lambda x: f'{x / 1000:.3f} ms')} | {add_m} | {add_p} | "
                     f"{fmt(hc, lambda x: f'{x:.2f} s')} | {runs} |")
    L.append("")
    L.append(f"Client: `bench/rtt-client.py` (Python websockets, sync client, TCP_NODELAY): 100 uncounted "
             f"messages, then {RTT_MSGS:,}, each sent after the previous echo came; RTT from before `send` "
             f"to after `recv`; median and p99 over all {REPS} runs' round trips together. The client's own "
             f"cost (its receiving thread) is in every row and cancels out in the added columns.")
    L.append("")

    # d. memory
    L.append(f"## d. Memory when the server never reads: {MEM_MSG_KIB} KiB binary messages for {MEM_SECONDS} s "
             f"or {MEM_MIB:,} MiB")
    L.append("")
    L.append("| hop | hop peak RSS (VmHWM) | RSS before / at the end | client wrote | last write accepted at | "
             "in kernel queues (ss) | so held by the hop | sink's unread queue | hop CPU | result |")
    L.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for hop in MEM_HOPS:
        key = ("-", "memory", hop)
        ss = res.get(key)
        nf = res.nfail(key)
        if not ss:
            L.append(f"| {HOP_LABELS.get(hop, hop)} | — | — | — | — | — | — | — | — | ⚠ failed ({nf}) |")
            continue
        s = ss[-1]
        q = s["queues"]
        inq = sum(r[2] + r[3] for r in q) if q else None
        mib = lambda k: fmt(k, lambda x: f"{x / 1024:.1f} MiB")
        verdict = "⚠ failed" if nf else ("wrote all" if s["written"] >= MEM_MIB * 2**20 else "stalled (bounded)")
        L.append(f"| {HOP_LABELS.get(hop, hop)} | {mib(s['hop_hwm_kib'])} | {mib(s['hop_rss0_kib'])} / "
                 f"{mib(s['hop_rss_end_kib'])} | {s['written'] / 2**20:,.1f} MiB | {s['stalled_at']:.2f} s | "
                 f"{fmt(inq, lambda x: f'{x / 2**20:.1f} MiB')} | "
                 f"{fmt(None if inq is None else s['written'] - inq, lambda x: f'{x / 2**20:.1f} MiB')} | "
                 f"{s['sink_unread'] / 2**20:.1f} MiB | "
                 f"{fmt(s['hop_cpu'], lambda x: f'{x:.2f} s')} | {verdict} |")
    L.append("")
    L.append("The sink (in the driver) answers the upgrade and never reads again; the client (a raw socket in "
             "the driver, frames masked with key 0) writes as fast as `send` takes bytes. "
             "In kernel queues: Recv-Q + Send-Q of every established socket of the client's and the sink's "
             "ports (client, both ends of the hop, sink) at the end of the push; what the client wrote minus "
             "that (\"so held by the hop\") is what the hop holds in its own memory, or dropped. direct: no "
             "hop, only kernel buffers. The client keeps trying to write until the end; \"last write "
             "accepted at\" is when `send` last took a byte.")
    L.append("")

    # targets
    L.append("## Targets")
    L.append("")
    for e in echos:
        for w, value in (("throughput", lambda s: 1 / s["wall"]), ("bulk", lambda s: 1 / s["wall"])):
            d = direct_med(e.name, w, value)
            v = median([value(s) for s in res.get((e.name, w, "relay"))])
            if d and v:
                ok = v / d >= TARGET_RATIO
                L.append(f"- {w}, echo {e.name}: relay / direct = {v / d:.2f}× (target ≥ {TARGET_RATIO}×): "
                         f"{'met' if ok else 'MISSED'}")
            else:
                L.append(f"- {w}, echo {e.name}: not measured (failed runs)")
        dall = [x for s in res.get((e.name, "latency", "direct")) for x in s["rtt_us"]]
        rall = [x for s in res.get((e.name, "latency", "relay")) for x in s["rtt_us"]]
        if dall and rall:
            add = (median(rall) - median(dall)) / 1000
            L.append(f"- latency, echo {e.name}: relay adds {add:.3f} ms to the median RTT (target < "
                     f"{TARGET_ADDED_RTT_MS:g} ms): {'met' if add < TARGET_ADDED_RTT_MS else 'MISSED'}")
        else:
            L.append(f"- latency, echo {e.name}: not measured (failed runs)")
    ms = res.get(("-", "memory", "relay"))
    if ms and ms[-1]["hop_hwm_kib"]:
        hwm = ms[-1]["hop_hwm_kib"] / 1024
        L.append(f"- memory: relay peak RSS {hwm:.1f} MiB with a server that never reads (target < "
                 f"{TARGET_RSS_MIB} MiB): {'met' if hwm < TARGET_RSS_MIB else 'MISSED'}")
    else:
        L.append("- memory: not measured (failed run)")
    L.append("")

    # raw
    L.append("### Raw samples")
    L.append("")
    for key, ss in res.samples.items():
        if key[1] in ("throughput", "bulk"):
            xs = [s["wall"] for s in ss]
            L.append(f"- {' / '.join(key)}: wall {', '.join(f'{x:.3f}' for x in xs)} s")
        elif key[1] == "latency":
            meds = ", ".join(f"{median(s['rtt_us']):.0f}" for s in ss)
            p99s = ", ".join(f"{pct(s['rtt_us'], 99):.0f}" for s in ss)
            L.append(f"- {' / '.join(key)}: per-run median RTT {meds} µs, p99 {p99s} µs")
        elif key[1] == "memory":
            s = ss[-1]
            prog = ", ".join(f"{t:g} s: {b / 2**20:.0f}" for t, b in s["progress"][:12])
            rs = [r for _, r in s["rss_samples"] if r]
            L.append(f"- memory / {key[2]}: MiB written by second: {prog or '—'}; hop RSS sampled "
                     f"{len(rs)} times, {min(rs) / 1024 if rs else 0:.1f}–{max(rs) / 1024 if rs else 0:.1f} MiB")
            if s["queues"]:
                L.append("  - queues (local, peer, Recv-Q, Send-Q): " + "; ".join(
                    f"{a} → {b} {r:,} / {q:,}" for a, b, r, q in s["queues"]))
    L.append("")
    if res.errors:
        L.append("### Failed runs and checks (not counted)")
        L.append("")
        for echo, w, hop, msg in res.errors:
            L.append(f"- {echo} / {w} / {hop}: {msg}")
        L.append("")
    return "\n".join(L)


def main():
    for v in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        os.environ.pop(v, None)
    if not os.access(WSDBG, os.X_OK):
        raise SystemExit(f"{WSDBG} not found: run `cargo build --release` (bench/relay.sh does), or set WSDBG")
    if "node" in ECHOS and not os.path.isdir(os.path.join(HERE, "node_modules", "ws")):
        raise SystemExit("bench/node_modules/ws missing: run `npm ci` in bench/ (bench/relay.sh does)")
    if subprocess.run([PYTHON, "-c", "import websockets"], capture_output=True).returncode != 0:
        raise SystemExit(f"{PYTHON} with websockets is needed for the latency client (bench/relay.sh "
                         f"makes .venv), or set BENCH_PYTHON")
    if not WEBSOCAT:
        log("websocat not found (`cargo install websocat`): its rows will say so")
    meta = {
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "load_start": loadavg(),
        "uptime_start": base.version(["uptime"]),
    }
    log(f"making inputs in {os.path.relpath(OUT, ROOT)}/ ...")
    inputs = make_inputs()
    res = Results()
    echos = []
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        for name in ECHOS:
            try:
                echo = start_echo(name)
            except RunError as e:
                res.fail((name, "start", "-"), str(e))
                continue
            echos.append(echo)
            log(f"echo server {echo.label} on port {echo.port}")
            try:
                run_latency(res, echo, HOPS)
                run_stream(res, echo, HOPS, "throughput", inputs["throughput"])
                run_stream(res, echo, HOPS, "bulk", inputs["bulk"])
            finally:
                echo.stop()
        log("memory: a server that never reads ...")
        run_memory(res, MEM_HOPS)
    finally:
        for e in echos:
            e.stop()
    text = report(res, echos, meta)
    with open(os.path.join(OUT, "relay.md"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(OUT, "relay.json"), "w") as f:
        json.dump({"samples": {"/".join(k): v for k, v in res.samples.items()},
                   "notes": {"/".join(k): v for k, v in res.notes.items()},
                   "checks": {"/".join(k): v for k, v in res.checks.items()},
                   "errors": res.errors}, f, indent=1)
    print(text)
    if res.errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
