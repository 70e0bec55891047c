package dev.boxwood.agent.process;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;

/** The few libc calls Java has no API for: pseudo-terminals, window size, signals to process groups. */
interface LibC extends Library {
    LibC INSTANCE = Native.load("c", LibC.class);

    int O_RDWR = 0x2;
    int O_NOCTTY = 0x100;
    int O_CLOEXEC = 0x80000;
    long TIOCSWINSZ = 0x5414;

    int posix_openpt(int flags);

    int grantpt(int fd);

    int unlockpt(int fd);

    int ptsname_r(int fd, byte[] buf, NativeLong buflen);

    /** struct winsize is four unsigned shorts: rows, cols, xpixel, ypixel. */
    int ioctl(int fd, NativeLong request, short[] winsize);

    NativeLong read(int fd, byte[] buf, NativeLong count);

    NativeLong write(int fd, byte[] buf, NativeLong count);

    int close(int fd);

    int kill(int pid, int sig);
}
