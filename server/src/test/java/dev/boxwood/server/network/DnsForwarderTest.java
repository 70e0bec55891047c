package dev.boxwood.server.network;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/** Which queries the forwarder relays and what it answers itself (the real relaying is in EgressTest). */
class DnsForwarderTest {
    static final EgressRules OFF = EgressRules.parse(false, List.of("allowed.test", "*.wild.test", "203.0.113.7"), null);

    static byte[] query(int type, String... names) throws Exception {
        Message m = Message.newQuery(Record.newRecord(Name.fromString(names[0] + "."), type, DClass.IN));
        for (int i = 1; i < names.length; i++) {
            m.addRecord(Record.newRecord(Name.fromString(names[i] + "."), type, DClass.IN), Section.QUESTION);
        }
        return m.toWire();
    }

    @Test
    void withTheInternetOnEveryQueryIsRelayed() throws Exception {
        EgressRules open = EgressRules.parse(true, List.of("allowed.test"), List.of("10.0.0.0/8", "203.0.113.0/24"));
        assertThat(open.resolvesEveryName()).isTrue();
        assertThat(DnsForwarder.localAnswer(query(Type.A, "anything.example"), open)).isEmpty();
        assertThat(DnsForwarder.localAnswer(query(Type.TXT, "c2VjcmV0.exfil.example"), EgressRules.OPEN)).isEmpty();
        assertThat(DnsForwarder.localAnswer(new byte[] {1, 2, 3}, EgressRules.OPEN)).isEmpty();
    }

    @Test
    void withTheInternetOffOnlyAllowedNamesAreRelayed() throws Exception {
        assertThat(DnsForwarder.localAnswer(query(Type.A, "allowed.test"), OFF)).isEmpty();
        assertThat(DnsForwarder.localAnswer(query(Type.AAAA, "ALLOWED.test"), OFF)).isEmpty();
        assertThat(DnsForwarder.localAnswer(query(Type.A, "a.b.wild.test"), OFF)).isEmpty();
        for (byte[] q : List.of(query(Type.A, "other.test"), query(Type.TXT, "c2VjcmV0.exfil.example"),
                query(Type.A, "wild.test"), query(Type.A, "notallowed.test"), query(Type.PTR, "7.113.0.203.in-addr.arpa"),
                query(Type.A, "allowed.test", "c2VjcmV0.exfil.example"))) {
            assertRefused(q, DnsForwarder.localAnswer(q, OFF));
        }
    }

    @Test
    void denyingAllOfIpv4IsTheInternetOff() throws Exception {
        EgressRules denyAll = EgressRules.parse(true, List.of("allowed.test"), List.of("0.0.0.0/0"));
        assertThat(denyAll.resolvesEveryName()).isFalse();
        assertThat(DnsForwarder.localAnswer(query(Type.A, "allowed.test"), denyAll)).isEmpty();
        byte[] q = query(Type.A, "other.test");
        assertRefused(q, DnsForwarder.localAnswer(q, denyAll));
    }

    @Test
    void whatIsNotAQueryIsAnsweredFormerrWhenNamesAreRestricted() throws Exception {
        Optional<byte[]> answer = DnsForwarder.localAnswer(new byte[] {0x12, 0x34, 0x01, 0x00, 0, 5, 0, 0, 0, 0, 0, 0, 9}, OFF);
        assertThat(answer).isPresent();
        Message m = new Message(answer.get());
        assertThat(m.getHeader().getID()).isEqualTo(0x1234);
        assertThat(m.getHeader().getFlag(Flags.QR)).isTrue();
        assertThat(m.getRcode()).isEqualTo(Rcode.FORMERR);
        assertThat(DnsForwarder.localAnswer(new byte[] {7}, OFF)).get().extracting(b -> b.length).isEqualTo(12);
    }

    private static void assertRefused(byte[] query, Optional<byte[]> answer) throws Exception {
        Message q = new Message(query);
        assertThat(answer).as("answered here: %s", q.getQuestion()).isPresent();
        Message m = new Message(answer.get());
        assertThat(m.getHeader().getID()).isEqualTo(q.getHeader().getID());
        assertThat(m.getHeader().getFlag(Flags.QR)).isTrue();
        assertThat(m.getHeader().getFlag(Flags.RD)).isTrue();
        assertThat(m.getRcode()).isEqualTo(Rcode.REFUSED);
        assertThat(m.getSection(Section.QUESTION)).isEqualTo(q.getSection(Section.QUESTION));
        assertThat(m.getSection(Section.ANSWER)).isEmpty();
    }
}
