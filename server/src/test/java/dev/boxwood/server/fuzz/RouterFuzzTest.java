package dev.boxwood.server.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxwood.server.router.Route;
import dev.boxwood.server.router.SandboxRouter;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The router's parsing of Host names, routing headers and {@code /files} signatures on arbitrary input: it never
 * throws, a sandbox route always names a valid port, a Host route only one under the served domain with an id of
 * the sandbox alphabet, and nothing without a valid signature is routed by signature.
 */
class RouterFuzzTest {
    static final String DOMAIN = "sandbox.example";
    final SandboxRouter router = new SandboxRouter(DOMAIN, List::of);

    @Provide
    Arbitrary<String> hosts() {
        Arbitrary<String> port = Arbitraries.oneOf(Arbitraries.integers().between(-10, 70000).map(String::valueOf),
                Arbitraries.of("", "0", "00049983", "+80", "4e4", " 80", "65535", "65536", "99999999999"));
        Arbitrary<String> id = Arbitraries.oneOf(Arbitraries.strings().withChars("abcxyz0189-._~%:/@ \t").ofMaxLength(24),
                Arbitraries.strings().ofMaxLength(8), Arbitraries.of("", "ABC", "a.b", "a-b", "ＡＢＣ"));
        Arbitrary<String> domain = Arbitraries.of(DOMAIN, DOMAIN.toUpperCase(), DOMAIN + ".", "evil.example",
                DOMAIN + ".evil.example", "evil-" + DOMAIN, "x." + DOMAIN, "", DOMAIN + ":3000");
        Arbitrary<String> structured = net.jqwik.api.Combinators.combine(port, id, domain, Arbitraries.of("-", ".", "--", ""))
                .as((p, i, d, sep) -> p + sep + i + "." + d);
        return Arbitraries.oneOf(structured, Arbitraries.strings().ofMaxLength(60), Arbitraries.just(null));
    }

    @Provide
    Arbitrary<String> headers() {
        return Arbitraries.oneOf(Arbitraries.just(null), Arbitraries.strings().ofMaxLength(20),
                Arbitraries.integers().between(-5, 70000).map(String::valueOf), Arbitraries.of("", " ", "49983 ", "0x50"));
    }

    @Property(tries = 3000)
    void routingNeverThrowsAndOnlyYieldsValidSandboxRoutes(@ForAll("hosts") String host, @ForAll("headers") String id,
                                                           @ForAll("headers") String port,
                                                           @ForAll("queries") Map<String, String> query) {
        Route r = router.route(new SandboxRouter.Incoming("GET", host, "/files", id, port, query::get));
        switch (r) {
            case Route.Sandbox s -> {
                assertThat(s.port()).isBetween(1, 65535);
                if (id == null && port == null) {
                    // Came from the Host name: only under the served domain, only with the id alphabet.
                    assertThat(host.toLowerCase()).endsWith("." + DOMAIN);
                    assertThat(s.sandboxId()).matches("[a-z0-9]+");
                } else {
                    assertThat(id).isNotNull();
                    assertThat(port).isNotNull();
                }
            }
            case Route.Invalid inv -> {
                assertThat(inv.status()).isBetween(400, 499);
                assertThat(inv.message()).isNotBlank();
            }
            case Route.ControlPlane cp -> assertThat(id == null && port == null).isTrue();
        }
        // Exactly one of the two routing headers is a client error, whatever else the request has.
        if ((id == null) != (port == null)) assertThat(r).isInstanceOf(Route.Invalid.class);
        // With no live sandbox, a signature can route nowhere.
        if (id == null && port == null && query.get("signature") != null && !(r instanceof Route.Sandbox)) {
            assertThat(r).isInstanceOf(Route.Invalid.class);
        }
    }

    @Provide
    Arbitrary<Map<String, String>> queries() {
        return Arbitraries.maps(Arbitraries.of("path", "signature", "username", "signature_expiration", "x"),
                Arbitraries.strings().ofMaxLength(16)).ofMaxSize(5);
    }
}
