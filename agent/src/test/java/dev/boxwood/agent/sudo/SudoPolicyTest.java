package dev.boxwood.agent.sudo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxwood.agent.users.Accounts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SudoPolicyTest {
    @TempDir
    Path dir;

    @Test
    void grantsRootSudoGroupAndNopasswdAllLinesOnly() throws Exception {
        Files.writeString(dir.resolve("passwd"), """
                root:x:0:0:root:/root:/bin/bash
                user:x:1000:1000::/home/user:/bin/bash
                admin:x:1001:1001::/home/admin:/bin/bash
                ops:x:1002:1002::/home/ops:/bin/bash
                pw:x:1003:1003::/home/pw:/bin/bash
                old:x:1004:1004::/home/old:/bin/bash
                guest:x:1005:1005::/home/guest:/bin/bash
                """);
        Files.writeString(dir.resolve("group"), """
                root:x:0:
                sudo:x:27:admin
                wheel:x:10:guest
                opsteam:x:2000:ops
                """);
        Path d = Files.createDirectory(dir.resolve("sudoers.d"));
        Files.writeString(d.resolve("user"), "# E2B's grant\nuser ALL=(ALL:ALL) NOPASSWD: ALL\n");
        Files.writeString(d.resolve("team"), "%opsteam ALL=(ALL) NOPASSWD:ALL\n");
        Files.writeString(d.resolve("pw"), "pw ALL=(ALL:ALL) ALL\n");
        Files.writeString(d.resolve("old.dpkg-old"), "old ALL=(ALL:ALL) NOPASSWD: ALL\n");
        Accounts accounts = new Accounts(dir.resolve("passwd"), dir.resolve("group"));
        SudoPolicy policy = new SudoPolicy(accounts, List.of(dir.resolve("missing-sudoers"), d));

        assertThat(policy.allows(accounts.byName("root").orElseThrow())).isTrue();
        assertThat(policy.allows(accounts.byName("user").orElseThrow())).isTrue();
        assertThat(policy.allows(accounts.byName("admin").orElseThrow())).as("group sudo").isTrue();
        assertThat(policy.allows(accounts.byName("ops").orElseThrow())).as("%group grant").isTrue();
        assertThat(policy.allows(accounts.byName("pw").orElseThrow())).as("needs a password").isFalse();
        assertThat(policy.allows(accounts.byName("old").orElseThrow())).as("file with a dot").isFalse();
        assertThat(policy.allows(accounts.byName("guest").orElseThrow())).as("wheel is not sudo").isFalse();
    }
}
