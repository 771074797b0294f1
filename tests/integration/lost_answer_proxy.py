"""A small HTTP proxy on 127.0.0.1 that loses the store's answers, for tests of retried writes.

It stands between a client and a real server (moto, OpenBao, ...). Every request is forwarded to
``target``; for the first ``times`` requests that ``match``, the answer is lost in one of three ways:

    action="drop"    the request IS forwarded and the store's answer read, then the client's connection is
                     closed without a byte of it: the store made the change, the client never learns it
                     (urllib3/botocore see "connection closed", a transient error their retries cover)
    action="delay"   the request IS forwarded, then the answer is held back for ``delay`` seconds (set it
                     past the client's read timeout) and the connection closed without it
    action="status"  the request is NOT forwarded; the client gets ``status`` (e.g. 429, 503) with
                     ``body``: the store never saw it (a throttled or failed call)

Interface:

    from lost_answer_proxy import LostAnswerProxy

    def is_put(request):                      # request: .method, .path, .headers (dict, lower-case
        return request.headers.get("x-amz-target", "").endswith(".PutSecretValue")   # names), .body (bytes)

    with LostAnswerProxy("http://127.0.0.1:5000", is_put, times=1, action="drop") as proxy:
        client = make_client(endpoint=proxy.url)   # "http://127.0.0.1:<port>"
        ...
    proxy.lost        # the Request objects whose answer was lost (in order)
    proxy.forwarded   # every Request that reached the target (lost ones included, "status" ones not)
    proxy.matched     # every Request that matched, lost or not (a retry matches again)

Requests must carry a Content-Length (no chunked request bodies); headers pass unchanged (Host
included), so SigV4 signatures and Vault tokens stay valid. Plain HTTP only. The server is threaded
(one daemon thread per connection) and stops when the ``with`` block ends (or on ``close()``).
"""
import http.client
import socket
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ACTIONS = ("drop", "delay", "status")
_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "trailer", "upgrade"}


class Request(object):
    """One request the proxy received."""

    __slots__ = ("method", "path", "headers", "body")

    def __init__(self, method, path, headers, body):
        self.method, self.path, self.headers, self.body = method, path, headers, body

    def __repr__(self):
        return "Request(%s %s)" % (self.method, self.path)  # never the body: it may hold a secret


class LostAnswerProxy(object):
    def __init__(self, target, match, times=1, action="drop", delay=5.0, status=503, body=b"", target_timeout=30):
        if action not in ACTIONS:
            raise ValueError("action must be one of %s" % ", ".join(ACTIONS))
        parsed = urllib.parse.urlsplit(target)
        if parsed.scheme != "http":
            raise ValueError("only an http:// target is supported")
        self.host, self.port = parsed.hostname, parsed.port or 80
        self.match, self.times, self.action = match, times, action
        self.delay, self.status, self.body, self.target_timeout = delay, status, body, target_timeout
        self.lock = threading.Lock()
        self.lost, self.forwarded, self.matched = [], [], []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self._server.shutdown()
        self._server.server_close()

    def _decide(self, request):
        """The action for ``request``: one of ACTIONS, or None to pass the answer through."""
        with self.lock:
            if not self.match(request):
                return None
            self.matched.append(request)
            if len(self.lost) >= self.times:
                return None
            self.lost.append(request)
            return self.action

    def _forward(self, request):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.target_timeout)
        try:
            headers = dict((k, v) for k, v in request.headers.items() if k not in _HOP)
            conn.request(request.method, request.path, body=request.body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            with self.lock:
                self.forwarded.append(request)
            return resp.status, resp.reason, resp.getheaders(), data
        finally:
            conn.close()

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self, status, reason, headers, data):
                self.send_response(status, reason)
                for key, value in headers:
                    if key.lower() not in _HOP and key.lower() != "content-length":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _hang_up(self):
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

            def _handle(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = dict((k.lower(), v) for k, v in self.headers.items())
                request = Request(self.command, self.path, headers, body)
                action = proxy._decide(request)
                if action == "status":
                    self._answer(proxy.status, None, [("Content-Type", "application/json")], proxy.body)
                    return
                answer = proxy._forward(request)
                if action == "delay":
                    time.sleep(proxy.delay)
                if action in ("drop", "delay"):
                    self._hang_up()
                    return
                self._answer(*answer)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_LIST = _handle

            def log_message(self, *args):
                pass

        return Handler
