package dev.boxwood.agent.interpreter;

import com.fasterxml.jackson.databind.JsonNode;
import dev.boxwood.agent.interpreter.jupyter.Kernel;
import dev.boxwood.agent.interpreter.jupyter.KernelMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The output of one execute_request, turned into stream items as the kernel's messages arrive.
 *
 * <p>Output floods are bounded twice: at most {@code maxPendingBytes} wait in memory for a slow client, and at most
 * {@code maxStreamBytes} of stdout/stderr are forwarded per execution. Whatever is over is dropped (the kernel is
 * never blocked) and one notice on stderr says how much.
 */
final class Execution implements Kernel.Listener {
    private final LinkedBlockingQueue<OutputItem> queue = new LinkedBlockingQueue<>();
    private final long maxPendingBytes;
    private final long maxStreamBytes;
    private final String language;
    private long pendingBytes;
    private long streamBytes;
    private long droppedBytes;
    private boolean dropNoticeSent;
    private boolean errorSent;
    private boolean idle;
    private boolean replied;
    private boolean finished;
    private boolean lostMessages;
    private long lastMessageNanos = System.nanoTime();
    private String diedReason;

    Execution(String language, long maxPendingBytes, long maxStreamBytes) {
        this.language = language;
        this.maxPendingBytes = maxPendingBytes;
        this.maxStreamBytes = maxStreamBytes;
    }

    @Override
    public synchronized void onMessage(KernelMessage message) {
        if (finished) return;
        lastMessageNanos = System.nanoTime();
        JsonNode content = message.content();
        switch (message.msgType()) {
            case "execute_input" -> offer(new OutputItem.ExecutionCount(content.path("execution_count").asInt()));
            case "stream" -> {
                String text = content.path("text").asText("");
                String timestamp = message.date();
                offerStream("stderr".equals(content.path("name").asText())
                        ? new OutputItem.Stderr(text, timestamp) : new OutputItem.Stdout(text, timestamp), text);
            }
            case "display_data" -> offerResult(MimeBundles.toResult(content.path("data"), false));
            case "execute_result" -> offerResult(MimeBundles.toResult(content.path("data"), true));
            case "error" -> offerError(content);
            case "status" -> {
                if ("idle".equals(content.path("execution_state").asText())) {
                    idle = true;
                    finishIfComplete();
                }
            }
            case "execute_reply" -> {
                replied = true;
                String status = content.path("status").asText();
                if ("error".equals(status)) {
                    offerError(content);
                } else if ("aborted".equals(status) || "abort".equals(status)) {
                    if (!errorSent) {
                        errorSent = true;
                        offer(new OutputItem.Error("ExecutionAborted", "Execution was aborted", ""));
                    }
                }
                finishIfComplete();
            }
            default -> { /* comm messages, clear_output, update_display_data: not part of E2B's stream */ }
        }
    }

    @Override
    public synchronized void onKernelDied(String reason, boolean expected) {
        if (finished) return;
        diedReason = reason;
        if (!errorSent) {
            errorSent = true;
            offer(expected
                    ? new OutputItem.Error("ContextRestarting", "The context was restarted or removed while this "
                            + "code ran; all state in it is lost.", "")
                    : new OutputItem.Error("KernelDied", "The " + language + " kernel died (" + reason
                            + ") and is being restarted; all state in this context is lost.", ""));
        }
        finish();
    }

    private void offerError(JsonNode content) {
        if (errorSent) return;
        errorSent = true;
        List<String> lines = new ArrayList<>();
        content.path("traceback").forEach(l -> lines.add(l.asText()));
        offer(new OutputItem.Error(content.path("ename").asText(""), content.path("evalue").asText(""),
                String.join("\n", lines)));
    }

    private void offerStream(OutputItem item, String text) {
        long size = item.size();
        if (streamBytes + text.length() > maxStreamBytes || pendingBytes + size > maxPendingBytes) {
            drop(text.length());
            return;
        }
        streamBytes += text.length();
        offer(item);
    }

    private void offerResult(OutputItem.Result result) {
        if (pendingBytes + result.size() > maxPendingBytes) {
            drop(result.size());
            return;
        }
        offer(result);
    }

    private void drop(long bytes) {
        droppedBytes += bytes;
        if (!dropNoticeSent) {
            dropNoticeSent = true;
            // The notice itself is tiny and always queued, so the client learns that output went missing.
            offer(new OutputItem.Stderr("\n[boxwood: output limit reached (" + maxStreamBytes
                    + " bytes per execution, " + maxPendingBytes + " bytes buffered); further output dropped]\n",
                    java.time.OffsetDateTime.now().toString()));
        }
    }

    private void offer(OutputItem item) {
        pendingBytes += item.size();
        queue.add(item);
    }

    private void finishIfComplete() {
        if (idle && replied) finish();
    }

    private void finish() {
        if (finished) return;
        finished = true;
        queue.add(new OutputItem.EndOfExecution());
    }

    /**
     * Ends an execution that got only one of its two end signals (idle status on iopub, execute_reply on shell)
     * and has heard nothing for {@code graceNanos}: a message can be lost when an oversized one makes ZeroMQ drop and
     * re-open the connection. Returns true if it ended it.
     */
    synchronized boolean finishIfStale(long graceNanos) {
        if (!finished && (idle || replied) && System.nanoTime() - lastMessageNanos > graceNanos) {
            lostMessages = true;
            finish();
            return true;
        }
        return false;
    }

    /** True when the execution ended without one of its end signals: the kernel's iopub needs a resync. */
    synchronized boolean lostMessages() {
        return lostMessages;
    }

    /** Ends the execution from outside (timeout, lost kernel): an error line, then the end marker. */
    synchronized void abort(String name, String value) {
        if (finished) return;
        if (!errorSent) {
            errorSent = true;
            offer(new OutputItem.Error(name, value, ""));
        }
        finish();
    }

    /** Makes the writer write something now: how a waiting request checks that this one's client still listens. */
    void probe() {
        queue.add(new OutputItem.Keepalive());
    }

    OutputItem poll(long timeoutMillis) throws InterruptedException {
        OutputItem item = queue.poll(timeoutMillis, TimeUnit.MILLISECONDS);
        if (item != null) {
            synchronized (this) {
                pendingBytes -= item instanceof OutputItem.Keepalive ? 0 : item.size();
            }
        }
        return item;
    }

    synchronized boolean isFinished() {
        return finished;
    }

    synchronized String diedReason() {
        return diedReason;
    }

    synchronized long droppedBytes() {
        return droppedBytes;
    }
}
