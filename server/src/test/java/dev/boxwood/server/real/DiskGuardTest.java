package dev.boxwood.server.real;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxwood.server.BoxwoodServer;
import dev.boxwood.server.Config;
import dev.boxwood.server.runtime.CrunRuntime;
import dev.boxwood.server.runtime.HostCommand;
import dev.boxwood.server.store.SandboxEvent;
import dev.boxwood.server.store.SandboxRow;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Running sandboxes whose sparse disks together fill the filesystem under them past its reserve: the server ends the
 * one holding the most, and the others, the server and the room for new sandboxes carry on. The sandboxes live on a
 * filesystem of 2.4 GiB made for the test (reserve: 1 GiB), so that two of them can reach it quickly.
 */
class DiskGuardTest extends RealServerTest {
    private static final long SMALL_FS_MB = 2400;
    private Path image;
    private Path mountPoint;

    @Override
    RealServer newRealServer() {
        return new RealServer(config -> {
            mountPoint = config.dataDir().resolve("sandboxes");
            try {
                Files.createDirectories(mountPoint);
                image = Files.createTempFile("boxwood-disk-guard-", ".img");
                try (var file = new java.io.RandomAccessFile(image.toFile(), "rw")) {
                    file.setLength(SMALL_FS_MB << 20);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            HostCommand.check(List.of("mkfs.ext4", "-q", "-F", "-m", "0", image.toString()));
            HostCommand.check(List.of("mount", "-o", "loop", image.toString(), mountPoint.toString()));
            return new CrunRuntime(config);
        });
    }

    /** Runs before the base class's clean-up, which then finds no sandbox left and removes the directories. */
    @AfterEach
    void removeSmallFilesystem() throws IOException {
        if (real != null) {
            for (String id : real.runtime.mine) real.runtime.destroy(id);
        }
        if (mountPoint != null) HostCommand.run(List.of("umount", "-l", mountPoint.toString()));
        if (image != null) Files.deleteIfExists(image);
    }

    @Test
    void theSandboxHoldingTheMostIsEndedWhenTheHostRunsShortAndTheOthersCarryOn() throws Exception {
        Config config = Config.builder().dataDir(real.dataDir).port(0).metricsInterval(Duration.ofSeconds(1))
                .defaults(1, 256, 256).maximums(2, 1024, 1024).build();
        try (BoxwoodServer server = new BoxwoodServer(config, real.runtime).start()) {
            String key = server.teams().createKey(server.teams().ensureTeam("disk"));
            // Each create passes the admission check: sparse, their disks take no room yet.
            String modest = create(server, key, "{\"templateID\":\"base\",\"diskSizeMB\":1000}");
            String greedy = create(server, key, "{\"templateID\":\"base\",\"diskSizeMB\":1000}");
            String bystander = createFrom(server, key, "base");

            assertThat(write(modest, 600).ok()).as("600 MB fit: the host keeps its reserve").isTrue();
            Thread.sleep(2500); // more than two looks of the guard
            assertThat(server.store().find(modest).orElseThrow().status()).isEqualTo(SandboxRow.Status.RUNNING);
            assertThat(real.runtime.diskShortfall()).isZero();

            // 950 MB more take the filesystem below its reserve, on the way or at the end.
            write(greedy, 950); // fails when the guard ends it mid-way
            await("the guard to end the sandbox holding the most", () ->
                    server.store().find(greedy).orElseThrow().status() == SandboxRow.Status.KILLED);
            List<SandboxEvent> events = server.store().events(greedy, Instant.EPOCH, 100);
            assertThat(events).anySatisfy(e -> assertThat(e.message()).contains("ran short of room"));
            assertThat(real.call(server, "GET", "/sandboxes/" + greedy, key, null).statusCode()).isEqualTo(404);

            // Its disk is deleted, so the reserve is whole again; the others and their data are untouched.
            await("the room to come back", () -> real.runtime.diskShortfall() == 0);
            for (String id : List.of(modest, bystander)) {
                assertThat(server.store().find(id).orElseThrow().status()).as(id).isEqualTo(SandboxRow.Status.RUNNING);
            }
            HostCommand.Result kept = real.runtime.exec(modest, List.of("stat", "-c", "%s", "/home/user/fill"));
            assertThat(kept.output().strip()).isEqualTo(String.valueOf(600L << 20));
            assertThat(real.runtime.exec(bystander, List.of("echo", "alive")).output()).contains("alive");
            createFrom(server, key, "base");
        }
    }

    /** Writes {@code mb} MiB to the sandbox's disk, synced, as its root. */
    private HostCommand.Result write(String id, int mb) {
        return real.runtime.exec(id, List.of("dd", "if=/dev/zero", "of=/home/user/fill", "bs=1M", "count=" + mb,
                "conv=fsync", "status=none"));
    }
}
