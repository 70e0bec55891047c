import dev.boxwood.sdk.Sandbox;
import dev.boxwood.sdk.commands.CommandOptions;
import dev.boxwood.sdk.commands.CommandResult;
import dev.boxwood.sdk.files.EntryInfo;

/**
 * The basics: create a sandbox, run a command with streamed output, write and read a file, list a directory.
 * The sandbox is killed when the try block ends.
 *
 * <p>Run: {@code examples/run HelloSandbox.java} with E2B_API_KEY, E2B_API_URL and
 * E2B_SANDBOX_URL set to the lines {@code boxwood serve} prints.
 */
public class HelloSandbox {
    public static void main(String[] args) {
        try (Sandbox sandbox = Sandbox.create()) {
            System.out.println("sandbox " + sandbox.sandboxId() + " is running");

            CommandResult uname = sandbox.commands().run("uname -a && id",
                    CommandOptions.builder().onStdout(chunk -> System.out.print("  | " + chunk)).build());
            System.out.println("exit code " + uname.exitCode());

            sandbox.files().write("notes/hello.txt", "Hello from Java\n");
            System.out.println("read back: " + sandbox.files().read("notes/hello.txt").strip());

            for (EntryInfo entry : sandbox.files().list("/home/user/notes")) {
                System.out.println("  " + entry.permissions() + " " + entry.size() + " " + entry.path());
            }
        }
    }
}
