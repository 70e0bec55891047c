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

/**
 * A sandbox's DNS server: UDP and TCP port 53 on the host end of its veth, relaying every query to the server's
 * {@link UpstreamResolver}. The host's own resolver is often on loopback or a private address a sandbox may not
 * reach; this way sandboxes resolve names without being let near it. Binding to the sandbox's own host-end address
 * means several Boxwood processes on one host never compete for a port.
 */
final class DnsForwarder implements AutoCloseable {

    private final DatagramSocket udp;
    private final ServerSocket tcp;
    private final UpstreamResolver upstream;
    /** Queries relayed at once; beyond this a flooding sandbox's queries are dropped, as a busy resolver would. */
    private final java.util.concurrent.Semaphore inFlight = new java.util.concurrent.Semaphore(64);

    DnsForwarder(InetAddress address, UpstreamResolver upstream) throws IOException {
        this.upstream = upstream;
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
                    byte[] answer = upstream.forwardUdp(Arrays.copyOf(buf, length), length);
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
                        byte[] answer = upstream.forwardTcp(query);
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
