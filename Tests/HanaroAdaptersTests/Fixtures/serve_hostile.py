#!/usr/bin/env python3
"""Answers that misbehave on purpose, for the adapters' HTTP layer. Standard library only.

Usage:
    python3 serve_hostile.py --port 0 --mode static --file BODY [--content-type TYPE]
    python3 serve_hostile.py --port 0 --mode drip --size N [--content-type TYPE]
    python3 serve_hostile.py --port 0 --mode redirect --location URL [--status 302]

Listens on 127.0.0.1, prints one flushed line `serving at http://127.0.0.1:<port>` on stdout and
serves until killed. Every request, whatever its method and path, is logged on stderr as one line:
`request <METHOD> <path> headers=<comma-separated header names, lowercased>`.

    static    the bytes of BODY, with Content-Length and Date.
    drip      N bytes of "x" announced with Content-Length N, sent one byte a second.
    redirect  STATUS with `Location: URL` and an empty body.
"""

import argparse
import sys
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--mode", choices=("static", "drip", "redirect"), required=True)
    ap.add_argument("--file")
    ap.add_argument("--size", type=int, default=60)
    ap.add_argument("--location")
    ap.add_argument("--status", type=int, default=302)
    ap.add_argument("--content-type", default="application/json")
    args = ap.parse_args()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def answer(self):
            names = ",".join(sorted(k.lower() for k in self.headers.keys()))
            sys.stderr.write("request %s %s headers=%s\n" % (self.command, self.path, names))
            sys.stderr.flush()
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            if args.mode == "redirect":
                self.send_response(args.status)
                self.send_header("Location", args.location)
                self.send_header("Content-Length", "0")
                self.send_header("Date", formatdate(usegmt=True))
                self.end_headers()
                return
            body = open(args.file, "rb").read() if args.mode == "static" else b"x" * args.size
            self.send_response(200)
            self.send_header("Content-Type", args.content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Date", formatdate(usegmt=True))
            self.end_headers()
            if args.mode == "static":
                self.wfile.write(body)
                return
            try:
                for byte in body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(1)
            except (BrokenPipeError, ConnectionResetError):
                pass

        do_GET = do_POST = do_HEAD = answer

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print("serving at http://127.0.0.1:%d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
