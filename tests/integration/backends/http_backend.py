#!/usr/bin/python3
"""An HTTP/1.1 backend for zhttpd's proxy tests, on Python's own http.server (not zhttpd's code).

    /usr/bin/python3 http_backend.py --port PORT --name NAME     (or --unix PATH)

Prints "backend NAME listening on PORT" (or on PATH) once it accepts, and serves every request on
a thread of its own, keep-alive as HTTP/1.1 does. Every request, whatever its method and path, has
its body read (Content-Length or chunked) and gets a JSON answer describing what this backend saw:

    {"name", "port", "method", "target", "path", "version", "headers": [[name, value], ...],
     "body_len", "body_crc32"}

(no body for HEAD). Query parameters of the target change the answer:
    sleep_ms=N        wait N ms before answering (counted as in flight meanwhile)
    cc=TEXT           add Cache-Control: TEXT
    bytes=N           answer N bytes of a fixed pattern instead of the JSON
    status=N          answer with this status
The request's target (path and query) is counted; GET /__stats (never counted) answers
    {"total": N, "hits": {target: N}, "max_in_flight": {target: N}, "in_flight": N}
and POST /__reset clears the counts. SIGTERM stops it with exit code 0.
"""
import argparse
import http.server
import json
import os
import signal
import socket
import socketserver
import sys
import threading
import time
import urllib.parse
import zlib

PATTERN = bytes(range(33, 127)) * 16


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.total = 0
        self.hits = {}
        self.in_flight = {}
        self.max_in_flight = {}
        self.all_in_flight = 0

    def enter(self, target):
        with self.lock:
            self.total += 1
            self.hits[target] = self.hits.get(target, 0) + 1
            n = self.in_flight.get(target, 0) + 1
            self.in_flight[target] = n
            self.all_in_flight += 1
            self.max_in_flight[target] = max(self.max_in_flight.get(target, 0), n)

    def leave(self, target):
        with self.lock:
            self.in_flight[target] -= 1
            self.all_in_flight -= 1

    def report(self):
        with self.lock:
            return {"total": self.total, "hits": dict(self.hits),
                    "max_in_flight": dict(self.max_in_flight), "in_flight": self.all_in_flight}

    def reset(self):
        with self.lock:
            self.total = 0
            self.hits.clear()
            self.max_in_flight = {k: v for k, v in self.in_flight.items() if v > 0}


STATE = State()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "PythonBackend"

    def log_message(self, format, *args):  # quiet: the tests read answers, not logs
        pass

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = bytearray()
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return bytes(data)
                data += self.rfile.read(size)
                self.rfile.readline(3)
        length = int(self.headers.get("Content-Length", "0") or "0")
        data = bytearray()
        while len(data) < length:
            piece = self.rfile.read(min(65536, length - len(data)))
            if not piece:
                break
            data += piece
        return bytes(data)

    def answer(self, status, body, fields=()):
        self.send_response(status)
        for name, value in fields:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        body = self.read_body()
        parts = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parts.query))
        if parts.path == "/__stats":
            return self.answer(200, json.dumps(STATE.report()).encode(),
                               [("Content-Type", "application/json")])
        if parts.path == "/__reset":
            STATE.reset()
            return self.answer(200, b"reset\n")
        STATE.enter(self.path)
        try:
            if "sleep_ms" in query:
                time.sleep(int(query["sleep_ms"]) / 1000.0)
            fields = [("X-Backend", self.server.name)]
            if "cc" in query:
                fields.append(("Cache-Control", query["cc"]))
            status = int(query.get("status", "200"))
            if "bytes" in query:
                n = int(query["bytes"])
                out = (PATTERN * (n // len(PATTERN) + 1))[:n]
                fields.append(("Content-Type", "application/octet-stream"))
            else:
                out = json.dumps({
                    "name": self.server.name,
                    "port": self.server.port,
                    "method": self.command,
                    "target": self.path,
                    "path": parts.path,
                    "version": self.request_version,
                    "headers": [[k, v] for k, v in self.headers.items()],
                    "body_len": len(body),
                    "body_crc32": zlib.crc32(body),
                }).encode()
                fields.append(("Content-Type", "application/json"))
            self.answer(status, out, fields)
        finally:
            STATE.leave(self.path)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = handle_any


def quiet_errors(server_class):
    """A client (the proxy) that goes away mid-answer is expected here: no traceback for it."""
    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super(server_class, self).handle_error(request, client_address)
    server_class.handle_error = handle_error
    return server_class


@quiet_errors
class TcpServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024


@quiet_errors
class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    request_queue_size = 1024

    def get_request(self):  # http.server wants a (host, port) client address
        sock, _ = self.socket.accept()
        return sock, ("unix", 0)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int)
    p.add_argument("--unix")
    p.add_argument("--name", default="backend")
    args = p.parse_args()
    if args.unix:
        if os.path.exists(args.unix):
            os.unlink(args.unix)
        server = UnixServer(args.unix, Handler)
        where = args.unix
        server.port = 0
    else:
        server = TcpServer(("127.0.0.1", args.port), Handler)
        server.port = server.server_address[1]
        where = str(server.port)
    server.name = args.name
    # Head and body go out in two writes: without TCP_NODELAY the body waits for the ACK of the
    # head (Nagle against the proxy's delayed ACK), 40 ms per answer.
    Handler.disable_nagle_algorithm = not args.unix

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    print("backend %s listening on %s" % (args.name, where), flush=True)
    server.serve_forever(poll_interval=0.05)
    server.server_close()
    sys.exit(0)


if __name__ == "__main__":
    main()
