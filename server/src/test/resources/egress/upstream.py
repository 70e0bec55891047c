# The tests' "internet": runs inside a network namespace the test creates, holding documentation-range addresses
# (never routed on the real internet). TCP 80/443/8080 log each connection ("conn <local address> <port> <host>")
# and answer one HTTP response naming the address; UDP 53 on the DNS address answers A queries for test names.
import socket, struct, sys, threading

NAMES = dict(arg.split('=') for arg in sys.argv[2:])
DNS_ADDRESS = sys.argv[1]

def serve_tcp(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('0.0.0.0', port)); s.listen(64)
    while True:
        c, _ = s.accept()
        threading.Thread(target=answer, args=(c, port), daemon=True).start()

def answer(c, port):
    try:
        c.settimeout(3)
        data = c.recv(4096)
        host = '-'
        for line in data.split(b'\r\n'):
            if line.lower().startswith(b'host:'):
                host = line[5:].strip().decode()
        if data[:1] == b'\x16':
            host = 'tls'
        local = c.getsockname()[0]
        print('conn', local, port, host, flush=True)
        body = ('hello %s:%d' % (local, port)).encode()
        c.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' % (len(body), body))
    except Exception:
        pass
    finally:
        c.close()

def serve_dns():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((DNS_ADDRESS, 53))
    while True:
        q, client = s.recvfrom(4096)
        i, labels = 12, []
        while q[i]:
            labels.append(q[i + 1:i + 1 + q[i]].decode().lower()); i += 1 + q[i]
        qtype = struct.unpack('>H', q[i + 1:i + 3])[0]
        question = q[12:i + 5]
        address = NAMES.get('.'.join(labels)) if qtype == 1 else None
        print('dns', '.'.join(labels), qtype, flush=True)
        if address:
            header = q[:2] + b'\x81\x80' + struct.pack('>HHHH', 1, 1, 0, 0)
            record = b'\xc0\x0c' + struct.pack('>HHIH', 1, 1, 5, 4) + socket.inet_aton(address)
            s.sendto(header + question + record, client)
        else:
            rcode = b'\x81\x80' if '.'.join(labels) in NAMES else b'\x81\x83'
            s.sendto(q[:2] + rcode + struct.pack('>HHHH', 1, 0, 0, 0) + question, client)

for port in (80, 443, 8080):
    threading.Thread(target=serve_tcp, args=(port,), daemon=True).start()
threading.Thread(target=serve_dns, daemon=True).start()
print('ready', flush=True)
threading.Event().wait()
