package dev.boxwood.server.network;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The client-to-upstream half of a proxied plain-HTTP connection, request by request. The proxy chose the upstream
 * from the first request's {@code Host}; on a keep-alive connection every later request goes to that same server, so
 * each must name the same host: another name could reach another site hosted there (a CDN, a shared front end) that
 * the rules never allowed. A request that names another host, names it twice, or whose framing cannot be followed
 * (so the next request could not be found) ends the connection before any of it is sent.
 */
final class HttpRelay {
    private static final int MAX_LINE = 8192;

    private HttpRelay() {}

    /**
     * Sends {@code firstHead} and what follows from {@code in} to {@code out} while each request is for {@code host};
     * returns why it stopped early ("host 'x'", "framing"), or null when the client ended the connection or the
     * connection left HTTP/1 (a protocol upgrade).
     */
    static String relayRequests(InputStream in, OutputStream out, byte[] firstHead, String host) throws IOException {
        byte[] head = firstHead;
        while (true) {
            List<String> lines = headerLines(head);
            String refusal = check(lines, host);
            if (refusal != null) return refusal;
            String te = header(lines, "transfer-encoding");
            String cl = header(lines, "content-length");
            // Both, an encoding other than chunked last, or an unreadable length: where the body ends is unclear.
            if (te != null && (cl != null || !te.strip().toLowerCase(Locale.ROOT).endsWith("chunked"))
                    || cl != null && !cl.strip().matches("\\d{1,18}")) {
                return "framing";
            }
            out.write(head);
            out.flush();
            if (te != null) {
                if (!relayChunked(in, out)) return null;
            } else if (cl != null) {
                long length = Long.parseLong(cl.strip());
                if (copy(in, out, length) < length) return null;
            }
            if (header(lines, "upgrade") != null || lines.getFirst().startsWith("CONNECT ")) {
                // After a 101 the connection carries another protocol. A client that keeps speaking HTTP/1 (the
                // upstream did not switch) still has its requests checked; other bytes pass as they are.
                if (!nextLooksLikeRequest(in)) {
                    in.transferTo(out);
                    return null;
                }
            }
            head = EgressProxy.readHttpHead(in);
            if (head == null) return null;
        }
    }

    /** Null when the request may go to the upstream chosen for {@code host}; why not otherwise. */
    static String check(List<String> lines, String host) {
        String name = null;
        int hosts = 0;
        for (String line : lines.subList(1, lines.size())) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).strip().equalsIgnoreCase("host")) {
                hosts++;
                name = EgressProxy.host((line + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            }
        }
        if (hosts != 1 || name == null || !name.equals(host)) return "host " + (name == null ? "none" : "'" + name + "'");
        // An absolute-form target names the host the upstream will use, whatever the Host header says.
        String[] request = lines.getFirst().split(" ");
        if (request.length == 3 && request[1].regionMatches(true, 0, "http", 0, 4) && request[1].contains("://")) {
            String authority = request[1].substring(request[1].indexOf("://") + 3).split("[/?#]", 2)[0];
            String target = EgressProxy.host(("Host: " + authority + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            if (target == null || !target.equals(host)) return "target host '" + target + "'";
        }
        return null;
    }

    private static List<String> headerLines(byte[] head) {
        List<String> lines = new ArrayList<>();
        for (String line : new String(head, StandardCharsets.ISO_8859_1).split("\r\n")) {
            if (!line.isEmpty()) lines.add(line);
        }
        if (lines.isEmpty()) lines.add("");
        return lines;
    }

    /** The value of a header that appears once; its values joined with commas when it appears more often. */
    private static String header(List<String> lines, String name) {
        String value = null;
        for (String line : lines.subList(1, lines.size())) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).strip().equalsIgnoreCase(name)) {
                String v = line.substring(colon + 1).strip();
                value = value == null ? v : value + "," + v;
            }
        }
        return value;
    }

    /** Copies a chunked body through its last chunk and trailers; false when the client ended it early. */
    private static boolean relayChunked(InputStream in, OutputStream out) throws IOException {
        while (true) {
            byte[] sizeLine = line(in);
            if (sizeLine == null) return false;
            out.write(sizeLine);
            String size = new String(sizeLine, StandardCharsets.ISO_8859_1).strip().split(";", 2)[0].strip();
            if (!size.matches("[0-9a-fA-F]{1,15}")) throw new IOException("bad chunk size");
            long length = Long.parseLong(size, 16);
            if (length == 0) {
                while (true) { // trailers, then the empty line
                    byte[] trailer = line(in);
                    if (trailer == null) return false;
                    out.write(trailer);
                    if (trailer.length == 2) {
                        out.flush();
                        return true;
                    }
                }
            }
            if (copy(in, out, length + 2) < length + 2) return false; // the chunk and its CRLF
        }
    }

    /** One line including its CRLF, or null at the end of the stream. */
    private static byte[] line(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int previous = -1;
        while (line.size() < MAX_LINE) {
            int b = in.read();
            if (b < 0) return null;
            line.write(b);
            if (previous == '\r' && b == '\n') return line.toByteArray();
            previous = b;
        }
        throw new IOException("line too long");
    }

    private static long copy(InputStream in, OutputStream out, long length) throws IOException {
        byte[] buf = new byte[8192];
        long done = 0;
        while (done < length) {
            int n = in.read(buf, 0, (int) Math.min(buf.length, length - done));
            if (n < 0) break;
            out.write(buf, 0, n);
            done += n;
        }
        out.flush();
        return done;
    }

    /** Whether the next byte starts an HTTP/1 request line (a method is upper-case letters); it stays unread. */
    private static boolean nextLooksLikeRequest(InputStream in) throws IOException {
        if (!in.markSupported()) throw new IllegalArgumentException("needs a stream that can be reset");
        in.mark(1);
        int b = in.read();
        in.reset();
        return b >= 'A' && b <= 'Z';
    }
}
