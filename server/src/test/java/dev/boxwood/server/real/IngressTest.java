package dev.boxwood.server.real;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.boxwood.server.BoxwoodServer;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Ingress through the router to a server a real sandbox runs on an arbitrary port: HTTP by Host and by headers with
 * bodies streamed both ways, WebSocket frames both ways, private ports and their traffic token, closed ports.
 */
class IngressTest extends RealServerTest {
    static final int PORT = 8080;

    @Test
    void anyPortIsReachableOverHttpAndWebSocketAndPrivatePortsNeedTheTrafficToken() throws Exception {
        try (BoxwoodServer server = real.start(DOMAIN)) {
            String key = server.teams().createKey(server.teams().ensureTeam("ingress"));
            String open = create(server, key, "{\"templateID\":\"base\"}");
            JsonNode privateBox = JSON.readTree(real.call(server, "POST", "/v2/sandboxes", key,
                    "{\"templateID\":\"base\",\"network\":{\"allowPublicTraffic\":false}}").body());
            String closed = privateBox.get("sandboxID").asText();
            String traffic = privateBox.get("trafficAccessToken").asText();
            assertThat(traffic).isNotBlank();
            serve(real, server, open, null);
            serve(real, server, closed, traffic);

            // By Host, over a raw connection (the way a browser reaches {port}-{id}.{domain}).
            String byHost = raw(server, "GET /some/path?q=1 HTTP/1.1\r\nHost: " + PORT + "-" + open + "." + DOMAIN
                    + "\r\nConnection: close\r\n\r\n");
            assertThat(byHost).startsWith("HTTP/1.1 200").contains("method=GET path=/some/path?q=1");

            // By headers: a 3 MiB upload arrives whole, a chunked download of 2 MB arrives whole.
            byte[] upload = new byte[3 << 20];
            new java.util.Random(7).nextBytes(upload);
            HttpResponse<String> posted = real.http.send(HttpRequest.newBuilder(server.uri().resolve("/upload"))
                    .header("E2b-Sandbox-Id", open).header("E2b-Sandbox-Port", Integer.toString(PORT))
                    .POST(HttpRequest.BodyPublishers.ofByteArray(upload)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(posted.statusCode()).isEqualTo(200);
            assertThat(posted.body()).contains("received=" + upload.length)
                    .contains("sha256=" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(upload)));
            HttpResponse<InputStream> streamed = real.http.send(HttpRequest.newBuilder(server.uri().resolve("/stream"))
                    .header("E2b-Sandbox-Id", open).header("E2b-Sandbox-Port", Integer.toString(PORT)).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            byte[] body;
            try (InputStream in = streamed.body()) {
                body = in.readAllBytes();
            }
            assertThat(body).hasSize(200 * 10_000);
            assertThat(new String(body, 1_990_000, 10, StandardCharsets.US_ASCII)).isEqualTo("0199019901");

            // WebSocket: the sandbox speaks first, then echoes a small and a 70 000-byte frame.
            Frames frames = new Frames();
            WebSocket ws = websocket(server, open, null, frames).join();
            assertThat(frames.next()).isEqualTo("hello from the sandbox");
            ws.sendText("ping", true).join();
            assertThat(frames.next()).isEqualTo("echo:ping");
            String large = "x".repeat(70_000);
            ws.sendText(large, true).join();
            String echoed = frames.next();
            assertThat(echoed.length()).isEqualTo(large.length() + 5);
            assertThat(echoed.equals("echo:" + large)).as("the large frame came back intact").isTrue();
            ws.sendClose(WebSocket.NORMAL_CLOSURE, "done").join();

            // WebSocket by Host, over a raw connection as a browser would open it.
            try (Socket socket = new Socket(server.uri().getHost(), server.uri().getPort())) {
                socket.setSoTimeout(30_000);
                OutputStream out = socket.getOutputStream();
                out.write(("GET /ws HTTP/1.1\r\nHost: " + PORT + "-" + open + "." + DOMAIN + "\r\nConnection: Upgrade\r\n"
                        + "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                out.flush();
                InputStream in = socket.getInputStream();
                String head = readHead(in);
                assertThat(head).startsWith("HTTP/1.1 101").containsIgnoringCase("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
                assertThat(readTextFrame(in)).isEqualTo("hello from the sandbox");
                byte[] payload = "raw".getBytes(StandardCharsets.US_ASCII);
                byte[] mask = {1, 2, 3, 4};
                out.write(new byte[] {(byte) 0x81, (byte) (0x80 | payload.length), mask[0], mask[1], mask[2], mask[3]});
                for (int i = 0; i < payload.length; i++) out.write(payload[i] ^ mask[i % 4]);
                out.flush();
                assertThat(readTextFrame(in)).isEqualTo("echo:raw");
            }
            // An upgrade the sandbox declines is relayed as its plain answer.
            assertThat(raw(server, "GET /declined HTTP/1.1\r\nHost: " + PORT + "-" + open + "." + DOMAIN
                    + "\r\nConnection: Upgrade, close\r\nUpgrade: something-else\r\n\r\n"))
                    .startsWith("HTTP/1.1 200").contains("path=/declined");

            // A private sandbox: 403 without or with a wrong token, through both routes; its agent stays reachable.
            HttpResponse<String> none = real.call(server, "GET", "/x", null, null,
                    "E2b-Sandbox-Id", closed, "E2b-Sandbox-Port", Integer.toString(PORT));
            assertThat(none.statusCode()).isEqualTo(403);
            JsonNode refusal = JSON.readTree(none.body());
            assertThat(refusal.get("code").asInt()).isEqualTo(403);
            assertThat(refusal.get("sandboxId").asText()).isEqualTo(closed);
            assertThat(real.call(server, "GET", "/x", null, null, "E2b-Sandbox-Id", closed, "E2b-Sandbox-Port",
                    Integer.toString(PORT), "E2B-Traffic-Access-Token", traffic + "x").statusCode()).isEqualTo(403);
            assertThat(raw(server, "GET /x HTTP/1.1\r\nHost: " + PORT + "-" + closed + "." + DOMAIN
                    + "\r\nConnection: close\r\n\r\n")).startsWith("HTTP/1.1 403");
            assertThat(real.call(server, "GET", "/x", null, null, "E2b-Sandbox-Id", closed, "E2b-Sandbox-Port",
                    Integer.toString(PORT), "E2B-Traffic-Access-Token", traffic).body()).contains("path=/x");
            assertThat(raw(server, "GET /x HTTP/1.1\r\nHost: " + PORT + "-" + closed + "." + DOMAIN
                    + "\r\nE2B-Traffic-Access-Token: " + traffic + "\r\nConnection: close\r\n\r\n"))
                    .startsWith("HTTP/1.1 200");
            assertThat(real.call(server, "GET", "/health", null, null, "E2b-Sandbox-Id", closed,
                    "E2b-Sandbox-Port", "49983").statusCode()).isEqualTo(204);
            assertThat(websocket(server, closed, null, new Frames()))
                    .failsWithin(Duration.ofSeconds(30)).withThrowableThat().havingRootCause()
                    .withMessageContaining("403");
            Frames privateFrames = new Frames();
            WebSocket privateWs = websocket(server, closed, traffic, privateFrames).join();
            assertThat(privateFrames.next()).isEqualTo("hello from the sandbox");
            privateWs.sendText("secret", true).join();
            assertThat(privateFrames.next()).isEqualTo("echo:secret");
            privateWs.abort();

            // Closed port, unknown sandbox: E2B's 502 bodies, also for an upgrade.
            HttpResponse<String> closedPort = real.call(server, "GET", "/", null, null,
                    "E2b-Sandbox-Id", open, "E2b-Sandbox-Port", "8081");
            assertThat(closedPort.statusCode()).isEqualTo(502);
            assertThat(JSON.readTree(closedPort.body()).get("port").asInt()).isEqualTo(8081);
            assertThat(raw(server, "GET / HTTP/1.1\r\nHost: 8081-" + open + "." + DOMAIN + "\r\nConnection: Upgrade, close\r\n"
                    + "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"))
                    .startsWith("HTTP/1.1 502").contains("The sandbox is running but port is not open");
            String unknown = raw(server, "GET / HTTP/1.1\r\nHost: 8080-nosuchsandbox." + DOMAIN
                    + "\r\nConnection: close\r\n\r\n");
            assertThat(unknown).startsWith("HTTP/1.1 502").contains("The sandbox was not found");
        }
    }

    /** Starts the test server in the sandbox and waits until the router reaches it. */
    static void serve(RealServer real, BoxwoodServer server, String id, String traffic) throws Exception {
        serve(real, id, () -> traffic == null
                ? real.call(server, "GET", "/ready", null, null, "E2b-Sandbox-Id", id, "E2b-Sandbox-Port", "" + PORT)
                : real.call(server, "GET", "/ready", null, null, "E2b-Sandbox-Id", id, "E2b-Sandbox-Port", "" + PORT,
                "E2B-Traffic-Access-Token", traffic));
    }

    /** Writes the test server into the sandbox, starts it on {@link #PORT} and waits until {@code probe} gets a 200. */
    static void serve(RealServer real, String id, java.util.concurrent.Callable<HttpResponse<String>> probe)
            throws Exception {
        byte[] script;
        try (InputStream in = IngressTest.class.getResourceAsStream("/ingress/server.py")) {
            script = in.readAllBytes();
        }
        var started = real.runtime.crun.exec(id, List.of("/bin/bash", "-c", "echo "
                + java.util.Base64.getEncoder().encodeToString(script) + " | base64 -d > /tmp/server.py"
                + " && setsid python3 /tmp/server.py " + PORT + " >/tmp/server.log 2>&1 </dev/null &"));
        assertThat(started.ok()).as(started.output()).isTrue();
        Instant deadline = Instant.now().plusSeconds(60);
        while (true) {
            HttpResponse<String> r = probe.call();
            if (r.statusCode() == 200) return;
            assertThat(Instant.now()).as("server in " + id + " never answered: " + r.body()).isBefore(deadline);
            Thread.sleep(200);
        }
    }

    CompletableFuture<WebSocket> websocket(BoxwoodServer server, String id, String traffic, Frames frames) {
        URI uri = URI.create("ws://" + server.uri().getHost() + ":" + server.uri().getPort() + "/ws");
        WebSocket.Builder b = HttpClient.newHttpClient().newWebSocketBuilder().connectTimeout(Duration.ofSeconds(20))
                .header("E2b-Sandbox-Id", id).header("E2b-Sandbox-Port", Integer.toString(PORT));
        if (traffic != null) b.header("E2B-Traffic-Access-Token", traffic);
        return b.buildAsync(uri, frames);
    }

    static String readHead(InputStream in) throws Exception {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int c = in.read();
            assertThat(c).as("response head ended early: " + head).isNotNegative();
            head.append((char) c);
        }
        return head.toString();
    }

    /** One unmasked text frame with a payload under 126 bytes, as the sandbox's server sends them. */
    static String readTextFrame(InputStream in) throws Exception {
        byte[] header = in.readNBytes(2);
        assertThat(header[0] & 0xff).isEqualTo(0x81);
        return new String(in.readNBytes(header[1] & 0x7f), StandardCharsets.UTF_8);
    }

    static String raw(BoxwoodServer server, String request) throws Exception {
        try (Socket socket = new Socket(server.uri().getHost(), server.uri().getPort())) {
            socket.setSoTimeout(30_000);
            OutputStream out = socket.getOutputStream();
            out.write(request.getBytes(StandardCharsets.US_ASCII));
            out.flush();
            return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** Collects whole text messages. */
    static final class Frames implements WebSocket.Listener {
        final LinkedBlockingQueue<String> messages = new LinkedBlockingQueue<>();
        private final StringBuilder partial = new StringBuilder();

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            partial.append(data);
            if (last) {
                messages.add(partial.toString());
                partial.setLength(0);
            }
            webSocket.request(1);
            return null;
        }

        String next() throws InterruptedException {
            String m = messages.poll(30, TimeUnit.SECONDS);
            assertThat(m).as("a WebSocket message within 30 s").isNotNull();
            return m;
        }
    }
}
