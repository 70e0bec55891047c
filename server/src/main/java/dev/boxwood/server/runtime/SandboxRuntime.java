package dev.boxwood.server.runtime;

import java.util.List;
import java.util.Optional;

/**
 * Creates and destroys isolated sandboxes. {@link OciRuntime} implements it for crun, runsc and runc.
 *
 * <p>The contract the rest of the server relies on: {@link #start} returns only once the agent inside the sandbox
 * answers {@code GET /health} on {@link RunningSandbox#agentUri()}; {@link #destroy} is idempotent and leaves no
 * process, cgroup, mount, directory, network namespace or veth behind.
 */
public interface SandboxRuntime {

    /** Boots a sandbox; throws {@link RuntimeFailure} with a message fit for an API client when it cannot. */
    RunningSandbox start(SandboxSpec spec);

    /** Removes every trace of the sandbox. Safe to call for an unknown or half-created id. */
    void destroy(String sandboxId);

    /**
     * Stops every process of the sandbox at once, so that a kill can answer before the slower teardown. Returns true
     * when nothing of the sandbox runs any more (dead, or frozen until {@link #destroy} thaws and kills it) but its
     * host resources remain for {@link #destroy}; false when it destroyed everything already (the default).
     */
    default boolean halt(RunningSandbox sandbox) {
        destroy(sandbox.sandboxId());
        return false;
    }

    /** Finds a sandbox left running by an earlier server process, so a restarted server can take it back. */
    Optional<RunningSandbox> reattach(String sandboxId);

    /** Ids of every sandbox this runtime has traces of on the host, running or half-removed. */
    List<String> leftovers();

    /** Live resource figures, read from the sandbox's cgroup and overlay. */
    ResourceUsage usage(String sandboxId);

    /**
     * How many bytes the filesystem under the sandboxes' disks lacks to keep its reserve free; 0 when it has room
     * (the default: a runtime without disks of its own).
     */
    default long diskShortfall() {
        return 0;
    }

    /**
     * Replaces the sandbox's outbound rules and (re)starts what serves its DNS and domain rules in this process; the
     * server calls it at create, on a rules update and after reattaching. Throws {@link RuntimeFailure} when it cannot.
     */
    default void applyEgress(String sandboxId, dev.boxwood.server.network.EgressRules rules) {
        if (rules.restricted()) throw new RuntimeFailure("this runtime cannot restrict a sandbox's network");
    }

    /** Whether {@link #applyEgress} can restrict a sandbox (a runtime without its own network cannot). */
    default boolean controlsEgress() {
        return false;
    }

    /**
     * Freezes every process of the sandbox (cgroup freezer): memory stays, nothing runs. Idempotent: pausing a
     * paused sandbox does nothing. Throws {@link RuntimeFailure} when the sandbox does not exist or cannot be frozen.
     */
    default void pause(String sandboxId) {
        throw new RuntimeFailure("this runtime cannot pause sandboxes");
    }

    /** Thaws a paused sandbox; idempotent like {@link #pause}. */
    default void resume(String sandboxId) {
        throw new RuntimeFailure("this runtime cannot resume sandboxes");
    }

    /** A sandbox's usual CPU weight: the kernel's default {@code cpu.shares}. */
    int NORMAL_CPU_WEIGHT = 1024;

    /**
     * Sets the sandbox's share of contended cores next to the other sandboxes (cgroup v1 {@code cpu.shares}). Callable
     * before {@link #start}, so that a sandbox can boot at a low weight from its first instruction. Default: nothing (a
     * runtime without cgroups of its own).
     */
    default void cpuWeight(String sandboxId, int weight) {
    }
}
