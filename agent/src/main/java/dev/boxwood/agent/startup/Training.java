package dev.boxwood.agent.startup;

import dev.boxwood.agent.Agent;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A training run for the JVM's AOT cache ({@code java -XX:AOTCacheOutput=agent.aot -jar agent.jar --train}): starts
 * an agent on a loopback port, drives the paths every sandbox uses (health, init, a process, filesystem RPCs, an
 * upload and a download) and stops. The classes loaded and linked here are what the cache then serves at start-up.
 * Never fails the build: a failed exercise only makes the cache smaller.
 */
public final class Training {
    private Training() {}

    public static void run() {
        Path dir = null;
        try (Agent agent = Agent.start("127.0.0.1", 0, "train")) {
            dir = Files.createTempDirectory("boxwood-agent-train");
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            String base = "http://127.0.0.1:" + agent.port();
            send(http, HttpRequest.newBuilder(URI.create(base + "/health")).GET());
            send(http, HttpRequest.newBuilder(URI.create(base + "/init")).header("X-Boxwood-Init-Token", "train")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"accessToken\":\"t\",\"envVars\":{\"A\":\"1\"},"
                            + "\"defaultUser\":\"root\"}")));
            String json = "application/json";
            rpc(http, base, "process.Process/List", json, "{}".getBytes());
            rpc(http, base, "process.Process/Start", "application/connect+json", envelope(
                    "{\"process\":{\"cmd\":\"/bin/sh\",\"args\":[\"-c\",\"echo out; echo err >&2\"]},\"stdin\":false}"));
            rpc(http, base, "filesystem.Filesystem/MakeDir", json, ("{\"path\":\"" + dir + "/d\"}").getBytes());
            rpc(http, base, "filesystem.Filesystem/ListDir", json, ("{\"path\":\"" + dir + "\",\"depth\":2}").getBytes());
            rpc(http, base, "filesystem.Filesystem/Stat", json, ("{\"path\":\"" + dir + "/missing\"}").getBytes());
            send(http, HttpRequest.newBuilder(URI.create(base + "/files?path=" + dir + "/f.txt"))
                    .header("X-Access-Token", "t").header("Content-Type", "multipart/form-data; boundary=b")
                    .POST(HttpRequest.BodyPublishers.ofString("--b\r\nContent-Disposition: form-data; name=\"file\"; "
                            + "filename=\"f.txt\"\r\n\r\nhello\r\n--b--\r\n")));
            send(http, HttpRequest.newBuilder(URI.create(base + "/files?path=" + dir + "/f.txt"))
                    .header("X-Access-Token", "t").GET());
            rpc(http, base, "filesystem.Filesystem/Remove", json, ("{\"path\":\"" + dir + "/d\"}").getBytes());
        } catch (Exception e) {
            System.err.println("agent training incomplete: " + e);
        } finally {
            if (dir != null) {
                try (var paths = Files.walk(dir)) {
                    paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                } catch (Exception ignored) {
                    // a temp dir left behind is harmless
                }
            }
        }
    }

    private static void rpc(HttpClient http, String base, String method, String type, byte[] body) throws Exception {
        send(http, HttpRequest.newBuilder(URI.create(base + "/" + method)).header("X-Access-Token", "t")
                .header("Connect-Protocol-Version", "1").header("Content-Type", type)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)));
    }

    private static void send(HttpClient http, HttpRequest.Builder request) throws Exception {
        http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    private static byte[] envelope(String json) {
        byte[] payload = json.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(5 + payload.length).put((byte) 0).putInt(payload.length).put(payload).array();
    }
}
