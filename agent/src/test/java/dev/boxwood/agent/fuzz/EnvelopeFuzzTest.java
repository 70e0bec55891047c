package dev.boxwood.agent.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxwood.agent.connect.ConnectError;
import dev.boxwood.agent.connect.Envelopes;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/** The Connect envelope reader on arbitrary input: a payload or a Connect error, never anything else. */
class EnvelopeFuzzTest {
    static final int LIMIT = 1 << 16;

    @Property(tries = 2000)
    void arbitraryBytesGiveAPayloadOrAConnectError(@ForAll @Size(max = 300) byte[] input) throws IOException {
        try {
            byte[] payload = Envelopes.readRequest(new ByteArrayInputStream(input), LIMIT);
            // Accepted only when it really was one whole, uncompressed, unflagged envelope.
            assertThat(input[0]).isZero();
            assertThat(payload.length).isEqualTo(input.length - 5);
        } catch (ConnectError e) {
            assertThat(e.code()).isNotNull();
            assertThat(e.getMessage()).isNotBlank();
        }
    }

    /** Headers that claim huge lengths are refused before anything is allocated for them. */
    @Property(tries = 500)
    void claimedLengthsBeyondTheLimitAreResourceExhausted(@ForAll @IntRange(min = LIMIT + 1) int claimed) {
        byte[] header = {0, (byte) (claimed >>> 24), (byte) (claimed >>> 16), (byte) (claimed >>> 8), (byte) claimed};
        try {
            Envelopes.readRequest(new ByteArrayInputStream(header), LIMIT);
            throw new AssertionError("accepted a frame claiming " + claimed + " bytes");
        } catch (ConnectError e) {
            assertThat(e.getMessage()).contains("exceeds the limit");
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Property(tries = 500)
    void framesRoundTripAndAnyCorruptionOfTheirHeaderIsCaught(@ForAll @Size(max = 200) byte[] payload,
                                                              @ForAll("headerCorruption") int[] corruption) throws IOException {
        byte[] frame = Envelopes.frame(0, payload);
        assertThat(Envelopes.readRequest(new ByteArrayInputStream(frame), LIMIT)).isEqualTo(payload);
        frame[corruption[0]] ^= (byte) corruption[1];
        try {
            byte[] read = Envelopes.readRequest(new ByteArrayInputStream(frame), LIMIT);
            throw new AssertionError("a corrupted header was accepted, giving " + read.length + " bytes");
        } catch (ConnectError expected) {
            // flags, truncation, trailing data or the limit: each is a Connect error
        }
    }

    /** A header byte index and a non-zero XOR mask for it. */
    @Provide
    Arbitrary<int[]> headerCorruption() {
        return Arbitraries.integers().between(0, 4).flatMap(i ->
                Arbitraries.integers().between(1, 255).map(mask -> new int[] {i, mask}));
    }
}
