#!/usr/bin/env python3
"""Status-port helpers of the fault campaign (stdlib only).

  chaos.py get URL EXPR
      Evaluates EXPR over the node's /status (as `s`; `row(agency)` is that agency's row).
  chaos.py snapshot --nodes a=PORT,b=PORT
      One line per node: programs, referrals, quarantined, digest, ready, and each agency's state.
  chaos.py converge --nodes a=PORT,... --programs N --referrals M [--after EPOCH] [--timeout S]
      Polls every 0.25 s until every node answers, all hold the same digest, exactly N programs
      and M referrals, nothing is pending delivery, and (with --after) every node whose own
      agency is read by an adapter there finished a complete read that began after EPOCH (so the
      last edit made at a simulator before EPOCH is in). Prints one JSON line; exit 0 converged,
      1 not within the timeout (the line then holds the last observation of every node).
  chaos.py wait-row --node PORT --agency X --state S[,S2] [--error REGEX] [--timeout S]
      Waits until the node's row for agency X is in one of the states (and its last_error matches).
  chaos.py watch --nodes a=PORT,... --seconds S [--pids a=PID,...]
      Polls every node's /status once a second for S seconds; prints one JSON line: for each
      node's row of each other node, the states seen, the most consecutive failures, and the
      distinct last_error reasons; how many polls each node missed; whether each pid still runs.
  chaos.py metric --nodes a=PORT,... NAME
      Prints {node: {"labels": value}} for the metric NAME from every node's /metrics.
  chaos.py changed --sockets a=PATH,... KEY...
      Asks every node's admin socket for each program KEY (program/<agency>/<id>) and checks that
      its title carries the simulator's change mark "(변경": a change read by an adapter and then
      lost (by a kill, a fault) shows as a title without it. Prints one JSON line; exit 1 if any
      record is missing or unchanged on any node.
  chaos.py intake --sims a=PORT,... FILE
      FILE holds lines "origin target referral_id"; checks every referral reached its target
      agency's intake (the simulator's /_sim/intake). Prints one JSON line; exit 1 if any is missing.
"""
import argparse
import http.client
import socket
import datetime
import json
import re
import sys
import time
import urllib.request


def fetch(url, path="/status", timeout=3.0):
    try:
        with urllib.request.urlopen(url + path, timeout=timeout) as answer:
            return json.loads(answer.read())
    except Exception:
        return None


def row(status, agency):
    for r in status.get("agencies", []):
        if r.get("agency") == agency:
            return r
    return None


def epoch(value):
    """A status timestamp (ISO 8601 or a number) as seconds since the epoch, or None."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).replace("Z", "+00:00")
    try:
        return datetime.datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def parse_nodes(text):
    nodes = {}
    for part in text.split(","):
        name, port = part.split("=")
        nodes[name] = "http://127.0.0.1:" + port
    return nodes


def summary(name, s):
    if s is None:
        return {"node": name, "reachable": False}
    rep = s.get("replica", {})
    own = row(s, name) or {}
    return {
        "node": name,
        "programs": rep.get("programs"),
        "referrals": rep.get("referrals"),
        "quarantined": rep.get("quarantined"),
        "open_conflicts": rep.get("open_conflicts"),
        "digest": (rep.get("digest") or "")[:16],
        "ready": s.get("ready"),
        "pending": sum((r.get("pending_outbound") or 0) for r in s.get("agencies", [])),
        "own_via": own.get("via"),
        "own_last_success": own.get("last_success_at"),
        "states": {r["agency"]: r.get("state") for r in s.get("agencies", []) if r.get("via") not in (None, "none")},
    }


def cmd_get(args):
    s = fetch(args.url)
    if s is None:
        print("unreachable", file=sys.stderr)
        return 2
    value = eval(args.expr, {"s": s, "row": lambda a: row(s, a)})
    print(json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value)
    return 0


def cmd_snapshot(args):
    for name, url in parse_nodes(args.nodes).items():
        print(json.dumps(summary(name, fetch(url)), ensure_ascii=False))
    return 0


def converged(nodes, statuses, args):
    if any(s is None for s in statuses.values()):
        return False
    digests = {s["replica"]["digest"] for s in statuses.values()}
    if len(digests) != 1:
        return False
    for name, s in statuses.items():
        rep = s["replica"]
        if rep["programs"] != args.programs or rep["referrals"] != args.referrals:
            return False
        if sum((r.get("pending_outbound") or 0) for r in s["agencies"]) != 0:
            return False
        if args.after is not None:
            own = row(s, name) or {}
            if "adapter" in (own.get("via") or ""):
                done = epoch(own.get("last_success_at"))
                if done is None or done < args.after:
                    return False
    return True


def cmd_converge(args):
    nodes = parse_nodes(args.nodes)
    start = time.monotonic()
    statuses = {}
    while True:
        statuses = {name: fetch(url) for name, url in nodes.items()}
        if converged(nodes, statuses, args):
            out = {"converged": True, "seconds": round(time.monotonic() - start, 2),
                   "digest": next(iter(statuses.values()))["replica"]["digest"][:16],
                   "nodes": [summary(n, s) for n, s in statuses.items()]}
            print(json.dumps(out, ensure_ascii=False))
            return 0
        if time.monotonic() - start > args.timeout:
            out = {"converged": False, "seconds": round(time.monotonic() - start, 2),
                   "expected": {"programs": args.programs, "referrals": args.referrals, "after": args.after},
                   "nodes": [summary(n, s) for n, s in statuses.items()]}
            print(json.dumps(out, ensure_ascii=False))
            return 1
        time.sleep(0.25)


def cmd_watch(args):
    nodes = parse_nodes(args.nodes)
    pids = dict(part.split("=") for part in args.pids.split(",")) if args.pids else {}
    seen = {}
    missed = {n: 0 for n in nodes}
    polls = 0
    end = time.monotonic() + args.seconds
    while time.monotonic() < end:
        polls += 1
        for name, url in nodes.items():
            s = fetch(url, timeout=2)
            if s is None:
                missed[name] += 1
                continue
            for r in s.get("agencies", []):
                peer = r.get("agency")
                if peer == name or peer not in nodes:
                    continue
                entry = seen.setdefault(f"{name}>{peer}", {"states": [], "max_failures": 0, "errors": []})
                if r.get("state") not in entry["states"]:
                    entry["states"].append(r.get("state"))
                entry["max_failures"] = max(entry["max_failures"], r.get("consecutive_failures") or 0)
                error = r.get("last_error")
                if error:
                    error = re.sub(r":[0-9]+\)", ":PORT)", error)[:200]
                    if error not in entry["errors"] and len(entry["errors"]) < 4:
                        entry["errors"].append(error)
        time.sleep(1.0)
    alive = {}
    for name, pid in pids.items():
        try:
            with open(f"/proc/{pid}/stat") as f:
                alive[name] = f.read().split(")")[-1].split()[0] not in ("Z", "X")
        except OSError:
            alive[name] = False
    print(json.dumps({"polls": polls, "missed": missed, "alive": alive, "links": seen}, ensure_ascii=False))
    return 0


def cmd_metric(args):
    out = {}
    for name, url in parse_nodes(args.nodes).items():
        values = {}
        try:
            with urllib.request.urlopen(url + "/metrics", timeout=3) as answer:
                for line in answer.read().decode().splitlines():
                    if line.startswith(args.name + "{") or line.startswith(args.name + " "):
                        labels, _, value = line[len(args.name):].rpartition(" ")
                        values[labels or "{}"] = float(value)
        except Exception:  # noqa: BLE001
            values = None
        out[name] = values
    print(json.dumps(out))
    return 0


def cmd_wait_row(args):
    url = "http://127.0.0.1:" + args.node
    states = args.state.split(",")
    start = time.monotonic()
    last = None
    while time.monotonic() - start <= args.timeout:
        s = fetch(url)
        if s is not None:
            last = row(s, args.agency)
            if last and last.get("state") in states and (args.error is None or re.search(args.error, last.get("last_error") or "")):
                print(json.dumps({"ok": True, "seconds": round(time.monotonic() - start, 2), "row": last}, ensure_ascii=False))
                return 0
        time.sleep(0.25)
    print(json.dumps({"ok": False, "row": last}, ensure_ascii=False))
    return 1


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=5.0):
        super().__init__("node", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def admin_get(path, request):
    try:
        conn = UnixHTTPConnection(path)
        conn.request("GET", request)
        answer = conn.getresponse()
        body = answer.read()
        conn.close()
        return answer.status, body
    except Exception as error:  # noqa: BLE001
        return 0, str(error).encode()


def cmd_changed(args):
    sockets = dict(part.split("=", 1) for part in args.sockets.split(","))
    bad = []
    for key in args.keys:
        for node, path in sockets.items():
            code, body = admin_get(path, "/admin/record?key=" + key)
            title = None
            if code == 200:
                try:
                    title = json.loads(body).get("title")
                except ValueError:
                    pass
            if title is None or "(변경" not in title:
                bad.append({"node": node, "key": key, "code": code, "title": title})
    print(json.dumps({"checked": len(args.keys) * len(sockets), "bad": bad}, ensure_ascii=False))
    return 1 if bad else 0


def cmd_intake(args):
    sims = parse_nodes(args.sims)
    intakes = {}
    missing = []
    total = 0
    with open(args.file) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 3:
                continue
            origin, target, rid = parts
            total += 1
            if target not in intakes:
                intakes[target] = fetch(sims[target], "/_sim/intake") or {}
            if rid not in intakes[target]:
                missing.append({"origin": origin, "target": target, "referral": rid})
    print(json.dumps({"referrals": total, "missing": missing}, ensure_ascii=False))
    return 1 if missing else 0


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("get"); p.add_argument("url"); p.add_argument("expr"); p.set_defaults(func=cmd_get)
    p = sub.add_parser("snapshot"); p.add_argument("--nodes", required=True); p.set_defaults(func=cmd_snapshot)
    p = sub.add_parser("converge")
    p.add_argument("--nodes", required=True)
    p.add_argument("--programs", type=int, required=True)
    p.add_argument("--referrals", type=int, required=True)
    p.add_argument("--after", type=float)
    p.add_argument("--timeout", type=float, default=120)
    p.set_defaults(func=cmd_converge)
    p = sub.add_parser("wait-row")
    p.add_argument("--node", required=True); p.add_argument("--agency", required=True)
    p.add_argument("--state", required=True); p.add_argument("--error"); p.add_argument("--timeout", type=float, default=60)
    p.set_defaults(func=cmd_wait_row)
    p = sub.add_parser("watch"); p.add_argument("--nodes", required=True); p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--pids"); p.set_defaults(func=cmd_watch)
    p = sub.add_parser("metric"); p.add_argument("--nodes", required=True); p.add_argument("name")
    p.set_defaults(func=cmd_metric)
    p = sub.add_parser("changed"); p.add_argument("--sockets", required=True); p.add_argument("keys", nargs="*")
    p.set_defaults(func=cmd_changed)
    p = sub.add_parser("intake"); p.add_argument("--sims", required=True); p.add_argument("file")
    p.set_defaults(func=cmd_intake)
    args = parser.parse_args()
    sys.exit(args.func(args))


if __name__ == "__main__":
    main()
