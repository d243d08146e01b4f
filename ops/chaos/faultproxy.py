#!/usr/bin/env python3
"""A TCP fault proxy for the fault campaign (python3 asyncio, stdlib only).

Sits between nodes: point a node's agencies/<peer>.yaml `federation.url` at one of its routes. It
forwards bytes as they are (TLS passes through untouched; the dev certificates name 127.0.0.1, so
host-name checks still pass) and injects the fault selected at runtime on its control port:

  none        forward
  reset       abort the connection with a TCP RST after `bytes` bytes (both directions counted;
              default: a random number in 0..`max` per connection, max default 16384)
  truncate    forward the server's answer up to `bytes` bytes (default random 0..`max` per
              connection, max default 65536), then close both sides cleanly (FIN): a body cut short
  delay       hold every chunk `ms` milliseconds (default 500) plus up to `jitter` ms (default 200)
  blackhole   accept, never forward, never answer (existing connections go silent too)
  duplicate   write every chunk the client sends twice (for TLS: a corrupted record stream)
  replay      forward normally, and mirror every byte the client sends onto a second, parallel
              connection to the server (for TLS: a replayed handshake and replayed records, which
              the server must refuse; the shadow's answers are read and dropped)

Every change of fault aborts the connections in flight (RST), so each phase starts afresh.

  faultproxy.py --control 127.0.0.1:0 --route NAME=LISTEN_HOST:PORT>TARGET_HOST:PORT ...

prints one line once every port listens:

  faultproxy: ready control 127.0.0.1:PORT routes NAME=PORT,NAME=PORT

Control (plain HTTP, GET):
  /set?fault=MODE[&route=NAME|all][&bytes=N][&max=N][&ms=N][&jitter=N]   select a fault
  /clear                                                         fault=none on every route
  /stats                                                         JSON: per route, the fault and counters
"""
import argparse
import asyncio
import json
import random
import socket
import struct
import sys
import urllib.parse

MODES = {"none", "reset", "truncate", "delay", "blackhole", "duplicate", "replay"}


class Route:
    def __init__(self, name, listen, target):
        self.name = name
        self.listen = listen
        self.target = target
        self.fault = {"mode": "none"}
        self.generation = 0
        self.conns = set()
        self.stats = {"connections": 0, "upstream_failures": 0, "bytes_up": 0, "bytes_down": 0,
                      "resets": 0, "truncations": 0, "blackholed": 0, "duplicated_chunks": 0,
                      "replays": 0, "replayed_bytes": 0, "delayed_chunks": 0, "aborted_on_change": 0}
        self.port = None

    def set_fault(self, fault):
        self.fault = fault
        self.generation += 1
        for conn in list(self.conns):
            self.stats["aborted_on_change"] += 1
            conn.abort()


def rst(writer):
    """Closes with a TCP RST (SO_LINGER 0), not a FIN."""
    if writer is None:
        return
    try:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    writer.transport.abort()


class Conn:
    def __init__(self, route, client_reader, client_writer):
        self.route = route
        self.cr, self.cw = client_reader, client_writer
        self.sr = self.sw = None
        self.fault = dict(route.fault)
        self.generation = route.generation
        mode = self.fault["mode"]
        given = self.fault.get("bytes")
        most = int(self.fault.get("max", 16384 if mode == "reset" else 65536))
        self.budget = int(given) if given is not None else random.randint(0, most)
        self.down = 0
        self.shadow = None
        self.closed = False

    def abort(self):
        if self.closed:
            return
        self.closed = True
        rst(self.cw)
        rst(self.sw)
        rst(self.shadow)

    def close(self):
        if self.closed:
            return
        self.closed = True
        for w in (self.cw, self.sw, self.shadow):
            if w is not None:
                try:
                    w.close()
                except Exception:  # noqa: BLE001
                    pass

    async def run(self):
        route = self.route
        route.conns.add(self)
        route.stats["connections"] += 1
        try:
            if self.fault["mode"] == "blackhole":
                route.stats["blackholed"] += 1
                while not self.closed:
                    try:
                        data = await self.cr.read(65536)
                    except Exception:  # noqa: BLE001
                        break
                    if not data:
                        break
                return
            try:
                self.sr, self.sw = await asyncio.wait_for(asyncio.open_connection(*route.target), 5)
            except Exception:  # noqa: BLE001
                route.stats["upstream_failures"] += 1
                self.abort()
                return
            tasks = [self.pump(self.cr, self.sw, up=True), self.pump(self.sr, self.cw, up=False)]
            if self.fault["mode"] == "replay":
                try:
                    shadow_reader, self.shadow = await asyncio.wait_for(asyncio.open_connection(*route.target), 5)
                    route.stats["replays"] += 1
                    tasks.append(drain(shadow_reader))
                except Exception:  # noqa: BLE001
                    self.shadow = None
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            route.conns.discard(self)
            self.close()

    async def pump(self, src, dst, up):
        route, fault, mode = self.route, self.fault, self.fault["mode"]
        while not self.closed:
            try:
                data = await src.read(65536)
            except Exception:  # noqa: BLE001
                data = b""
            if not data or self.closed:
                if not self.closed:
                    try:
                        dst.write_eof()
                    except Exception:  # noqa: BLE001
                        self.close()
                return
            route.stats["bytes_up" if up else "bytes_down"] += len(data)
            if mode == "delay":
                route.stats["delayed_chunks"] += 1
                await asyncio.sleep((int(fault.get("ms", 500)) + random.randint(0, int(fault.get("jitter", 200)))) / 1000)
            elif mode == "reset":
                self.budget -= len(data)
                if self.budget <= 0:
                    keep = len(data) + self.budget
                    if keep > 0:
                        dst.write(data[:keep])
                    route.stats["resets"] += 1
                    self.abort()
                    return
            elif mode == "truncate" and not up:
                if self.down + len(data) >= self.budget:
                    keep = self.budget - self.down
                    if keep > 0:
                        dst.write(data[:keep])
                        try:
                            await dst.drain()
                        except Exception:  # noqa: BLE001
                            pass
                    route.stats["truncations"] += 1
                    self.close()
                    return
                self.down += len(data)
            elif mode == "duplicate" and up:
                route.stats["duplicated_chunks"] += 1
                dst.write(data)
            elif mode == "replay" and up and self.shadow is not None and not self.shadow.is_closing():
                route.stats["replayed_bytes"] += len(data)
                self.shadow.write(data)
            if self.closed:
                return
            dst.write(data)
            try:
                await dst.drain()
            except Exception:  # noqa: BLE001
                self.close()
                return


async def drain(reader):
    """Reads and drops what the server answers on a shadow (replayed) connection."""
    try:
        while await reader.read(65536):
            pass
    except Exception:  # noqa: BLE001
        pass


def parse_hostport(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


async def control(routes, reader, writer):
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        target = head.split(b" ")[1].decode()
        url = urllib.parse.urlsplit(target)
        q = dict(urllib.parse.parse_qsl(url.query))
        code, body = 200, {}
        if url.path == "/set":
            mode = q.get("fault", "none")
            if mode not in MODES:
                code, body = 400, {"error": f"fault must be one of {sorted(MODES)}"}
            else:
                fault = {"mode": mode}
                for k in ("bytes", "max", "ms", "jitter"):
                    if k in q:
                        fault[k] = int(q[k])
                chosen = [r for r in routes.values() if q.get("route", "all") in ("all", r.name)]
                if not chosen:
                    code, body = 404, {"error": "no such route"}
                for r in chosen:
                    r.set_fault(fault)
                body = body or {"ok": True, "routes": [r.name for r in chosen], "fault": fault}
        elif url.path == "/clear":
            for r in routes.values():
                r.set_fault({"mode": "none"})
            body = {"ok": True}
        elif url.path == "/stats":
            body = {r.name: {"fault": r.fault, "open": len(r.conns), **r.stats} for r in routes.values()}
        else:
            code, body = 404, {"error": "use /set, /clear or /stats"}
        data = json.dumps(body).encode()
        writer.write(f"HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode() + data)
        await writer.drain()
    except Exception:  # noqa: BLE001
        pass
    finally:
        writer.close()


async def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--control", default="127.0.0.1:0")
    parser.add_argument("--route", action="append", required=True, help="NAME=LISTEN_HOST:PORT>TARGET_HOST:PORT")
    parser.add_argument("--seed", type=int)
    args = parser.parse_args()
    if args.seed is not None:
        random.seed(args.seed)
    routes = {}
    servers = []
    for spec in args.route:
        name, rest = spec.split("=", 1)
        listen, target = rest.split(">")
        route = Route(name, parse_hostport(listen), parse_hostport(target))
        server = await asyncio.start_server(lambda r, w, route=route: Conn(route, r, w).run(), *route.listen)
        route.port = server.sockets[0].getsockname()[1]
        routes[name] = route
        servers.append(server)
    ctl = await asyncio.start_server(lambda r, w: control(routes, r, w), *parse_hostport(args.control))
    ctl_port = ctl.sockets[0].getsockname()[1]
    print(f"faultproxy: ready control 127.0.0.1:{ctl_port} routes " + ",".join(f"{n}={r.port}" for n, r in routes.items()), flush=True)
    await asyncio.gather(ctl.serve_forever(), *(s.serve_forever() for s in servers))


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
