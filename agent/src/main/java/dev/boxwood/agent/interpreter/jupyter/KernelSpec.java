package dev.boxwood.agent.interpreter.jupyter;

import java.util.List;
import java.util.Map;

/**
 * A kernelspec ({@code kernel.json}) as Jupyter defines it: how to launch one kernel and how to interrupt it.
 *
 * @param argv          command line; {@code {connection_file}} is replaced by the connection file's path
 * @param interruptMode {@code signal} (SIGINT to the process) or {@code message} (interrupt_request on control)
 */
public record KernelSpec(String name, String displayName, String language, List<String> argv,
                         Map<String, String> env, String interruptMode) {

    public boolean interruptsByMessage() {
        return "message".equals(interruptMode);
    }
}
