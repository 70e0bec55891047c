package dev.boxwood.agent.process;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;

/**
 * The few libc calls Java has no API for: pseudo-terminals, window size, signals to process groups, and the
 * posix_spawn family with what {@link Spawner} needs around it.
 */
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

    short POSIX_SPAWN_SETSIGMASK = 0x08;
    short POSIX_SPAWN_SETSID = 0x80;
    int O_RDONLY = 0;
    int EINTR = 4;

    /** Pointers only: no argument conversion, so the call allocates nothing (see {@link Spawner}'s threads). */
    int posix_spawn(Pointer pid, Pointer path, Pointer fileActions, Pointer attr, Pointer argv, Pointer envp);

    int posix_spawn_file_actions_init(Pointer actions);

    int posix_spawn_file_actions_destroy(Pointer actions);

    int posix_spawn_file_actions_adddup2(Pointer actions, int fd, int newFd);

    int posix_spawn_file_actions_addopen(Pointer actions, int fd, String path, int flags, int mode);

    /** glibc 2.29. */
    int posix_spawn_file_actions_addchdir_np(Pointer actions, String path);

    /** glibc 2.34. */
    int posix_spawn_file_actions_addclosefrom_np(Pointer actions, int from);

    int posix_spawnattr_init(Pointer attr);

    int posix_spawnattr_destroy(Pointer attr);

    int posix_spawnattr_setflags(Pointer attr, short flags);

    int posix_spawnattr_setsigmask(Pointer attr, Pointer sigset);

    int sigemptyset(Pointer sigset);

    int pipe2(int[] fds, int flags);

    int waitpid(int pid, IntByReference status, int options);

    int getgrouplist(String user, int group, int[] groups, IntByReference ngroups);

    /** PR_CAPBSET_DROP (see {@link ResourceExemption}). */
    int prctl(int option, long arg2, long arg3, long arg4, long arg5);

    /** Raw syscalls: unlike glibc's wrappers they change the credentials of the calling thread only. */
    NativeLong syscall(NativeLong number, Object... args);
}
