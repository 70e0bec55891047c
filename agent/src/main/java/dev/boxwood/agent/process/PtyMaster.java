package dev.boxwood.agent.process;

import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * The master side of a pseudo-terminal opened with posix_openpt. The child gets the slave path as stdin, stdout and
 * stderr and makes it its controlling terminal ({@code setsid --ctty}). Reads block in native code, so they belong
 * on a platform thread.
 */
final class PtyMaster implements AutoCloseable {
    private final int fd;
    private final String slavePath;
    private volatile boolean closed;

    private PtyMaster(int fd, String slavePath) {
        this.fd = fd;
        this.slavePath = slavePath;
    }

    static PtyMaster open(int cols, int rows) throws IOException {
        LibC c = LibC.INSTANCE;
        int fd = c.posix_openpt(LibC.O_RDWR | LibC.O_NOCTTY | LibC.O_CLOEXEC);
        if (fd < 0) throw new IOException("posix_openpt failed, errno " + Native.getLastError());
        byte[] name = new byte[128];
        if (c.grantpt(fd) != 0 || c.unlockpt(fd) != 0 || c.ptsname_r(fd, name, new NativeLong(name.length)) != 0) {
            int errno = Native.getLastError();
            c.close(fd);
            throw new IOException("cannot set up the pty, errno " + errno);
        }
        int len = 0;
        while (len < name.length && name[len] != 0) len++;
        PtyMaster pty = new PtyMaster(fd, new String(name, 0, len, StandardCharsets.UTF_8));
        pty.resize(cols, rows);
        return pty;
    }

    String slavePath() {
        return slavePath;
    }

    void resize(int cols, int rows) throws IOException {
        short[] winsize = {(short) rows, (short) cols, 0, 0};
        if (LibC.INSTANCE.ioctl(fd, new NativeLong(LibC.TIOCSWINSZ), winsize) != 0) {
            throw new IOException("TIOCSWINSZ failed, errno " + Native.getLastError());
        }
    }

    /** Bytes read, or -1 once every slave side is closed (Linux reports EIO then). */
    int read(byte[] buf) {
        if (closed) return -1;
        long n = LibC.INSTANCE.read(fd, buf, new NativeLong(buf.length)).longValue();
        return n <= 0 ? -1 : (int) n;
    }

    synchronized void write(byte[] data) throws IOException {
        int off = 0;
        while (off < data.length) {
            if (closed) throw new IOException("pty closed");
            byte[] chunk = off == 0 ? data : java.util.Arrays.copyOfRange(data, off, data.length);
            long n = LibC.INSTANCE.write(fd, chunk, new NativeLong(chunk.length)).longValue();
            if (n < 0) throw new IOException("write to pty failed, errno " + Native.getLastError());
            off += (int) n;
        }
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            LibC.INSTANCE.close(fd);
        }
    }
}
