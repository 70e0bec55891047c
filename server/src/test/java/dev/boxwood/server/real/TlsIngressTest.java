package dev.boxwood.server.real;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.boxwood.server.BoxwoodServer;
import dev.boxwood.server.Config;
import dev.boxwood.server.router.IngressConfig;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;

/**
 * HTTPS with the certificate the server generates: a client that trusts only the generated CA reaches
 * {@code https://{port}-{id}.{domain}} (SNI and Host set by the test, no DNS), WebSockets run over TLS, and the
 * router's per-sandbox cap answers 429 while the cap is taken.
 */
class TlsIngressTest extends RealServerTest {

    @Test
    void generatedWildcardCertificateServesSandboxHostsAndTheCapHolds() throws Exception {
        Config config = Config.builder().dataDir(real.dataDir).port(0).domain(DOMAIN).defaults(1, 256, 512)
                .ingress(new IngressConfig(true, null, null, 2)).build();
        try (BoxwoodServer server = new BoxwoodServer(config, real.runtime).start()) {
            assertThat(server.uri().getScheme()).isEqualTo("https");
            Path tls = real.dataDir.resolve("tls");
            for (String secret : List.of("ca.p12", "server.p12", "password")) {
                assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(tls.resolve(secret))))
                        .as(secret).isEqualTo("rw-------");
            }
            assertThat(server.certificate().caFile()).isEqualTo(tls.resolve("ca.pem"));

            SSLContext trustingCa = SSLContext.getInstance("TLS");
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(server.certificate().trustStore());
            trustingCa.init(null, tmf.getTrustManagers(), null);
            HttpClient https = HttpClient.newBuilder().sslContext(trustingCa).version(HttpClient.Version.HTTP_1_1).build();

            // The control plane over HTTPS, at the loopback address the server prints.
            String key = server.teams().createKey(server.teams().ensureTeam("tls"));
            HttpResponse<String> created = https.send(HttpRequest.newBuilder(server.uri().resolve("/v2/sandboxes"))
                    .header("X-API-Key", key).POST(HttpRequest.BodyPublishers.ofString("{\"templateID\":\"base\"}"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
            String id = JSON.readTree(created.body()).get("sandboxID").asText();
            IngressTest.serve(real, id, () -> https.send(HttpRequest.newBuilder(server.uri().resolve("/ready"))
                    .header("E2b-Sandbox-Id", id).header("E2b-Sandbox-Port", "" + IngressTest.PORT).build(),
                    HttpResponse.BodyHandlers.ofString()));

            // https://8080-{id}.boxwood.test, verified against the CA for that name (SNI + Host, no DNS).
            String host = IngressTest.PORT + "-" + id + "." + DOMAIN;
            String answer = overTls(trustingCa, server, host, "GET /over/tls HTTP/1.1\r\nHost: " + host
                    + "\r\nConnection: close\r\n\r\n");
            assertThat(answer).startsWith("HTTP/1.1 200").contains("path=/over/tls");
            // A client that does not trust the CA is refused at the handshake.
            SSLContext plain = SSLContext.getInstance("TLS");
            plain.init(null, null, null);
            assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> overTls(plain, server, host, "GET / HTTP/1.1\r\n\r\n")))
                    .isInstanceOf(javax.net.ssl.SSLHandshakeException.class);

            // WebSockets over TLS hold the router's cap of 2 while open: a third request gets 429 in E2B's shape.
            URI wss = URI.create("wss://127.0.0.1:" + server.uri().getPort() + "/ws");
            IngressTest.Frames first = new IngressTest.Frames();
            IngressTest.Frames second = new IngressTest.Frames();
            WebSocket a = websocket(https, wss, id, first);
            WebSocket b = websocket(https, wss, id, second);
            assertThat(first.next()).isEqualTo("hello from the sandbox");
            assertThat(second.next()).isEqualTo("hello from the sandbox");
            a.sendText("over tls", true).join();
            assertThat(first.next()).isEqualTo("echo:over tls");
            HttpResponse<String> refused = get(https, server, id);
            assertThat(refused.statusCode()).isEqualTo(429);
            JsonNode body = JSON.readTree(refused.body());
            assertThat(body.get("code").asInt()).isEqualTo(429);
            assertThat(body.get("sandboxId").asText()).isEqualTo(id);

            // Closing one frees its place.
            b.sendClose(WebSocket.NORMAL_CLOSURE, "bye").join();
            Instant deadline = Instant.now().plusSeconds(30);
            HttpResponse<String> later = get(https, server, id);
            while (later.statusCode() == 429 && Instant.now().isBefore(deadline)) {
                Thread.sleep(100);
                later = get(https, server, id);
            }
            assertThat(later.statusCode()).isEqualTo(200);
            a.abort();
        }
    }

    static WebSocket websocket(HttpClient https, URI uri, String id, IngressTest.Frames frames) {
        return https.newWebSocketBuilder().header("E2b-Sandbox-Id", id)
                .header("E2b-Sandbox-Port", Integer.toString(IngressTest.PORT)).buildAsync(uri, frames).join();
    }

    static HttpResponse<String> get(HttpClient https, BoxwoodServer server, String id) throws Exception {
        return https.send(HttpRequest.newBuilder(server.uri().resolve("/x")).header("E2b-Sandbox-Id", id)
                .header("E2b-Sandbox-Port", Integer.toString(IngressTest.PORT)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** One request over TLS to the server's port, with {@code host} as SNI and as the name the certificate must match. */
    static String overTls(SSLContext context, BoxwoodServer server, String host, String request) throws Exception {
        try (Socket plain = new Socket(server.uri().getHost(), server.uri().getPort());
             SSLSocket tls = (SSLSocket) context.getSocketFactory().createSocket(plain, host, server.uri().getPort(), true)) {
            SSLParameters params = tls.getSSLParameters();
            params.setEndpointIdentificationAlgorithm("HTTPS");
            tls.setSSLParameters(params);
            tls.setSoTimeout(30_000);
            tls.startHandshake();
            OutputStream out = tls.getOutputStream();
            out.write(request.getBytes(StandardCharsets.US_ASCII));
            out.flush();
            return new String(tls.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
