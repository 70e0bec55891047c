package dev.boxwood.server.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The basic life cycle: start, run something inside, destroy twice. */
class CrunRuntimeTest extends RealSandboxes {

    @Test
    void startsRunsAndDestroysWithoutTraces() {
        String id = TestSandboxes.newId();
        RunningSandbox sandbox = runtime.start(TestSandboxes.spec(id));
        try {
            assertThat(sandbox.address().getHostAddress()).startsWith("10.88.");
            HostCommand.Result idOut = runtime.exec(id, List.of("id"));
            assertThat(idOut.output()).contains("uid=0(root)");
            HostCommand.Result map = runtime.exec(id, List.of("cat", "/proc/self/uid_map"));
            assertThat(map.output().strip().split("\\s+")).containsExactly("0", "100000", "65536");
            assertThat(runtime.leftovers()).contains(id);
        } finally {
            runtime.destroy(id);
        }
        assertThat(runtime.leftovers()).doesNotContain(id);
        runtime.destroy(id); // idempotent
    }


    @Test
    void setuidSudoWorksOnlyWithoutNoNewPrivileges() {
        // no_new_privs (the default) stops setuid programs such as /usr/bin/sudo (the template's /usr/local/bin/sudo
        // asks the agent instead); with it off, the setuid sudo gives root inside the sandbox.
        String id = TestSandboxes.newId();
        runtime.start(TestSandboxes.spec(id));
        try {
            assertThat(runtime.execAs(id, "1000:1000", List.of("sh", "-c", "/usr/bin/sudo -n whoami 2>&1")).output())
                    .contains("no new privileges");
        } finally {
            runtime.destroy(id);
        }
        CrunRuntime.Config c = config;
        CrunRuntime permissive = new CrunRuntime(new CrunRuntime.Config(c.dataDir(), c.runDir(), c.jdk(), c.agentJar(),
                c.command(), c.pidsLimit(), false, c.startTimeout()));
        String other = TestSandboxes.newId();
        permissive.start(TestSandboxes.spec(other));
        try {
            HostCommand.Result sudo = permissive.execAs(other, "1000:1000",
                    List.of("sh", "-c", "id -un; /usr/bin/sudo -n whoami"));
            assertThat(sudo.output().lines().toList()).containsExactly("user", "root");
        } finally {
            permissive.destroy(other);
        }
    }

    @Test
    void refusesBadRequestsWithoutLeavingTraces() {
        String id = TestSandboxes.newId();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> runtime.start(
                        new SandboxSpec(id, "no-such-template", 1, 512, 512)))
                .isInstanceOf(RuntimeFailure.class).hasMessageContaining("not built");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> runtime.start(
                        new SandboxSpec(id, "../../etc", 1, 512, 512)))
                .isInstanceOf(RuntimeFailure.class).hasMessageContaining("invalid template");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> runtime.start(
                        new SandboxSpec("../x", TestSandboxes.TEMPLATE, 1, 512, 512)))
                .isInstanceOf(RuntimeFailure.class).hasMessageContaining("invalid sandbox id");
        assertThat(runtime.leftovers()).doesNotContain(id);
        runtime.destroy("../nothing");
        assertThat(runtime.reattach(id)).isEmpty();
    }
}
