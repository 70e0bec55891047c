package dev.boxwood.server.router;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.concurrent.Executor;
import org.eclipse.jetty.io.AbstractConnection;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;

/**
 * What a client's connection becomes after a proxied {@code 101 Switching Protocols}: raw bytes both ways between
 * the client and the sandbox's socket, until either side closes. Half-closes are passed on, so a close frame and the
 * TCP FIN that follows reach the other side in order.
 */
final class TunnelConnection extends AbstractConnection implements Connection.UpgradeTo {
    private static final int BUFFER = 16 * 1024;

    private final Socket backend;
    private final byte[] fromBackend;
    private final Runnable onClosed;
    private ByteBuffer fromClient;

    /**
     * @param fromBackend bytes the sandbox sent right after its 101 head, already read
     * @param onClosed    runs once when the tunnel ends
     */
    TunnelConnection(EndPoint endPoint, Executor executor, Socket backend, byte[] fromBackend, Runnable onClosed) {
        super(endPoint, executor);
        this.backend = backend;
        this.fromBackend = fromBackend;
        this.onClosed = onClosed;
    }

    @Override
    public void onUpgradeTo(ByteBuffer prefilled) {
        // Frames the client sent before it saw the 101 were read along with the request; they go first.
        if (BufferUtil.hasContent(prefilled)) {
            fromClient = BufferUtil.allocate(prefilled.remaining());
            BufferUtil.append(fromClient, prefilled);
        }
    }

    @Override
    public void onOpen() {
        super.onOpen();
        Thread.ofVirtual().name("boxwood-tunnel-in").start(this::pumpFromBackend);
        try {
            if (fromClient != null) write(fromClient);
        } catch (IOException e) {
            close();
            return;
        }
        fillInterested();
    }

    @Override
    public void onFillable() {
        ByteBuffer buffer = BufferUtil.allocate(BUFFER);
        try {
            while (true) {
                BufferUtil.clear(buffer);
                int n = getEndPoint().fill(buffer);
                if (n > 0) {
                    write(buffer);
                } else if (n == 0) {
                    fillInterested();
                    return;
                } else {
                    backend.shutdownOutput();
                    return;
                }
            }
        } catch (IOException e) {
            close();
        }
    }

    private void write(ByteBuffer buffer) throws IOException {
        OutputStream out = backend.getOutputStream();
        out.write(buffer.array(), buffer.arrayOffset() + buffer.position(), buffer.remaining());
        out.flush();
    }

    /** Sandbox → client, blocking on a virtual thread; each write waits for the client, so back-pressure holds. */
    private void pumpFromBackend() {
        try {
            if (fromBackend.length > 0) send(ByteBuffer.wrap(fromBackend));
            InputStream in = backend.getInputStream();
            byte[] chunk = new byte[BUFFER];
            int n;
            while ((n = in.read(chunk)) >= 0) {
                if (n > 0) send(ByteBuffer.wrap(chunk, 0, n));
            }
            getEndPoint().shutdownOutput();
        } catch (Exception e) {
            close();
        }
    }

    private void send(ByteBuffer buffer) throws Exception {
        Callback.Completable done = new Callback.Completable();
        getEndPoint().write(done, buffer);
        done.get();
    }

    @Override
    public void onClose(Throwable cause) {
        super.onClose(cause);
        try {
            backend.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        onClosed.run();
    }
}
