package dev.boxwood.server.network;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A sandbox's egress proxy for domain rules, on the host end of its veth: port 80 takes HTTP, port 443 TLS, which
 * nftables redirects there when the address rules alone would not let the connection out. It reads the HTTP
 * {@code Host} header or the TLS ClientHello's SNI, checks the name against the sandbox's allowed domains, looks
 * the name up itself and connects only to what it found, refusing if any of it is {@link AlwaysBlocked}. The
 * address the sandbox dialled is ignored, so {@code /etc/hosts} entries or rebinding tricks inside the sandbox decide
 * nothing. TLS is not terminated: bytes pass through unchanged after the ClientHello.
 */
final class EgressProxy implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EgressProxy.class);
    private static final int MAX_HEADER = 16 * 1024;
    private static final String REFUSAL = "blocked by the sandbox's egress rules\n";
    private static final byte[] FORBIDDEN = ("HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\n"
            + "Content-Length: " + REFUSAL.length() + "\r\n\r\n" + REFUSAL).getBytes(StandardCharsets.US_ASCII);

    private final String sandboxId;
    private final Supplier<EgressRules> rules;
    private final UpstreamResolver resolver;
    private final ServerSocket http;
    private final ServerSocket tls;
    /** Connections proxied at once for this sandbox; more are refused so one sandbox cannot pin the host's threads. */
    private final java.util.concurrent.Semaphore open = new java.util.concurrent.Semaphore(MAX_CONNECTIONS);
    static final int MAX_CONNECTIONS = 256;

    EgressProxy(String sandboxId, InetAddress address, Supplier<EgressRules> rules, UpstreamResolver resolver)
            throws IOException {
        this.sandboxId = sandboxId;
        this.rules = rules;
        this.resolver = resolver;
        this.http = listen(address, 80);
        try {
            this.tls = listen(address, 443);
        } catch (IOException e) {
            http.close();
            throw e;
        }
        Thread.ofVirtual().name("boxwood-proxy-http-" + sandboxId).start(() -> serve(http, 80));
        Thread.ofVirtual().name("boxwood-proxy-tls-" + sandboxId).start(() -> serve(tls, 443));
    }

    private static ServerSocket listen(InetAddress address, int port) throws IOException {
        ServerSocket s = new ServerSocket();
        s.setReuseAddress(true);
        s.bind(new InetSocketAddress(address, port), 256);
        return s;
    }

    private void serve(ServerSocket server, int port) {
        while (!server.isClosed()) {
            Socket client;
            try {
                client = server.accept();
            } catch (IOException e) {
                return;
            }
            if (!open.tryAcquire()) {
                close(client);
                continue;
            }
            Thread.ofVirtual().start(() -> {
                try {
                    handle(client, port);
                } finally {
                    open.release();
                }
            });
        }
    }

    private void handle(Socket client, int port) {
        Socket upstream = null;
        try {
            client.setSoTimeout(10_000);
            InputStream in = client.getInputStream();
            byte[] head = port == 443 ? readClientHello(in) : readHttpHead(in);
            String name = head == null ? null : port == 443 ? sni(head) : host(head);
            InetAddress target = name == null ? null : decide(name);
            if (target == null) {
                LOG.info("sandbox {}: refused {} connection for {}", sandboxId, port == 443 ? "TLS" : "HTTP",
                        name == null ? "no name" : "'" + name + "'");
                if (port == 80 && head != null) client.getOutputStream().write(FORBIDDEN);
                client.close();
                return;
            }
            upstream = new Socket();
            upstream.connect(new InetSocketAddress(target, port), 10_000);
            client.setSoTimeout(0);
            if (port == 80) {
                relayHttp(client, upstream, head, name);
            } else {
                upstream.getOutputStream().write(head);
                pipe(client, upstream);
            }
        } catch (IOException | RuntimeException e) {
            LOG.info("sandbox {}: {} connection dropped: {}", sandboxId, port == 443 ? "TLS" : "HTTP", e.toString());
            close(client);
            close(upstream);
        }
    }

    /** The address to connect to for an allowed name, or null to refuse. */
    private InetAddress decide(String name) throws IOException {
        EgressRules current = rules.get();
        if (IpRange.looksNumeric(name) || !current.allowsName(name)) return null;
        List<InetAddress> addresses = resolver.lookup(name);
        if (addresses.isEmpty() || addresses.stream().anyMatch(AlwaysBlocked::contains)) return null;
        return addresses.getFirst();
    }

    /** Responses pass as they are; requests go through {@link HttpRelay}, which checks the host of each one. */
    private void relayHttp(Socket client, Socket upstream, byte[] head, String name) {
        Thread down = Thread.ofVirtual().start(() -> copy(upstream, client));
        try {
            String refused = HttpRelay.relayRequests(new java.io.BufferedInputStream(client.getInputStream()),
                    upstream.getOutputStream(), head, name);
            if (refused != null) {
                LOG.info("sandbox {}: refused an HTTP request for {} on a connection for '{}'", sandboxId, refused, name);
            }
            // Nothing more goes up; the answers to what did still come back, then the connection ends.
            upstream.shutdownOutput();
        } catch (IOException | RuntimeException e) {
            LOG.info("sandbox {}: HTTP connection dropped: {}", sandboxId, e.toString());
            close(client);
            close(upstream);
        }
        joinAndClose(down, client, upstream);
    }

    private static void pipe(Socket a, Socket b) {
        Thread up = Thread.ofVirtual().start(() -> copy(a, b));
        copy(b, a);
        joinAndClose(up, a, b);
    }

    private static void joinAndClose(Thread other, Socket a, Socket b) {
        try {
            other.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        close(a);
        close(b);
    }

    private static void copy(Socket from, Socket to) {
        try {
            from.getInputStream().transferTo(to.getOutputStream());
            to.shutdownOutput();
        } catch (IOException e) {
            close(from);
            close(to);
        }
    }

    private static void close(Socket s) {
        if (s == null) return;
        try {
            s.close();
        } catch (IOException ignored) {
            // already gone
        }
    }

    /** Bytes up to and including the blank line ending the request head, or null if there is none in time. */
    static byte[] readHttpHead(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int matched = 0;
        byte[] end = {'\r', '\n', '\r', '\n'};
        while (out.size() < MAX_HEADER) {
            int b = in.read();
            if (b < 0) return null;
            out.write(b);
            matched = b == end[matched] ? matched + 1 : b == '\r' ? 1 : 0;
            if (matched == 4) return out.toByteArray();
        }
        return null;
    }

    static String host(byte[] head) {
        String text = new String(head, StandardCharsets.ISO_8859_1);
        for (String line : text.split("\r\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).strip().equalsIgnoreCase("host")) {
                String value = line.substring(colon + 1).strip().toLowerCase(Locale.ROOT);
                if (value.startsWith("[")) return null; // an IPv6 literal: never a domain
                int port = value.lastIndexOf(':');
                return port >= 0 ? value.substring(0, port) : value;
            }
        }
        return null;
    }

    /** The first TLS record, if it is a handshake record (a ClientHello normally fits one). */
    static byte[] readClientHello(InputStream in) throws IOException {
        byte[] header = in.readNBytes(5);
        if (header.length < 5 || header[0] != 22) return null;
        int length = (header[3] & 0xFF) << 8 | header[4] & 0xFF;
        if (length > MAX_HEADER + 2048) return null;
        byte[] body = in.readNBytes(length);
        if (body.length < length) return null;
        byte[] record = new byte[5 + length];
        System.arraycopy(header, 0, record, 0, 5);
        System.arraycopy(body, 0, record, 5, length);
        return record;
    }

    /** The server name of a ClientHello record, or null when it has none (a bare-IP HTTPS request) or is malformed. */
    static String sni(byte[] record) {
        try {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(record);
            b.position(5);
            if (b.get() != 1) return null; // not a ClientHello
            b.position(b.position() + 3 + 2 + 32); // length, version, random
            // each length is read before the position it is added to
            int sessionId = b.get() & 0xFF;
            b.position(b.position() + sessionId);
            int cipherSuites = b.getShort() & 0xFFFF;
            b.position(b.position() + cipherSuites);
            int compression = b.get() & 0xFF;
            b.position(b.position() + compression);
            int extensions = b.getShort() & 0xFFFF;
            int end = b.position() + extensions;
            while (b.position() + 4 <= end) {
                int type = b.getShort() & 0xFFFF;
                int len = b.getShort() & 0xFFFF;
                int next = b.position() + len;
                if (type == 0) {
                    b.getShort(); // list length
                    if (b.get() != 0) return null; // not a host name
                    byte[] name = new byte[b.getShort() & 0xFFFF];
                    b.get(name);
                    return new String(name, StandardCharsets.US_ASCII).toLowerCase(Locale.ROOT);
                }
                b.position(next);
            }
            return null;
        } catch (RuntimeException e) {
            return null; // truncated or malformed
        }
    }

    @Override
    public void close() {
        try {
            http.close();
        } catch (IOException ignored) {
            // nothing left to release
        }
        try {
            tls.close();
        } catch (IOException ignored) {
            // nothing left to release
        }
    }
}
