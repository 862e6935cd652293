"""Instance metadata as EC2 serves it with IMDSv2, for a worker run outside EC2: PUT
/latest/api/token gives a token, GETs that carry it read the instance id and the target
lifecycle state (InService). Prints the port it listens on, then serves until killed.

    python fake_imds.py
"""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ITEMS = {"/latest/meta-data/instance-id": "i-0c0ffee0c0ffee000",
         "/latest/meta-data/autoscaling/target-lifecycle-state": "InService"}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def send(self, code, body=""):
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def do_PUT(self):
        ok = (self.path == "/latest/api/token"
              and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"))
        self.send(200 if ok else 400, "token")

    def do_GET(self):
        if self.headers.get("X-aws-ec2-metadata-token") != "token":
            return self.send(401)
        body = ITEMS.get(self.path)
        self.send(200 if body else 404, body or "")


srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(srv.server_port, flush=True)
sys.stdout.close()
srv.serve_forever()
