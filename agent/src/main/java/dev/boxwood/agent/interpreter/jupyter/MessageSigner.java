package dev.boxwood.agent.interpreter.jupyter;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * HMAC-SHA256 over header, parent header, metadata and content, hex-encoded: the signature scheme every Jupyter
 * kernel checks. A kernel drops unsigned or wrongly signed requests silently, so both directions are signed.
 */
public final class MessageSigner {
    /** One keyed Mac, reused (doFinal resets it): a provider lookup per message is a large part of its cost. */
    private final Mac mac;

    public MessageSigner(String key) {
        try {
            this.mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key.getBytes(StandardCharsets.US_ASCII), "HmacSHA256"));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
        }
    }

    public String sign(byte[] header, byte[] parent, byte[] metadata, byte[] content) {
        byte[] digest;
        synchronized (mac) {
            mac.update(header);
            mac.update(parent);
            mac.update(metadata);
            mac.update(content);
            digest = mac.doFinal();
        }
        return HexFormat.of().formatHex(digest);
    }

    /** Constant-time comparison, so a process in the sandbox cannot learn the key byte by byte. */
    public boolean verify(String signature, byte[] header, byte[] parent, byte[] metadata, byte[] content) {
        byte[] expected = sign(header, parent, metadata, content).getBytes(StandardCharsets.US_ASCII);
        return MessageDigest.isEqual(expected, signature.getBytes(StandardCharsets.US_ASCII));
    }
}
