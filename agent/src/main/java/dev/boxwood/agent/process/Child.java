package dev.boxwood.agent.process;

import java.io.InputStream;
import java.io.OutputStream;

/** A started child process, however it was spawned: its pid, its pipes and its exit. */
interface Child {
    int pid();

    /** The write end of its stdin pipe, or null when it has none (a PTY, or stdin from /dev/null). */
    OutputStream stdin();

    InputStream stdout();

    InputStream stderr();

    /** Blocks until it exits; the exit code, or 128 + the signal that ended it. Fine on a virtual thread. */
    int waitFor() throws InterruptedException;

    /** A process started by the JDK's {@link ProcessBuilder}. */
    record Jdk(Process process, boolean stdinOpen) implements Child {
        @Override
        public int pid() {
            return (int) process.pid();
        }

        @Override
        public OutputStream stdin() {
            return stdinOpen ? process.getOutputStream() : null;
        }

        @Override
        public InputStream stdout() {
            return process.getInputStream();
        }

        @Override
        public InputStream stderr() {
            return process.getErrorStream();
        }

        @Override
        public int waitFor() throws InterruptedException {
            return process.waitFor();
        }
    }
}
