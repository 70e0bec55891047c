package dev.boxwood.agent.filesystem;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Structure;

/** Linux inotify through JNA: the event kinds envd reports (rename, chmod) that the JDK's WatchService folds away. */
interface Inotify extends Library {
    Inotify INSTANCE = Native.load("c", Inotify.class);

    int IN_NONBLOCK = 0x800;
    int IN_CLOEXEC = 0x80000;

    int IN_MODIFY = 0x2;
    int IN_ATTRIB = 0x4;
    int IN_MOVED_FROM = 0x40;
    int IN_MOVED_TO = 0x80;
    int IN_CREATE = 0x100;
    int IN_DELETE = 0x200;
    int IN_DELETE_SELF = 0x400;
    int IN_MOVE_SELF = 0x800;
    int IN_Q_OVERFLOW = 0x4000;
    int IN_IGNORED = 0x8000;
    int IN_ISDIR = 0x40000000;
    int IN_DONT_FOLLOW = 0x2000000;
    int IN_ONLYDIR = 0x1000000;

    int WATCHED = IN_MODIFY | IN_ATTRIB | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_DELETE_SELF
            | IN_MOVE_SELF | IN_DONT_FOLLOW | IN_ONLYDIR;

    short POLLIN = 1;

    int inotify_init1(int flags);

    int inotify_add_watch(int fd, String path, int mask);

    int inotify_rm_watch(int fd, int wd);

    NativeLong read(int fd, byte[] buf, NativeLong count);

    int close(int fd);

    int poll(PollFd[] fds, NativeLong nfds, int timeoutMillis);

    /** struct pollfd. */
    @Structure.FieldOrder({"fd", "events", "revents"})
    class PollFd extends Structure {
        public int fd;
        public short events;
        public short revents;
    }
}
