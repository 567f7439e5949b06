#!/usr/bin/env python3
"""A hostile Hub for tests/remote_test.sh: what nginx cannot be made to do.

Usage: hostile_server.py ROOT PORTFILE

Serves ROOT in the Hub's layout (ORG/REPO/resolve/REV/FILE with Range, and the listing at
api/models/ORG/REPO/tree/REV) like tests/hub_server.sh's nginx, except in the repositories whose
name says how to misbehave (org/MODE-...; every other request is answered honestly):

  endless-500, endless-403      every .safetensors request: that status, then an endless body
  endless-404-config            config.json: 404 with an endless body (the shards are honest)
  endless-headers               every .safetensors request: 200, then header lines without end
  redirect-endless-body         every .safetensors request: 302 to the honest file, with a
                                keep-alive body without end
  trickle                       every .safetensors request: 206 claiming 1 MB, sent at 2 KB/s
                                (above the 512 B/s stall limit, so only a deadline ends it)
  long-content-length           every .safetensors request: Content-Length says twice the bytes
                                sent, then the connection closes
  listing-entries-N             the listing: one page of N empty entries ([{},{},...])
  listing-padded-N              the listing: N pages (Link: rel="next") of 15 MB of whitespace

The chosen port is written to PORTFILE once the server listens.
"""
import http.server
import os
import re
import socket
import socketserver
import sys
import time

ROOT = os.path.abspath(sys.argv[1])
CHUNK = b"x" * 65536
PADDED_PAGE = b"[" + b" " * (15 << 20) + b"]"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def endless(self, status, extra_headers=()):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        for name, value in extra_headers:
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            while True:
                self.wfile.write(CHUNK)
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    def listing(self, repo, page):
        m = re.match(r"listing-(padded|entries)-(\d+)$", repo)
        count = int(m.group(2))
        if m.group(1) == "entries":
            body = b"[" + b",".join([b"{}"] * count) + b"]"
            next_page = None
        else:
            body = PADDED_PAGE
            next_page = page + 1 if page + 1 < count else None
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if next_page is not None:
            host = self.headers.get("Host")
            self.send_header(
                "Link", f'<http://{host}/api/models/org/{repo}/tree/main?page={next_page}>; rel="next"')
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path, _, query = self.path.partition("?")
        m = re.match(r"^/api/models/org/([^/]+)/tree/main$", path)
        if m and m.group(1).startswith("listing-"):
            page = int(query.split("=")[1]) if query.startswith("page=") else 0
            return self.listing(m.group(1), page)
        m = re.match(r"^/org/([^/]+)/resolve/main/(.+)$", path)
        repo, name = (m.group(1), m.group(2)) if m else ("", "")
        shard = name.endswith(".safetensors")
        if repo == "endless-500" and shard:
            return self.endless(500)
        if repo == "endless-403" and shard:
            return self.endless(403)
        if repo == "endless-404-config" and name == "config.json":
            return self.endless(404)
        if repo == "endless-headers" and shard:
            self.send_response(200)
            self.send_header("Content-Length", "1")
            self.flush_headers()  # the status line goes out; the headers never end
            try:
                for i in range(10**9):
                    self.wfile.write(b"X-Pad-%d: %s\r\n" % (i, b"y" * 1000))
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True
            return
        if repo == "redirect-endless-body" and shard:
            self.send_response(302)
            self.send_header("Location", f"/org/redirect-honest/resolve/main/{name}")
            self.send_header("Content-Length", str(1 << 50))
            self.end_headers()
            try:
                while True:
                    self.wfile.write(CHUNK)
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True
            return
        if repo == "trickle" and shard:
            self.send_response(206)
            self.send_header("Content-Range", "bytes 0-100000/1000000")
            self.send_header("Content-Length", "100001")
            self.end_headers()
            try:
                for _ in range(100):
                    self.wfile.write(b"z" * 1024)
                    self.wfile.flush()
                    time.sleep(0.5)
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True
            return
        self.honest(path, long_length=(repo == "long-content-length" and shard))

    def honest(self, path, long_length=False):
        if path.startswith("/api/"):
            file = os.path.join(ROOT, path.lstrip("/"))
        else:
            m = re.match(r"^/org/([^/]+)/resolve/main/(.+)$", path)
            if not m:
                return self.not_found()
            file = os.path.join(ROOT, "org", m.group(1), "resolve", "main", m.group(2))
        file = os.path.realpath(file)
        if not file.startswith(ROOT + os.sep) or not os.path.isfile(file):
            return self.not_found()
        data = open(file, "rb").read()
        status, headers = 200, []
        rng = re.match(r"bytes=(\d+)-(\d+)$", self.headers.get("Range", ""))
        if rng:
            start, end = int(rng.group(1)), min(int(rng.group(2)), len(data) - 1)
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            headers.append(("Content-Range", f"bytes {start}-{end}/{len(data)}"))
            data, status = data[start:end + 1], 206
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(2 * len(data) + 1 if long_length else len(data)))
        if long_length:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        if long_length:
            self.close_connection = True

    def not_found(self):
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


server = Server(("127.0.0.1", 0), Handler)
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
server.serve_forever()
