package dev.boxwood.agent.interpreter.jupyter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.boxwood.agent.interpreter.jupyter.KernelMessage.Channel;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.Pipe;
import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Consumer;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

/**
 * The client end of one kernel's shell, control and iopub channels. ZeroMQ sockets must only be touched by one
 * thread, so a single I/O thread owns them: other threads queue outgoing messages and wake it through a pipe, and
 * every incoming message is handed to {@code sink} on the I/O thread (the sink must not block). The ZeroMQ context is
 * the interpreter's, shared by all its kernels: a context is two platform threads of its own (I/O and reaper).
 */
public final class KernelConnection implements AutoCloseable {
    /**
     * Bigger messages make the kernel's connection drop (ZeroMQ reconnects; the message is lost) instead of the
     * agent's heap filling up: sandboxes run the agent with a small heap (-Xmx64m).
     */
    public static final long MAX_MESSAGE_BYTES = 8L << 20;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final byte[] DELIMITER = "<IDS|MSG>".getBytes(StandardCharsets.US_ASCII);

    private record Outgoing(Channel channel, List<byte[]> frames) {}

    private final ConnectionInfo info;
    private final MessageSigner signer;
    private final Consumer<KernelMessage> sink;
    private final String session = UUID.randomUUID().toString();
    private final ConcurrentLinkedQueue<Outgoing> outbox = new ConcurrentLinkedQueue<>();
    private final Pipe wakeup;
    private final ZContext zmq;
    private final Thread ioThread;
    private volatile boolean open = true;
    private volatile boolean resubscribe;

    public KernelConnection(ZContext zmq, ConnectionInfo info, String name, Consumer<KernelMessage> sink)
            throws IOException {
        this.zmq = zmq;
        this.info = info;
        this.signer = new MessageSigner(info.key());
        this.sink = sink;
        this.wakeup = Pipe.open();
        wakeup.source().configureBlocking(false);
        // Platform thread: it lives as long as the kernel and spends its life inside a selector.
        this.ioThread = Thread.ofPlatform().daemon().name("kernel-io-" + name).start(this::run);
    }

    /** Queues a request and returns its msg_id; replies and iopub output carry it as their parent. */
    public String send(Channel channel, String msgType, ObjectNode content) {
        return send(channel, msgType, content, UUID.randomUUID().toString());
    }

    /** Sends with a msg_id chosen by the caller, who can register for the answers before they can arrive. */
    public String send(Channel channel, String msgType, ObjectNode content, String msgId) {
        ObjectNode header = JSON.createObjectNode();
        header.put("msg_id", msgId);
        header.put("session", session);
        header.put("username", "boxwood");
        header.put("date", OffsetDateTime.now(ZoneOffset.UTC).toString());
        header.put("msg_type", msgType);
        header.put("version", "5.3");
        try {
            byte[] h = JSON.writeValueAsBytes(header);
            byte[] p = "{}".getBytes(StandardCharsets.US_ASCII);
            byte[] m = "{}".getBytes(StandardCharsets.US_ASCII);
            byte[] c = JSON.writeValueAsBytes(content);
            byte[] sig = signer.sign(h, p, m, c).getBytes(StandardCharsets.US_ASCII);
            outbox.add(new Outgoing(channel, List.of(DELIMITER, sig, h, p, m, c)));
        } catch (IOException e) {
            throw new IllegalStateException("cannot serialise a Jupyter message", e);
        }
        wake();
        return msgId;
    }

    private void wake() {
        try {
            synchronized (wakeup) {
                wakeup.sink().write(ByteBuffer.wrap(new byte[] {1}));
            }
        } catch (IOException ignored) {
            // Closed: the I/O thread is gone and nothing will be sent anyway.
        }
    }

    /**
     * Replaces the iopub subscription with a fresh one. After an oversized message, ZeroMQ drops the connection
     * and does not always come back, so whoever notices lost messages asks for a new socket.
     */
    public void resubscribe() {
        resubscribe = true;
        wake();
    }

    private ZMQ.Socket subscribe() {
        ZMQ.Socket iopub = zmq.createSocket(SocketType.SUB);
        iopub.setLinger(0);
        iopub.setMaxMsgSize(MAX_MESSAGE_BYTES);
        iopub.subscribe(ZMQ.SUBSCRIPTION_ALL);
        iopub.connect(info.endpoint(info.iopubPort()));
        return iopub;
    }

    private void run() {
        List<ZMQ.Socket> sockets = new ArrayList<>();
        try {
            ZMQ.Socket shell = zmq.createSocket(SocketType.DEALER);
            sockets.add(shell);
            ZMQ.Socket control = zmq.createSocket(SocketType.DEALER);
            sockets.add(control);
            byte[] identity = session.getBytes(StandardCharsets.US_ASCII);
            for (ZMQ.Socket s : List.of(shell, control)) {
                s.setLinger(0);
                s.setMaxMsgSize(MAX_MESSAGE_BYTES);
                s.setIdentity(identity);
            }
            shell.connect(info.endpoint(info.shellPort()));
            control.connect(info.endpoint(info.controlPort()));
            ZMQ.Socket iopub = subscribe();
            sockets.add(iopub);
            ByteBuffer drain = ByteBuffer.allocate(256);
            while (open && !Thread.currentThread().isInterrupted()) {
                if (resubscribe) {
                    resubscribe = false;
                    sockets.remove(iopub);
                    zmq.destroySocket(iopub);
                    iopub = subscribe();
                    sockets.add(iopub);
                }
                try (ZMQ.Poller poller = zmq.createPoller(4)) {
                    int iShell = poller.register(shell, ZMQ.Poller.POLLIN);
                    int iControl = poller.register(control, ZMQ.Poller.POLLIN);
                    int iIopub = poller.register(iopub, ZMQ.Poller.POLLIN);
                    int iWake = poller.register(wakeup.source(), ZMQ.Poller.POLLIN);
                    while (open && !resubscribe && !Thread.currentThread().isInterrupted()) {
                        poller.poll(1000);
                        if (poller.pollin(iWake)) {
                            while (wakeup.source().read(drain.clear()) > 0) { /* drained */ }
                        }
                        Outgoing out;
                        while ((out = outbox.poll()) != null) {
                            ZMQ.Socket target = out.channel() == Channel.CONTROL ? control : shell;
                            for (int i = 0; i < out.frames().size(); i++) {
                                byte[] frame = out.frames().get(i);
                                if (i < out.frames().size() - 1) target.sendMore(frame); else target.send(frame);
                            }
                        }
                        if (poller.pollin(iIopub)) receiveAll(iopub, Channel.IOPUB);
                        if (poller.pollin(iShell)) receiveAll(shell, Channel.SHELL);
                        if (poller.pollin(iControl)) receiveAll(control, Channel.CONTROL);
                    }
                }
            }
        } catch (RuntimeException | IOException e) {
            if (open) System.err.println("interpreter: kernel I/O stopped: " + e);
        } finally {
            sockets.forEach(zmq::destroySocket);
        }
    }

    private void receiveAll(ZMQ.Socket socket, Channel channel) {
        byte[] first;
        while ((first = socket.recv(ZMQ.DONTWAIT)) != null) {
            List<byte[]> frames = new ArrayList<>();
            frames.add(first);
            while (socket.hasReceiveMore()) frames.add(socket.recv(0));
            KernelMessage message = parse(channel, frames);
            if (message != null) {
                try {
                    sink.accept(message);
                } catch (RuntimeException e) {
                    System.err.println("interpreter: message handler failed: " + e);
                }
            }
        }
    }

    private KernelMessage parse(Channel channel, List<byte[]> frames) {
        int d = 0;
        while (d < frames.size() && !java.util.Arrays.equals(frames.get(d), DELIMITER)) d++;
        if (frames.size() < d + 6) return null;
        byte[] h = frames.get(d + 2), p = frames.get(d + 3), m = frames.get(d + 4), c = frames.get(d + 5);
        String signature = new String(frames.get(d + 1), StandardCharsets.US_ASCII);
        if (!signer.verify(signature, h, p, m, c)) return null; // forged or corrupted: never act on it
        try {
            JsonNode header = JSON.readTree(h);
            if (!(header instanceof ObjectNode headerObject)) return null;
            return new KernelMessage(channel, headerObject, JSON.readTree(p), JSON.readTree(m), JSON.readTree(c));
        } catch (IOException e) {
            return null;
        }
    }

    @Override
    public void close() {
        open = false;
        wake();
        try {
            ioThread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            wakeup.sink().close();
            wakeup.source().close();
        } catch (IOException ignored) {
            // nothing left to release
        }
    }
}
