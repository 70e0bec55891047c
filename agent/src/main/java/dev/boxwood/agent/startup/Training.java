package dev.boxwood.agent.startup;

import dev.boxwood.agent.Agent;
import dev.boxwood.agent.interpreter.InterpreterServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A training run for the JVM's AOT cache ({@code java -XX:AOTCacheOutput=agent.aot -jar agent.jar --train}): starts
 * what {@code Agent.main} starts in this sandbox (the code interpreter too when its template has a Python kernel),
 * drives the paths every sandbox uses (health, init, a process, filesystem RPCs, an upload and a download, and a
 * {@code 1+1} through the interpreter once its kernels are up) and stops. The classes loaded and linked here are what
 * the cache then serves at start-up.
 *
 * <p>The requests are written on plain sockets: an HTTP client here would put its own classes into the cache, which
 * every sandbox would then load at start-up for nothing. Never fails the build: a failed exercise only makes the
 * cache smaller.
 */
public final class Training {
    private Training() {}

    public static void run() {
        Path dir = null;
        InterpreterServer interpreter = null;
        dev.boxwood.agent.process.ResourceExemption.keepToTheAgent(); // as Agent.main does (a no-op outside gVisor)
        dev.boxwood.agent.users.Accounts accounts = new dev.boxwood.agent.users.Accounts();
        dev.boxwood.agent.Settings settings = Agent.initialSettings(accounts);
        try (dev.boxwood.agent.http.ServerResources jetty = dev.boxwood.agent.http.ServerResources.start();
             Agent agent = Agent.start("127.0.0.1", 0, "train", accounts, settings, jetty)) {
            int port = agent.port();
            // what Agent.main runs next, so that its lambdas are linked in the cache rather than spun at every start
            Agent.startTimerThreads();
            Agent.logListening("127.0.0.1", port);
            // Like Agent.main; the interpreter binds its own port, which in the throwaway sandbox is free.
            interpreter = InterpreterServer.startIfAvailable(settings, jetty);
            if (System.getenv("BOXWOOD_INIT_TOKEN_FILE") != null) {
                // in a sandbox (never on a host, whose /run this would write to), as Agent.main does
                dev.boxwood.agent.sudo.SudoService.startIfRoot();
            }
            dir = Files.createTempDirectory("boxwood-agent-train");
            send(port, "GET", "/health", Map.of(), null);
            send(port, "POST", "/init", Map.of("X-Boxwood-Init-Token", "train", "Content-Type", "application/json"),
                    "{\"accessToken\":\"t\",\"envVars\":{\"A\":\"1\"},\"defaultUser\":\"root\"}".getBytes());
            String json = "application/json";
            rpc(port, "process.Process/List", json, "{}".getBytes());
            rpc(port, "process.Process/Start", "application/connect+json", envelope(
                    "{\"process\":{\"cmd\":\"/bin/sh\",\"args\":[\"-c\",\"echo out; echo err >&2\"]},\"stdin\":false}"));
            rpc(port, "filesystem.Filesystem/MakeDir", json, ("{\"path\":\"" + dir + "/d\"}").getBytes());
            rpc(port, "filesystem.Filesystem/ListDir", json, ("{\"path\":\"" + dir + "\",\"depth\":2}").getBytes());
            rpc(port, "filesystem.Filesystem/Stat", json, ("{\"path\":\"" + dir + "/missing\"}").getBytes());
            send(port, "POST", "/files?path=" + dir + "/f.txt", Map.of("X-Access-Token", "t",
                    "Content-Type", "multipart/form-data; boundary=b"), ("--b\r\nContent-Disposition: form-data; "
                    + "name=\"file\"; filename=\"f.txt\"\r\n\r\nhello\r\n--b--\r\n").getBytes());
            send(port, "GET", "/files?path=" + dir + "/f.txt", Map.of("X-Access-Token", "t"), null);
            rpc(port, "filesystem.Filesystem/Remove", json, ("{\"path\":\"" + dir + "/d\"}").getBytes());
            if (interpreter != null) {
                int ip = interpreter.port();
                send(ip, "GET", "/health?kernels=60000", Map.of(), null);
                send(ip, "POST", "/execute", Map.of("X-Access-Token", "t", "Content-Type", json),
                        "{\"code\":\"1+1\"}".getBytes());
                send(ip, "GET", "/contexts", Map.of(), null);
            }
        } catch (Exception e) {
            System.err.println("agent training incomplete: " + e);
        } finally {
            if (interpreter != null) {
                try {
                    interpreter.close();
                } catch (Exception ignored) {
                    // exiting anyway
                }
            }
            if (dir != null) {
                try (var paths = Files.walk(dir)) {
                    paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                } catch (Exception ignored) {
                    // a temp dir left behind is harmless
                }
            }
        }
    }

    private static void rpc(int port, String method, String type, byte[] body) throws IOException {
        send(port, "POST", "/" + method, Map.of("X-Access-Token", "t", "Connect-Protocol-Version", "1",
                "Content-Type", type), body);
    }

    /** One request on its own connection, read to the end (the agent closes it: {@code Connection: close}). */
    private static int send(int port, String method, String target, Map<String, String> headers, byte[] body)
            throws IOException {
        Map<String, String> all = new LinkedHashMap<>(headers);
        all.put("Host", "127.0.0.1");
        all.put("Connection", "close");
        if (body != null) all.put("Content-Length", Integer.toString(body.length));
        StringBuilder head = new StringBuilder(method).append(' ').append(target).append(" HTTP/1.1\r\n");
        all.forEach((k, v) -> head.append(k).append(": ").append(v).append("\r\n"));
        head.append("\r\n");
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            socket.setSoTimeout(120_000);
            OutputStream out = socket.getOutputStream();
            out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
            if (body != null) out.write(body);
            out.flush();
            byte[] response = socket.getInputStream().readAllBytes();
            String status = new String(response, 0, Math.min(12, response.length), StandardCharsets.ISO_8859_1);
            return status.startsWith("HTTP/1.1 ") ? Integer.parseInt(status.substring(9, 12)) : -1;
        }
    }

    private static byte[] envelope(String json) {
        byte[] payload = json.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(5 + payload.length).put((byte) 0).putInt(payload.length).put(payload).array();
    }
}
