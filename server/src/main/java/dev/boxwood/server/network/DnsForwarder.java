package dev.boxwood.server.network;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.util.Arrays;
import java.util.Optional;
import java.util.function.Supplier;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Header;
import org.xbill.DNS.Message;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;

/**
 * A sandbox's DNS server: UDP and TCP port 53 on the host end of its veth, relaying every query to the server's
 * {@link UpstreamResolver}. The host's own resolver is often on loopback or a private address a sandbox may not
 * reach; this way sandboxes resolve names without being let near it. Binding to the sandbox's own host-end address
 * means several Boxwood processes on one host never compete for a port.
 *
 * <p>With the internet off a query is relayed only when an allowed domain matches every name it asks about; the
 * rest are answered REFUSED here and never leave the host (see {@link EgressRules#resolvesEveryName()}).
 */
final class DnsForwarder implements AutoCloseable {

    private final DatagramSocket udp;
    private final ServerSocket tcp;
    private final UpstreamResolver upstream;
    private final Supplier<EgressRules> rules;
    /** Queries relayed at once; beyond this a flooding sandbox's queries are dropped, as a busy resolver would. */
    private final java.util.concurrent.Semaphore inFlight = new java.util.concurrent.Semaphore(64);

    /** {@code rules} is read on every query, so a rules update applies to the next one. */
    DnsForwarder(InetAddress address, UpstreamResolver upstream, Supplier<EgressRules> rules) throws IOException {
        this.upstream = upstream;
        this.rules = rules;
        this.udp = new DatagramSocket(new InetSocketAddress(address, 53));
        try {
            this.tcp = new ServerSocket();
            tcp.bind(new InetSocketAddress(address, 53), 64);
        } catch (IOException e) {
            udp.close();
            throw e;
        }
        Thread.ofVirtual().name("boxwood-dns-udp-" + address.getHostAddress()).start(this::serveUdp);
        Thread.ofVirtual().name("boxwood-dns-tcp-" + address.getHostAddress()).start(this::serveTcp);
    }

    private void serveUdp() {
        while (!udp.isClosed()) {
            byte[] buf = new byte[4096];
            DatagramPacket packet = new DatagramPacket(buf, buf.length);
            try {
                udp.receive(packet);
            } catch (IOException e) {
                return; // closed
            }
            SocketAddress client = packet.getSocketAddress();
            int length = packet.getLength();
            if (length < 12 || !inFlight.tryAcquire()) continue; // not a DNS header, or too many in flight
            Thread.ofVirtual().start(() -> {
                try {
                    byte[] query = Arrays.copyOf(buf, length);
                    byte[] answer = localAnswer(query, rules.get()).orElseGet(() -> upstream.forwardUdp(query, length));
                    if (answer == null) return; // the client times out and retries, as with any lost answer
                    udp.send(new DatagramPacket(answer, answer.length, client));
                } catch (IOException ignored) {
                    // closed meanwhile
                } finally {
                    inFlight.release();
                }
            });
        }
    }

    private void serveTcp() {
        while (!tcp.isClosed()) {
            Socket client;
            try {
                client = tcp.accept();
            } catch (IOException e) {
                return;
            }
            if (!inFlight.tryAcquire()) {
                try {
                    client.close();
                } catch (IOException ignored) {
                    // refusing anyway
                }
                continue;
            }
            Thread.ofVirtual().start(() -> {
                try (client) {
                    client.setSoTimeout(10_000);
                    DataInputStream in = new DataInputStream(client.getInputStream());
                    DataOutputStream out = new DataOutputStream(client.getOutputStream());
                    while (true) {
                        byte[] query = new byte[in.readUnsignedShort()];
                        in.readFully(query);
                        byte[] answer = localAnswer(query, rules.get()).orElseGet(() -> upstream.forwardTcp(query));
                        if (answer == null) return;
                        out.writeShort(answer.length);
                        out.write(answer);
                        out.flush();
                    }
                } catch (EOFException e) {
                    // client done
                } catch (IOException e) {
                    // idle or gone
                } finally {
                    inFlight.release();
                }
            });
        }
    }

    /**
     * The answer given here instead of relaying the query, if any: REFUSED for a name the rules do not let the sandbox
     * resolve, FORMERR for what cannot be read as a query while names are restricted (it could carry anything).
     */
    static Optional<byte[]> localAnswer(byte[] query, EgressRules rules) {
        if (rules.resolvesEveryName()) return Optional.empty();
        Message message;
        try {
            message = new Message(query);
        } catch (IOException | RuntimeException e) {
            // the query's id and opcode (as far as there are any), QR set, FORMERR; no sections
            byte[] head = Arrays.copyOf(query, 12);
            byte[] formerr = new byte[12];
            formerr[0] = head[0];
            formerr[1] = head[1];
            formerr[2] = (byte) (0x80 | head[2] & 0x78);
            formerr[3] = (byte) Rcode.FORMERR;
            return Optional.of(formerr);
        }
        var questions = message.getSection(Section.QUESTION);
        boolean allowed = message.getHeader().getOpcode() == Opcode.QUERY && !questions.isEmpty()
                && questions.stream().allMatch(q -> rules.allowsName(q.getName().toString(true)));
        if (allowed) return Optional.empty();
        Header header = new Header(message.getHeader().getID());
        header.setFlag(Flags.QR);
        if (message.getHeader().getFlag(Flags.RD)) header.setFlag(Flags.RD);
        header.setOpcode(message.getHeader().getOpcode());
        header.setRcode(Rcode.REFUSED);
        Message refused = new Message();
        refused.setHeader(header);
        for (Record q : questions) refused.addRecord(q, Section.QUESTION);
        return Optional.of(refused.toWire());
    }

    @Override
    public void close() {
        udp.close();
        try {
            tcp.close();
        } catch (IOException ignored) {
            // nothing left to release
        }
    }
}
