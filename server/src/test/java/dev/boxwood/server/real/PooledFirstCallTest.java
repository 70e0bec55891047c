package dev.boxwood.server.real;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.boxwood.server.BoxwoodServer;
import dev.boxwood.server.Config;
import java.io.ByteArrayOutputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * A pooled sandbox runs commands and (code-interpreter templates) silent cells before its claim, to pay the first of
 * everything ahead; what a client sees of its first call must still be what a fresh sandbox shows.
 */
class PooledFirstCallTest extends RealServerTest {
    /** What the E2B SDK's {@code commands.run} starts: {@code /bin/bash -l -c <cmd>}, stdin closed. */
    private static final String PROBE = "id -un; id -u; id -gn; pwd; echo \"PATH=$PATH\"; echo \"HOME=$HOME\"; "
            + "echo \"SHELL=$SHELL\"; echo \"GREETING=${GREETING-unset}\"; umask; ls -A ~; "
            + "env | grep -v -e '^HOSTNAME=' -e '^SHLVL=' -e '^_=' -e '^E2B_SANDBOX_ID=' | sort";

    BoxwoodServer start(Map<String, Integer> pools, int memoryMB) {
        Config config = Config.builder().dataDir(real.dataDir).port(0).metricsInterval(Duration.ofSeconds(1))
                .defaults(1, memoryMB, 512).pools(pools).maxConcurrentBoots(2).build();
        return new BoxwoodServer(config, real.runtime).start();
    }

    @Test
    void theFirstCommandOfAClaimedSandboxSeesTheSameUserEnvAndCwdAsInAColdOne() throws Exception {
        // a second name for base, with no pool: its sandboxes boot cold
        Files.createSymbolicLink(real.dataDir.resolve("templates/cold"), RealServer.TEMPLATES.resolve("base"));
        try (BoxwoodServer server = start(Map.of("base", 1), 256)) {
            String key = server.teams().createKey(server.teams().ensureTeam("first-call"));
            await("the pool to fill", () -> server.pools().available().get("base") == 1);
            String pooled = server.pools().pooledIds().getFirst();
            String claimed = create(server, key, "{\"templateID\":\"base\",\"envVars\":{\"GREETING\":\"hi\"}}");
            assertThat(claimed).isEqualTo(pooled);
            String cold = create(server, key, "{\"templateID\":\"cold\",\"envVars\":{\"GREETING\":\"hi\"}}");

            String first = bash(server, claimed, token(server, key, claimed), null, PROBE);
            String fresh = bash(server, cold, token(server, key, cold), null, PROBE);
            assertThat(first).isEqualTo(fresh);
            // and what that is: E2B's user, home and login PATH; the warm-up left nothing in the home dir
            assertThat(first.lines().limit(8).toList()).containsExactly("user", "1000", "user", "/home/user",
                    "PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games", "HOME=/home/user",
                    "SHELL=/bin/bash", "GREETING=hi");
            assertThat(first.lines().skip(9).takeWhile(l -> !l.contains("=")).toList())
                    .containsExactlyInAnyOrder(".bash_logout", ".bashrc", ".profile");

            // root's login shell gets root's PATH (the template's /etc/profile asks who runs it)
            String root = bash(server, claimed, token(server, key, claimed), "root", "id -u; echo \"$PATH\"");
            assertThat(root.lines().toList()).containsExactly("0",
                    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
            // and a POSIX sh reading the same profile (dash has no EUID) agrees
            assertThat(sh(server, claimed, token(server, key, claimed), "user")).isEqualTo(
                    "/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games");
            assertThat(sh(server, claimed, token(server, key, claimed), "root")).isEqualTo(
                    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
            // root's ~/.profile runs mesg only on a terminal (a command's shell has none): a mesg first on root's PATH
            // that leaves a mark shows whether the login shell ran it
            bash(server, claimed, token(server, key, claimed), "root",
                    "printf '#!/bin/sh\\ntouch /tmp/mesg-ran\\n' > /usr/local/bin/mesg; chmod 755 /usr/local/bin/mesg");
            assertThat(bash(server, claimed, token(server, key, claimed), "root",
                    "if [ -e /tmp/mesg-ran ]; then echo ran; else echo not run; fi").strip()).isEqualTo("not run");
            // the shell of every command is the static build of bash (no dynamic loader among its own mappings), and it
            // still looks users up
            assertThat(bash(server, claimed, token(server, key, claimed), null,
                    "grep -c ld-linux /proc/$$/maps; echo ~user ~root; echo \"${BASH_VERSINFO[0]}\"").lines().toList())
                    .containsExactly("0", "/home/user /root", "5");
        }
    }

    @Test
    void theFirstCellOfAClaimedCodeInterpreterSandboxIsExecutionOneOfAFreshKernel() throws Exception {
        Path template = RealServer.TEMPLATES.resolve("code-interpreter-v1");
        Assumptions.assumeTrue(Files.isDirectory(template.resolve("rootfs")), "the code-interpreter-v1 template is not built");
        Files.createSymbolicLink(real.dataDir.resolve("templates/code-interpreter-v1"), template);
        try (BoxwoodServer server = start(Map.of("code-interpreter-v1", 1), 1024)) {
            String key = server.teams().createKey(server.teams().ensureTeam("first-cell"));
            await("the pool to fill", () -> server.pools().available().get("code-interpreter-v1") == 1);
            String pooled = server.pools().pooledIds().getFirst();
            String id = createFrom(server, key, "code-interpreter-v1");
            assertThat(id).isEqualTo(pooled);
            String token = token(server, key, id);

            List<JsonNode> first = execute(server, id, token, "1+1");
            assertThat(executionCount(first)).isEqualTo(1);
            assertThat(first).anyMatch(l -> "result".equals(l.path("type").asText()) && "2".equals(l.path("text").asText()));
            // No trace of the warm-up: the history holds this run's cells only, Out only the first result
            List<JsonNode> second = execute(server, id, token, "(len(In), list(Out), _, _1, _i1)");
            assertThat(executionCount(second)).isEqualTo(2);
            assertThat(second).noneMatch(l -> "error".equals(l.path("type").asText()));
            assertThat(second).anyMatch(l -> "result".equals(l.path("type").asText())
                    && "(3, [1], 2, 2, '1+1')".equals(l.path("text").asText()));
        }
    }

    private List<JsonNode> execute(BoxwoodServer server, String id, String token, String code) throws Exception {
        HttpResponse<String> r = real.call(server, "POST", "/execute", null, JSON.writeValueAsString(Map.of("code", code)),
                "E2b-Sandbox-Id", id, "E2b-Sandbox-Port", "49999", "X-Access-Token", token,
                "Content-Type", "application/json");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        List<JsonNode> lines = new ArrayList<>();
        for (String line : r.body().split("\n")) if (!line.isBlank()) lines.add(JSON.readTree(line));
        return lines;
    }

    private static int executionCount(List<JsonNode> lines) {
        return lines.stream().filter(l -> "number_of_executions".equals(l.path("type").asText()))
                .mapToInt(l -> l.path("execution_count").asInt()).findFirst().orElse(-1);
    }

    private String sh(BoxwoodServer server, String id, String token, String user) throws Exception {
        return start(server, id, token, user, "/bin/sh", List.of("-c", ". /etc/profile; echo \"$PATH\"")).strip();
    }

    private String bash(BoxwoodServer server, String id, String token, String user, String script) throws Exception {
        return start(server, id, token, user, "/bin/bash", List.of("-l", "-c", script));
    }

    /** {@code process.Process/Start} through the router, shaped as the SDK sends it; the command's stdout. */
    private String start(BoxwoodServer server, String id, String token, String user, String cmd, List<String> args)
            throws Exception {
        byte[] message = JSON.writeValueAsBytes(Map.of("process", Map.of("cmd", cmd, "args", args), "stdin", false));
        ByteBuffer envelope = ByteBuffer.allocate(5 + message.length).put((byte) 0).putInt(message.length).put(message);
        HttpRequest.Builder request = HttpRequest.newBuilder(server.uri().resolve("/process.Process/Start"))
                .timeout(Duration.ofSeconds(60))
                .header("E2b-Sandbox-Id", id).header("E2b-Sandbox-Port", "49983").header("X-Access-Token", token)
                .header("Content-Type", "application/connect+json").header("Connect-Protocol-Version", "1")
                .header("Keepalive-Ping-Interval", "50")
                .POST(HttpRequest.BodyPublishers.ofByteArray(envelope.array()));
        if (user != null) {
            request.header("Authorization", "Basic " + Base64.getEncoder().encodeToString((user + ":").getBytes()));
        }
        HttpResponse<byte[]> response = real.http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
        assertThat(response.statusCode()).isEqualTo(200);
        ByteBuffer in = ByteBuffer.wrap(response.body());
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        String status = null;
        while (in.remaining() >= 5) {
            in.get();
            byte[] frame = new byte[in.getInt()];
            in.get(frame);
            JsonNode event = JSON.readTree(frame).path("event");
            JsonNode data = event.path("data");
            if (data.has("stdout")) stdout.writeBytes(Base64.getDecoder().decode(data.get("stdout").asText()));
            if (event.has("end")) status = event.path("end").path("status").asText();
        }
        assertThat(status).as(stdout.toString(StandardCharsets.UTF_8)).isEqualTo("exit status 0");
        return stdout.toString(StandardCharsets.UTF_8);
    }
}
