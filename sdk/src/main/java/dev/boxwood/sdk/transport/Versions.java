package dev.boxwood.sdk.transport;

/** Compares agent versions such as {@code 0.6.13}, {@code v0.6}, {@code 0.6.13-dev}. */
public final class Versions {
    private Versions() {}

    /** True when {@code version} is at least {@code minimum}; an unparsable version counts as new. */
    public static boolean atLeast(String version, String minimum) {
        int[] v = parse(version);
        if (v == null) {
            return true;
        }
        int[] m = parse(minimum);
        for (int i = 0; i < 3; i++) {
            if (v[i] != m[i]) {
                return v[i] > m[i];
            }
        }
        return true;
    }

    static int[] parse(String version) {
        if (version == null) {
            return null;
        }
        String s = version.strip();
        if (s.startsWith("v")) {
            s = s.substring(1);
        }
        int cut = s.indexOf('-');
        if (cut >= 0) {
            s = s.substring(0, cut);
        }
        String[] parts = s.split("\\.");
        int[] out = new int[3];
        try {
            for (int i = 0; i < Math.min(3, parts.length); i++) {
                out[i] = Integer.parseInt(parts[i]);
            }
        } catch (NumberFormatException e) {
            return null;
        }
        return parts.length == 0 || parts[0].isEmpty() ? null : out;
    }
}
