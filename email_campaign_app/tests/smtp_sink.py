"""A real SMTP server on 127.0.0.1 that keeps what it receives, for tests and benchmarks.

It speaks enough ESMTP for smtplib (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT), keeps
each accepted message's raw bytes, and can refuse recipients the way real servers do: a
`refuse(address)` callback answers an SMTP reply such as "451 4.3.0 Try again later" or
"550 5.1.1 No such user" instead of accepting. Python 3.12 dropped `smtpd`, hence this one.
"""

import socketserver
import threading
import time
from collections.abc import Callable
from typing import NamedTuple


class Received(NamedTuple):
	sender: str
	recipients: tuple[str, ...]
	data: bytes


class SMTPSink(socketserver.ThreadingTCPServer):
	daemon_threads = True
	allow_reuse_address = True

	def __init__(self, port: int = 0, refuse: Callable[[str], str | None] | None = None, size_limit: int = 0):
		super().__init__(("127.0.0.1", port), _Session)
		self.refuse = refuse or (lambda address: None)
		self.size_limit = size_limit  # advertised as ESMTP SIZE when set
		self.messages: list[Received] = []
		self.refused: list[tuple[str, str]] = []
		self.lock = threading.Lock()
		self._thread = None

	@property
	def port(self) -> int:
		return self.server_address[1]

	def start(self) -> "SMTPSink":
		self._thread = threading.Thread(target=self.serve_forever, daemon=True)
		self._thread.start()
		return self

	def stop(self):
		self.shutdown()
		self.server_close()

	def __enter__(self):
		return self.start()

	def __exit__(self, *exc):
		self.stop()


class _Session(socketserver.StreamRequestHandler):
	def reply(self, line: str):
		self.wfile.write(line.encode() + b"\r\n")

	def handle(self):
		sink: SMTPSink = self.server
		self.reply("220 127.0.0.1 ESMTP sink")
		sender, recipients = None, []
		while line := self.rfile.readline():
			command, _space, argument = line.decode("utf-8", "replace").strip().partition(" ")
			verb = command.upper()
			if verb == "EHLO":
				size = f"250-SIZE {sink.size_limit}\r\n".encode() if sink.size_limit else b""
				self.wfile.write(
					b"250-127.0.0.1\r\n" + size + b"250-8BITMIME\r\n250-SMTPUTF8\r\n250 HELP\r\n"
				)
			elif verb in ("HELO", "NOOP"):
				self.reply("250 OK")
			elif verb == "MAIL":
				sender, recipients = _address(argument), []
				self.reply("250 OK")
			elif verb == "RCPT":
				address = _address(argument)
				refusal = sink.refuse(address)
				if refusal:
					with sink.lock:
						sink.refused.append((address, refusal))
					self.reply(refusal)
				else:
					recipients.append(address)
					self.reply("250 OK")
			elif verb == "DATA":
				if not recipients:
					self.reply("503 5.5.1 No valid recipients")
					continue
				self.reply("354 End data with <CR><LF>.<CR><LF>")
				data = self.read_data()
				with sink.lock:
					sink.messages.append(Received(sender, tuple(recipients), data))
				self.reply("250 OK queued")
				sender, recipients = None, []
			elif verb == "RSET":
				sender, recipients = None, []
				self.reply("250 OK")
			elif verb == "QUIT":
				self.reply("221 Bye")
				return
			else:
				self.reply("502 5.5.2 Command not implemented")

	def read_data(self) -> bytes:
		lines = []
		while (line := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
			lines.append(line[1:] if line.startswith(b"..") else line)  # undo dot-stuffing
		return b"".join(lines)


def _address(argument: str) -> str:
	"""`FROM:<a@b> SIZE=12` → `a@b`."""
	value = argument.partition(":")[2].strip()
	return value.split(">", 1)[0].lstrip("<").strip()


def header_lines(data: bytes, name: str) -> list[bytes]:
	"""The raw lines (a first line and its folded continuations) of every `name` header."""
	head = data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
	found, current = [], None
	for line in head:
		if line[:1] in (b" ", b"\t") and current is not None:
			current.append(line)
		elif line.lower().startswith(name.lower().encode() + b":"):
			current = [line]
			found.append(current)
		else:
			current = None
	return [b"\r\n".join(lines) for lines in found]


def serve(port: int, log_path: str):
	"""Run the server in its own process, writing each accepted message's arrival time (seconds
	since the epoch) and recipients as a line of `log_path`: a benchmark then measures senders,
	not a server sharing their interpreter."""
	import sys

	with open(log_path, "a", buffering=1) as log:

		class LoggingSink(SMTPSink):
			def __init__(self):
				super().__init__(port)
				self.messages = LoggedMessages(log)

		with LoggingSink():
			print(f"listening on 127.0.0.1:{port}", file=sys.stderr, flush=True)
			while True:
				time.sleep(3600)


class LoggedMessages(list):
	def __init__(self, log):
		super().__init__()
		self.log = log

	def append(self, message: Received):
		self.log.write(f"{time.time():.3f} {','.join(message.recipients)}\n")


if __name__ == "__main__":
	import argparse

	parser = argparse.ArgumentParser(description="An SMTP server on 127.0.0.1 that logs what it accepts.")
	parser.add_argument("--port", type=int, required=True)
	parser.add_argument("--log", required=True)
	args = parser.parse_args()
	serve(args.port, args.log)
