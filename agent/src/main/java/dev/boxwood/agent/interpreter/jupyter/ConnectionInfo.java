package dev.boxwood.agent.interpreter.jupyter;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/** The contents of a Jupyter connection file: where the kernel listens and the key messages are signed with. */
public record ConnectionInfo(String ip, int shellPort, int iopubPort, int stdinPort, int controlPort, int hbPort,
                             String key, String kernelName) {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final SecureRandom RANDOM = new SecureRandom();

    /**
     * Picks five free loopback ports. The kernel binds them shortly after; another process could take one in
     * between, in which case the kernel fails to start and the caller retries with fresh ports.
     */
    public static ConnectionInfo allocate(String kernelName) throws IOException {
        List<ServerSocket> held = new ArrayList<>();
        try {
            int[] ports = new int[5];
            for (int i = 0; i < ports.length; i++) {
                ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                held.add(s);
                ports[i] = s.getLocalPort();
            }
            byte[] key = new byte[32];
            RANDOM.nextBytes(key);
            return new ConnectionInfo("127.0.0.1", ports[0], ports[1], ports[2], ports[3], ports[4],
                    HexFormat.of().formatHex(key), kernelName);
        } finally {
            for (ServerSocket s : held) s.close();
        }
    }

    public String endpoint(int port) {
        return "tcp://" + ip + ":" + port;
    }

    /** Writes the file readable by its owner only: the key in it lets anyone run code in the kernel. */
    public void write(Path file) throws IOException {
        ObjectNode json = JSON.createObjectNode();
        json.put("ip", ip);
        json.put("transport", "tcp");
        json.put("shell_port", shellPort);
        json.put("iopub_port", iopubPort);
        json.put("stdin_port", stdinPort);
        json.put("control_port", controlPort);
        json.put("hb_port", hbPort);
        json.put("key", key);
        json.put("signature_scheme", "hmac-sha256");
        json.put("kernel_name", kernelName);
        Files.deleteIfExists(file);
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.write(file, JSON.writeValueAsBytes(json));
    }
}
