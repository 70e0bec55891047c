package dev.boxwood.agent.interpreter;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.boxwood.agent.interpreter.jupyter.ConnectionInfo;
import dev.boxwood.agent.interpreter.jupyter.KernelSpecs;
import dev.boxwood.agent.interpreter.jupyter.MessageSigner;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;
import org.zeromq.ZMsg;

/**
 * The wrapper kernel ({@code boxwood_wrapper_kernel.py}) on the wire, without the agent: anything can connect to a
 * kernel's ports inside a sandbox, so frames that are not a signed Jupyter message must be ignored, never end it.
 */
class WrapperKernelProtocolTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private Process kernel;
    private ZContext zmq;
    private ZMQ.Socket shell;
    private ZMQ.Socket iopub;
    private MessageSigner signer;

    @BeforeEach
    void start() throws Exception {
        Assumptions.assumeTrue(InterpreterServer.available(), "python3-ipykernel (and with it pyzmq) is not installed");
        Path script = tmp.resolve("boxwood_wrapper_kernel.py");
        try (InputStream in = getClass().getResourceAsStream("/interpreter/boxwood_wrapper_kernel.py")) {
            Files.copy(in, script);
        }
        ConnectionInfo connection = ConnectionInfo.allocate("boxwood-bash");
        Path file = tmp.resolve("connection.json");
        connection.write(file);
        signer = new MessageSigner(connection.key());
        // the python the agent would run the wrapper with: the one of the python3 kernelspec
        String python = KernelSpecs.discover(KernelSpecs.searchPath()).get("python3").argv().getFirst();
        ProcessBuilder builder = new ProcessBuilder(python, script.toString(), "-f", file.toString())
                .redirectErrorStream(true).redirectOutput(tmp.resolve("kernel.log").toFile());
        builder.environment().put("BOXWOOD_RUNTIME", "bash");
        kernel = builder.start();
        zmq = new ZContext();
        shell = zmq.createSocket(SocketType.DEALER);
        shell.connect(connection.endpoint(connection.shellPort()));
        iopub = zmq.createSocket(SocketType.SUB);
        iopub.subscribe(ZMQ.SUBSCRIPTION_ALL);
        iopub.connect(connection.endpoint(connection.iopubPort()));
    }

    @AfterEach
    void stop() {
        if (kernel != null) kernel.destroyForcibly();
        if (zmq != null) zmq.close();
    }

    /** kernel_info until it is answered on shell and something arrives on iopub (a SUB hears only once joined). */
    private void awaitReady() throws Exception {
        shell.setReceiveTimeOut(500);
        iopub.setReceiveTimeOut(0);
        boolean replied = false;
        boolean heard = false;
        for (long deadline = System.nanoTime() + 30_000_000_000L; !(replied && heard); ) {
            assertThat(System.nanoTime()).as("the kernel answers; its log: %s", log()).isLessThan(deadline);
            send(message("kernel_info_request", "{}"));
            replied |= ZMsg.recvMsg(shell) != null;
            while (ZMsg.recvMsg(iopub) != null) heard = true;
        }
        while (ZMsg.recvMsg(shell) != null) { /* replies to the extra kernel_info requests */ }
        Thread.sleep(200);
        while (ZMsg.recvMsg(iopub) != null) { /* their busy/idle */ }
    }

    @Test
    void framesThatAreNotASignedMessageAreIgnoredAndTheKernelServesOn() throws Exception {
        awaitReady();
        shell.send("not a jupyter message");
        send(List.of("<IDS|MSG>".getBytes(StandardCharsets.UTF_8), "x".getBytes(StandardCharsets.UTF_8)));
        send(List.of("<IDS|MSG>", "bad-signature", "{", "{}", "{}", "{}").stream()
                .map(s -> s.getBytes(StandardCharsets.UTF_8)).toList());
        // a well-formed execute whose signature is wrong: ignored, as ipykernel ignores it
        List<byte[]> forged = message("execute_request", "{\"code\":\"echo forged\",\"silent\":false}");
        forged.set(1, "0".repeat(64).getBytes(StandardCharsets.UTF_8));
        send(forged);

        send(message("execute_request", "{\"code\":\"echo alive\",\"silent\":false}"));
        shell.setReceiveTimeOut(30_000);
        ZMsg reply = ZMsg.recvMsg(shell);
        assertThat(reply).as("an execute_reply; kernel log: %s", log()).isNotNull();
        assertThat(JSON.readTree(reply.getLast().getData()).path("status").asText()).isEqualTo("ok");
        assertThat(kernel.isAlive()).isTrue();

        StringBuilder stdout = new StringBuilder();
        iopub.setReceiveTimeOut(2_000);
        for (ZMsg published; (published = ZMsg.recvMsg(iopub)) != null; ) {
            JsonNode content = JSON.readTree(published.getLast().getData());
            stdout.append(content.path("text").asText(""));
        }
        assertThat(stdout.toString()).isEqualTo("alive\n");
    }

    /**
     * A kernel whose agent is killed (no shutdown request can come) ends, with its child runtime: on a host, nothing else
     * would end it. Its parent here is a shell the test kills, as the agent would be.
     */
    @Test
    void aKernelWhoseParentIsKilledEndsWithItsChild() throws Exception {
        ConnectionInfo other = ConnectionInfo.allocate("boxwood-bash");
        Path file = tmp.resolve("orphan.json");
        other.write(file);
        String python = KernelSpecs.discover(KernelSpecs.searchPath()).get("python3").argv().getFirst();
        ProcessBuilder builder = new ProcessBuilder("sh", "-c", "export JPY_PARENT_PID=$$; \"$0\" \"$1\" -f \"$2\" "
                + "> \"$3\" 2>&1 & echo $!; wait", python, tmp.resolve("boxwood_wrapper_kernel.py").toString(),
                file.toString(), tmp.resolve("orphan.log").toString());
        builder.environment().put("BOXWOOD_RUNTIME", "bash");
        Process parent = builder.start();
        long pid = Long.parseLong(new java.io.BufferedReader(new java.io.InputStreamReader(parent.getInputStream(),
                StandardCharsets.US_ASCII)).readLine().strip());
        ProcessHandle orphan = ProcessHandle.of(pid).orElseThrow();
        // its child runtime (bash) is up once the kernel has started it
        for (long deadline = System.nanoTime() + 30_000_000_000L; orphan.children().findAny().isEmpty(); ) {
            assertThat(System.nanoTime()).as("the kernel starts its runtime").isLessThan(deadline);
            Thread.sleep(50);
        }
        ProcessHandle runtime = orphan.children().findFirst().orElseThrow();

        parent.destroyForcibly().waitFor();
        assertThat(orphan.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS).isAlive()).isFalse();
        assertThat(runtime.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS).isAlive()).isFalse();
    }

    private String log() throws Exception {
        return Files.readString(tmp.resolve("kernel.log"));
    }

    private void send(List<byte[]> frames) {
        ZMsg msg = new ZMsg();
        frames.forEach(msg::add);
        msg.send(shell);
    }

    private List<byte[]> message(String type, String content) throws Exception {
        byte[] header = JSON.writeValueAsBytes(Map.of("msg_id", UUID.randomUUID().toString(), "session", "test",
                "username", "test", "date", "", "msg_type", type, "version", "5.3"));
        byte[] empty = "{}".getBytes(StandardCharsets.UTF_8);
        byte[] body = content.getBytes(StandardCharsets.UTF_8);
        List<byte[]> frames = new ArrayList<>();
        frames.add("<IDS|MSG>".getBytes(StandardCharsets.UTF_8));
        frames.add(signer.sign(header, empty, empty, body).getBytes(StandardCharsets.UTF_8));
        frames.addAll(List.of(header, empty, empty, body));
        return frames;
    }
}
