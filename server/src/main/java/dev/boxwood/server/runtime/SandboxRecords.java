package dev.boxwood.server.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import dev.boxwood.server.network.NetworkAttachment;
import dev.boxwood.server.network.SandboxNetwork;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * What every runtime here leaves per sandbox (a directory with {@code sandbox.properties}, a network attachment, the
 * OCI runtime's own state), read back the same way whichever OCI runtime ran it.
 */
final class SandboxRecords {
    static final Pattern ID = Pattern.compile("[a-z0-9]{1,64}");
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    private SandboxRecords() {}

    /**
     * A sandbox the OCI runtime reports as running or paused (frozen: a paused sandbox is taken back paused and
     * resumed on request), with its directory and network intact.
     */
    static Optional<RunningSandbox> running(String id, Optional<JsonNode> ociState, Path sandboxDir,
                                            SandboxNetwork network) {
        Optional<NetworkAttachment> net = network.find(id);
        Path propsFile = sandboxDir.resolve("sandbox.properties");
        if (ociState.isEmpty() || net.isEmpty() || !Files.isRegularFile(propsFile)
                || !List.of("running", "paused").contains(ociState.get().path("status").asText())) {
            return Optional.empty();
        }
        Properties props = new Properties();
        try (var in = Files.newInputStream(propsFile)) {
            props.load(in);
        } catch (IOException e) {
            return Optional.empty();
        }
        return Optional.of(new RunningSandbox(id, net.get().sandboxAddress(), ociState.get().path("pid").asLong(),
                props.getProperty("initToken")));
    }

    /**
     * {@code <oci> pause|resume <id>} (cgroup freezer for crun, gVisor's own for runsc), a no-op when the OCI state
     * already is the wanted one, so that a restarted server can put a sandbox back in the state its row records.
     */
    static void freeze(String id, boolean pause, Function<String[], List<String>> oci) {
        if (id == null || !ID.matcher(id).matches()) {
            throw new RuntimeFailure("invalid sandbox id");
        }
        HostCommand.Result state = HostCommand.run(oci.apply(new String[] {"state", id}));
        if (!state.ok()) {
            throw new RuntimeFailure("sandbox " + id + " does not exist");
        }
        String status;
        try {
            status = JSON.readTree(state.output()).path("status").asText();
        } catch (IOException e) {
            throw new RuntimeFailure("unreadable state of sandbox " + id, e);
        }
        if (status.equals(pause ? "paused" : "running")) {
            return;
        }
        String verb = pause ? "pause" : "resume";
        HostCommand.Result r = HostCommand.run(oci.apply(new String[] {verb, id}));
        if (!r.ok()) {
            throw new RuntimeFailure(verb + " failed for sandbox " + id + ": " + r.output().strip());
        }
    }

    /**
     * Ids this instance has traces of: those its OCI runtime lists, its sandbox directories, its network traces.
     * Only this instance's own records: cgroups and netns pins are host-wide, and another Boxwood (a test server with
     * its own data dir) must never see, let alone destroy, this one's sandboxes. Every sandbox has its directory from
     * the first step of start to the last step of destroy, so nothing escapes this list.
     */
    static List<String> leftovers(HostCommand.Result ociList, Path sandboxesDir, SandboxNetwork network) {
        Set<String> ids = new LinkedHashSet<>();
        if (ociList.ok()) {
            ociList.output().lines().map(String::strip).filter(s -> ID.matcher(s).matches()).forEach(ids::add);
        }
        if (Files.isDirectory(sandboxesDir)) {
            try (Stream<Path> dirs = Files.list(sandboxesDir)) {
                dirs.map(p -> p.getFileName().toString()).filter(n -> ID.matcher(n).matches()).forEach(ids::add);
            } catch (IOException ignored) {
                // unreadable: nothing to report from here
            }
        }
        ids.addAll(network.traces());
        return new ArrayList<>(ids);
    }
}
