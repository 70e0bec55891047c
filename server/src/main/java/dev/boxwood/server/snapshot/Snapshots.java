package dev.boxwood.server.snapshot;

import dev.boxwood.server.Config;
import dev.boxwood.server.api.ApiException;
import dev.boxwood.server.runtime.RuntimeFailure;
import dev.boxwood.server.runtime.SandboxDisk;
import dev.boxwood.server.runtime.SandboxRuntime;
import dev.boxwood.server.sandbox.CreateSpec;
import dev.boxwood.server.sandbox.SandboxError;
import dev.boxwood.server.sandbox.SandboxManager;
import dev.boxwood.server.store.Database;
import dev.boxwood.server.store.SandboxRow;
import dev.boxwood.server.store.Team;
import java.io.IOException;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Snapshots and forks of a sandbox's filesystem. A snapshot freezes the sandbox for the copy of its writable layer
 * (it runs on afterwards; a paused one stays paused) and becomes a template of its team: {@code Sandbox.create} with
 * its id starts a new sandbox whose root filesystem is the snapshot's. Memory is not kept: the cgroup freezer holds
 * it only in place, and this crun has no checkpointing, so sandboxes started from a snapshot boot afresh.
 */
public final class Snapshots {
    private static final Logger LOG = LoggerFactory.getLogger(Snapshots.class);
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");
    private static final char[] ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789".toCharArray();
    private static final SecureRandom RANDOM = new SecureRandom();
    static final int MAX_FORKS = 10;

    private final Config config;
    private final SandboxManager sandboxes;
    private final SandboxRuntime runtime;
    private final SnapshotStore store;
    private final SnapshotLayers layers;
    /** Hidden snapshots of forks still starting their children: not in use by any sandbox yet, but not garbage. */
    private final java.util.Set<String> forking = java.util.concurrent.ConcurrentHashMap.newKeySet();

    public Snapshots(Config config, Database db, SandboxManager sandboxes, SandboxRuntime runtime) {
        this.config = config;
        this.sandboxes = sandboxes;
        this.runtime = runtime;
        this.store = new SnapshotStore(db);
        this.layers = new SnapshotLayers(config.templatesDir());
        sandboxes.whenEnded(this::sandboxEnded);
    }

    /** Mounts every snapshot's root filesystem (they are gone after a reboot); call before sandboxes are recovered. */
    public void mountAll() {
        for (Snapshot s : store.all()) {
            try {
                layers.mount(s.id());
            } catch (IOException | RuntimeException e) {
                LOG.error("snapshot {} cannot be mounted; sandboxes cannot start from it: {}", s.id(), e.getMessage());
            }
        }
    }

    /** E2B's {@code createSnapshot}: the sandbox's filesystem now, as a template of the team. */
    public Snapshot create(Team team, String sandboxId, String name) {
        if (name != null && !NAME.matcher(name).matches()) {
            throw new ApiException(400, "invalid snapshot name '" + name + "': use 1-63 of [a-z0-9._-], starting with a letter or digit");
        }
        if (name != null && store.byName(team.id(), name).isPresent()) {
            throw new ApiException(409, "a snapshot named '" + name + "' already exists");
        }
        collectForks();
        return capture(team, sandboxId, name, false);
    }

    /**
     * E2B's fork: {@code count} new sandboxes whose filesystems start as the parent's is now; each diverges from
     * then on. Processes and memory are not copied (see the class comment).
     */
    public List<SandboxRow> fork(Team team, String sandboxId, Duration timeout, int count) {
        if (count < 1 || count > MAX_FORKS) throw new ApiException(400, "count must be between 1 and " + MAX_FORKS);
        SandboxRow parent = sandboxes.get(team, sandboxId).row();
        Snapshot snap = capture(team, sandboxId, null, true);
        List<SandboxRow> children = new ArrayList<>();
        try { // capture put the snapshot in forking
            for (int i = 0; i < count; i++) {
                children.add(sandboxes.create(team, new CreateSpec(snap.id(), timeout == null ? parent.timeout() : timeout,
                        null, parent.metadata(), parent.cpuCount(), parent.memoryMB(), parent.diskSizeMB(),
                        parent.allowInternetAccess(), parent.autoPause(), parent.trafficToken() != null,
                        parent.autoResume())));
            }
        } finally {
            forking.remove(snap.id());
            collectFork(snap);
        }
        return children;
    }

    private Snapshot capture(Team team, String sandboxId, String name, boolean fork) {
        long used = store.bytesOf(team.id());
        if (used >= config.snapshotQuotaBytes()) {
            throw quotaExceeded(used);
        }
        String id = newId();
        Snapshot snap = sandboxes.exclusive(team, sandboxId, live -> {
            SandboxRow row = live.row();
            boolean wasRunning = row.status() == SandboxRow.Status.RUNNING;
            try {
                // Frozen for the copy, so no process changes files halfway through it.
                if (wasRunning) runtime.pause(sandboxId);
                long size = layers.capture(new SandboxDisk(config.dataDir().resolve("sandboxes").resolve(sandboxId)).upper(),
                        id, row.templateId());
                return new Snapshot(id, team.id(), sandboxId, row.templateId(), fork, name, size, Instant.now());
            } catch (IOException | RuntimeFailure e) {
                discard(id);
                throw new SandboxError(SandboxError.Kind.FAILED, "cannot snapshot sandbox '" + sandboxId + "': " + e.getMessage(), e);
            } finally {
                if (wasRunning) {
                    try {
                        runtime.resume(sandboxId);
                    } catch (RuntimeFailure e) {
                        LOG.error("sandbox {} stayed frozen after a snapshot", sandboxId, e);
                    }
                }
            }
        });
        if (used + snap.sizeBytes() > config.snapshotQuotaBytes()) {
            discard(id);
            throw quotaExceeded(used + snap.sizeBytes());
        }
        if (fork) forking.add(id); // before it is stored, where a collection could find it unused
        store.insert(snap);
        LOG.info("snapshot {} of sandbox {} taken ({} bytes){}", id, sandboxId, snap.sizeBytes(), fork ? " for a fork" : "");
        return snap;
    }

    private ApiException quotaExceeded(long bytes) {
        return new ApiException(403, "snapshot storage quota exceeded: the team's snapshots would take " + bytes
                + " bytes; at most " + config.snapshotQuotaBytes() + " are allowed (delete snapshots to free space)");
    }

    /** The team's snapshots (forks' hidden ones left out), oldest first, filtered by sandbox and name when given. */
    public List<Snapshot> list(Team team, String sandboxId, String name) {
        collectForks();
        return store.ofTeam(team.id()).stream().filter(s -> !s.fork())
                .filter(s -> sandboxId == null || sandboxId.isEmpty() || s.sandboxId().equals(sandboxId))
                .filter(s -> name == null || name.isEmpty() || name.equals(s.name()) || name.equals(s.id()))
                .toList();
    }

    /** Bytes of snapshot storage the team uses. */
    public long usage(Team team) {
        return store.bytesOf(team.id());
    }

    /** E2B's {@code deleteSnapshot} ({@code DELETE /templates/{id}}): 404 unless it is the team's snapshot. */
    public void delete(Team team, String idOrName) {
        Snapshot s = find(team, idOrName);
        if (s == null) throw new ApiException(404, "snapshot '" + idOrName + "' not found");
        synchronized (this) {
            if (store.inUse(s.id())) {
                throw new ApiException(409, "snapshot '" + idOrName + "' is in use by a running or paused sandbox");
            }
            for (Snapshot other : store.all()) {
                if (other.templateId().equals(s.id())) {
                    throw new ApiException(409, "snapshot '" + idOrName + "' is the base of snapshot '" + other.id()
                            + "'; delete that one first");
                }
            }
            // A sandbox killed a moment ago may still have its overlay on the snapshot's layers (teardown runs on).
            sandboxes.awaitTeardowns(java.time.Duration.ofSeconds(60));
            try {
                layers.remove(s.id());
            } catch (RuntimeException e) {
                throw new ApiException(409, e.getMessage());
            }
            store.delete(s.id());
        }
        LOG.info("snapshot {} deleted", s.id());
    }

    /**
     * The template a create names: a snapshot id or name of the team resolves to the snapshot's id; another team's
     * snapshot is not found; anything else is returned as it is.
     */
    public String resolve(Team team, String templateId) {
        if (templateId == null) return null;
        Snapshot s = find(team, templateId);
        if (s != null) return s.id();
        if (layers.isSnapshot(templateId)) throw new ApiException(404, "template '" + templateId + "' not found");
        return templateId;
    }

    private Snapshot find(Team team, String idOrName) {
        return store.find(idOrName).filter(s -> s.teamId().equals(team.id()))
                .or(() -> store.byName(team.id(), idOrName)).orElse(null);
    }

    /** Removes forks' hidden snapshots that no sandbox runs from any more. */
    public synchronized void collectForks() {
        for (Snapshot s : store.all()) {
            if (s.fork()) collectFork(s);
        }
    }

    /**
     * A sandbox has ended (its processes are gone): if it ran from a fork's hidden snapshot that no other sandbox runs
     * from, the snapshot's mount and layer go now rather than at the next snapshot call or server start. In the
     * background, so a kill does not wait for a layer's removal.
     */
    void sandboxEnded(SandboxRow row) {
        if (row.templateId() == null || !layers.isSnapshot(row.templateId())) return;
        Thread.ofVirtual().name("boxwood-fork-collect-" + row.id()).start(() -> {
            try {
                store.find(row.templateId()).filter(Snapshot::fork).ifPresent(this::collectFork);
            } catch (RuntimeException e) {
                LOG.warn("fork snapshot {} of ended sandbox {} not collected: {}", row.templateId(), row.id(), e.getMessage());
            }
        });
    }

    private synchronized void collectFork(Snapshot s) {
        if (forking.contains(s.id()) || store.inUse(s.id())) return;
        if (store.all().stream().anyMatch(o -> o.templateId().equals(s.id()))) return; // the base of another snapshot
        try {
            layers.remove(s.id());
            store.delete(s.id());
            LOG.info("fork snapshot {} removed: no sandbox runs from it", s.id());
        } catch (RuntimeException e) {
            LOG.warn("fork snapshot {} not removed yet: {}", s.id(), e.getMessage());
        }
    }

    private void discard(String id) {
        try {
            layers.remove(id);
        } catch (RuntimeException e) {
            LOG.error("cannot remove the half-made snapshot {}", id, e);
        }
    }

    private static String newId() {
        char[] id = new char[16];
        for (int i = 0; i < id.length; i++) id[i] = ALPHABET[RANDOM.nextInt(ALPHABET.length)];
        return "snap" + new String(id);
    }
}
