package dev.boxwood.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

@Command(name = "keys", description = "Create, list and revoke API keys")
final class KeysCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        System.err.println("boxwood keys: not built yet");
        return 1;
    }
}
