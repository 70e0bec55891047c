package dev.boxwood.sdk.live;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.boxwood.sdk.AuthenticationException;
import dev.boxwood.sdk.ConnectionConfig;
import dev.boxwood.sdk.InvalidArgumentException;
import dev.boxwood.sdk.Sandbox;
import dev.boxwood.sdk.SandboxException;
import dev.boxwood.sdk.SandboxInfo;
import dev.boxwood.sdk.SandboxMetric;
import dev.boxwood.sdk.SandboxNotFoundException;
import dev.boxwood.sdk.SandboxPaginator;
import dev.boxwood.sdk.SandboxQuery;
import dev.boxwood.sdk.SandboxState;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Sandbox lifecycle through the SDK against a real server: create, info, list, connect, timeout, kill, errors. */
@Tag("sandbox")
class LifecycleTest {
    private final LiveServer live = LiveServer.get();
    private final ConnectionConfig config = live.config();

    @Test
    void createWithMetadataAndEnvsThenInspectConnectAndKill() {
        String testId = "lifecycle " + UUID.randomUUID() + " & =x";
        Sandbox sandbox = Sandbox.builder().config(config).metadata("testId", testId).env("GREETING", "hi there")
                .resources(1, 512).timeout(Duration.ofMinutes(2)).create();
        try {
            assertThat(sandbox.sandboxId()).matches("[a-z0-9]+");
            assertThat(sandbox.isRunning()).isTrue();
            assertThat(sandbox.commands().run("echo \"$GREETING\"").stdout()).isEqualTo("hi there\n");

            SandboxInfo info = sandbox.getInfo();
            assertThat(info.sandboxId()).isEqualTo(sandbox.sandboxId());
            assertThat(info.metadata()).containsEntry("testId", testId);
            assertThat(info.state()).isEqualTo(SandboxState.RUNNING);
            assertThat(info.endAt()).isAfter(info.startedAt());
            assertThat(info.templateId()).isEqualTo("base");
            assertThat(info.cpuCount()).isEqualTo(1);
            assertThat(info.memoryMB()).isEqualTo(512);
            // Pause freezes it (a second pause reports it was paused already); the connect below resumes it.
            assertThat(sandbox.pause()).isTrue();
            assertThat(sandbox.pause()).isFalse();
            assertThat(sandbox.getInfo().state()).isEqualTo(SandboxState.PAUSED);

            // The metadata filter survives the triple encoding, special characters included.
            List<SandboxInfo> found = Sandbox.list(SandboxQuery.builder().metadata("testId", testId).build(), config).all();
            assertThat(found).extracting(SandboxInfo::sandboxId).containsExactly(sandbox.sandboxId());

            Sandbox again = Sandbox.connect(sandbox.sandboxId(), Duration.ofMinutes(2), config);
            assertThat(again.commands().run("echo connected").stdout()).isEqualTo("connected\n");
            assertThat(sandbox.getHost(8080)).isEqualTo("8080-" + sandbox.sandboxId() + ".boxwood.test");
        } finally {
            assertThat(sandbox.kill()).isTrue();
        }
        assertThat(sandbox.kill()).isFalse();
        assertThat(sandbox.isRunning()).isFalse();
        assertThatThrownBy(sandbox::getInfo).isInstanceOf(SandboxNotFoundException.class);
        assertThat(Sandbox.list(SandboxQuery.builder().metadata("testId", testId).state(SandboxState.RUNNING).build(),
                config).all()).isEmpty();
    }

    @Test
    void closingInTryWithResourcesKillsTheSandbox() {
        String id;
        try (Sandbox sandbox = Sandbox.builder().config(config).create()) {
            id = sandbox.sandboxId();
            assertThat(sandbox.isRunning()).isTrue();
        }
        assertThatThrownBy(() -> Sandbox.getInfo(id, config)).isInstanceOf(SandboxNotFoundException.class);
        assertThatThrownBy(() -> Sandbox.connect(id, null, config)).isInstanceOf(SandboxNotFoundException.class);
    }

    @Test
    void killingTheSandboxUnderARunningCommandIsATimeout() {
        Sandbox sandbox = Sandbox.builder().config(config).create();
        try {
            var handle = sandbox.commands().runBackground("sleep 600",
                    dev.boxwood.sdk.commands.CommandOptions.builder().timeout(Duration.ZERO).build());
            assertThat(Sandbox.kill(sandbox.sandboxId(), config)).isTrue();
            assertThatThrownBy(handle::awaitResult).isInstanceOf(dev.boxwood.sdk.TimeoutException.class)
                    .hasMessageContaining("killed or timed out");
        } finally {
            sandbox.kill();
        }
    }

    @Test
    void listPagesThroughTheServersCursor() {
        String testId = "paging-" + UUID.randomUUID();
        List<Sandbox> created = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                created.add(Sandbox.builder().config(config).metadata("testId", testId).create());
            }
            SandboxPaginator pages = Sandbox.list(SandboxQuery.builder().metadata("testId", testId).limit(2).build(),
                    config);
            List<String> seen = new ArrayList<>();
            List<Integer> sizes = new ArrayList<>();
            while (pages.hasNext()) {
                List<SandboxInfo> page = pages.nextItems();
                sizes.add(page.size());
                page.forEach(s -> seen.add(s.sandboxId()));
            }
            assertThat(sizes.getFirst()).isEqualTo(2);
            assertThat(seen).containsExactlyInAnyOrderElementsOf(created.stream().map(Sandbox::sandboxId).toList());
        } finally {
            created.forEach(Sandbox::kill);
        }
    }

    @Test
    void shortenedTimeoutEndsTheSandbox() {
        Sandbox sandbox = Sandbox.builder().config(config).create();
        try {
            sandbox.setTimeout(Duration.ofSeconds(2));
            waitUntil(() -> !sandbox.isRunning(), Duration.ofSeconds(90));
            assertThat(sandbox.isRunning()).isFalse();
            assertThatThrownBy(() -> sandbox.commands().run("true")).isInstanceOf(dev.boxwood.sdk.TimeoutException.class);
        } finally {
            sandbox.kill();
        }
    }

    @Test
    void metricsArriveWhileTheSandboxRuns() {
        try (Sandbox sandbox = Sandbox.builder().config(config).create()) {
            waitUntil(() -> !sandbox.getMetrics().isEmpty(), Duration.ofSeconds(60));
            SandboxMetric m = sandbox.getMetrics().getLast();
            assertThat(m.memTotal()).isPositive();
            assertThat(m.cpuCount()).isPositive();
            assertThat(m.timestamp()).isNotNull();
        }
    }

    @Test
    void errorsComeBackTypedWithTheServersMessage() {
        ConnectionConfig badKey = config.toBuilder().apiKey("e2b_" + "1".repeat(40)).build();
        assertThatThrownBy(() -> Sandbox.builder().config(badKey).create())
                .isInstanceOf(AuthenticationException.class).hasMessageNotContaining("e2b_1111");
        assertThatThrownBy(() -> Sandbox.list(SandboxQuery.all(), badKey).nextItems())
                .isInstanceOf(AuthenticationException.class);
        assertThatThrownBy(() -> Sandbox.connect("doesnotexist0000000", null, config))
                .isInstanceOf(SandboxNotFoundException.class);
        assertThat(Sandbox.kill("doesnotexist0000000", config)).isFalse();
        assertThatThrownBy(() -> Sandbox.builder().config(config).template("no-such-template").create())
                .isInstanceOf(SandboxException.class).hasMessageContaining("no-such-template");
        assertThatThrownBy(() -> Sandbox.builder().config(config).timeout(Duration.ZERO).create())
                .isInstanceOf(InvalidArgumentException.class);
    }

    static void waitUntil(BooleanSupplier condition, Duration limit) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                return; // the assertion after the wait reports what is wrong
            }
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
