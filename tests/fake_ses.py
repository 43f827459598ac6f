"""A stand-in SES endpoint on 127.0.0.1: records every SendRawEmail call it receives and
answers it like SES, after an optional delay (a slow SES)."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

RESPONSE = """<SendRawEmailResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/">
  <SendRawEmailResult><MessageId>fake-{n}</MessageId></SendRawEmailResult>
  <ResponseMetadata><RequestId>fake-request-{n}</RequestId></ResponseMetadata>
</SendRawEmailResponse>"""


class FakeSes:
    def __init__(self, delay_seconds: float = 0.0):
        self.delay_seconds = delay_seconds
        self.calls: list[dict[str, str]] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                params = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                with fake._lock:
                    fake.calls.append(params)
                    n = len(fake.calls)
                time.sleep(fake.delay_seconds)
                data = RESPONSE.format(n=n).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/xml")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up waiting (its read timeout)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeSes:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def sent_actions(self) -> list[str]:
        return [call.get("Action", "") for call in self.calls]
