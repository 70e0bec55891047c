package dev.boxwood.agent.testing;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** Base of test classes that share one initialised agent per class: {@link #agent} and its client {@link #c}. */
public abstract class LiveAgentTest {
    protected static TestAgent agent;
    protected static ConnectClient c;

    @BeforeAll
    static void startAgent() throws Exception {
        agent = TestAgent.start();
        c = agent.client();
    }

    @AfterAll
    static void stopAgent() throws Exception {
        agent.close();
    }
}
