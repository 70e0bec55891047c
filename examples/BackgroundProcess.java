import dev.boxwood.sdk.Sandbox;
import dev.boxwood.sdk.commands.CommandHandle;
import dev.boxwood.sdk.commands.CommandOptions;
import dev.boxwood.sdk.commands.CommandResult;
import dev.boxwood.sdk.files.FilesystemEvent;
import dev.boxwood.sdk.files.WatchHandle;

/**
 * Long-running work: a background process fed through stdin, a directory watch, and killing a process.
 *
 * <p>Run: {@code examples/run BackgroundProcess.java} with the E2B_* variables {@code boxwood serve} prints.
 */
public class BackgroundProcess {
    public static void main(String[] args) throws Exception {
        try (Sandbox sandbox = Sandbox.create()) {
            // A filter that upper-cases whatever it is sent, until its stdin is closed.
            CommandHandle upper = sandbox.commands().runBackground("tr a-z A-Z",
                    CommandOptions.builder().stdin(true).onStdout(System.out::print).build());
            upper.sendStdin("hello from the host\n");
            upper.closeStdin();
            CommandResult result = upper.waitFor();
            System.out.println("tr exited with " + result.exitCode());

            sandbox.files().makeDir("/home/user/inbox");
            try (WatchHandle watch = sandbox.files().watchDir("/home/user/inbox",
                    (FilesystemEvent event) -> System.out.println("  " + event.type() + " " + event.name()))) {
                sandbox.files().write("/home/user/inbox/report.txt", "done");
                Thread.sleep(500);
            }

            CommandHandle sleeper = sandbox.commands().runBackground("sleep 3600");
            System.out.println("running: " + sandbox.commands().list().size() + " processes; killing " + sleeper.pid());
            sleeper.kill();
            System.out.println("killed, exit code " + sleeper.awaitResult().exitCode());
        }
    }
}
