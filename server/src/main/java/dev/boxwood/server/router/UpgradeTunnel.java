package dev.boxwood.server.router;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;
import java.util.Set;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.server.HttpStream;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * HTTP/1.1 upgrades (WebSocket) to a sandbox port. Jetty's proxy drops {@code Upgrade} as a hop-by-hop header, so
 * these requests are relayed by hand: the request head goes to the sandbox as is, and if the sandbox answers 101
 * the client's connection is handed to a {@link TunnelConnection}. Any other answer is relayed as a plain response.
 */
final class UpgradeTunnel {
    private static final int MAX_HEAD = 64 * 1024;
    /** Response headers Jetty writes itself, or that describe the sandbox's framing rather than ours. */
    private static final Set<String> NOT_COPIED = Set.of("content-length", "transfer-encoding", "connection",
            "keep-alive", "date", "server");

    private UpgradeTunnel() {}

    /** Whether the client asks to switch protocols on this connection. */
    static boolean wanted(Request request) {
        if (request.getConnectionMetaData().getHttpVersion() != HttpVersion.HTTP_1_1) return false;
        if (!request.getHeaders().contains(HttpHeader.UPGRADE)) return false;
        String connection = request.getHeaders().get(HttpHeader.CONNECTION);
        return connection != null && connection.toLowerCase(Locale.ROOT).contains("upgrade");
    }

    /** Outcome of trying the sandbox's port. */
    enum Result { TUNNELLED, RELAYED, REFUSED }

    /**
     * Sends the request head to {@code target} and answers the client. Blocking: run it on a virtual thread.
     *
     * @param onClosed runs once when the exchange or tunnel is over (also when refused)
     */
    static Result relay(Request request, Response response, Callback callback, URI target, Runnable onClosed) {
        Socket backend = new Socket();
        boolean handedOver = false;
        try {
            try {
                backend.connect(new InetSocketAddress(target.getHost(), target.getPort()), 10_000);
            } catch (IOException e) {
                return Result.REFUSED;
            }
            backend.setSoTimeout(30_000);
            OutputStream out = backend.getOutputStream();
            out.write(head(request).getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = backend.getInputStream();
            byte[] raw = readHead(in);
            int end = headEnd(raw);
            if (end < 0) {
                fail(response, callback, "the sandbox's port closed the connection during the upgrade");
                return Result.RELAYED;
            }
            String[] lines = new String(raw, 0, end, StandardCharsets.ISO_8859_1).split("\r\n");
            int status = Integer.parseInt(lines[0].split(" ", 3)[1]);
            byte[] rest = Arrays.copyOfRange(raw, end + 4, raw.length);
            response.setStatus(status);
            long length = -1;
            boolean chunked = false;
            for (int i = 1; i < lines.length; i++) {
                int colon = lines[i].indexOf(':');
                if (colon <= 0) continue;
                String name = lines[i].substring(0, colon).trim();
                String value = lines[i].substring(colon + 1).trim();
                String lower = name.toLowerCase(Locale.ROOT);
                if (lower.equals("content-length")) length = Long.parseLong(value);
                if (lower.equals("transfer-encoding")) chunked = value.toLowerCase(Locale.ROOT).contains("chunked");
                if (status == 101 ? lower.equals("content-length") : NOT_COPIED.contains(lower)) continue;
                response.getHeaders().add(new HttpField(name, value));
            }
            if (status == 101) {
                backend.setSoTimeout(0);
                request.setAttribute(HttpStream.UPGRADE_CONNECTION_ATTRIBUTE,
                        new TunnelConnection(request.getConnectionMetaData().getConnection().getEndPoint(),
                                request.getComponents().getExecutor(), backend, rest, onClosed));
                handedOver = true;
                callback.succeeded();
                return Result.TUNNELLED;
            }
            byte[] body = chunked ? dechunk(rest, in) : rest(rest, in, length);
            response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
            response.write(true, ByteBuffer.wrap(body), callback);
            return Result.RELAYED;
        } catch (IOException | RuntimeException e) {
            fail(response, callback, "the upgrade to the sandbox's port failed: " + e.getMessage());
            return Result.RELAYED;
        } finally {
            if (!handedOver) {
                try {
                    backend.close();
                } catch (IOException ignored) {
                    // closing anyway
                }
                onClosed.run();
            }
        }
    }

    private static void fail(Response response, Callback callback, String message) {
        if (response.isCommitted()) {
            callback.failed(new IOException(message));
        } else {
            dev.boxwood.server.api.HttpJson.error(response, callback, 502, message);
        }
    }

    private static String head(Request request) {
        StringBuilder b = new StringBuilder();
        String target = request.getHttpURI().getPathQuery();
        b.append(request.getMethod()).append(' ').append(target == null || target.isEmpty() ? "/" : target)
                .append(" HTTP/1.1\r\n");
        for (HttpField f : request.getHeaders()) {
            b.append(f.getName()).append(": ").append(f.getValue()).append("\r\n");
        }
        return b.append("\r\n").toString();
    }

    /** Reads at least the whole head (maybe more); stops at the blank line or EOF. */
    private static byte[] readHead(InputStream in) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        byte[] chunk = new byte[4096];
        while (headEnd(buf.toByteArray()) < 0) {
            int n = in.read(chunk);
            if (n < 0) break;
            buf.write(chunk, 0, n);
            if (buf.size() > MAX_HEAD) throw new IOException("response head too large");
        }
        return buf.toByteArray();
    }

    private static int headEnd(byte[] b) {
        for (int i = 0; i + 3 < b.length; i++) {
            if (b[i] == '\r' && b[i + 1] == '\n' && b[i + 2] == '\r' && b[i + 3] == '\n') return i;
        }
        return -1;
    }

    private static byte[] rest(byte[] already, InputStream in, long length) throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.write(already);
        if (length < 0) {
            body.write(in.readAllBytes());
        } else {
            while (body.size() < length) {
                byte[] more = in.readNBytes((int) Math.min(8192, length - body.size()));
                if (more.length == 0) break;
                body.write(more);
            }
        }
        return body.toByteArray();
    }

    private static byte[] dechunk(byte[] already, InputStream in) throws IOException {
        InputStream all = new java.io.SequenceInputStream(new java.io.ByteArrayInputStream(already), in);
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        while (true) {
            String size = line(all);
            int semi = size.indexOf(';');
            int n = Integer.parseInt((semi >= 0 ? size.substring(0, semi) : size).trim(), 16);
            if (n == 0) return body.toByteArray();
            body.write(all.readNBytes(n));
            line(all);
        }
    }

    private static String line(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0 && c != '\n') {
            if (c != '\r') b.append((char) c);
        }
        if (c < 0 && b.isEmpty()) throw new IOException("truncated chunked body");
        return b.toString();
    }
}
