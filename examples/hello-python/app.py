"""A tiny app for Gantry's examples and tests (standard library only).

Answers / and /health on $PORT and says which release it is.
"""
import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(os.environ.get("PORT", "3000"))
# Gantry sets HOST: 127.0.0.1 for local processes, 0.0.0.0 inside containers.
HOST = os.environ.get("HOST", "0.0.0.0")
RELEASE = os.environ.get("GANTRY_RELEASE", "dev")
INSTANCE = os.environ.get("GANTRY_INSTANCE", "local")
GREETING = os.environ.get("GREETING", "hello from python")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path == "/health":
            body = {"ok": True, "release": RELEASE}
        else:
            body = {"message": GREETING, "release": RELEASE, "instance": INSTANCE}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        sys.stdout.write("%s %s\n" % (self.address_string(), fmt % args))
        sys.stdout.flush()


def main():
    server = ThreadingHTTPServer((HOST, PORT), Handler)
    server.daemon_threads = True

    def stop(*_):
        print("hello-python %s stopping" % INSTANCE, flush=True)
        # shutdown() must not run on the serving thread
        import threading
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    print("hello-python release %s instance %s listening on %d" % (RELEASE, INSTANCE, PORT), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
