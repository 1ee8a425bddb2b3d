"""A tiny WSGI application for zhttpd's proxy tests, run by gunicorn (not zhttpd's code):

    /usr/bin/gunicorn --chdir tests/integration/backends --bind 127.0.0.1:PORT wsgi_app:app

Every request gets 200 with a short text body: "gunicorn PID METHOD PATH body=N\n" (N the length of
the request body it read). GET /stream?n=N is answered without a length, N lines
"line I of N\n" one by one: gunicorn sends them chunked.
"""
import os


def app(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or "0")
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    if environ.get("PATH_INFO") == "/stream":
        n = int(environ.get("QUERY_STRING", "n=10").split("=")[1])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return (("line %d of %d\n" % (i, n)).encode() for i in range(n))
    out = ("gunicorn %d %s %s body=%d\n" % (os.getpid(), environ["REQUEST_METHOD"],
                                            environ.get("PATH_INFO", ""), len(body))).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(out)))])
    return [out]
