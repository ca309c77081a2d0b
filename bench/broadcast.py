#!/usr/bin/env python3
"""Broadcast benchmark: one line on a server's stdin, sent to 1,000 connected clients.

    python3 bench/broadcast.py            # after cargo build --release

Linux only (/proc, SO_TIMESTAMPNS); standard library only.

Measures, for each server, with BENCH_CLIENTS (1,000) WebSocket clients connected:

- broadcast time: from writing one line to the server's stdin to the moment the last
  client's socket has the whole message, and the first one's (every client must get
  exactly that text, or the run is an error, not a result); BENCH_BROADCASTS (20)
  broadcasts in a row, each started once the one before it reached everyone; median,
  min and max. The moments are the kernel's receive timestamps (SO_TIMESTAMPNS) of each
  client socket, so the time does not include this process reading 1,000 sockets; it
  reads them only after 100 ms (or later), leaving the CPUs to the server meanwhile;
- peak RSS of the server process (VmHWM from /proc/PID/status, read after the last
  broadcast) and its RSS once the clients were connected, before any broadcast;
- its threads (from /proc) with the clients connected;
- the time to connect and upgrade all the clients, one after the other.

Servers (BENCH_SERVERS, comma-separated; default "wsdbg,wsdbg-pretty,websocat"):

  wsdbg         `wsdbg listen --no-echo -o payload ADDR`: a line on stdin is a text message
                to every client; -o payload prints only what clients send (nothing here)
  wsdbg-pretty  the same with the default output: one line per frame sent (1,000 per
                broadcast), written to /dev/null
  websocat      `websocat -t ws-l:ADDR broadcast:-`: websocat's broadcast reuser on stdio
                (every stdin line goes to every connected client), when websocat is
                installed (`cargo install websocat`; found on PATH or in ~/.cargo/bin)

The servers run one after the other, BENCH_REPS (3) times each, alternating, each time a
fresh process with fresh clients. Every server's stdout goes to /dev/null; its port is
picked here (bound to port 0, then released) and given on its command line.

The clients are raw sockets in this process (standard library only: an epoll loop over
1,000 non-blocking sockets). For reference the report adds this process doing the
broadcast itself: one `sendall` per socket from Python over 1,000 plain loopback TCP
connections, timed the same way (no WebSocket server, no second process).

Environment: WSDBG (default target/release/wsdbg), WEBSOCAT, BENCH_CLIENTS,
BENCH_BROADCASTS, BENCH_REPS, BENCH_SERVERS. Prints a Markdown table and writes it to
bench/out/broadcast.md (raw samples in bench/out/broadcast.json). Exits 1 when a run
failed.
"""

import datetime
import json
import os
import platform
import resource
import selectors
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "out")


def env_int(name, default):
    v = os.environ.get(name, "")
    return int(v) if v.strip() else default


CLIENTS = env_int("BENCH_CLIENTS", 1000)
BROADCASTS = env_int("BENCH_BROADCASTS", 20)
REPS = env_int("BENCH_REPS", 3)
SERVERS = [
    s.strip()
    for s in os.environ.get("BENCH_SERVERS", "wsdbg,wsdbg-pretty,websocat").split(",")
    if s.strip()
]
WSDBG = os.environ.get("WSDBG") or os.path.join(ROOT, "target", "release", "wsdbg")
DEADLINE_S = 30
SETTLE_S = 0.1
# Linux: kernel receive timestamps as struct timespec (CLOCK_REALTIME, as time.time_ns).
SO_TIMESTAMPNS = 35
SCM_TIMESTAMPNS = SO_TIMESTAMPNS


def find_websocat():
    if os.environ.get("WEBSOCAT"):
        return os.environ["WEBSOCAT"]
    found = shutil.which("websocat")
    if found:
        return found
    cargo_bin = os.path.expanduser("~/.cargo/bin/websocat")
    return cargo_bin if os.access(cargo_bin, os.X_OK) else None


WEBSOCAT = find_websocat()


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def version(argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.strip()
    except OSError:
        return "?"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status(pid, field):
    """A field of /proc/PID/status: kB for VmRSS/VmHWM, a count for Threads."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def argv_for(name, port):
    addr = f"127.0.0.1:{port}"
    if name == "wsdbg":
        return [WSDBG, "listen", "--no-echo", "-o", "payload", addr]
    if name == "wsdbg-pretty":
        return [WSDBG, "listen", "--no-echo", addr]
    if name == "websocat":
        return [WEBSOCAT, "-t", f"ws-l:{addr}", "broadcast:-"]
    raise SystemExit(f"BENCH_SERVERS: unknown server {name!r} (wsdbg, wsdbg-pretty, websocat)")


def wait_listening(port, proc):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("the server did not listen within 10 s")


REQUEST = (
    "GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n\r\n"
)


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(REQUEST.format(port=port).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            raise RuntimeError("the server closed during the handshake")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        raise RuntimeError(f"handshake refused: {head[:200]!r}")
    rest = head.split(b"\r\n\r\n", 1)[1]
    if rest:
        raise RuntimeError(f"unexpected bytes after the 101: {rest[:50]!r}")
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.setblocking(False)
    return s


def frame_text(buf):
    """(payload, rest) of one unmasked frame at the start of buf, or None if incomplete."""
    if len(buf) < 2:
        return None
    b0, b1 = buf[0], buf[1]
    n = b1 & 0x7F
    i = 2
    if n == 126:
        if len(buf) < 4:
            return None
        n = int.from_bytes(buf[2:4], "big")
        i = 4
    elif n == 127:
        if len(buf) < 10:
            return None
        n = int.from_bytes(buf[2:10], "big")
        i = 10
    if b1 & 0x80:
        raise RuntimeError("a masked frame from the server")
    if len(buf) < i + n:
        return None
    if b0 != 0x81:
        raise RuntimeError(f"expected one final text frame, got first byte {b0:#04x}")
    return bytes(buf[i : i + n]), buf[i + n :]


def broadcast(proc, socks, sel, text, send=None):
    """Write one line to the server's stdin (or call `send`); return the seconds from
    just before that write until the first and until the last socket received the whole
    message, by the kernel's receive timestamps (SO_TIMESTAMPNS): when the bytes reached
    each socket, not when this loop got round to reading them."""
    bufs = {s.fileno(): bytearray() for s in socks}
    pending = set(bufs)
    arrivals = []
    t0 = time.time_ns()
    if send is None:
        proc.stdin.write((text + "\n").encode())
        proc.stdin.flush()
    else:
        send()
    # Leave the CPUs to the server while it sends (the timestamps say when the bytes
    # arrived, whenever they are read).
    time.sleep(SETTLE_S)
    while pending:
        if time.time_ns() - t0 > DEADLINE_S * 10**9:
            raise RuntimeError(
                f"{len(pending)} of {len(socks)} clients did not get the message in {DEADLINE_S} s"
            )
        for key, _ in sel.select(timeout=1):
            fd = key.fd
            try:
                data, anc, _, _ = key.fileobj.recvmsg(65536, 64)
            except BlockingIOError:
                continue
            if not data:
                raise RuntimeError("a client was disconnected")
            stamp = None
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == SCM_TIMESTAMPNS:
                    sec, nsec = struct.unpack("qq", payload[:16])
                    stamp = sec * 10**9 + nsec
            if stamp is None:
                raise RuntimeError("no receive timestamp (SO_TIMESTAMPNS)")
            buf = bufs[fd]
            buf += data
            got = frame_text(buf)
            if got is None:
                continue
            payload, rest = got
            # websocat sends the line with its newline; wsdbg without.
            if payload.rstrip(b"\n") != text.encode():
                raise RuntimeError(f"a client got {payload[:60]!r}, expected {text!r}")
            if rest:
                raise RuntimeError(f"a client got more than one message: {bytes(rest[:60])!r}")
            if fd in pending:
                pending.discard(fd)
                arrivals.append(stamp)
            bufs[fd] = bytearray()
    return (min(arrivals) - t0) / 1e9, (max(arrivals) - t0) / 1e9


def one_run(name):
    port = free_port()
    argv = argv_for(name, port)
    proc = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    socks = []
    sel = selectors.DefaultSelector()
    try:
        wait_listening(port, proc)
        t = time.perf_counter()
        for _ in range(CLIENTS):
            socks.append(connect(port))
        connect_s = time.perf_counter() - t
        for s in socks:
            sel.register(s, selectors.EVENT_READ)
        # Let the server see the last upgrades through (websocat drops a broadcast for a
        # client it has not registered yet).
        time.sleep(0.5)
        rss_connected = status(proc.pid, "VmRSS")
        threads = status(proc.pid, "Threads")
        times, firsts = [], []
        for i in range(BROADCASTS):
            text = f"broadcast {i:04d} " + "x" * 16
            first, last = broadcast(proc, socks, sel, text)
            times.append(last)
            firsts.append(first)
        hwm = status(proc.pid, "VmHWM")
        return {
            "server": name,
            "argv": argv,
            "port": port,
            "clients": CLIENTS,
            "connect_s": connect_s,
            "broadcast_s": times,
            "first_s": firsts,
            "rss_connected_kb": rss_connected,
            "hwm_kb": hwm,
            "threads": threads,
        }
    finally:
        sel.close()
        for s in socks:
            s.close()
        proc.kill()
        proc.wait()
        proc.stdin.close()


def driver_alone():
    """The floor of this measurement: this process writes the same frame to 1,000
    loopback TCP connections itself and reads them back with the same loop."""
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1024)
    port = lsock.getsockname()[1]
    clients, servers = [], []
    sel = selectors.DefaultSelector()
    try:
        for _ in range(CLIENTS):
            c = socket.create_connection(("127.0.0.1", port))
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s, _ = lsock.accept()
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            c.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            c.setblocking(False)
            clients.append(c)
            servers.append(s)
            sel.register(c, selectors.EVENT_READ)
        times, firsts = [], []
        for i in range(BROADCASTS):
            text = f"broadcast {i:04d} " + "x" * 16
            frame = bytes([0x81, len(text)]) + text.encode()

            def send(frame=frame):
                for s in servers:
                    s.sendall(frame)

            first, last = broadcast(None, clients, sel, text, send)
            times.append(last)
            firsts.append(first)
        return {"server": "driver", "argv": ["(this process, plain TCP)"], "port": 0,
                "clients": CLIENTS, "connect_s": 0, "broadcast_s": times, "first_s": firsts,
                "rss_connected_kb": 0, "hwm_kb": 0, "threads": 0}
    finally:
        sel.close()
        for s in clients + servers:
            s.close()
        lsock.close()


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < 2 * CLIENTS + 100:
        raise SystemExit(f"the open files limit ({hard}) is too low for {CLIENTS} clients")
    servers = []
    for name in SERVERS:
        if name == "websocat" and not WEBSOCAT:
            log("websocat is not installed: skipping it")
            continue
        if name.startswith("wsdbg") and not os.access(WSDBG, os.X_OK):
            raise SystemExit(f"{WSDBG} is missing: cargo build --release first (or set WSDBG)")
        servers.append(name)
    samples, failures = [], []
    for rep in range(REPS):
        order = servers if rep % 2 == 0 else list(reversed(servers))
        for name in order:
            log(f"rep {rep + 1}/{REPS}: {name} with {CLIENTS} clients")
            try:
                samples.append(one_run(name))
            except Exception as e:  # a failed run is reported, not measured
                failures.append({"server": name, "rep": rep, "error": str(e)})
                log(f"  FAILED: {e}")
    for rep in range(REPS):
        samples.append(driver_alone())
    rows = []
    for name in servers + ["driver"]:
        mine = [s for s in samples if s["server"] == name]
        if not mine:
            continue
        all_ms = [t * 1000 for s in mine for t in s["broadcast_s"]]
        rows.append(
            {
                "server": name,
                "argv": " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(mine[0]["argv"])).replace(str(mine[0]["port"]), "PORT"),
                "median_ms": statistics.median(all_ms),
                "first_ms": statistics.median(t * 1000 for s in mine for t in s["first_s"]),
                "min_ms": min(all_ms),
                "max_ms": max(all_ms),
                "hwm_mib": max(s["hwm_kb"] for s in mine) / 1024,
                "rss_connected_mib": statistics.median(s["rss_connected_kb"] for s in mine) / 1024,
                "threads": max(s["threads"] for s in mine),
                "connect_ms": statistics.median(s["connect_s"] for s in mine) * 1000,
                "runs": len(mine),
            }
        )
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    wsdbg_v = version([WSDBG, "--version"]).splitlines()[0] if os.access(WSDBG, os.X_OK) else "-"
    ws_v = version([WEBSOCAT, "--version"]) if WEBSOCAT else "not installed"
    lines = [
        f"# Broadcast to {CLIENTS} clients ({when})",
        "",
        f"{platform.node()}, {os.cpu_count()} CPUs, Linux {platform.release()}; {wsdbg_v}; {ws_v}; "
        f"{REPS} runs per server x {BROADCASTS} broadcasts; load average before: "
        f"{os.getloadavg()[0]:.2f}",
        "",
        "| server | last client has it, median (min-max) | first client has it, median | peak RSS (VmHWM) | RSS with the clients connected | threads | connect + upgrade all, one by one |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        if r["server"] == "driver":
            lines.append(
                f"| the driver alone: it writes the frame to {CLIENTS} plain TCP connections and reads them | "
                f"{r['median_ms']:.1f} ms ({r['min_ms']:.1f}-{r['max_ms']:.1f}) | {r['first_ms']:.2f} ms | | | | |"
            )
            continue
        lines.append(
            f"| `{r['argv']}` | {r['median_ms']:.1f} ms ({r['min_ms']:.1f}-{r['max_ms']:.1f}) | {r['first_ms']:.2f} ms | "
            f"{r['hwm_mib']:.1f} MiB | {r['rss_connected_mib']:.1f} MiB | {r['threads']} | {r['connect_ms']:.0f} ms |"
        )
    if failures:
        lines += ["", "## Failures", ""] + [f"- {f['server']} (run {f['rep'] + 1}): {f['error']}" for f in failures]
    report = "\n".join(lines) + "\n"
    print(report)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "broadcast.md"), "w") as f:
        f.write(report)
    with open(os.path.join(OUT, "broadcast.json"), "w") as f:
        json.dump({"samples": samples, "failures": failures, "rows": rows}, f, indent=1)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
