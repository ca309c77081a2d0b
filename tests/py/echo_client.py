"""A Python `websockets` client for wsdbg's interop tests: it sends messages to an echo
server (`wsdbg listen`) and checks that each echo comes back equal.

    echo_client.py URL [--compress | --no-compress] [--count N]

--compress (the default) is how a websockets client ships: it offers permessage-deflate
(`permessage-deflate; server_max_window_bits=12; client_max_window_bits=12`, or so);
--no-compress offers no extension. It sends N messages (default 20) one at a time,
alternating a JSON-like text of about 200 bytes and a binary one of 256 bytes, and reads
each echo before sending the next; then it closes with 1000.

Prints one JSON object on stdout:
    {"extensions": the Sec-WebSocket-Extensions of the response or null,
     "sent": N, "equal": how many echoes were equal to what was sent,
     "mismatches": [the first few differences], "close_code": the close code received}
Exits 0 when every echo was equal, 1 otherwise; an exception exits 2 (with the JSON
object's "error" saying what). Every wait is bounded (10 s).
"""

import argparse
import json
import sys

from websockets.sync.client import connect

TIMEOUT_S = 10


def message(i: int):
    if i % 2 == 0:
        text = json.dumps(
            {
                "id": i,
                "kind": "order",
                "customer": {"name": f"customer {i % 7}", "country": "NL"},
                "items": [{"sku": f"sku-{i * 37 % 1000:04}", "qty": i % 5 + 1}],
                "note": "the quick brown fox jumps over the lazy dog",
            }
        )
        return text
    return bytes((i * 7 + k * 13) % 256 for k in range(256))


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("url")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--compress", dest="compress", action="store_true", default=True)
    g.add_argument("--no-compress", dest="compress", action="store_false")
    p.add_argument("--count", type=int, default=20)
    args = p.parse_args()
    out = {"extensions": None, "sent": 0, "equal": 0, "mismatches": [], "close_code": None}
    try:
        with connect(
            args.url,
            compression="deflate" if args.compress else None,
            open_timeout=TIMEOUT_S,
            close_timeout=TIMEOUT_S,
            ping_interval=None,
            max_size=1 << 24,
        ) as ws:
            out["extensions"] = ws.response.headers.get("Sec-WebSocket-Extensions")
            for i in range(args.count):
                sent = message(i)
                ws.send(sent)
                out["sent"] += 1
                got = ws.recv(timeout=TIMEOUT_S)
                if got == sent:
                    out["equal"] += 1
                elif len(out["mismatches"]) < 5:
                    out["mismatches"].append({"i": i, "sent": repr(sent)[:80], "got": repr(got)[:80]})
            ws.close(1000)
            out["close_code"] = ws.close_code
    except Exception as e:  # noqa: BLE001 - reported to the test as JSON
        out["error"] = f"{type(e).__name__}: {e}"
        print(json.dumps(out), flush=True)
        return 2
    print(json.dumps(out), flush=True)
    return 0 if out["equal"] == out["sent"] == args.count else 1


if __name__ == "__main__":
    sys.exit(main())
