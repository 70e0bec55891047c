package dev.boxwood.server.runtime;

import dev.boxwood.server.network.EgressRules;
import java.util.List;
import java.util.Optional;

/**
 * A {@link SandboxRuntime} that hands every call to another one, so a test wrapper overrides only what it changes.
 * It must override every method of the interface, defaults included: a default it inherited instead would answer
 * "cannot" where the wrapped runtime can ({@code ForwardingRuntimeTest} fails when one is missing).
 */
public class ForwardingRuntime implements SandboxRuntime {
    protected final SandboxRuntime inner;

    public ForwardingRuntime(SandboxRuntime inner) {
        this.inner = inner;
    }

    @Override
    public RunningSandbox start(SandboxSpec spec) {
        return inner.start(spec);
    }

    @Override
    public void destroy(String sandboxId) {
        inner.destroy(sandboxId);
    }

    @Override
    public boolean halt(RunningSandbox sandbox) {
        return inner.halt(sandbox);
    }

    @Override
    public Optional<RunningSandbox> reattach(String sandboxId) {
        return inner.reattach(sandboxId);
    }

    @Override
    public List<String> leftovers() {
        return inner.leftovers();
    }

    @Override
    public ResourceUsage usage(String sandboxId) {
        return inner.usage(sandboxId);
    }

    @Override
    public long diskShortfall() {
        return inner.diskShortfall();
    }

    @Override
    public void applyEgress(String sandboxId, EgressRules rules) {
        inner.applyEgress(sandboxId, rules);
    }

    @Override
    public boolean controlsEgress() {
        return inner.controlsEgress();
    }

    @Override
    public void pause(String sandboxId) {
        inner.pause(sandboxId);
    }

    @Override
    public void resume(String sandboxId) {
        inner.resume(sandboxId);
    }

    @Override
    public void cpuWeight(String sandboxId, int weight) {
        inner.cpuWeight(sandboxId, weight);
    }
}
