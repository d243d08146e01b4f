#!/usr/bin/env python3
"""Serve the real-shaped agency fixtures (Fixtures/real/<agency>/) over HTTP.

Standard library only. Written from the fixtures and their manifest.json files alone, without
looking at the Swift client under test.

Usage:
    python3 serve_fixtures.py --agency semas --port 0 [--mode normal|error|ignore-filters|nodata-after-first|overcount]
                              [--fixtures DIR] [--csv-charset CHARSET]

    agency: semas | koreg | kodit | kamco | kinfa | ewpc
    Listens on 127.0.0.1 (port 0: the kernel picks one), prints exactly one flushed line
        serving <agency> fixtures at http://127.0.0.1:<port>
    to stdout, then serves until SIGTERM/SIGINT (exit status 0). One log line per request on stderr.

What is served:
  * Paging agencies (semas koreg kodit kinfa ewpc): ANY path, GET/POST/HEAD. The items of the
    manifest's "page" files (manifest order) are joined and re-sliced to the page the request asks
    for, using the agency's real parameter names:
        semas  startRow / endRow (0-based, endRow exclusive) in the JSON body, or in the query
        koreg, kinfa  pageNo / numOfRows (query)
        kodit  page / perPage (query)
        ewpc   pageNum / pageSize (query)
    Missing parameters default to page 1 and 10 rows (semas startRow 0, endRow startRow+10).
    A non-integer value answers HTTP 400 (text/plain); page < 1 counts as 1 and a size < 1 as the
    default (semas: endRow <= startRow gives an empty list). A semas body that is not a JSON object
    is ignored (query/defaults apply). Other methods get http.server's 501.
    Items are copied as raw text from the fixture files (byte for byte); the envelope is the first
    page file's raw text with only the paging numbers replaced:
        semas  data.default.list, data.default.total, data.default.page.{pageable.offset,
               pageable.pageNumber, pageable.pageSize, totalPages, totalElements, last, size, number,
               first, numberOfElements, empty}
        koreg, kinfa  <items>, <numOfRows>, <pageNo>, <totalCount>
        kodit  data, currentCount, page, perPage, matchCount (totalCount is kept: it is the size of
               the whole unfiltered dataset in the real API)
        ewpc   srchList, scn_cnt, pageNum, pageSize (echoed as strings)
    Past the end: koreg/kinfa answer the manifest's "nodata" file verbatim (resultCode 03, HTTP 200);
    semas/kodit/ewpc answer an empty list with the real total.
    Every other query/body parameter (filters, keys, returnType ...) is ignored.
  * kamco: GET/HEAD /exports/ and /exports/index.html answer exports-index.html; /exports/<name>.csv
    answers that file from the folder, bytes as on disk (404 if it is not there); /exports answers a
    301 to /exports/; every other path 404; POST 405.

Modes:
  normal / ignore-filters  the behaviour above (ignore-filters is an alias).
  error                    every request answers the agency's error fixture with the status and
                           content type its manifest gives (semas error-result-false.json 200,
                           koreg/kinfa error-service-key.xml 200, kodit error-no-key.json 401);
                           ewpc and kamco have none: HTTP 500 with a short text/plain body.
  nodata-after-first       the first page (pageNo/page/pageNum 1, semas startRow 0) as normal, every
                           later page the past-the-end answer even when items remain.
  overcount                as normal, but every stated total (the numbers the envelope reports as
                           the size of the list: data.go.kr totalCount, semas data.default.total
                           and page.totalElements/totalPages, kodit matchCount, ewpc scn_cnt) is 3
                           more than the items there are, as a gateway whose count lags deletions.

Content-Type is the one the manifest lists for the file served (XML pages
application/xml;charset=UTF-8, gateway errors text/xml;charset=UTF-8, semas/kodit application/json,
ewpc application/json;charset=UTF-8, kamco index text/html). The kamco manifest serves the CSV as
plain "text/csv" ON PURPOSE (no charset; the client must know it is CP949); --csv-charset CP949
sends "text/csv; charset=CP949" instead. Every answer has Date (IMF-fixdate) and Content-Length.
"""

import argparse
import json
import math
import os
import re
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

AGENCIES = ("semas", "koreg", "kodit", "kamco", "kinfa", "ewpc")
MODES = ("normal", "error", "ignore-filters", "nodata-after-first", "overcount")
OVERCOUNT = 3
DEFAULT_ROWS = 10


# --------------------------------------------------------------------------- raw JSON spans
# The fixtures are served byte for byte, so JSON is never re-serialised: these helpers find the
# text span of a value (by key path) and of each element of an array, in the raw document.

def _ws(s, i):
    while i < len(s) and s[i] in " \t\r\n":
        i += 1
    return i


def _string_end(s, i):
    # s[i] == '"'; returns the index just past the closing quote
    i += 1
    while True:
        c = s[i]
        if c == "\\":
            i += 2
        elif c == '"':
            return i + 1
        else:
            i += 1


def _value_end(s, i):
    c = s[i]
    if c == '"':
        return _string_end(s, i)
    if c in "{[":
        close = "}" if c == "{" else "]"
        i = _ws(s, i + 1)
        if s[i] == close:
            return i + 1
        while True:
            if c == "{":
                i = _ws(s, _string_end(s, i))
                assert s[i] == ":", "bad JSON object"
                i = _ws(s, i + 1)
            i = _ws(s, _value_end(s, i))
            if s[i] == ",":
                i = _ws(s, i + 1)
            elif s[i] == close:
                return i + 1
            else:
                raise ValueError("bad JSON at %d" % i)
    m = re.compile(r"-?[0-9.eE+\-]+|true|false|null").match(s, i)
    if not m:
        raise ValueError("bad JSON value at %d" % i)
    return m.end()


def json_span(s, path):
    """(start, end) of the value at key path (a list of object keys) in raw JSON text s."""
    i = _ws(s, 0)
    for key in path:
        if s[i] != "{":
            raise KeyError(path)
        i = _ws(s, i + 1)
        while True:
            if s[i] == "}":
                raise KeyError(path)
            kend = _string_end(s, i)
            k = json.loads(s[i:kend])
            i = _ws(s, kend)
            i = _ws(s, i + 1)  # past ':'
            if k == key:
                break
            i = _ws(s, _value_end(s, i))
            if s[i] == ",":
                i = _ws(s, i + 1)
    return i, _value_end(s, i)


def json_array_items(s, path):
    """Raw text of each element of the array at path."""
    start, end = json_span(s, path)
    assert s[start] == "[", "%s is not an array" % (path,)
    out = []
    i = _ws(s, start + 1)
    while s[i] != "]":
        e = _value_end(s, i)
        out.append(s[i:e])
        i = _ws(s, e)
        if s[i] == ",":
            i = _ws(s, i + 1)
    return out


def json_replace(s, replacements):
    """replacements: {tuple(path): raw JSON text}; every path must exist in s."""
    spans = sorted(((json_span(s, list(p)), raw) for p, raw in replacements.items()), reverse=True)
    for (a, b), raw in spans:
        s = s[:a] + raw + s[b:]
    return s


# --------------------------------------------------------------------------- XML (data.go.kr)

ITEM_RE = re.compile(r"<item>.*?</item>", re.S)
ITEMS_RE = re.compile(r"<items>.*?</items>|<items/>", re.S)


def xml_items(s):
    m = ITEMS_RE.search(s)
    return ITEM_RE.findall(m.group(0)) if m else []


def xml_set(s, tag, value):
    new, n = re.subn(r"<%s>[^<]*</%s>" % (tag, tag), "<%s>%s</%s>" % (tag, value, tag), s, count=1)
    if n != 1:
        raise ValueError("no <%s> in envelope" % tag)
    return new


# --------------------------------------------------------------------------- fixtures

class Agency:
    def __init__(self, name, folder, csv_charset=None, overstate=0):
        self.name = name
        self.overstate = overstate
        self.folder = folder
        with open(os.path.join(folder, "manifest.json"), encoding="utf-8") as f:
            self.manifest = json.load(f)
        self.files = self.manifest["files"]
        self.csv_charset = csv_charset
        if name == "kamco":
            return
        pages = [e for e in self.files if e["role"] == "page"]
        if not pages:
            raise SystemExit("no page files in %s manifest" % name)
        self.page_entries = pages
        self.first_text = self.read_text(pages[0]["file"])
        self.first_ctype = pages[0]["response"]["contentType"]
        self.items = []
        for e in pages:
            text = self.read_text(e["file"])
            self.items.extend(xml_items(text) if self.is_xml else json_array_items(text, self.list_path))
        self.nodata = next((e for e in self.files if e["role"] == "nodata"), None)
        self.error = next((e for e in self.files if e["role"] in ("api-error", "gateway-error", "auth-error")), None)
        self._check_totals()

    @property
    def is_xml(self):
        return self.name in ("koreg", "kinfa")

    @property
    def list_path(self):
        return {"semas": ["data", "default", "list"], "kodit": ["data"], "ewpc": ["srchList"]}[self.name]

    def read_bytes(self, fname):
        with open(os.path.join(self.folder, fname), "rb") as f:
            return f.read()

    def read_text(self, fname):
        return self.read_bytes(fname).decode("utf-8")

    def _check_totals(self):
        n = len(self.items)
        t = self.first_text
        if self.is_xml:
            stated = int(re.search(r"<totalCount>(\d+)</totalCount>", t).group(1))
        else:
            key = {"semas": ["data", "default", "total"], "kodit": ["matchCount"], "ewpc": ["scn_cnt"]}[self.name]
            a, b = json_span(t, key)
            stated = int(t[a:b])
        if stated != n:
            sys.stderr.write("warning: %s fixtures state a total of %d but the page files hold %d items; "
                             "serving %d\n" % (self.name, stated, n, n))

    # ---- paging answers: (status, content-type, body bytes)

    def page(self, start, size, page_no):
        """Items [start, start+size) in the agency's envelope. page_no = 1-based page number echoed."""
        chunk = self.items[start:start + size] if size > 0 else []
        total = len(self.items) + self.overstate
        if not chunk:
            return self.past_end(start, size, page_no)
        return self.envelope(chunk, start, size, page_no, total)

    def past_end(self, start, size, page_no):
        if self.is_xml:
            e = self.nodata
            return e["response"]["status"], e["response"]["contentType"], self.read_bytes(e["file"])
        return self.envelope([], start, size, page_no, len(self.items) + self.overstate)

    def envelope(self, chunk, start, size, page_no, total):
        t = self.first_text
        if self.is_xml:
            items = "<items>" + "".join(chunk) + "</items>" if chunk else "<items/>"
            m = ITEMS_RE.search(t)
            t = t[:m.start()] + items + t[m.end():]
            t = xml_set(t, "numOfRows", size)
            t = xml_set(t, "pageNo", page_no)
            t = xml_set(t, "totalCount", total)
        else:
            arr = "[" + ",".join(chunk) + "]"
            if self.name == "semas":
                d = ("data", "default")
                p = d + ("page",)
                pages = int(math.ceil(total / float(size))) if size > 0 else 0
                number = start // size if size > 0 else 0
                b = lambda v: "true" if v else "false"
                t = json_replace(t, {
                    d + ("list",): arr,
                    d + ("total",): str(total),
                    p + ("pageable", "offset"): str(start),
                    p + ("pageable", "pageNumber"): str(number),
                    p + ("pageable", "pageSize"): str(size),
                    p + ("totalPages",): str(pages),
                    p + ("totalElements",): str(total),
                    p + ("last",): b(start + size >= total),
                    p + ("size",): str(size),
                    p + ("number",): str(number),
                    p + ("first",): b(start == 0),
                    p + ("numberOfElements",): str(len(chunk)),
                    p + ("empty",): b(not chunk),
                })
            elif self.name == "kodit":
                t = json_replace(t, {
                    ("data",): arr,
                    ("currentCount",): str(len(chunk)),
                    ("matchCount",): str(total),
                    ("page",): str(page_no),
                    ("perPage",): str(size),
                })
            elif self.name == "ewpc":
                t = json_replace(t, {
                    ("srchList",): arr,
                    ("scn_cnt",): str(total),
                    ("pageNum",): json.dumps(str(page_no)),
                    ("pageSize",): json.dumps(str(size)),
                })
        return 200, self.first_ctype, t.encode("utf-8")

    def error_answer(self):
        if self.error is None:
            return 500, "text/plain; charset=utf-8", b"Internal Server Error (serve_fixtures --mode error)\n"
        e = self.error
        return e["response"]["status"], e["response"]["contentType"], self.read_bytes(e["file"])

    # ---- kamco

    def kamco(self, method, path):
        if method == "POST":
            return 405, "text/plain; charset=utf-8", b"405 Not Allowed\n"
        if path == "/exports":
            return 301, "text/plain; charset=utf-8", b"301 Moved Permanently\n", {"Location": "/exports/"}
        by_role = {e["file"]: e for e in self.files}
        if path in ("/exports/", "/exports/index.html"):
            e = next(e for e in self.files if e["role"] == "index")
            return 200, e["response"]["contentType"], self.read_bytes(e["file"])
        m = re.fullmatch(r"/exports/([A-Za-z0-9_][A-Za-z0-9_.\-]*\.csv)", path)
        if m and os.path.isfile(os.path.join(self.folder, m.group(1))):
            name = m.group(1)
            ctype = by_role.get(name, {}).get("response", {}).get("contentType", "text/csv")
            if self.csv_charset:
                ctype = "text/csv; charset=%s" % self.csv_charset
            return 200, ctype, self.read_bytes(name)
        return 404, "text/plain; charset=utf-8", b"404 Not Found\n"


# --------------------------------------------------------------------------- HTTP

class BadRequest(Exception):
    pass


def make_handler(agency, mode):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "serve_fixtures/1"
        sys_version = ""

        def version_string(self):
            return self.server_version

        def log_message(self, fmt, *args):  # silence the default access log; see _log
            pass

        def log_error(self, fmt, *args):  # requests refused by http.server itself (501, 400, 414...)
            sys.stderr.write("%s %s -> %s\n" % (self.command or "-", getattr(self, "path", "-") or "-",
                                                fmt % args))
            sys.stderr.flush()

        def _log(self, status, extra=""):
            sys.stderr.write("%s %s %s -> %s%s\n" % (self.command, self._path or "/",
                                                     self._query or "-", status, extra))
            sys.stderr.flush()

        def _read_body(self):
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                data = b""
                while True:
                    n = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if n == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return data
                    data += self.rfile.read(n)
                    self.rfile.readline()
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n > 0 else b""

        def _param(self, query, body, name):
            v = None
            if isinstance(body, dict) and name in body:
                v = body[name]
            elif name in query:
                v = query[name][0]
            if v is None or v == "":
                return None
            if isinstance(v, bool):
                raise BadRequest("%s must be an integer" % name)
            try:
                return int(v)
            except (TypeError, ValueError):
                raise BadRequest("%s must be an integer, got %r" % (name, v))

        def _answer(self, method, query, body):
            if agency.name == "kamco":
                if mode == "error":
                    return agency.error_answer()
                return agency.kamco(method, self._path)
            if mode == "error":
                return agency.error_answer()
            if agency.name == "semas":
                start = self._param(query, body, "startRow")
                end = self._param(query, body, "endRow")
                start = max(start if start is not None else 0, 0)
                end = end if end is not None else start + DEFAULT_ROWS
                size = end - start
                first = start == 0
                page_no = start // size + 1 if size > 0 else 1
            else:
                pn, sz = {"koreg": ("pageNo", "numOfRows"), "kinfa": ("pageNo", "numOfRows"),
                          "kodit": ("page", "perPage"), "ewpc": ("pageNum", "pageSize")}[agency.name]
                page_no = self._param(query, None, pn)
                size = self._param(query, None, sz)
                page_no = page_no if page_no is not None and page_no >= 1 else 1
                size = size if size is not None and size >= 1 else DEFAULT_ROWS
                start = (page_no - 1) * size
                first = page_no == 1
            if mode == "nodata-after-first" and not first:
                return agency.past_end(start, size, page_no)
            return agency.page(start, size, page_no)

        def _handle(self, method):
            parts = urlsplit(self.path)
            self._path, self._query = parts.path, parts.query
            query = parse_qs(parts.query, keep_blank_values=True)
            extra = ""
            raw = self._read_body() if method == "POST" else b""
            body = None
            if raw:
                try:
                    body = json.loads(raw.decode("utf-8"))
                except ValueError:
                    body = None
                if isinstance(body, dict):
                    keys = [k for k in ("startRow", "endRow") if k in body]
                    extra = " body{%s}" % ",".join("%s=%s" % (k, body[k]) for k in keys) if keys else " body"
                else:
                    extra = " body(%d bytes, not a JSON object)" % len(raw)
            try:
                ans = self._answer(method, query, body)
            except BadRequest as e:
                ans = (400, "text/plain; charset=utf-8", ("400 Bad Request: %s\n" % e).encode("utf-8"))
            status, ctype, payload = ans[0], ans[1], ans[2]
            headers = ans[3] if len(ans) > 3 else {}
            self.send_response(status)  # also sends Server and Date (IMF-fixdate, GMT)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            if method != "HEAD":
                self.wfile.write(payload)
            self.wfile.flush()
            self._log(status, extra)

        def do_GET(self):
            self._handle("GET")

        def do_POST(self):
            self._handle("POST")

        def do_HEAD(self):
            self._handle("HEAD")

    return Handler


def main(argv=None):
    ap = argparse.ArgumentParser(description="Serve Fixtures/real/<agency> over HTTP on 127.0.0.1.")
    ap.add_argument("--agency", required=True, choices=AGENCIES)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--mode", default="normal", choices=MODES)
    ap.add_argument("--fixtures", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "real"),
                    help="folder holding one sub-folder per agency (default: real/ next to this script)")
    ap.add_argument("--csv-charset", default=None,
                    help="kamco only: add '; charset=X' to the CSV Content-Type (manifest: none)")
    args = ap.parse_args(argv)

    agency = Agency(args.agency, os.path.join(args.fixtures, args.agency), args.csv_charset,
                    overstate=OVERCOUNT if args.mode == "overcount" else 0)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(agency, args.mode))
    server.daemon_threads = True

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    sys.stdout.write("serving %s fixtures at http://127.0.0.1:%d\n" % (args.agency, server.server_address[1]))
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
