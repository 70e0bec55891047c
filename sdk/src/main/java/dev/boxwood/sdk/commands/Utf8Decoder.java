package dev.boxwood.sdk.commands;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** Decodes a byte stream arriving in chunks as UTF-8, holding back a character split across two chunks. */
final class Utf8Decoder {
    private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPLACE)
            .onUnmappableCharacter(CodingErrorAction.REPLACE);
    private byte[] pending = new byte[0];

    String decode(byte[] chunk) {
        byte[] input = new byte[pending.length + chunk.length];
        System.arraycopy(pending, 0, input, 0, pending.length);
        System.arraycopy(chunk, 0, input, pending.length, chunk.length);
        ByteBuffer in = ByteBuffer.wrap(input);
        CharBuffer out = CharBuffer.allocate(input.length + 1);
        decoder.decode(in, out, false);
        pending = new byte[in.remaining()];
        in.get(pending);
        return out.flip().toString();
    }

    /** Whatever is held back at the end of the stream, decoded with replacement characters. */
    String finish() {
        if (pending.length == 0) {
            return "";
        }
        String rest = new String(pending, StandardCharsets.UTF_8);
        pending = new byte[0];
        return rest;
    }
}
