# A sandbox-side test server: HTTP (echo, big and streamed bodies) and a hand-rolled WebSocket echo on one port.
import base64, hashlib, socketserver, struct, sys

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def read_head(f):
    lines = []
    while True:
        line = f.readline()
        if not line or line in (b"\r\n", b"\n"):
            return lines
        lines.append(line.decode("latin-1").rstrip("\r\n"))


def read_exactly(f, n):
    data = b""
    while len(data) < n:
        more = f.read(n - len(data))
        if not more:
            raise EOFError()
        data += more
    return data


def recv_frame(f):
    """One whole message: continuation frames are joined."""
    message, first = b"", None
    while True:
        try:
            head = read_exactly(f, 2)
        except EOFError:
            return None, None
        opcode = head[0] & 0x0F
        n = head[1] & 0x7F
        if n == 126:
            n = struct.unpack(">H", read_exactly(f, 2))[0]
        elif n == 127:
            n = struct.unpack(">Q", read_exactly(f, 8))[0]
        mask = read_exactly(f, 4) if head[1] & 0x80 else b"\0\0\0\0"
        data = bytearray(read_exactly(f, n))
        for i in range(len(data)):
            data[i] ^= mask[i % 4]
        if opcode >= 8:
            return opcode, bytes(data)
        if first is None:
            first = opcode
        message += bytes(data)
        if head[0] & 0x80:
            return first, message


def send_frame(w, opcode, data):
    n = len(data)
    if n < 126:
        head = struct.pack(">BB", 0x80 | opcode, n)
    elif n < 65536:
        head = struct.pack(">BBH", 0x80 | opcode, 126, n)
    else:
        head = struct.pack(">BBQ", 0x80 | opcode, 127, n)
    w.write(head + data)
    w.flush()


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        while True:
            lines = read_head(self.rfile)
            if not lines:
                return
            method, path, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
            if headers.get("upgrade", "").lower() == "websocket":
                return self.websocket(headers)
            body = b""
            if "content-length" in headers:
                body = self.rfile.read(int(headers["content-length"]))
            elif headers.get("transfer-encoding", "").lower() == "chunked":
                while True:
                    size = int(self.rfile.readline().split(b";")[0], 16)
                    chunk = self.rfile.read(size)
                    self.rfile.readline()
                    if size == 0:
                        break
                    body += chunk
            if path.startswith("/stream"):
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n")
                for i in range(200):
                    piece = (b"%04d" % i) * 2500
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
                continue
            out = ("method=%s path=%s host=%s received=%d sha256=%s" % (
                method, path, headers.get("host", ""), len(body), hashlib.sha256(body).hexdigest())).encode()
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" % (len(out), out))
            self.wfile.flush()
            if headers.get("connection", "").lower() == "close":
                return

    def websocket(self, headers):
        accept = base64.b64encode(hashlib.sha1(headers["sec-websocket-key"].encode() + GUID).digest()).decode()
        self.wfile.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Accept: %s\r\n\r\n" % accept).encode())
        send_frame(self.wfile, 1, b"hello from the sandbox")
        while True:
            opcode, data = recv_frame(self.rfile)
            if opcode is None or opcode == 8:
                if opcode == 8:
                    send_frame(self.wfile, 8, data[:2])
                return
            if opcode == 9:
                send_frame(self.wfile, 10, data)
            elif opcode in (1, 2):
                send_frame(self.wfile, opcode, b"echo:" + data)


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


Server(("0.0.0.0", int(sys.argv[1])), Handler).serve_forever()
