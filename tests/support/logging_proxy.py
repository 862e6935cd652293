"""A logging HTTP proxy for the tests: forwards every request to UPSTREAM unchanged and
appends one JSON line per request (method, path, form-encoded or other body as text) to LOG.

    logging_proxy.py UPSTREAM LOG

Prints `port N` on stdout once listening on 127.0.0.1, then serves until killed. What a test
reads from LOG is what qfleet put on the wire, whatever the emulator behind does with it.
"""
import http.client
import http.server
import json
import sys
import threading
import urllib.parse


def main():
    upstream = urllib.parse.urlsplit(sys.argv[1])
    log = open(sys.argv[2], "a", encoding="utf-8")
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def forward(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else b""
            with lock:
                log.write(json.dumps({
                    "method": self.command,
                    "path": self.path,
                    "body": body.decode("utf-8", "replace"),
                }) + "\n")
                log.flush()
            conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=120)
            headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            conn.close()
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = forward

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"port {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
