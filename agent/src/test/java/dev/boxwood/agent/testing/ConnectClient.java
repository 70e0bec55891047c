package dev.boxwood.agent.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A small hand-written Connect client (JSON codec, HTTP/1.1) for talking to a real agent in tests. */
public final class ConnectClient {
    public static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();
    private final String base;
    private volatile String accessToken;

    public ConnectClient(String base) {
        this.base = base;
    }

    public String base() {
        return base;
    }

    public HttpClient http() {
        return http;
    }

    public void accessToken(String token) {
        this.accessToken = token;
    }

    public String accessToken() {
        return accessToken;
    }

    public record Reply(int status, JsonNode body, String raw) {
        public String code() {
            return body == null ? null : body.path("code").asText(null);
        }
    }

    /** One response envelope: its flags and its JSON. */
    public record Frame(int flags, JsonNode json) {
        public boolean isEnd() {
            return (flags & 2) != 0;
        }

        /** The process event inside a process stream message, e.g. {@code start}, {@code data}. */
        public JsonNode event() {
            return json.path("event");
        }
    }

    public static String basic(String user) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":").getBytes(StandardCharsets.UTF_8));
    }

    public static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    public static String unb64(JsonNode node) {
        return new String(Base64.getDecoder().decode(node.asText()), StandardCharsets.UTF_8);
    }

    public Reply unary(String method, String json, String... headers) throws Exception {
        return unaryRaw(method, "application/json", json.getBytes(StandardCharsets.UTF_8), headers);
    }

    public Reply unaryRaw(String method, String contentType, byte[] body, String... headers) throws Exception {
        HttpRequest.Builder b = request(method, headers).header("Content-Type", contentType)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        JsonNode node = null;
        try {
            node = r.body().isEmpty() ? null : JSON.readTree(r.body());
        } catch (IOException ignored) {
            // not JSON: the test looks at raw
        }
        return new Reply(r.statusCode(), node, r.body());
    }

    private HttpRequest.Builder request(String method, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + "/" + method))
                .header("Connect-Protocol-Version", "1");
        if (accessToken != null) b.header("X-Access-Token", accessToken);
        for (int i = 0; i < headers.length; i += 2) b.header(headers[i], headers[i + 1]);
        return b;
    }

    public static byte[] envelope(int flags, byte[] payload) {
        ByteBuffer buf = ByteBuffer.allocate(5 + payload.length);
        buf.put((byte) flags).putInt(payload.length).put(payload);
        return buf.array();
    }

    /** Starts a server-streaming call; frames arrive on a background thread. */
    public Stream stream(String method, String json, String... headers) throws Exception {
        return streamRaw(method, envelope(0, json.getBytes(StandardCharsets.UTF_8)), headers);
    }

    public Stream streamRaw(String method, byte[] body, String... headers) throws Exception {
        HttpRequest req = request(method, headers).header("Content-Type", "application/connect+json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
        HttpResponse<InputStream> r = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
        return new Stream(r);
    }

    /** A running server stream. */
    public static final class Stream implements AutoCloseable {
        private final HttpResponse<InputStream> response;
        private final BlockingQueue<Object> frames = new LinkedBlockingQueue<>();
        private final Thread reader;

        Stream(HttpResponse<InputStream> response) {
            this.response = response;
            this.reader = Thread.ofVirtual().start(this::read);
        }

        public int status() {
            return response.statusCode();
        }

        public Map<String, List<String>> headers() {
            return response.headers().map();
        }

        private void read() {
            try (DataInputStream in = new DataInputStream(response.body())) {
                while (true) {
                    int flags;
                    try {
                        flags = in.readUnsignedByte();
                    } catch (EOFException e) {
                        frames.add("eof");
                        return;
                    }
                    int len = in.readInt();
                    byte[] payload = in.readNBytes(len);
                    frames.add(new Frame(flags, JSON.readTree(payload)));
                }
            } catch (IOException e) {
                frames.add(e);
            }
        }

        /** The next frame, failing the test if none comes within 60 s or the stream broke. */
        public Frame next() throws Exception {
            Object o = frames.poll(60, TimeUnit.SECONDS);
            if (o == null) throw new AssertionError("no frame within 60 s");
            if (o instanceof Frame f) return f;
            throw new AssertionError("stream ended without a frame: " + o);
        }

        /** Every frame up to and including the end-of-stream frame. */
        public List<Frame> rest() throws Exception {
            List<Frame> out = new ArrayList<>();
            while (true) {
                Frame f = next();
                out.add(f);
                if (f.isEnd()) {
                    Object eof = frames.poll(10, TimeUnit.SECONDS);
                    if (!"eof".equals(eof)) throw new AssertionError("data after the end-of-stream frame: " + eof);
                    return out;
                }
            }
        }

        @Override
        public void close() throws IOException {
            reader.interrupt();
            response.body().close();
        }
    }

    /** Concatenated stdout / stderr / pty output of process stream frames. */
    public static String output(List<Frame> frames, String kind) {
        StringBuilder sb = new StringBuilder();
        for (Frame f : frames) {
            JsonNode d = f.event().path("data").path(kind);
            if (!d.isMissingNode()) sb.append(unb64(d));
        }
        return sb.toString();
    }

    public static JsonNode end(List<Frame> frames) {
        for (Frame f : frames) {
            if (f.event().has("end")) return f.event().get("end");
        }
        throw new AssertionError("no end event in " + frames);
    }
}
