package dev.boxwood.server.tls;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The certificate the server presents over HTTPS, as a key store for Jetty: either one the operator gives (PEM chain
 * and PKCS#8 key) or a wildcard one for {@code *.{domain}} and {@code {domain}} that the server generates on first
 * start, signed by a local CA it also generates (also valid for {@code localhost} and the loopback addresses, where
 * the printed API URL points). Generated files live in {@code <dataDir>/tls/}:
 * {@code ca.pem} (the CA certificate clients trust, e.g. with {@code NODE_EXTRA_CA_CERTS}), and, readable by root
 * only, {@code ca.p12} (the CA key), {@code server.p12} (key and chain) and {@code password}. The leaf is generated
 * again, by the same CA, when the domain changes. Generation uses the JDK's own {@code keytool}.
 *
 * @param keyStore the PKCS#12 file holding the key and chain
 * @param password its password
 * @param caFile   the CA clients should trust; null for an operator's certificate
 */
public record ServerCertificate(Path keyStore, String password, Path caFile) {
    private static final String ALIAS = "server";
    private static final Pattern PEM = Pattern.compile(
            "-----BEGIN ([A-Z ]+)-----([A-Za-z0-9+/=\\s]+)-----END \\1-----");

    /** Generates (or reuses) the local CA and a wildcard leaf for {@code domain}. */
    public static ServerCertificate generated(Path dir, String domain) {
        String name = domain.toLowerCase(Locale.ROOT);
        if (!name.matches("[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")) {
            throw new TlsFailure("cannot make a certificate for the domain '" + domain + "': not a DNS name");
        }
        try {
            Files.createDirectories(dir);
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            Path passwordFile = dir.resolve("password");
            if (!Files.exists(passwordFile)) {
                writePrivate(passwordFile, HexFormat.of().formatHex(new SecureRandom().generateSeed(24)));
            }
            String password = Files.readString(passwordFile).strip();
            Path ca = dir.resolve("ca.p12");
            Path caPem = dir.resolve("ca.pem");
            if (!Files.exists(ca)) {
                Files.deleteIfExists(caPem);
                keytool(null, "-genkeypair", "-alias", "ca", "-keyalg", "EC", "-groupname", "secp256r1",
                        "-dname", "CN=Boxwood local CA " + HexFormat.of().formatHex(new SecureRandom().generateSeed(4)),
                        "-ext", "bc:c", "-ext", "KU=keyCertSign,cRLSign", "-validity", "3650",
                        "-keystore", ca.toString(), "-storetype", "PKCS12", "-storepass", password);
                Files.setPosixFilePermissions(ca, PosixFilePermissions.fromString("rw-------"));
            }
            if (!Files.exists(caPem)) {
                Files.writeString(caPem, keytool(null, "-exportcert", "-alias", "ca", "-keystore", ca.toString(),
                        "-storepass", password, "-rfc"));
            }
            Path server = dir.resolve("server.p12");
            Path domainFile = dir.resolve("domain");
            boolean current = Files.exists(server) && Files.exists(domainFile)
                    && Files.readString(domainFile).strip().equals(name);
            if (!current) {
                Path fresh = dir.resolve("server.p12.tmp");
                Files.deleteIfExists(fresh);
                keytool(null, "-genkeypair", "-alias", ALIAS, "-keyalg", "EC", "-groupname", "secp256r1",
                        "-dname", "CN=*." + name, "-validity", "825", "-keystore", fresh.toString(),
                        "-storetype", "PKCS12", "-storepass", password);
                Files.setPosixFilePermissions(fresh, PosixFilePermissions.fromString("rw-------"));
                String request = keytool(null, "-certreq", "-alias", ALIAS, "-keystore", fresh.toString(),
                        "-storepass", password);
                String leaf = keytool(request, "-gencert", "-alias", "ca", "-keystore", ca.toString(),
                        "-storepass", password, "-rfc", "-validity", "825",
                        "-ext", "SAN=dns:*." + name + ",dns:" + name + ",dns:localhost,ip:127.0.0.1,ip:::1",
                        "-ext", "KU=digitalSignature", "-ext", "EKU=serverAuth");
                Path chain = dir.resolve("chain.pem.tmp");
                Files.writeString(chain, leaf + "\n" + Files.readString(caPem));
                keytool(null, "-importcert", "-alias", ALIAS, "-file", chain.toString(), "-keystore", fresh.toString(),
                        "-storepass", password, "-noprompt");
                Files.delete(chain);
                Files.move(fresh, server, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                Files.writeString(domainFile, name + "\n");
            }
            return new ServerCertificate(server, password, caPem);
        } catch (IOException e) {
            throw new TlsFailure("cannot prepare the TLS certificate in " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * An operator's PEM certificate chain (leaf first) and PKCS#8 PEM key, put in a key store under
     * {@code dir} (readable by root only) for Jetty.
     */
    public static ServerCertificate given(Path certFile, Path keyFile, Path dir) {
        List<Certificate> chain;
        try (InputStream in = Files.newInputStream(certFile)) {
            chain = new ArrayList<>(CertificateFactory.getInstance("X.509").generateCertificates(in));
        } catch (IOException | GeneralSecurityException e) {
            throw new TlsFailure("cannot read the certificate " + certFile + ": " + e.getMessage(), e);
        }
        if (chain.isEmpty()) throw new TlsFailure("no certificate in " + certFile);
        PrivateKey key = privateKey(keyFile, chain.getFirst());
        try {
            Files.createDirectories(dir);
            Path store = dir.resolve("given.p12");
            String password = HexFormat.of().formatHex(new SecureRandom().generateSeed(16));
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry(ALIAS, key, password.toCharArray(), chain.toArray(Certificate[]::new));
            Files.deleteIfExists(store);
            Files.createFile(store, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            try (var out = Files.newOutputStream(store)) {
                ks.store(out, password.toCharArray());
            }
            return new ServerCertificate(store, password, null);
        } catch (IOException | GeneralSecurityException e) {
            throw new TlsFailure("cannot store the given certificate and key: " + e.getMessage(), e);
        }
    }

    private static PrivateKey privateKey(Path keyFile, Certificate leaf) {
        String text;
        try {
            text = Files.readString(keyFile, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new TlsFailure("cannot read the key " + keyFile + ": " + e.getMessage(), e);
        }
        Matcher m = PEM.matcher(text);
        if (!m.find()) throw new TlsFailure(keyFile + " holds no PEM key");
        if (!m.group(1).equals("PRIVATE KEY")) {
            throw new TlsFailure(keyFile + " holds a '" + m.group(1) + "'; give an unencrypted PKCS#8 key"
                    + " (openssl pkcs8 -topk8 -nocrypt -in key.pem -out key.pk8.pem)");
        }
        byte[] der = Base64.getMimeDecoder().decode(m.group(2));
        String algorithm = leaf.getPublicKey().getAlgorithm();
        try {
            return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
        } catch (GeneralSecurityException e) {
            throw new TlsFailure("the key in " + keyFile + " is not a " + algorithm + " key matching the certificate: "
                    + e.getMessage(), e);
        }
    }

    private static void writePrivate(Path file, String content) throws IOException {
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(file, content + "\n");
    }

    /** Runs the JDK's keytool; returns its standard output. */
    private static String keytool(String stdin, String... args) throws IOException {
        Path tool = Path.of(System.getProperty("java.home"), "bin", "keytool");
        List<String> command = new ArrayList<>(List.of(tool.toString()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.PIPE).start();
        try (var in = p.outputWriter(StandardCharsets.US_ASCII)) {
            if (stdin != null) in.write(stdin);
        }
        byte[] out = p.getInputStream().readAllBytes();
        byte[] err = p.getErrorStream().readAllBytes();
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new IOException("keytool " + args[0] + " failed: " + new String(out, StandardCharsets.UTF_8)
                        + new String(err, StandardCharsets.UTF_8));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        return new String(out, StandardCharsets.US_ASCII);
    }

    /** Loads the CA certificate (for tests and clients written in Java). */
    public KeyStore trustStore() {
        if (caFile == null) throw new IllegalStateException("an operator's certificate has no local CA");
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setCertificateEntry("boxwood-ca", CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(Files.readAllBytes(caFile))));
            return ks;
        } catch (IOException | GeneralSecurityException e) {
            throw new TlsFailure("cannot read " + caFile + ": " + e.getMessage(), e);
        }
    }
}
