package dev.boxwood.server.pool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/** The boot bound's ordering: creates before refills, FIFO within each, interrupted waiters leave no trace. */
class BootGateTest {
    final BlockingQueue<String> granted = new LinkedBlockingQueue<>();

    /** A thread that takes a slot, reports its name, and holds the slot until interrupted or told to let go. */
    Thread waiter(BootGate gate, BootGate.Priority priority, String name, BlockingQueue<Object> letGo) {
        return Thread.ofVirtual().name(name).start(() -> {
            try (BootGate.Permit permit = gate.acquire(priority)) {
                granted.add(name);
                letGo.take();
            } catch (InterruptedException e) {
                granted.add(name + " interrupted");
            }
        });
    }

    static void await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("condition not reached");
            Thread.sleep(5);
        }
    }

    @Test
    void aFreedSlotGoesToTheOldestCreateBeforeAnyEarlierRefillAndFifoWithinEach() throws Exception {
        BootGate gate = new BootGate(3);
        BlockingQueue<Object> letGo = new LinkedBlockingQueue<>();
        for (String name : List.of("c0", "c1", "c2")) waiter(gate, BootGate.Priority.CREATE, name, letGo);
        assertThat(List.of(granted.take(), granted.take(), granted.take())).containsExactlyInAnyOrder("c0", "c1", "c2");
        // Queue in this order, each once the previous one is waiting: refill r0, create c3, refill r1, create c4.
        String[][] order = {{"r0", "REFILL"}, {"c3", "CREATE"}, {"r1", "REFILL"}, {"c4", "CREATE"}};
        for (int i = 0; i < order.length; i++) {
            waiter(gate, BootGate.Priority.valueOf(order[i][1]), order[i][0], letGo);
            int queued = i + 1;
            await(() -> gate.waiting() == queued);
        }
        assertThat(gate.booting()).isEqualTo(3);
        List<String> seen = new java.util.ArrayList<>();
        for (int i = 0; i < 4; i++) {
            letGo.add(new Object()); // one slot frees up: exactly one waiter gets it
            seen.add(granted.take());
        }
        assertThat(seen).containsExactly("c3", "c4", "r0", "r1");
        assertThat(gate.peak()).isEqualTo(3);
        for (int i = 0; i < 3; i++) letGo.add(new Object());
        await(() -> gate.booting() == 0);
    }

    @Test
    void refillsNeverTakeTheLastSlotAndAnInterruptedWaiterLeavesTheQueue() throws Exception {
        BootGate gate = new BootGate(2);
        BlockingQueue<Object> letGo = new LinkedBlockingQueue<>();
        waiter(gate, BootGate.Priority.REFILL, "r0", letGo);
        assertThat(granted.take()).isEqualTo("r0");
        Thread r1 = waiter(gate, BootGate.Priority.REFILL, "r1", letGo);
        await(() -> gate.waiting() == 1);
        assertThat(gate.booting()).as("the second slot stays free for a create").isEqualTo(1);
        waiter(gate, BootGate.Priority.CREATE, "c0", letGo);
        assertThat(granted.take()).isEqualTo("c0");

        r1.interrupt();
        assertThat(granted.take()).isEqualTo("r1 interrupted");
        assertThat(gate.waiting()).isZero();
        letGo.add(new Object());
        letGo.add(new Object());
        await(() -> gate.booting() == 0);
        assertThat(gate.peak()).isEqualTo(2);
        assertThatThrownBy(() -> new BootGate(0)).isInstanceOf(IllegalArgumentException.class);
    }
}
