#!/usr/bin/env python3
"""A Standard Webhooks receiver written apart from the node, for tests and the demo.

It verifies every delivery's `v1` signature (HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}"
keyed by the base64-decoded part of the whsec_ secret, per
https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md) and
the timestamp (within 5 minutes), appends one JSON line per delivery to --log, and answers with the
next status of --answers (a file of whitespace-separated codes, consumed one per delivery and
re-read each time, so a test can change it; 200 when empty). With --retry-after, 503 answers carry
that Retry-After value.

    webhook_receiver.py --secret whsec_... --log deliveries.jsonl [--answers answers.txt] [--port-file port.txt]

Prints "listening 127.0.0.1:PORT" once bound (port 0 = the kernel picks; --port-file gets it too).
"""
import argparse, base64, hashlib, hmac, http.server, json, os, signal, sys, threading, time

def main():
    # A parent that ignores SIGTERM (a Swift service does, to handle it itself) passes that on:
    # this receiver must still stop when told to.
    # It may also pass them on blocked (the signal mask survives exec).
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    parser = argparse.ArgumentParser()
    parser.add_argument("--secret", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--answers")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    parser.add_argument("--retry-after")
    args = parser.parse_args()
    if not args.secret.startswith("whsec_"):
        sys.exit("the secret must start with whsec_")
    key = base64.b64decode(args.secret[len("whsec_"):])
    lock = threading.Lock()

    def next_answer():
        if not args.answers or not os.path.exists(args.answers):
            return 200
        with open(args.answers) as f:
            codes = f.read().split()
        if not codes:
            return 200
        with open(args.answers, "w") as f:
            f.write(" ".join(codes[1:]))
        return int(codes[0])

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            wid = self.headers.get("webhook-id", "")
            ts = self.headers.get("webhook-timestamp", "")
            sigs = self.headers.get("webhook-signature", "").split()
            expected = base64.b64encode(hmac.new(key, f"{wid}.{ts}.".encode() + body, hashlib.sha256).digest()).decode()
            v1_ok = any(s.startswith("v1,") and hmac.compare_digest(s[3:], expected) for s in sigs)
            fresh = ts.isdigit() and abs(time.time() - int(ts)) < 300
            with lock:
                status = next_answer() if (v1_ok and fresh) else 401
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = None
                record = {"id": wid, "timestamp": ts, "signature_ok": v1_ok, "fresh": fresh,
                          "has_v1a": any(s.startswith("v1a,") for s in sigs), "answered": status,
                          "received_at": time.time(), "payload": payload, "raw": body.decode("utf-8", "replace")}
                with open(args.log, "a") as f:
                    f.write(json.dumps(record, ensure_ascii=False) + "\n")
            self.send_response(status)
            if status == 503 and args.retry_after:
                self.send_header("Retry-After", args.retry_after)
            self.send_header("content-length", "0")
            self.end_headers()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    port = server.server_address[1]
    if args.port_file:
        with open(args.port_file, "w") as f:
            f.write(str(port))
    print(f"listening 127.0.0.1:{port}", flush=True)
    server.serve_forever()

if __name__ == "__main__":
    main()
