package dev.boxwood.agent.files;

/** A /files request that failed with a REST error ({@code {"code":status,"message":...}}). */
final class FileRequestError extends RuntimeException {
    final int status;

    FileRequestError(int status, String message) {
        super(message, null, false, false);
        this.status = status;
    }
}
