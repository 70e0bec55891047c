package dev.boxwood.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

@Command(name = "serve", description = "Start the API server with embedded defaults")
final class ServeCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        System.err.println("boxwood serve: not built yet");
        return 1;
    }
}
