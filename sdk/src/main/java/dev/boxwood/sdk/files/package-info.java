/**
 * A sandbox's filesystem ({@link dev.boxwood.sdk.files.Filesystem}): reading and writing files, entries,
 * directory watches and signed URLs.
 */
package dev.boxwood.sdk.files;
