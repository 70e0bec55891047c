package dev.boxwood.server.store;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.locks.ReentrantLock;
import org.flywaydb.core.Flyway;

/**
 * The embedded SQLite database, migrated by Flyway on open. WAL mode lets readers run while one writer writes;
 * a handful of pooled connections means no caller waits on another's read.
 */
public final class Database implements AutoCloseable {
    private static final int POOL_SIZE = 4;

    private final String url;
    private final BlockingQueue<Connection> pool = new ArrayBlockingQueue<>(POOL_SIZE);
    private final List<Connection> all = new ArrayList<>();
    /**
     * One caller at a time talks to SQLite. Its calls are native code, which pins a virtual thread to its carrier, and
     * a writer that finds the database locked sleeps inside SQLite's busy handler (1 to 100 ms a retry) with its
     * carrier pinned: fifty creates at once stalled every virtual thread of the server, claims included, for up to a
     * quarter of a second. A caller waiting for this lock parks instead, and SQLite never sees two writers of this
     * process at once (busy_timeout stays for other processes, e.g. {@code keys} commands).
     */
    private final ReentrantLock access = new ReentrantLock();

    public Database(Path file) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            this.url = "jdbc:sqlite:" + file.toAbsolutePath();
            try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
                // journal_mode is persistent in the file; set it before Flyway takes its own connections.
                s.execute("PRAGMA journal_mode=WAL");
            }
            Flyway.configure(Database.class.getClassLoader())
                    .dataSource(url, null, null)
                    .locations("classpath:db/migration")
                    .load()
                    .migrate();
            for (int i = 0; i < POOL_SIZE; i++) {
                Connection c = DriverManager.getConnection(url);
                try (Statement s = c.createStatement()) {
                    s.execute("PRAGMA busy_timeout=10000");
                    s.execute("PRAGMA foreign_keys=ON");
                    s.execute("PRAGMA synchronous=NORMAL");
                }
                all.add(c);
                pool.add(c);
            }
        } catch (Exception e) {
            throw new IllegalStateException("cannot open database " + file + ": " + e.getMessage(), e);
        }
    }

    public interface Work<T> {
        T run(Connection c) throws SQLException;
    }

    /** Runs {@code work} on a pooled connection, in auto-commit mode. */
    public <T> T with(Work<T> work) {
        Connection c;
        boolean locked = false;
        try {
            access.lockInterruptibly();
            locked = true;
            c = pool.take();
        } catch (InterruptedException e) {
            if (locked) access.unlock();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted waiting for a database connection", e);
        }
        try {
            return work.run(c);
        } catch (SQLException e) {
            throw new StoreFailure(e);
        } finally {
            pool.add(c);
            access.unlock();
        }
    }

    /** Runs {@code work} on a pooled connection as one transaction: all of it is committed, or none of it. */
    public <T> T inTransaction(Work<T> work) {
        return with(c -> {
            c.setAutoCommit(false);
            try {
                T result = work.run(c);
                c.commit();
                return result;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            } finally {
                c.setAutoCommit(true);
            }
        });
    }

    @Override
    public void close() {
        for (Connection c : all) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // closing on shutdown; nothing left to do with the error
            }
        }
    }

    /** A database error: always a bug or a broken disk, never bad client input. */
    public static final class StoreFailure extends RuntimeException {
        StoreFailure(SQLException cause) {
            super("database error: " + cause.getMessage(), cause);
        }
    }
}
