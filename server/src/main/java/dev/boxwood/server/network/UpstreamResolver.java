package dev.boxwood.server.network;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * The server's own resolvers (the host's {@code /etc/resolv.conf} unless told otherwise). The egress proxy looks
 * names up here itself, so nothing a sandbox does to its own resolution ({@code /etc/hosts}, a rebinding DNS
 * answer it saw earlier) decides where the proxy connects; the DNS forwarder relays sandboxes' queries here.
 */
public final class UpstreamResolver {

    private static final Duration TIMEOUT = Duration.ofSeconds(3);

    private final List<InetSocketAddress> servers;

    public UpstreamResolver(List<InetSocketAddress> servers) {
        this.servers = List.copyOf(servers);
    }

    /** The nameservers of a resolv.conf file; none if it is missing. */
    public static UpstreamResolver fromResolvConf(Path file) {
        List<InetSocketAddress> servers = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(file)) {
                String[] words = line.strip().split("\\s+");
                if (words.length >= 2 && words[0].equals("nameserver")) {
                    try {
                        servers.add(new InetSocketAddress(InetAddress.ofLiteral(words[1]), 53));
                    } catch (IllegalArgumentException e) {
                        // not an address (e.g. a scoped IPv6 one): skip it
                    }
                }
            }
        } catch (IOException e) {
            // no resolver configuration: sandboxes' lookups fail, which they report themselves
        }
        return new UpstreamResolver(servers);
    }

    public List<InetSocketAddress> servers() {
        return servers;
    }

    /** IPv4 addresses of a name; empty if it has none (or the name does not exist). */
    public List<InetAddress> lookup(String host) throws IOException {
        Name name;
        try {
            name = Name.fromString(host.endsWith(".") ? host : host + ".");
        } catch (TextParseException e) {
            return List.of();
        }
        Message query = Message.newQuery(Record.newRecord(name, Type.A, DClass.IN));
        IOException last = new IOException("no upstream resolver configured");
        // each server twice: one lost UDP datagram must not fail a connection
        for (InetSocketAddress server : java.util.stream.Stream.concat(servers.stream(), servers.stream()).toList()) {
            try {
                SimpleResolver resolver = new SimpleResolver(server);
                resolver.setTimeout(TIMEOUT);
                Message answer = resolver.send(query);
                if (answer.getRcode() != Rcode.NOERROR) {
                    return List.of();
                }
                List<InetAddress> out = new ArrayList<>();
                for (Record r : answer.getSection(Section.ANSWER)) {
                    if (r instanceof ARecord a) out.add(a.getAddress());
                }
                return out;
            } catch (IOException e) {
                last = e;
            }
        }
        throw last;
    }

    /** Relays one raw DNS query over UDP and returns the raw answer, or null when no server answered. */
    byte[] forwardUdp(byte[] query, int length) {
        for (InetSocketAddress server : servers) {
            try (DatagramSocket socket = new DatagramSocket()) {
                socket.setSoTimeout((int) TIMEOUT.toMillis());
                socket.connect(server);
                socket.send(new DatagramPacket(query, length));
                byte[] buf = new byte[65535];
                while (true) {
                    DatagramPacket reply = new DatagramPacket(buf, buf.length);
                    socket.receive(reply);
                    // same query id: an answer to this query, not a stray datagram
                    if (reply.getLength() >= 2 && buf[0] == query[0] && buf[1] == query[1]) {
                        return java.util.Arrays.copyOf(buf, reply.getLength());
                    }
                }
            } catch (SocketTimeoutException e) {
                // try the next server
            } catch (IOException e) {
                // unreachable server: try the next
            }
        }
        return null;
    }

    /** Relays one raw DNS query over TCP (for answers too large for UDP), or null when no server answered. */
    byte[] forwardTcp(byte[] query) {
        for (InetSocketAddress server : servers) {
            try (Socket socket = new Socket()) {
                socket.connect(server, (int) TIMEOUT.toMillis());
                socket.setSoTimeout((int) TIMEOUT.toMillis());
                DataOutputStream out = new DataOutputStream(socket.getOutputStream());
                out.writeShort(query.length);
                out.write(query);
                out.flush();
                DataInputStream in = new DataInputStream(socket.getInputStream());
                byte[] answer = new byte[in.readUnsignedShort()];
                in.readFully(answer);
                return answer;
            } catch (IOException e) {
                // try the next server
            }
        }
        return null;
    }
}
