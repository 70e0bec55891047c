package dev.boxwood.sdk.transport;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.stream.Collectors;

/** Query-string encoding that matches what the official JavaScript SDK puts on the wire, byte for byte. */
public final class UrlEncoding {
    private UrlEncoding() {}

    /** JavaScript's {@code encodeURIComponent}: everything but {@code A-Z a-z 0-9 - _ . ! ~ * ' ( )} is escaped. */
    public static String encodeUriComponent(String s) {
        StringBuilder out = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                    || "-_.!~*'()".indexOf(c) >= 0) {
                out.append((char) c);
            } else {
                out.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
            }
        }
        return out.toString();
    }

    /** {@code application/x-www-form-urlencoded} as {@code URLSearchParams} writes it (space becomes {@code +}). */
    public static String formEncode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    /**
     * The value of the {@code metadata} list filter, already escaped for the query string. The JS SDK encodes each
     * key and value, joins them through {@code URLSearchParams} (a second encoding) and its query serializer
     * encodes the result once more; servers undo exactly those three layers.
     */
    public static String metadataQueryValue(Map<String, String> metadata) {
        String joined = metadata.entrySet().stream()
                .map(e -> formEncode(encodeUriComponent(e.getKey())) + "=" + formEncode(encodeUriComponent(e.getValue())))
                .collect(Collectors.joining("&"));
        return encodeUriComponent(joined);
    }
}
