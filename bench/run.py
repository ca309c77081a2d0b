#!/usr/bin/env python3
"""End-to-end benchmark: wsdbg against websocat and a bare C client (the yardstick),
through the same echo servers, and wsdbg --compress against compressing clients through a
compressing echo server.

Run it through bench/run.sh (which builds wsdbg and installs the Node echo server's
dependencies and the Python ones of the compressed row first). Standard library only.

Clients: wsdbg, websocat (when installed) and the C client (bench/c-client.c, compiled to
bench/out/c-client by bench/run.sh when `cc` is there; BENCH_C_CLIENT names another
binary): two threads, 256 KiB buffers, frame headers parsed and nothing else, the least
a client can do with the same input and output. Every wsdbg row is read against it:
wsdbg / C client, per server.

Workloads, each repeated BENCH_REPS times (default 5) with the clients alternating
(in order on even repetitions, reversed on odd ones), after one warm-up run of each
client that is not counted:

1. throughput: BENCH_LINES (200,000) lines of 32 bytes piped into the client, every
   echo counted on stdout (wsdbg `-o payload`, websocat `-t`, the C client): messages/s;
   1a the same with wsdbg `-o payload --linger 0` (the close at the end of input, as the C
   client's --close-at-eof; without it wsdbg lingers as the contract says, about 10 ms);
   1b the same with wsdbg `--json` (websocat plain again; the C client only in 1); 1c the
   C client's run of 1 while BENCH_IDLE (1,000) other connections to the server are open
   and idle (IdleClients: handshake done, nothing sent; all must still be open after), on
   the listen and websocat servers. A run whose stdout differs from its input (an echo
   lost, cut or reordered) or that does not exit 0 is an error, not a result.
2. bulk: one 16 MiB text message (a single line) in and back, checked byte for byte:
   MB/s (10^6 bytes of payload per second of wall time, one direction); 2a with wsdbg
   `--linger 0`.
3. one-shot: connect, handshake, one message, its echo, close, exit: wall time, median
   of BENCH_ONESHOT_RUNS (20) runs per client.
4. peak RSS of the client process in 1 and 2 (GNU time's %M: /usr/bin/time, Debian
   package `time`; without it the RSS rows say so).
5. the same bytes through a plain TCP echo on loopback (bench/tcp-echo.js, driven from
   this process: no process start, no WebSocket), as the ceiling.
6. compressed (permessage-deflate): BENCH_LINES JSON messages of about 200 bytes
   (json_messages(), a fixed seed) piped into each compressing client, every echo checked
   as in 1, through a compressing echo server (BENCH_COMPRESS_SERVER: `aiohttp`,
   bench/py-echo-server.py, or `node`, `bench/echo-server.js --deflate`): wsdbg
   `--compress -o payload` against Python websockets' client (bench/py-client.py) and
   Node ws' (bench/node-client.js); websocat has no permessage-deflate. Wall time,
   messages/s, peak RSS, and the CPU seconds of the client and of the server. Before the
   timed runs, check_compression() makes sure both directions are compressed.

Wall time runs from spawning the client to reaping it, so it includes process start,
TCP connect, the handshake and the closing handshake. Input is piped through `cat`.

Servers (BENCH_SERVERS, comma-separated, default "listen,node,websocat,websocat4"):
  listen    `wsdbg listen -o payload --port PORT` (stdout to /dev/null): the fastest echo
            on this machine, so the one that shows what the client itself costs
  node      bench/echo-server.js (the `ws` package from npm)
  websocat  websocat's own mirror (`websocat -t -B N ws-l:127.0.0.1:PORT mirror:`), only
            when websocat is installed
  websocat4 websocat 4's mirror (`websocat4 -t ws-l:127.0.0.1:PORT mirror:`), only when a
            `websocat4` binary is on PATH or in ~/.cargo/bin (WEBSOCAT4 names one).

Environment: WSDBG (default target/release/wsdbg), WEBSOCAT (default: websocat on PATH,
then ~/.cargo/bin/websocat), WEBSOCAT4 (likewise websocat4), BENCH_C_CLIENT (default
bench/out/c-client), BENCH_REPS, BENCH_ONESHOT_RUNS, BENCH_LINES, BENCH_BULK_MIB, BENCH_IDLE
(idle connections in 1c, default 1000; 0 skips 1c),
BENCH_SERVERS, BENCH_TIMEOUT (seconds per client run, default 120); for the compressed
row BENCH_COMPRESS (0 skips it), BENCH_COMPRESS_SERVER (aiohttp), BENCH_COMPRESS_CLIENTS
(python,node; wsdbg always), BENCH_COMPRESS_CHECK (2000 messages), BENCH_PYTHON (default
.venv/bin/python, with aiohttp and websockets).

Prints a Markdown report, with the issue 22 targets checked (wsdbg against the C client
through wsdbg listen, --json against payload mode, bulk, one-shot against websocat), and
writes it to bench/out/results.md (raw samples in bench/out/results.json). Exits 1 when any run failed (the failures are listed with the
exact command that failed).
"""

import base64
import datetime
import hashlib
import json
import os
import platform
import random
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time


HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "out")


def env_int(name, default):
    v = os.environ.get(name, "")
    return int(v) if v.strip() else default


REPS = env_int("BENCH_REPS", 5)
ONESHOT_RUNS = env_int("BENCH_ONESHOT_RUNS", 20)
LINES = env_int("BENCH_LINES", 200_000)
LINE_PAYLOAD = 32
BULK_MIB = env_int("BENCH_BULK_MIB", 16)
IDLE = env_int("BENCH_IDLE", 1000)
TIMEOUT = env_int("BENCH_TIMEOUT", 120)
SERVERS = [s.strip() for s in os.environ.get("BENCH_SERVERS", "listen,node,websocat,websocat4").split(",") if s.strip()]
WSDBG = os.environ.get("WSDBG") or os.path.join(ROOT, "target", "release", "wsdbg")
# The compressed row: which compressing server, which clients (wsdbg always first).
COMPRESS = os.environ.get("BENCH_COMPRESS", "").strip().lower() not in ("0", "no", "false")
COMPRESS_SERVER = os.environ.get("BENCH_COMPRESS_SERVER", "aiohttp").strip()
COMPRESS_CLIENTS = ["wsdbg"] + [
    c.strip() for c in os.environ.get("BENCH_COMPRESS_CLIENTS", "python,node").split(",")
    if c.strip() and c.strip() != "wsdbg"
]
# Messages of the compressed row checked for compression (JSON events, bytes on the wire).
COMPRESS_CHECK = env_int("BENCH_COMPRESS_CHECK", 2000)
# The Python with `aiohttp` and `websockets` (bench/run.sh makes the repo's .venv).
PYTHON = os.environ.get("BENCH_PYTHON") or os.path.join(ROOT, ".venv", "bin", "python")


def find_websocat():
    if os.environ.get("WEBSOCAT"):
        return os.environ["WEBSOCAT"]
    found = shutil.which("websocat")
    if found:
        return found
    cargo_bin = os.path.expanduser("~/.cargo/bin/websocat")
    return cargo_bin if os.access(cargo_bin, os.X_OK) else None


WEBSOCAT = find_websocat()


def find_websocat4():
    if os.environ.get("WEBSOCAT4"):
        return os.environ["WEBSOCAT4"]
    found = shutil.which("websocat4")
    if found:
        return found
    cargo_bin = os.path.expanduser("~/.cargo/bin/websocat4")
    return cargo_bin if os.access(cargo_bin, os.X_OK) else None


WEBSOCAT4 = find_websocat4()
# The bare C client (bench/c-client.c), compiled by bench/run.sh when `cc` is there.
C_CLIENT = os.environ.get("BENCH_C_CLIENT") or os.path.join(OUT, "c-client")
HAVE_C = os.access(C_CLIENT, os.X_OK)
# websocat's message buffer (-B) must hold the bulk message and its newline.
WEBSOCAT_BUF = str(2 * BULK_MIB * 1024 * 1024 + 64)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- inputs


def make_inputs():
    """The input files, and the output each client must print (the same bytes)."""
    os.makedirs(OUT, exist_ok=True)
    lines = os.path.join(OUT, "lines.txt")
    # 32-byte payloads: a counter then letters; never starts with '/' (a wsdbg command).
    with open(lines, "wb") as f:
        filler = b"abcdefghijklmnopqrstuvwxyz"
        buf = bytearray()
        for i in range(LINES):
            head = b"m%09d-" % i
            buf += head + filler[: LINE_PAYLOAD - len(head)] + b"\n"
        f.write(buf)
    bulk = os.path.join(OUT, "bulk.txt")
    n = BULK_MIB * 1024 * 1024
    # Random letters and digits (base64 without '+' and '/'), one line.
    raw = base64.b64encode(os.urandom(n * 3 // 4 + 3))[:n].translate(bytes.maketrans(b"+/", b"xy"))
    with open(bulk, "wb") as f:
        f.write(b"B" + raw[1:] + b"\n")
    one = os.path.join(OUT, "oneshot.txt")
    with open(one, "wb") as f:
        f.write(b"hello, echo\n")
    inputs = {"throughput": lines, "throughput_json": lines, "bulk": bulk, "oneshot": one,
              "throughput_l0": lines, "bulk_l0": bulk, "throughput_idle": lines}
    if COMPRESS:
        msgs = [m + b"\n" for m in json_messages(LINES)]
        inputs["compressed"] = os.path.join(OUT, "json.txt")
        with open(inputs["compressed"], "wb") as f:
            f.write(b"".join(msgs))
        inputs["compressed_check"] = os.path.join(OUT, "json-check.txt")
        with open(inputs["compressed_check"], "wb") as f:
            f.write(b"".join(msgs[:COMPRESS_CHECK]))
    return inputs


def json_messages(n, seed=10):
    """n JSON event messages of about 200 bytes (178-227, UTF-8), the same every run.

    Shaped like a shop's event feed: sequential ids, millisecond timestamps a few tens of
    milliseconds apart, random hex user and order ids, names from short lists (some not
    ASCII), and a nested `data` object whose fields depend on the event type. Repeated
    keys and structure make them compress well with context takeover (to about a quarter
    with a 12-bit window, a fifth with 15), as such feeds do; the random ids and numbers
    keep them from compressing to nothing.
    """
    rng = random.Random(seed)
    first = ["Alice", "Bruno", "Chloé", "Dmitri", "Emma", "Farid", "Grace", "Hiro", "Inès", "Jonas",
             "Kwame", "Lena", "Mateo", "Nora", "Oskar", "Priya", "Quentin", "Rosa", "Sven", "Zoë"]
    last = ["Martin", "Nakamura", "Okafor", "Schmidt", "García", "Kowalski", "Dubois", "Rossi",
            "Andersen", "Singh", "Moreau", "Novak", "Silva", "Yilmaz", "Fischer", "Costa"]
    cities = ["Lyon", "Osaka", "Lagos", "Berlin", "Madrid", "Kraków", "Porto", "Oslo", "Pune", "Austin"]
    kinds = ["order.created", "order.updated", "payment.captured", "cart.item_added",
             "shipment.dispatched", "user.login"]
    statuses = ["pending", "paid", "packed", "shipped", "delivered", "refunded"]
    currencies = ["EUR", "USD", "JPY", "GBP", "PLN"]
    t = 1_795_000_000.0  # 2026-11-18
    for i in range(n):
        t += rng.expovariate(50.0)
        kind = rng.choice(kinds)
        user = {"id": f"u_{rng.getrandbits(32):08x}", "name": f"{rng.choice(first)} {rng.choice(last)}"}
        if kind == "user.login":
            data = {"ip": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
                    "mfa": rng.random() < 0.7, "agent": rng.choice(["web", "ios", "android"]),
                    "city": rng.choice(cities)}
        elif kind == "cart.item_added":
            data = {"sku": f"SKU-{rng.randrange(100000):05d}", "qty": rng.randrange(1, 6),
                    "price": round(rng.uniform(1, 500), 2), "currency": rng.choice(currencies)}
        else:
            data = {"order": f"ord_{rng.getrandbits(40):010x}", "status": rng.choice(statuses),
                    "total": round(rng.uniform(5, 2000), 2), "currency": rng.choice(currencies),
                    "items": rng.randrange(1, 12)}
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"
        msg = {"id": 4_000_000 + i, "type": kind, "ts": ts, "user": user, "data": data}
        # Starts with '{': never a wsdbg command line (those start with '/').
        yield json.dumps(msg, ensure_ascii=False, separators=(",", ":")).encode()


# ---------------------------------------------------------------- servers


class Server:
    def __init__(self, name, label, argv, port=None):
        self.name, self.label = name, label
        self.proc = subprocess.Popen(
            argv,
            cwd=HERE,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if port is None else subprocess.DEVNULL,
            stderr=open(os.path.join(OUT, f"server-{name}.log"), "wb"),
        )
        if port is None:
            line = self.proc.stdout.readline().decode().strip()
            if not line.isdigit():
                raise RuntimeError(f"{argv}: expected a port on the first line, got {line!r}")
            port = int(line)
        self.port = port
        wait_listening(port, self.proc)

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, deadline=10.0):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening on {port}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {deadline}s")


def start_servers():
    servers = []
    for name in SERVERS:
        if name == "listen":
            # Every message echoed; -o payload prints each one's payload, to /dev/null.
            port = free_port()
            argv = [WSDBG, "listen", "-o", "payload", "--port", str(port)]
            label = (f"wsdbg listen (`wsdbg listen -o payload --port PORT`, stdout /dev/null; "
                     f"the binary under test)")
            servers.append(Server("listen", label, argv, port))
        elif name == "websocat4":
            if not WEBSOCAT4:
                log("websocat 4 (websocat4) is not installed: skipping its mirror server")
                continue
            port = free_port()
            argv = [WEBSOCAT4, "-t", f"ws-l:127.0.0.1:{port}", "mirror:"]
            label = f"websocat {version([WEBSOCAT4, '--version']).split()[-1]} mirror (`websocat4 -t ws-l:127.0.0.1:PORT mirror:`)"
            servers.append(Server("websocat4", label, argv, port))
        elif name == "node":
            servers.append(Server("node", f"Node ws {ws_version()} (bench/echo-server.js)", ["node", "echo-server.js"]))
        elif name == "websocat":
            if not WEBSOCAT:
                log("websocat is not installed: skipping its mirror server")
                continue
            port = free_port()
            argv = [WEBSOCAT, "-t", "-B", WEBSOCAT_BUF, f"ws-l:127.0.0.1:{port}", "mirror:"]
            label = f"websocat {version([WEBSOCAT, '--version']).split()[-1]} mirror (`websocat -t -B {WEBSOCAT_BUF} ws-l:127.0.0.1:PORT mirror:`)"
            servers.append(Server("websocat", label, argv, port))
        else:
            raise SystemExit(f"BENCH_SERVERS: unknown server {name!r} (listen, node, websocat, websocat4)")
    return servers


def start_compress_server():
    """The compressing echo server of the compressed row (BENCH_COMPRESS_SERVER)."""
    if COMPRESS_SERVER == "aiohttp":
        label = (f"Python aiohttp {py_version('aiohttp')} (bench/py-echo-server.py; "
                 f"permessage-deflate accepted by default, every echo compressed)")
        return Server("deflate", label, [PYTHON, "py-echo-server.py"])
    if COMPRESS_SERVER == "node":
        label = (f"Node ws {ws_version()} (`bench/echo-server.js --deflate`: perMessageDeflate, "
                 f"threshold 0, every echo compressed)")
        return Server("deflate", label, ["node", "echo-server.js", "--deflate"])
    raise SystemExit(f"BENCH_COMPRESS_SERVER: unknown server {COMPRESS_SERVER!r} (aiohttp, node)")


def py_version(module):
    """The version of a package in PYTHON's environment, or '?'."""
    return version([PYTHON, "-c", f"import importlib.metadata as m; print(m.version({module!r}))"])


def cpu_seconds(pid):
    """User + system CPU seconds of a running process (all its threads), or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def ws_version():
    try:
        with open(os.path.join(HERE, "node_modules", "ws", "package.json")) as f:
            return json.load(f)["version"]
    except OSError:
        return "?"


# ---------------------------------------------------------------- clients


def client_argv(client, workload, port):
    url = f"ws://127.0.0.1:{port}/"
    if workload in ("compressed", "compressed_check"):
        # Each stdin line sent as a text message, compressed; each echo printed as a line.
        if client == "wsdbg":
            if workload == "compressed_check":
                return [WSDBG, "--compress", "--json", url]
            return [WSDBG, "--compress", "-o", "payload", url]
        if client == "python":
            return [PYTHON, os.path.join(HERE, "py-client.py"), url]
        if client == "node":
            return ["node", os.path.join(HERE, "node-client.js"), url]
        raise SystemExit(f"BENCH_COMPRESS_CLIENTS: unknown client {client!r} (python, node)")
    if client == "c":
        # Each stdin line one masked text message; each echo's payload and a newline.
        # --close-at-eof: the close goes at the end of stdin, as websocat's does (wsdbg
        # lingers: one reply per message, then 10 ms of quiet); these servers echo
        # everything first (checked). Waiting for the echoes instead leaves websocat 1.14's
        # mirror stalled in the middle of the 16 MiB echo (bench/c-client.c).
        return [C_CLIENT, "--close-at-eof", url]
    if client == "wsdbg":
        if workload == "throughput_json":
            # One JSON object per frame and per message, both directions.
            return [WSDBG, "--json", url]
        if workload in ("throughput_l0", "bulk_l0"):
            # --linger 0: the close goes at the end of input, as the C client's
            # --close-at-eof (the server's echoes still come before its close reply).
            return [WSDBG, "-o", "payload", "--linger", "0", url]
        # -o payload: each received message's payload and a newline, nothing else.
        return [WSDBG, "-o", "payload", url]
    # websocat: -t sends each stdin line as a text message and prints each received
    # message as a line; on EOF it sends a close and still prints what comes back.
    argv = [WEBSOCAT, "-t"]
    if workload == "bulk":
        argv += ["-B", WEBSOCAT_BUF]
    return argv + [url]


def shown(argv, stdin_path):
    return f"cat {shlex.quote(os.path.relpath(stdin_path, ROOT))} | " + " ".join(
        shlex.quote(a) for a in argv
    )


class RunError(Exception):
    pass


GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def run_client(argv, stdin_path, expect_path, tag, rss=False, keep_stdout=False):
    """Spawn the client with `cat stdin_path` piped in; wall seconds, peak RSS (KiB) and
    CPU seconds (user + system, the client and its threads).

    Peak RSS and CPU come from GNU time (`/usr/bin/time -f '%M %U %S'`): the rusage of a
    child forked from this Python process would count this process's own pages (Linux
    carries the pre-exec high-water mark over exec), GNU time's fork is small. None
    without `rss` or without GNU time. Raises RunError when the client times out, exits
    non-zero, or prints anything but its input.
    """
    out_path = os.path.join(OUT, f"{tag}.stdout")
    err_path = os.path.join(OUT, f"{tag}.stderr")
    rss_path = os.path.join(OUT, f"{tag}.rss")
    cmd = shown(argv, stdin_path)
    if rss and GNU_TIME:
        argv = [GNU_TIME, "-f", "%M %U %S", "-o", rss_path] + argv
    r, w = os.pipe()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=r, stdout=out, stderr=err, start_new_session=True)
        cat = subprocess.Popen(["cat", stdin_path], stdout=w)
        os.close(r)
        os.close(w)
        timed_out = []

        def kill():
            timed_out.append(True)
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass

        timer = threading.Timer(TIMEOUT, kill)
        timer.start()
        _, status, _ = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        cat.wait()
    peak = cpu = None
    if rss and GNU_TIME:
        try:
            with open(rss_path) as f:
                # "Command exited with non-zero status N" or "... terminated by signal N"
                # may come first; the numbers are on the last line.
                kib, user, system = f.read().splitlines()[-1].split()
            peak, cpu = int(kib), float(user) + float(system)
            os.unlink(rss_path)
        except (OSError, ValueError, IndexError):
            peak = cpu = None
    if timed_out:
        raise RunError(f"timed out after {TIMEOUT}s (killed): {cmd}{stderr_tail(err_path)}")
    if proc.returncode != 0:
        raise RunError(f"exit status {proc.returncode}: {cmd}{stderr_tail(err_path)}")
    problem = compare_json(out_path, expect_path) if "--json" in argv else compare(out_path, expect_path)
    if problem:
        raise RunError(f"{problem}: {cmd}{stderr_tail(err_path)}")
    if not keep_stdout:
        os.unlink(out_path)
    if os.path.getsize(err_path) == 0:
        os.unlink(err_path)
    return wall, peak, cpu


def stderr_tail(path, n=5):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode(errors="replace").splitlines()
    except OSError:
        return ""
    return ("\n      stderr: " + "\n      stderr: ".join(lines[-n:])) if lines else ""


def compare_json(got_path, want_path):
    """--json output: the `text` of the received `message` events, in order, must be
    the input lines; every line must be a JSON object."""
    texts = []
    with open(got_path, "rb") as f:
        for n, line in enumerate(f, 1):
            try:
                ev = json.loads(line)
            except ValueError:
                return f"stdout line {n} is not JSON"
            if ev.get("event") == "message" and ev.get("dir") == "in":
                texts.append(ev.get("text", ""))
    with open(want_path, "rb") as f:
        want = f.read().decode().splitlines()
    if texts == want:
        return None
    if len(texts) != len(want):
        return f"{len(texts)} message events in, expected {len(want)}"
    at = next(i for i, (a, b) in enumerate(zip(texts, want)) if a != b)
    return f"message {at + 1} differs from input line {at + 1}"


def compare(got_path, want_path):
    """None when the files are equal, else what is wrong (lines lost, bytes differing)."""
    with open(got_path, "rb") as f:
        got = f.read()
    with open(want_path, "rb") as f:
        want = f.read()
    if got == want:
        return None
    gl, wl = got.count(b"\n"), want.count(b"\n")
    if gl != wl:
        if gl < wl:
            lost = wl - gl
            return f"stdout has {gl} lines, expected {wl} ({lost} echo{'' if lost == 1 else 'es'} lost)"
        return f"stdout has {gl} lines, expected {wl}"
    at = next(i for i, (a, b) in enumerate(zip(got, want)) if a != b) if len(got) == len(want) else min(len(got), len(want))
    return f"stdout differs from the input at byte {at} ({len(got)} bytes, expected {len(want)})"


# ---------------------------------------------------------------- TCP ceiling


def tcp_echo_roundtrip(port, data):
    """Send `data` through the TCP echo and read it all back; seconds from connect."""
    t0 = time.perf_counter()
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send():
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)

    sender = threading.Thread(target=send)
    sender.start()
    got = bytearray()
    while True:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        got += chunk
    wall = time.perf_counter() - t0
    sender.join()
    s.close()
    if got != data:
        raise RunError(f"TCP echo returned {len(got)} bytes, expected {len(data)}")
    return wall


def tcp_oneshot(port, data):
    """Connect, one line there and back, close: seconds."""
    t0 = time.perf_counter()
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(data)
    got = b""
    while len(got) < len(data):
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    s.close()
    wall = time.perf_counter() - t0
    if got != data:
        raise RunError(f"TCP echo returned {got!r}, expected {data!r}")
    return wall


# ---------------------------------------------------------------- driver


def median(xs):
    return statistics.median(xs) if xs else None


class Results:
    def __init__(self):
        # samples[server][workload][client] = [(wall s, peak RSS KiB, client CPU s,
        # server CPU s), ...]; RSS and CPU None when not measured (one-shot, TCP ceiling)
        self.samples = {}
        self.errors = []  # (server, workload, client, message)
        # compressed row: what the compression check saw, per client
        self.compress_check = {}

    def add(self, server, workload, client, sample):
        self.samples.setdefault(server, {}).setdefault(workload, {}).setdefault(client, []).append(sample)

    def get(self, server, workload, client):
        return self.samples.get(server, {}).get(workload, {}).get(client, [])


def accept_key(key):
    return base64.b64encode(hashlib.sha1(key.encode() + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest()).decode()


def ws_client_socket(port, timeout=10):
    """A raw socket with the WebSocket opening handshake done (101 checked)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               f"Sec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            raise RunError(f"connection closed during the handshake after {head[:200]!r}")
        head += chunk
    status = head.split(b"\r\n", 1)[0]
    if b" 101 " not in status + b" ":
        raise RunError(f"handshake refused: {status!r}")
    if accept_key(key).encode() not in head:
        raise RunError("wrong Sec-WebSocket-Accept in the answer")
    return s


class IdleClients:
    """N WebSocket connections to the server, handshake done, then idle (nothing sent)
    for as long as the block runs; each must still be open at the end."""

    def __init__(self, port, n):
        self.port, self.n, self.socks = port, n, []

    def __enter__(self):
        for _ in range(self.n):
            s = ws_client_socket(self.port)
            s.setblocking(False)
            self.socks.append(s)
        return self

    def check(self):
        """How many of the idle connections the server closed meanwhile."""
        gone = 0
        for s in self.socks:
            try:
                if s.recv(1, socket.MSG_PEEK) == b"":
                    gone += 1
            except BlockingIOError:
                pass
            except OSError:
                gone += 1
        return gone

    def __exit__(self, *exc):
        for s in self.socks:
            s.close()
        self.socks = []


def run_workload(res, server, clients, workload, inputs, runs, idle=0):
    if idle:
        try:
            with IdleClients(server.port, idle) as held:
                log(f"  {idle:,} idle clients connected to {server.name}")
                run_workload(res, server, clients, workload, inputs, runs)
                gone = held.check()
                if gone:
                    res.errors.append((server.name, workload, "idle",
                                       f"{gone} of the {idle:,} idle clients were disconnected"))
        except (OSError, RunError) as e:
            res.errors.append((server.name, workload, "idle", f"idle clients: {e}"))
            log(f"  ERROR idle clients on {server.name}: {e}")
        return
    stdin_path = inputs[workload]
    for client in clients:  # warm-up: page cache, binaries, server JIT
        try:
            run_client(client_argv(client, workload, server.port), stdin_path, stdin_path,
                       f"{server.name}-{workload}-{client}-warmup")
        except RunError as e:
            res.errors.append((server.name, workload, client, f"warm-up run: {e}"))
    for i in range(runs):
        order = clients if i % 2 == 0 else list(reversed(clients))
        for client in order:
            if not server.alive():
                raise SystemExit(f"the {server.name} echo server died (see bench/out/server-{server.name}.log)")
            argv = client_argv(client, workload, server.port)
            try:
                cpu0 = cpu_seconds(server.proc.pid)
                wall, peak, cpu = run_client(argv, stdin_path, stdin_path, f"{server.name}-{workload}-{client}-{i}",
                                             rss=workload != "oneshot")
                cpu1 = cpu_seconds(server.proc.pid)
                server_cpu = cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None
                # (wall s, client peak RSS KiB, client CPU s, server CPU s during the run)
                res.add(server.name, workload, client, (wall, peak, cpu, server_cpu))
            except RunError as e:
                res.errors.append((server.name, workload, client, str(e)))
                log(f"  ERROR {client} {workload} run {i + 1}: {e}")
        log(f"  {workload} {i + 1}/{runs} " + "  ".join(
            f"{c}={res.get(server.name, workload, c)[-1][0]:.3f}s" for c in clients if res.get(server.name, workload, c)))


class CountingProxy:
    """A TCP relay on 127.0.0.1 for one connection, counting the bytes each way."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.up = self.down = 0  # client to server, server to client
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.listener.settimeout(30)  # a client that never connects: give up
        try:
            client, _ = self.listener.accept()
        except OSError:
            return
        client.settimeout(None)
        server = socket.create_connection(("127.0.0.1", self.upstream_port))
        for s in (client, server):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def pump(src, dst, attr):
            while True:
                try:
                    chunk = src.recv(1 << 16)
                except OSError:
                    chunk = b""
                if not chunk:
                    break
                setattr(self, attr, getattr(self, attr) + len(chunk))
                try:
                    dst.sendall(chunk)
                except OSError:
                    break
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

        t = threading.Thread(target=pump, args=(server, client, "down"))
        t.start()
        pump(client, server, "up")
        t.join()
        client.close()
        server.close()

    def close(self):
        self.thread.join(TIMEOUT)
        self.listener.close()


def check_compression(res, server, clients, inputs):
    """Before the compressed row is timed: does each side really compress?

    1. wsdbg --compress --json on the first COMPRESS_CHECK messages: the handshake must
       name permessage-deflate, and every `message` event, out (wsdbg compressed it) and
       in (the server compressed its echo), must say `compressed: true`.
    2. Each client through a counting relay, the same messages: the bytes on the wire
       each way against the payload bytes (uncompressed, the ratio would be just above 1).
    A check that fails is an error (the run exits 1); the timed runs still happen.
    """
    check = inputs["compressed_check"]
    with open(check, "rb") as f:
        data = f.read()
    payload = len(data) - data.count(b"\n")
    nmsg = data.count(b"\n")

    def fail(client, msg):
        res.errors.append((server.name, "compressed check", client, msg))
        log(f"  ERROR compression check, {client}: {msg}")

    tag = f"{server.name}-compressed-check-wsdbg-json"
    try:
        run_client(client_argv("wsdbg", "compressed_check", server.port), check, check, tag, keep_stdout=True)
        ext, counts = None, {"out": [0, 0, 0, 0], "in": [0, 0, 0, 0]}  # messages, compressed, len, wire_len
        out_path = os.path.join(OUT, f"{tag}.stdout")
        with open(out_path, "rb") as f:
            for line in f:
                ev = json.loads(line)
                if ev.get("event") == "handshake":
                    ext = ev.get("extensions")
                elif ev.get("event") == "message" and ev.get("dir") in counts:
                    c = counts[ev["dir"]]
                    c[0] += 1
                    c[1] += ev.get("compressed") is True
                    c[2] += ev.get("len", 0)
                    c[3] += ev.get("wire_len", 0)
        os.unlink(out_path)
        res.compress_check["wsdbg --json"] = {"extensions": ext, "out": counts["out"], "in": counts["in"]}
        if not ext or ext[0].get("name") != "permessage-deflate":
            fail("wsdbg", f"handshake extensions {ext!r}: permessage-deflate not negotiated")
        for d, who in (("out", "wsdbg"), ("in", "the server")):
            m, comp = counts[d][:2]
            if m != nmsg or comp != m:
                fail("wsdbg", f"--json: {comp} of {m} messages {d} compressed (by {who}), expected all {nmsg}")
    except (RunError, ValueError) as e:
        fail("wsdbg", f"--json run: {e}")

    for client in clients:
        proxy = CountingProxy(server.port)
        try:
            run_client(client_argv(client, "compressed", proxy.port), check, check,
                       f"{server.name}-compressed-check-{client}")
        except RunError as e:
            fail(client, f"through the counting relay: {e}")
            continue
        finally:
            proxy.close()
        res.compress_check[client] = {"payload": payload, "messages": nmsg, "up": proxy.up, "down": proxy.down}
        for d, n, who in (("client to server", proxy.up, client), ("server to client", proxy.down, "the server")):
            if n > 0.9 * payload:
                fail(client, f"{n} bytes on the wire {d} for {payload} payload bytes: not compressed by {who}")


def run_ceiling(res, tcp_port, inputs):
    data = {w: open(inputs[w], "rb").read() for w in inputs}
    tcp_echo_roundtrip(tcp_port, data["throughput"])  # warm-up
    for _ in range(REPS):
        for w in ("throughput", "bulk"):
            try:
                res.add("tcp", w, "tcp", (tcp_echo_roundtrip(tcp_port, data[w]), None))
            except RunError as e:
                res.errors.append(("tcp", w, "tcp", str(e)))
    for _ in range(ONESHOT_RUNS):
        try:
            res.add("tcp", "oneshot", "tcp", (tcp_oneshot(tcp_port, data["oneshot"]), None))
        except RunError as e:
            res.errors.append(("tcp", "oneshot", "tcp", str(e)))


# ---------------------------------------------------------------- report


def version(argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "?"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def mem_total():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "?"


def fmt_rate(v, unit):
    if v is None:
        return "—"
    return f"{v:,.0f} {unit}" if v >= 100 else f"{v:,.1f} {unit}"


def client_label(c):
    return {
        "wsdbg": "wsdbg `--compress -o payload`",
        "python": f"Python websockets {py_version('websockets')} (`bench/py-client.py`)",
        "node": f"Node ws {ws_version()} (`bench/node-client.js`, perMessageDeflate threshold 0)",
    }.get(c, c)


def compressed_report(res, server):
    """The compressed row's section of the report: one line per client."""
    s, w = server.name, "compressed"
    path = os.path.join(OUT, "json.txt")
    try:
        size = os.path.getsize(path)
        avg = (size - LINES) / LINES
    except (OSError, ZeroDivisionError):
        avg = 0
    L = [f"## Compressed (permessage-deflate): {LINES:,} JSON messages of {avg:.0f} B on average", ""]
    L.append(f"Server: {server.label}. Every message and every echo compressed (checked below); "
             f"each client pipes the lines in and prints every echo, checked against the input "
             f"as in the other rows. websocat "
             f"({version([WEBSOCAT, '--version']).split()[-1] if WEBSOCAT else 'not installed'}) "
             f"is not in this row: it has no permessage-deflate (its `--compress-deflate` "
             f"compresses binary message payloads itself, without negotiation or RSV1). "
             f"CPU = user + system seconds of the client (GNU time) and of the server during "
             f"the run (/proc), medians.")
    L.append("")
    L.append("| client | wall | messages/s | wsdbg / this | peak RSS | client CPU | server CPU |")
    L.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")

    def med(c, i):
        xs = [x[i] for x in res.get(s, w, c) if len(x) > i and x[i] is not None]
        return median(xs)

    base = med("wsdbg", 0)
    for c in COMPRESS_CLIENTS:
        wall = med(c, 0)
        fails = sum(1 for e in res.errors if e[:3] == (s, w, c) and not e[3].startswith("warm-up"))
        warn = f" ⚠ {fails} failed" if fails else ""
        rate = f"{LINES / wall:,.0f} msg/s" if wall else "—"
        ratio = "—" if c == "wsdbg" or not (wall and base) else f"{wall / base:.2f}×"
        rss = med(c, 1)
        ccpu, scpu = med(c, 2), med(c, 3)
        L.append(f"| {client_label(c)} | {f'{wall:.2f} s' if wall else '—'}{warn} | {rate} | {ratio} | "
                 f"{f'{rss / 1024:.1f} MiB' if rss else '—'} | {f'{ccpu:.2f} s' if ccpu is not None else '—'} | "
                 f"{f'{scpu:.2f} s' if scpu is not None else '—'} |")
    L.append("")
    L.append("wsdbg / this: this client's wall time over wsdbg's (above 1: wsdbg is faster).")
    L.append("")
    chk = res.compress_check
    if chk:
        L.append(f"Compression check, first {COMPRESS_CHECK:,} messages:")
        L.append("")
        j = chk.get("wsdbg --json")
        if j:
            ext = j.get("extensions") or []
            params = ", ".join(
                e.get("name", "?") + "".join(f"; {k}" + ("" if v is True else f"={v}")
                                             for k, v in (e.get("params") or {}).items())
                for e in ext) or "none"
            o, i = j["out"], j["in"]
            pct = lambda c: f"{100 * c[3] / c[2]:.0f}%" if c[2] else "—"
            L.append(f"- wsdbg `--compress --json`: negotiated `{params}`; {o[1]:,} of {o[0]:,} messages "
                     f"sent compressed (wire {pct(o)} of the payload), {i[1]:,} of {i[0]:,} echoes "
                     f"received compressed (wire {pct(i)}).")
        for c in COMPRESS_CLIENTS:
            r = chk.get(c)
            if r:
                L.append(f"- {client_label(c)}, bytes on the wire through a counting relay (handshake and "
                         f"frame headers included) for {r['payload']:,} payload bytes: "
                         f"{r['up']:,} to the server ({100 * r['up'] / r['payload']:.0f}%), "
                         f"{r['down']:,} back ({100 * r['down'] / r['payload']:.0f}%).")
        L.append("")
    return L


def targets_report(res, servers, clients, rate_tp, rate_bulk, ms, mib):
    """Issue 22's targets, each as a ratio from this run (or why it is not measured)."""
    names = [sv.name for sv in servers]
    L = ["## Issue 22 targets", ""]
    L.append("| target | measured | met |")
    L.append("| --- | --- | :---: |")

    def line(target, value, ok):
        L.append(f"| {target} | {value} | {'—' if ok is None else 'yes' if ok else '**no**'} |")

    def q(a, b):
        return a / b if a is not None and b else None

    if "listen" in names and "c" in clients:
        r = q(rate_tp("listen", "throughput", "wsdbg"), rate_tp("listen", "throughput", "c"))
        line("throughput against wsdbg listen: wsdbg `-o payload` ≥ 0.9× the C client",
             f"{r:.2f}×" if r else "—", r >= 0.9 if r else None)
        r = q(rate_tp("listen", "throughput_l0", "wsdbg"), rate_tp("listen", "throughput", "c"))
        line("the same, both closing at the end of input (wsdbg `--linger 0`)",
             f"{r:.2f}×" if r else "—", r >= 0.9 if r else None)
    else:
        line("throughput against wsdbg listen: wsdbg `-o payload` ≥ 0.9× the C client",
             "not measured (needs the listen server and the C client)", None)
    for sv in names:
        r = q(rate_tp(sv, "throughput_json", "wsdbg"), rate_tp(sv, "throughput", "wsdbg"))
        if sv == "listen" or r is not None:
            line(f"`--json` ≥ 0.8× payload mode ({sv})", f"{r:.2f}×" if r else "—",
                 (r >= 0.8 if r else None) if sv == "listen" else None)
    bulk_target = "websocat4" if "websocat4" in names else None
    for sv in names:
        if "c" not in clients:
            break
        r = q(rate_bulk(sv, "bulk", "wsdbg"), rate_bulk(sv, "bulk", "c"))
        r0 = q(rate_bulk(sv, "bulk_l0", "wsdbg"), rate_bulk(sv, "bulk", "c"))
        which = "" if sv == bulk_target else ", not the target's websocat 4 mirror"
        line(f"bulk {BULK_MIB} MiB: wsdbg ≥ 0.8× the C client ({sv}{which})",
             f"{r:.2f}×" if r else "—", (r >= 0.8 if r else None))
        if r0 is not None:
            line(f"the same, both closing at the end of input (wsdbg `--linger 0`, {sv})",
                 f"{r0:.2f}×", r0 >= 0.8)
    limit = BULK_MIB + 8
    for sv in names:
        m = mib(sv, "bulk", "wsdbg")
        if m is not None:
            line(f"bulk peak RSS ≤ one copy of the message + 8 MiB = {limit} MiB ({sv})",
                 f"{m:.1f} MiB", m <= limit)
    if "websocat" in clients:
        for sv in names:
            r = q(ms(sv, "oneshot", "wsdbg"), ms(sv, "oneshot", "websocat"))
            if r is not None:
                line(f"one-shot ≤ 0.5× websocat's time ({sv})", f"{r:.2f}×", r <= 0.5)
    cl = rate_tp("listen", "throughput_idle", "c") if "listen" in names else None
    w4 = rate_tp("websocat4", "throughput_idle", "c") if "websocat4" in names else None
    w1 = rate_tp("websocat", "throughput_idle", "c") if "websocat" in names else None
    target = f"listen as echo ≥ 5× websocat 4's mirror to the C client, {IDLE:,} idle clients connected"
    if cl and w4:
        line(target, f"{cl / w4:.2f}× ({fmt_rate(cl, 'msg/s')} / {fmt_rate(w4, 'msg/s')})", cl / w4 >= 5)
    elif cl and w1:
        line(target, f"websocat 4 is not installed; listen / websocat "
                     f"{version([WEBSOCAT, '--version']).split()[-1]} mirror: {cl / w1:.2f}×", None)
    else:
        line(target, "not measured (needs the C client, the listen server and websocat 4's mirror; "
                     "BENCH_IDLE=0 skips it)", None)
    L.append("")
    if bulk_target is None:
        L.append("The bulk target names websocat 4's mirror, which is not installed here "
                 "(`websocat4` on PATH or in ~/.cargo/bin, or WEBSOCAT4): its rows above are "
                 "against the other servers, for what they show.")
        L.append("")
    return L


def report(res, servers, clients, cserver=None):
    bulk_bytes = BULK_MIB * 1024 * 1024
    L = []
    L.append("# wsdbg benchmark")
    L.append("")
    L.append(f"- date: {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}")
    L.append(f"- machine: {cpu_model()}, {os.cpu_count()} CPUs (nproc), {mem_total()} RAM, "
             f"Linux {platform.release()}, {platform.libc_ver()[0]} {platform.libc_ver()[1]}")
    rev = version(["git", "-C", ROOT, "describe", "--always", "--dirty"])
    if WSDBG.startswith(ROOT):
        L.append(f"- wsdbg: {version([WSDBG, '--version'])} ({os.path.relpath(WSDBG, ROOT)}, source at {rev})")
    else:
        L.append(f"- wsdbg: {version([WSDBG, '--version'])} ({WSDBG}, built outside this tree, "
                 f"modified {datetime.datetime.fromtimestamp(os.path.getmtime(WSDBG)).astimezone().strftime('%Y-%m-%d %H:%M %Z')}; "
                 f"bench/ at {rev})")
    L.append(f"- websocat: {version([WEBSOCAT, '--version']) if WEBSOCAT else 'not installed (`cargo install websocat`): its columns are skipped'}")
    L.append(f"- websocat 4: {version([WEBSOCAT4, '--version']) if WEBSOCAT4 else 'not installed (no websocat4 on PATH or in ~/.cargo/bin): no websocat 4 mirror server'}")
    L.append(f"- C client: {os.path.relpath(C_CLIENT, ROOT) if C_CLIENT.startswith(ROOT) else C_CLIENT} "
             f"({'from bench/c-client.c, ' + version(['cc', '--version']) if HAVE_C else 'not built (bench/run.sh compiles it when cc is there): its columns are skipped'})")
    L.append(f"- node: {version(['node', '--version'])}, ws {ws_version()}")
    if os.environ.get("GLIBC_TUNABLES"):
        L.append(f"- GLIBC_TUNABLES={os.environ['GLIBC_TUNABLES']}")
    L.append(f"- repetitions: {REPS} (throughput, bulk), {ONESHOT_RUNS} (one-shot), clients alternating; "
             f"medians shown, (min–max) below them in the raw samples")
    L.append("")
    L.append(f"Workloads: **throughput** = {LINES:,} lines of {LINE_PAYLOAD} bytes piped in, every echo "
             f"checked on stdout (messages/s); **bulk** = one {BULK_MIB} MiB text message in and back, "
             f"checked byte for byte (MB/s = 10^6 payload bytes per second, one direction); "
             f"**one-shot** = connect, handshake, one message, its echo, close, exit (wall ms). "
             f"Wall time is from spawning the client to reaping it (process start, TCP connect, "
             f"handshake and closing handshake included). The TCP ceiling sends the same bytes "
             f"through a plain Node TCP echo from inside the driver (no process start, no WebSocket). "
             f"Throughput and bulk runs go through GNU time for the peak RSS (its fork and exec, "
             f"about a millisecond, are in their wall time); one-shot runs are spawned directly.")
    if not GNU_TIME:
        L.append("")
        L.append("Peak RSS not measured: /usr/bin/time is missing (Debian: `apt-get install time`).")
    L.append("")
    has_ws = "websocat" in clients
    has_c = "c" in clients

    def wall_med(server, w, c):
        return median([s[0] for s in res.get(server, w, c)])

    def rss_med(server, w, c):
        return median([s[1] for s in res.get(server, w, c) if s[1] is not None])

    def nfail(server, w, c):
        return sum(1 for e in res.errors if e[:3] == (server, w, c) and not e[3].startswith("warm-up"))

    def cell(v, server, w, c, kind):
        fails = nfail(server, w, c)
        txt = "—" if v is None else kind(v)
        if fails:
            txt += f" ⚠ {fails} failed"
        return txt

    rate_tp = lambda srv, w, c: (LINES / m) if (m := wall_med(srv, w, c)) else None
    rate_bulk = lambda srv, w, c: (bulk_bytes / 1e6 / m) if (m := wall_med(srv, w, c)) else None
    ms = lambda srv, w, c: (m * 1000) if (m := wall_med(srv, w, c)) else None
    mib = lambda srv, w, c: (r / 1024) if (r := rss_med(srv, w, c)) else None
    msgs = lambda v: fmt_rate(v, "msg/s")
    mbs = lambda v: fmt_rate(v, "MB/s")

    def ratio(a, b):
        return f"{a / b:.2f}×" if a is not None and b else "—"

    # Every client on every server, and how far each is from the C client there: the
    # ceiling each number was measured against.
    if servers:
        L.append("## Summary: each client against each server (the C client is the yardstick)")
        L.append("")
        L.append("Medians; in brackets the ratio to the C client on the same server (for rows "
                 "1a, 1b and 2a: to the C client's row 1 or 2). A server that is the bottleneck "
                 "(Node `ws`) squeezes every client to the same rate; `wsdbg listen` is the "
                 "fastest echo here, so its column shows what each client costs. Rows 1 and 2: "
                 "wsdbg as a user runs it, lingering at the end of input until every message had "
                 "a reply and 10 ms passed quietly (the contract's rule; about 10 ms of each "
                 "run); rows 1a and 2a: `--linger 0`, the close sent at the end of input as the "
                 "C client's `--close-at-eof` does (every echo still arrives before the server's "
                 "close reply, and is checked). Row 1c: the C client's run of row 1 while "
                 f"{IDLE:,} other WebSocket connections to the same server are open and idle.")
        L.append("")
        L.append("| workload, client | " + " | ".join(sv.name for sv in servers) + " |")
        L.append("| --- |" + " ---: |" * len(servers))
        lines = [
            ("1. throughput, wsdbg `-o payload`", "throughput", "wsdbg", rate_tp, msgs, "throughput"),
            ("1a. throughput, wsdbg `-o payload --linger 0`", "throughput_l0", "wsdbg", rate_tp, msgs, "throughput"),
            ("1b. throughput, wsdbg `--json`", "throughput_json", "wsdbg", rate_tp, msgs, "throughput"),
            ("1. throughput, websocat `-t`", "throughput", "websocat", rate_tp, msgs, "throughput"),
            ("1. throughput, C client", "throughput", "c", rate_tp, msgs, None),
            (f"1c. throughput, C client, {IDLE:,} idle clients connected", "throughput_idle", "c", rate_tp, msgs, None),
            ("2. bulk, wsdbg `-o payload`", "bulk", "wsdbg", rate_bulk, mbs, "bulk"),
            ("2a. bulk, wsdbg `-o payload --linger 0`", "bulk_l0", "wsdbg", rate_bulk, mbs, "bulk"),
            ("2. bulk, websocat `-t`", "bulk", "websocat", rate_bulk, mbs, "bulk"),
            ("2. bulk, C client", "bulk", "c", rate_bulk, mbs, None),
        ]
        for name, w, c, value, fmt, cw in lines:
            if c not in clients:
                continue
            cells = []
            for sv in servers:
                v = value(sv.name, w, c)
                txt = cell(v, sv.name, w, c, fmt)
                if cw and has_c and v is not None:
                    txt += f" ({ratio(v, value(sv.name, cw, 'c'))})"
                cells.append(txt)
            L.append(f"| {name} | " + " | ".join(cells) + " |")
        L.append("")

    tcp_tp = wall_med("tcp", "throughput", "tcp")
    tcp_bulk = wall_med("tcp", "bulk", "tcp")
    tcp_one = wall_med("tcp", "oneshot", "tcp")
    for server in servers:
        s = server.name
        L.append(f"## Server: {server.label}")
        L.append("")
        L.append("| metric | wsdbg | websocat | C client | wsdbg / C client | wsdbg / websocat | TCP ceiling |")
        L.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")

        def row(name, w, value, fmt, ceiling, better, cw=None):
            a = value(s, w, "wsdbg")
            b = value(s, w, "websocat") if has_ws else None
            c = value(s, cw or w, "c") if has_c else None
            if not has_c:
                ctxt = "not built"
            elif cw and cw != w:
                ctxt = f"(row 1: {fmt(c)})" if c is not None else "—"
            else:
                ctxt = cell(c, s, w, "c", fmt)
            L.append(f"| {name} | {cell(a, s, w, 'wsdbg', fmt)} | "
                     f"{cell(b, s, w, 'websocat', fmt) if has_ws else 'not installed'} | {ctxt} | "
                     f"{ratio(a, c)} | {ratio(a, b)} ({better}) | {ceiling} |")

        row(f"1. throughput, {LINES:,} × {LINE_PAYLOAD} B", "throughput", rate_tp,
            msgs, fmt_rate(LINES / tcp_tp if tcp_tp else None, "lines/s"), "higher is faster")
        row(f"1b. throughput, wsdbg --json (websocat plain)", "throughput_json", rate_tp,
            msgs, "—", "higher is faster", cw="throughput")
        row(f"2. bulk, 1 × {BULK_MIB} MiB", "bulk", rate_bulk,
            mbs, fmt_rate(bulk_bytes / 1e6 / tcp_bulk if tcp_bulk else None, "MB/s"), "higher is faster")
        row("3. one-shot (wall)", "oneshot", ms,
            lambda v: f"{v:.2f} ms", f"{tcp_one * 1000:.2f} ms" if tcp_one else "—", "lower is faster")
        row("4. peak RSS, throughput", "throughput", mib, lambda v: f"{v:.1f} MiB", "—", "lower is smaller")
        row("4. peak RSS, bulk", "bulk", mib, lambda v: f"{v:.1f} MiB", "—", "lower is smaller")
        L.append("")
        L.append("wsdbg / C client and wsdbg / websocat: for rates above 1 means wsdbg is faster; "
                 "for one-shot and RSS below 1 means wsdbg is faster or smaller.")
        L.append("")

    L.extend(targets_report(res, servers, clients, rate_tp, rate_bulk, ms, mib))

    if cserver is not None:
        L.extend(compressed_report(res, cserver))

    L.append("### Raw samples (wall seconds; min–max)")
    L.append("")
    for server in [sv.name for sv in servers] + (["deflate"] if cserver else []) + ["tcp"]:
        for w in ("throughput", "throughput_l0", "throughput_json", "throughput_idle", "bulk",
                  "bulk_l0", "oneshot", "compressed"):
            for c in (["tcp"] if server == "tcp" else COMPRESS_CLIENTS if server == "deflate" else clients):
                samples = res.get(server, w, c)
                xs = [x[0] for x in samples]
                if not xs:
                    continue
                line = f"- {server} / {w} / {c}: median {median(xs):.4f}, {min(xs):.4f}–{max(xs):.4f} over {len(xs)}"
                rs = [x[1] for x in samples if x[1] is not None]
                if rs:
                    line += f"; peak RSS {min(rs) / 1024:.1f}–{max(rs) / 1024:.1f} MiB"
                for i, who in ((2, "client"), (3, "server")):
                    cs = [x[i] for x in samples if len(x) > i and x[i] is not None]
                    if cs:
                        line += f"; {who} CPU {min(cs):.2f}–{max(cs):.2f} s"
                L.append(line)
    L.append("")
    if res.errors:
        L.append("### Failed runs (not counted)")
        L.append("")
        for server, w, c, msg in res.errors:
            L.append(f"- {server} / {w} / {c}: {msg}")
        L.append("")
    return "\n".join(L)


def main():
    if not os.access(WSDBG, os.X_OK):
        raise SystemExit(f"{WSDBG} not found: run `cargo build --release` (bench/run.sh does)")
    if not os.path.isdir(os.path.join(HERE, "node_modules", "ws")):
        raise SystemExit("bench/node_modules/ws missing: run `npm ci` in bench/ (bench/run.sh does)")
    if COMPRESS and not (os.access(PYTHON, os.X_OK) and subprocess.run(
            [PYTHON, "-c", "import aiohttp, websockets"], capture_output=True).returncode == 0):
        raise SystemExit(f"{PYTHON} with aiohttp and websockets is needed for the compressed row: "
                         f"`python3 -m venv .venv && .venv/bin/pip install aiohttp websockets` "
                         f"(bench/run.sh does), or BENCH_COMPRESS=0 to skip it")
    clients = ["wsdbg"] + (["websocat"] if WEBSOCAT else []) + (["c"] if HAVE_C else [])
    if not WEBSOCAT:
        log("websocat not found (install it with `cargo install websocat`): its columns are skipped")
    if not HAVE_C:
        log(f"{C_CLIENT} missing (bench/run.sh compiles bench/c-client.c with cc): no C client column")
    # The C client's output is that of wsdbg -o payload: it is in workload 1 only, not 1b.
    json_clients = [c for c in clients if c != "c"]
    log(f"making inputs in {os.path.relpath(OUT, ROOT)}/ ...")
    inputs = make_inputs()
    res = Results()
    servers = []
    tcp = None
    try:
        tcp = Server("tcp", "Node TCP echo (bench/tcp-echo.js)", ["node", "tcp-echo.js"])
        servers = start_servers()
        for server in servers:
            log(f"server {server.label} on port {server.port}")
            run_workload(res, server, clients, "throughput", inputs, REPS)
            run_workload(res, server, ["wsdbg"], "throughput_l0", inputs, REPS)
            run_workload(res, server, json_clients, "throughput_json", inputs, REPS)
            run_workload(res, server, clients, "bulk", inputs, REPS)
            run_workload(res, server, ["wsdbg"], "bulk_l0", inputs, REPS)
            run_workload(res, server, clients, "oneshot", inputs, ONESHOT_RUNS)
            if HAVE_C and IDLE and server.name in ("listen", "websocat4", "websocat"):
                run_workload(res, server, ["c"], "throughput_idle", inputs, REPS, idle=IDLE)
        if COMPRESS:
            cserver = start_compress_server()
            servers.append(cserver)
            log(f"compressing server {cserver.label} on port {cserver.port}")
            log(f"  checking compression on {COMPRESS_CHECK:,} messages ...")
            check_compression(res, cserver, COMPRESS_CLIENTS, inputs)
            run_workload(res, cserver, COMPRESS_CLIENTS, "compressed", inputs, REPS)
        log("TCP ceiling ...")
        run_ceiling(res, tcp.port, inputs)
    finally:
        for s in servers + ([tcp] if tcp else []):
            s.stop()
    text = report(res, [s for s in servers if s.name != "deflate"], clients,
                  next((s for s in servers if s.name == "deflate"), None))
    with open(os.path.join(OUT, "results.md"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump({"samples": res.samples, "errors": res.errors}, f, indent=1)
    print(text)
    if res.errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
