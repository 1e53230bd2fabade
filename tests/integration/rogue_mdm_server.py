#!/usr/bin/env python3
"""A rogue MDM listener for mdm-pull's tests: it answers like the head-end's /mdm/v1 API but lies.

Listing modes: not-json (an HTML page), bad-utf8 (JSON with invalid UTF-8), entries (a listing of malformed entries
beside two files whose downloads misbehave: no-resume.csv ignores Range and sends the whole file with 200;
too-long.csv sends more bytes than the listing says), replaced (cmep-00000001.csv, a name the MDM already holds
with other content, as a head-end whose numbering started over would list it). Prints the port it listens on to --port-file.
"""
import argparse
import hashlib
import http.server
import json
import os
import ssl

CONTENT = b"".join(b"MEPMD01,19970819,HEADEND,,,,202612010000,P1,OK,E,KWH,1,00000015,%d,A,1.5\r\n" % i
                   for i in range(200))
SHA256 = hashlib.sha256(CONTENT).hexdigest()


def listing(mode):
    if mode == "not-json":
        return b"<html><body>maintenance</body></html>"
    if mode == "bad-utf8":
        return b'{"files": [{"name": "\xff\xfe.csv", "bytes": 3, "sha256": "' + SHA256.encode() + b'"}]}'
    good = {"bytes": len(CONTENT), "sha256": SHA256}
    if mode == "replaced":
        return json.dumps({"files": [dict(good, name="cmep-00000001.csv")]}).encode()
    return json.dumps({"files": [
        dict(good, name="../escape.csv"),
        dict(good, name="sub/dir.csv"),
        dict(good, name=".hidden.csv"),
        {"name": "string-size.csv", "bytes": str(len(CONTENT)), "sha256": SHA256},
        {"name": "negative.csv", "bytes": -1, "sha256": SHA256},
        {"name": "short-sha.csv", "bytes": len(CONTENT), "sha256": "abc"},
        42,
        dict(good, name="no-resume.csv"),
        dict(good, name="too-long.csv"),
    ]}).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    mode = "entries"

    def answer(self, status, body, content_type="application/octet-stream"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.startswith("/mdm/v1/files?"):
            self.answer(200, listing(self.mode), "application/json")
        elif self.path == "/mdm/v1/files/no-resume.csv":
            self.answer(200, CONTENT)  # whatever Range asked for
        elif self.path == "/mdm/v1/files/cmep-00000001.csv":
            self.answer(200, CONTENT)
        elif self.path == "/mdm/v1/files/too-long.csv":
            self.answer(200, CONTENT + b"X" * 4096)
        else:
            self.answer(404, b"{}", "application/json")

    def do_POST(self):
        status = 200 if self.path.endswith("/ack") else 404
        self.answer(status, b"{}", "application/json")

    def log_message(self, *args):
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--mode", choices=["not-json", "bad-utf8", "entries", "replaced"], required=True)
    arguments = parser.parse_args()
    Handler.mode = arguments.mode
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(arguments.cert, arguments.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    with open(arguments.port_file + ".tmp", "w") as port:
        port.write(str(server.server_address[1]))
    os.rename(arguments.port_file + ".tmp", arguments.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
