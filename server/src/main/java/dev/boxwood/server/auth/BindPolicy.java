package dev.boxwood.server.auth;

import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * Where the server may listen. API keys and sandbox tokens travel in request headers, so a listener that other
 * machines can reach must speak TLS, unless the operator says in so many words that clear text is acceptable
 * (a TLS-terminating proxy in front, a private network).
 */
public final class BindPolicy {
    private BindPolicy() {}

    /** Why the server must not listen on {@code bind}, or null when it may. */
    public static String refusal(String bind, boolean tls, boolean insecurePublicBind) {
        if (tls || insecurePublicBind || isLoopback(bind)) return null;
        return "refusing to listen on " + bind + " without TLS: API keys and sandbox tokens would travel in clear"
                + " text; bind a loopback address, use --tls, or pass --insecure-public-bind to accept that";
    }

    /** True only when every address the name stands for is a loopback address. */
    public static boolean isLoopback(String address) {
        if (address == null || address.isBlank()) return false;
        try {
            InetAddress[] all = InetAddress.getAllByName(address);
            for (InetAddress a : all) {
                if (!a.isLoopbackAddress()) return false;
            }
            return all.length > 0;
        } catch (UnknownHostException e) {
            return false;
        }
    }
}
