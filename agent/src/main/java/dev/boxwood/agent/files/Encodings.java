package dev.boxwood.agent.files;

/** Picks the response encoding from {@code Accept-Encoding}: gzip when acceptable, identity unless refused. */
final class Encodings {
    private Encodings() {}

    /** "gzip", "identity", or null when the client refuses both. */
    static String choose(String acceptEncoding) {
        if (acceptEncoding == null || acceptEncoding.isBlank()) return "identity";
        double gzip = -1;
        double identity = -1;
        double star = -1;
        for (String item : acceptEncoding.split(",")) {
            String[] parts = item.trim().split(";");
            String coding = parts[0].trim().toLowerCase();
            double q = 1;
            for (int i = 1; i < parts.length; i++) {
                String p = parts[i].trim();
                if (p.startsWith("q=")) {
                    try {
                        q = Double.parseDouble(p.substring(2));
                    } catch (NumberFormatException e) {
                        q = 0;
                    }
                }
            }
            switch (coding) {
                case "gzip", "x-gzip" -> gzip = q;
                case "identity" -> identity = q;
                case "*" -> star = q;
                default -> { }
            }
        }
        if (gzip < 0 && star > 0) gzip = star;
        if (gzip > 0) return "gzip";
        if (identity < 0) identity = star == 0 ? 0 : 1;
        return identity > 0 ? "identity" : null;
    }
}
