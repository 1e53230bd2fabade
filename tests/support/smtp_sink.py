#!/usr/bin/env python3
"""A real SMTP server for tests (Debian's python3-aiosmtpd): accepts mail into a Maildir, or refuses it.

Listens on 127.0.0.1, an ephemeral port written to --port-file once it accepts connections. Modes: accept (every
message kept in --maildir), refuse (550 for every recipient: a permanent failure), tempfail (451: try again later).
With --cert/--key it offers STARTTLS.
"""
import argparse
import asyncio
import mailbox
import os
import ssl

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, maildir, mode):
        self.maildir = mailbox.Maildir(maildir, create=True)
        self.mode = mode

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.mode == "refuse":
            return "550 5.1.1 no such mailbox"
        if self.mode == "tempfail":
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = mailbox.MaildirMessage(envelope.original_content)
        message["X-Envelope-From"] = envelope.mail_from
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        message["X-Session-TLS"] = "yes" if session.ssl else "no"
        self.maildir.add(message)
        return "250 Message accepted"


async def serve(arguments):
    tls = None
    if arguments.cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(arguments.cert, arguments.key)
    handler = Sink(arguments.maildir, arguments.mode)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, tls_context=tls, hostname="smtp-sink"), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    with open(arguments.port_file + ".tmp", "w") as out:
        out.write(str(port))
    os.rename(arguments.port_file + ".tmp", arguments.port_file)
    await server.serve_forever()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--maildir", required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--mode", choices=["accept", "refuse", "tempfail"], default="accept")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
