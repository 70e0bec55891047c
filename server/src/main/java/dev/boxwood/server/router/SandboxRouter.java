package dev.boxwood.server.router;

import dev.boxwood.server.sandbox.LiveSandbox;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.Collection;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Decides, from headers, Host and (for signed {@code /files} URLs) the signature, whether a request is for a
 * sandbox, the way E2B's proxy does: {@code E2b-Sandbox-Id} + {@code E2b-Sandbox-Port} first, then a Host of the
 * form {@code {port}-{sandboxId}.{domain}}.
 */
public final class SandboxRouter {
    public static final String ID_HEADER = "E2b-Sandbox-Id";
    public static final String PORT_HEADER = "E2b-Sandbox-Port";
    private static final Pattern HOST = Pattern.compile("(\\d{1,5})-([a-z0-9]+)\\.(.+)");
    private static final int AGENT_PORT = dev.boxwood.protocol.Ports.AGENT;

    private final String domain;
    private final Supplier<Collection<LiveSandbox>> live;

    /**
     * @param domain the served domain, or null to accept {@code {port}-{id}.} under any domain
     * @param live   the sandboxes whose access tokens may have signed a {@code /files} URL
     */
    public SandboxRouter(String domain, Supplier<Collection<LiveSandbox>> live) {
        this.domain = domain == null ? null : domain.toLowerCase(Locale.ROOT);
        this.live = live;
    }

    /** The parts of a request routing looks at, so routing can be tested without a server. */
    public record Incoming(String method, String host, String path, String idHeader, String portHeader,
                           Query query) {}

    /** Query parameters, already decoded. */
    public interface Query {
        String get(String name);
    }

    public Route route(Incoming in) {
        if (in.idHeader() != null || in.portHeader() != null) {
            if (in.idHeader() == null || in.portHeader() == null) {
                return new Route.Invalid(400, "both " + ID_HEADER + " and " + PORT_HEADER
                        + " headers are required to reach a sandbox; only one was sent");
            }
            int port = port(in.portHeader());
            if (port < 0) return new Route.Invalid(400, "invalid " + PORT_HEADER + " header: '" + in.portHeader() + "'");
            return new Route.Sandbox(in.idHeader().trim(), port);
        }
        if (in.host() != null) {
            Matcher m = HOST.matcher(in.host().toLowerCase(Locale.ROOT));
            if (m.matches() && (domain == null || domain.equals(m.group(3)))) {
                int port = port(m.group(1));
                if (port > 0) return new Route.Sandbox(m.group(2), port);
                return new Route.Invalid(400, "invalid port in the sandbox host '" + in.host() + "'");
            }
        }
        if ("/files".equals(in.path()) && in.query().get("signature") != null) {
            return bySignature(in).<Route>map(s -> new Route.Sandbox(s.row().id(), AGENT_PORT))
                    .orElseGet(() -> new Route.Invalid(401, "the signature matches no running sandbox"));
        }
        return new Route.ControlPlane();
    }

    private static int port(String s) {
        try {
            int p = Integer.parseInt(s.trim());
            return p >= 1 && p <= 65535 ? p : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** The live sandbox whose access token produced the URL's signature (E2B's {@code v1_} scheme). */
    Optional<LiveSandbox> bySignature(Incoming in) {
        String operation = switch (in.method()) {
            case "GET", "HEAD" -> "read";
            case "POST" -> "write";
            default -> null;
        };
        if (operation == null) return Optional.empty();
        String signature = in.query().get("signature");
        String path = nullToEmpty(in.query().get("path"));
        String user = nullToEmpty(in.query().get("username"));
        String expiration = in.query().get("signature_expiration");
        byte[] wanted = signature.getBytes(StandardCharsets.UTF_8);
        for (LiveSandbox s : live.get()) {
            String expected = sign(path, operation, user, s.row().accessToken(), expiration);
            if (MessageDigest.isEqual(expected.getBytes(StandardCharsets.UTF_8), wanted)) return Optional.of(s);
        }
        return Optional.empty();
    }

    /** {@code v1_} + unpadded base64 of SHA-256 over {@code path:operation:user:token[:expiration]}. */
    public static String sign(String path, String operation, String user, String token, String expiration) {
        String text = path + ":" + operation + ":" + user + ":" + token + (expiration == null ? "" : ":" + expiration);
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return "v1_" + Base64.getEncoder().withoutPadding().encodeToString(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String nullToEmpty(String s) {
        return s == null ? "" : s;
    }
}
