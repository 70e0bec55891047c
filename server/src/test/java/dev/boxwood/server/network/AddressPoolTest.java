package dev.boxwood.server.network;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class AddressPoolTest {

    @Test
    void givesEachSandboxItsOwnSlash30() {
        AddressPool pool = new AddressPool("10.88.0.0/16");
        Set<Integer> slots = new HashSet<>();
        for (int i = 0; i < 1000; i++) {
            assertThat(slots.add(pool.allocate())).isTrue();
        }
        assertThat(slots).doesNotContain(0);
        assertThat(pool.hostAddress(1).getHostAddress()).isEqualTo("10.88.0.5");
        assertThat(pool.sandboxAddress(1).getHostAddress()).isEqualTo("10.88.0.6");
        assertThat(pool.sandboxAddress(16383).getHostAddress()).isEqualTo("10.88.255.254");
        assertThat(pool.inUse()).isEqualTo(1000);
    }

    @Test
    void reservesAndReleases() {
        AddressPool pool = new AddressPool("10.88.0.0/16");
        assertThat(pool.reserve(7)).isTrue();
        assertThat(pool.reserve(7)).isFalse();
        for (int i = 0; i < 10; i++) {
            assertThat(pool.allocate()).isNotEqualTo(7);
        }
        pool.release(7);
        assertThat(pool.reserve(7)).isTrue();
        assertThatThrownBy(() -> new AddressPool("10.88.0.0/24")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void runsOutCleanly() {
        AddressPool pool = new AddressPool("10.88.0.0/16");
        for (int i = 1; i < 16384; i++) {
            pool.allocate();
        }
        assertThatThrownBy(pool::allocate).isInstanceOf(IllegalStateException.class).hasMessageContaining("10.88.0.0/16");
    }

    @Test
    void firewallRulesetParses() {
        String ruleset = new Firewall("10.88.0.0/16").ruleset();
        assertThat(ruleset).contains("table inet boxwood").contains("masquerade").contains("169.254.0.0/16")
                .contains("100.64.0.0/10").contains("iifname . ip saddr != @sources");
        if ("root".equals(System.getProperty("user.name"))) {
            // -c: check only, nothing is loaded.
            var check = dev.boxwood.server.runtime.HostCommand.run(java.util.List.of("nft", "-c", "-f", "-"),
                    ruleset.replace("table inet boxwood", "table inet boxwood_check"), null, java.util.Map.of(),
                    line -> {});
            assertThat(check.ok()).as(check.output()).isTrue();
        }
    }
}
