package dev.boxwood.agent.http;

import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.jetty.io.ArrayByteBufferPool;
import org.eclipse.jetty.io.ByteBufferPool;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;
import org.eclipse.jetty.util.thread.Scheduler;
import org.eclipse.jetty.util.thread.VirtualThreadPool;

/**
 * What the agent's Jetty servers (envd's port and the code interpreter's) share: the virtual-thread pool, the scheduler
 * and the buffer pool. Each pool has a platform keep-alive thread and each scheduler a platform thread, and each buffer
 * pool keeps buffers of its own: one set per server was memory in every sandbox for nothing. They are started here,
 * before any server, so that each server holds them as unmanaged beans: stopping one server leaves the other running.
 */
public record ServerResources(VirtualThreadPool threads, Scheduler scheduler, ByteBufferPool buffers)
        implements AutoCloseable {

    public static ServerResources start() throws Exception {
        VirtualThreadPool pool = new VirtualThreadPool();
        pool.setName("agent");
        // The executor Jetty would build (threads agent0, agent1, ...), built here: Jetty's VirtualThreads helper
        // builds it by reflection, and the JDK's counting name factory by string-concatenation bootstraps; both spin
        // method-handle classes at every start that the AOT cache does not hold. Plain calls and a lambda it does.
        AtomicLong threads = new AtomicLong();
        pool.setVirtualThreadsExecutor(Executors.newThreadPerTaskExecutor(task -> Thread.ofVirtual()
                .name("agent".concat(Long.toString(threads.getAndIncrement()))).unstarted(task)));
        ScheduledExecutorScheduler scheduler = new ScheduledExecutorScheduler("agent-scheduler", true);
        pool.start();
        scheduler.start();
        return new ServerResources(pool, scheduler, new ArrayByteBufferPool());
    }

    /** A server on these resources; its connectors and handler are the caller's. */
    public Server newServer() {
        return new Server(threads, scheduler, buffers);
    }

    @Override
    public void close() throws Exception {
        scheduler.stop();
        threads.stop();
    }
}
