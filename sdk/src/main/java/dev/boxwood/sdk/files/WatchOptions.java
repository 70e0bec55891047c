package dev.boxwood.sdk.files;

import java.time.Duration;
import java.util.function.Consumer;

/**
 * Options of {@link Filesystem#watchDir}.
 *
 * @param recursive    also watch subdirectories
 * @param includeEntry attach the changed entry's info to each event
 * @param timeout      how long the watch lasts ({@link Duration#ZERO} = until stopped); default 60 s as in E2B
 * @param onExit       called once when the watch ends: with null after a clean end or {@link WatchHandle#stop()},
 *                     with the error otherwise (a {@link dev.boxwood.sdk.TimeoutException} when the timeout passed)
 */
public record WatchOptions(boolean recursive, boolean includeEntry, Duration timeout, Consumer<Throwable> onExit) {
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

    public static WatchOptions defaults() {
        return new WatchOptions(false, false, DEFAULT_TIMEOUT, null);
    }

    public WatchOptions withRecursive(boolean recursive) {
        return new WatchOptions(recursive, includeEntry, timeout, onExit);
    }

    public WatchOptions withIncludeEntry(boolean includeEntry) {
        return new WatchOptions(recursive, includeEntry, timeout, onExit);
    }

    public WatchOptions withTimeout(Duration timeout) {
        return new WatchOptions(recursive, includeEntry, timeout, onExit);
    }

    public WatchOptions withOnExit(Consumer<Throwable> onExit) {
        return new WatchOptions(recursive, includeEntry, timeout, onExit);
    }
}
