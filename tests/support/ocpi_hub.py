#!/usr/bin/env python3
"""A clearinghouse's OCPI 2.2.1 CDRs endpoint for tests: receives POSTed CDRs, checks the token, answers the OCPI
envelope. Modes: accept (status_code 1000), reject (2001, invalid parameters), fail (HTTP 503). Each CDR received is
written to --inbox as <n>.json with its Authorization header beside it (<n>.auth). Plain HTTP on 127.0.0.1; the port
goes to --port-file.
"""
import argparse
import base64
import datetime
import http.server
import json
import os


class Hub(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    mode = "accept"
    token = ""
    inbox = ""

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        received = len(os.listdir(self.inbox)) // 2 + 1
        with open(os.path.join(self.inbox, "%d.json" % received), "wb") as out:
            out.write(body)
        with open(os.path.join(self.inbox, "%d.auth" % received), "w") as out:
            out.write(self.headers.get("Authorization", ""))
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        expected = "Token " + base64.b64encode(self.token.encode()).decode()
        if self.headers.get("Authorization") != expected:
            self.answer(401, {"status_code": 2000, "status_message": "unknown token", "timestamp": now})
        elif self.mode == "fail":
            self.answer(503, {"status_code": 3000, "status_message": "busy", "timestamp": now})
        elif self.mode == "reject":
            self.answer(400, {"status_code": 2001, "status_message": "cdr_location.evse_uid: missing",
                              "timestamp": now})
        else:
            self.answer(200, {"status_code": 1000, "timestamp": now})

    def log_message(self, *args):
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["accept", "reject", "fail"], default="accept")
    parser.add_argument("--token", required=True)
    parser.add_argument("--inbox", required=True)
    parser.add_argument("--port-file", required=True)
    arguments = parser.parse_args()
    os.makedirs(arguments.inbox, exist_ok=True)
    Hub.mode, Hub.token, Hub.inbox = arguments.mode, arguments.token, arguments.inbox
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    with open(arguments.port_file + ".tmp", "w") as out:
        out.write(str(server.server_address[1]))
    os.rename(arguments.port_file + ".tmp", arguments.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
