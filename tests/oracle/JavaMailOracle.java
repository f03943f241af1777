/*
 * JavaMail oracle harness: ask the real com.sun.mail jakarta.mail 2.0.0 library what it does with one
 * Navixy gateway config against a real SMTP server on loopback.
 *
 * Usage: java -cp <jakarta-mail.jar>:<jakarta-activation.jar>:<dir> JavaMailOracle CASE_FILE
 *
 * CASE_FILE is written by tests/support/javamail.py, one tab-separated record a line, every field
 * escaped (backslash, \t, \n, \r, \\uXXXX; the file is plain ASCII):
 *
 *   param  KEY  TYPE  VALUE    TYPE: str | int | long | bigint | double | bool | null
 *   option NAME VALUE          credentials, transport, send_from, send_to, cap_ms
 *
 * The result goes to stdout, one "key<TAB>value" line each, values escaped the same way; every
 * line of the JavaMail debug trace is one "debug" line. Exit status 0 means a result was printed
 * (whatever the outcome), 2 a bad case file, 3 a case the loopback guard refused.
 *
 * Run it with -Djdk.net.hosts.file=<file naming loopback only>: the JVM then never asks DNS.
 */

import jakarta.mail.Address;
import jakarta.mail.Authenticator;
import jakarta.mail.Message;
import jakarta.mail.MessagingException;
import jakarta.mail.PasswordAuthentication;
import jakarta.mail.Session;
import jakarta.mail.Transport;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;

import java.io.ByteArrayOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

public final class JavaMailOracle {

    /** The EHLO name when the case names none: without it JavaMail asks InetAddress.getLocalHost. */
    static final String CLIENT_NAME = "client.test";

    /** The extensions reported after a successful connect (supportsExtension is case-insensitive). */
    static final String[] EXTENSIONS = {
        "STARTTLS", "AUTH", "AUTH=LOGIN", "SIZE", "8BITMIME", "PIPELINING", "SMTPUTF8", "CHUNKING",
    };

    /** Keys naming a host JavaMail may connect to or bind: each must stay on loopback. */
    static final String[] HOST_KEYS = {
        "mail.host",
        "mail.smtp.host", "mail.smtp.localaddress", "mail.smtp.proxy.host", "mail.smtp.socks.host",
        "mail.smtps.host", "mail.smtps.localaddress", "mail.smtps.proxy.host", "mail.smtps.socks.host",
    };

    // The real stdout, taken before System.out is pointed at the trace: whatever the library or a
    // case's own mail.debug prints lands in the trace, never in the result protocol.
    static final PrintStream RESULT =
            new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
    static final ByteArrayOutputStream TRACE_BYTES = new ByteArrayOutputStream();
    static final PrintStream TRACE = new PrintStream(TRACE_BYTES, true, StandardCharsets.UTF_8);

    // Written by the worker, read by the main thread after join or at the cap.
    static volatile String stage = "start";
    static volatile long startNanos;

    public static void main(String[] args) {
        System.setOut(TRACE);
        Map<String, Object> params = new LinkedHashMap<>();
        Map<String, String> options = new LinkedHashMap<>();
        try {
            if (args.length != 1) {
                throw new IllegalArgumentException("usage: JavaMailOracle CASE_FILE");
            }
            readCase(args[0], params, options);
        } catch (IOException | RuntimeException e) {
            System.err.println("JavaMailOracle: bad case file: " + e);
            System.exit(2);
        }
        Properties props = adapt(params);
        String refused = loopbackGuard(props);
        if (refused != null) {
            System.err.println("JavaMailOracle: refused: " + refused);
            System.exit(3);
        }
        long capMs = Long.parseLong(options.getOrDefault("cap_ms", "8000"));
        Map<String, String> result = new LinkedHashMap<>();
        Thread worker = new Thread(() -> runCase(params, options, props, result), "oracle-case");
        worker.setDaemon(true);
        startNanos = System.nanoTime();
        worker.start();
        try {
            worker.join(capMs);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (result) {
            if (!result.containsKey("outcome")) {
                // A blocked socket read never returns (timeout 0 means forever): report how far
                // it got and leave; System.exit does not wait for the stuck thread.
                result.clear();
                result.put("outcome", "hung");
                result.put("stage", stage);
                result.put("elapsed_ms", Long.toString(elapsedMs()));
            }
            print(result);
        }
        System.exit(0);
    }

    static long elapsedMs() {
        return (System.nanoTime() - startNanos) / 1_000_000L;
    }

    // --- the case file -----------------------------------------------------------------------

    static void readCase(String path, Map<String, Object> params, Map<String, String> options)
            throws IOException {
        for (String line : Files.readAllLines(Paths.get(path), StandardCharsets.US_ASCII)) {
            if (line.isEmpty()) {
                continue;
            }
            String[] f = line.split("\t", -1);
            if (f[0].equals("param") && f.length == 4) {
                Object value = typed(f[2], unescape(f[3]));
                if (value != null) { // JSON null: the key is not in Properties at all
                    params.put(unescape(f[1]), value);
                }
            } else if (f[0].equals("option") && f.length == 3) {
                options.put(unescape(f[1]), unescape(f[2]));
            } else {
                throw new IllegalArgumentException("bad line: " + line);
            }
        }
    }

    /** The Java object a JSON value of this type becomes (what a JSON-to-Properties loader puts). */
    static Object typed(String type, String text) {
        switch (type) {
            case "str": return text;
            case "int": return Integer.valueOf(text);
            case "long": return Long.valueOf(text);
            case "bigint": return new BigInteger(text);
            case "double": return Double.valueOf(text);
            case "bool": return Boolean.valueOf(text);
            case "null": return null;
            default: throw new IllegalArgumentException("unknown type " + type);
        }
    }

    static String unescape(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c != '\\') {
                b.append(c);
                continue;
            }
            char n = s.charAt(++i);
            switch (n) {
                case '\\': b.append('\\'); break;
                case 't': b.append('\t'); break;
                case 'n': b.append('\n'); break;
                case 'r': b.append('\r'); break;
                case 'u':
                    b.append((char) Integer.parseInt(s.substring(i + 1, i + 5), 16));
                    i += 4;
                    break;
                default: throw new IllegalArgumentException("bad escape \\" + n);
            }
        }
        return b.toString();
    }

    static String escape(String s) {
        return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r");
    }

    // --- the platform adapter ----------------------------------------------------------------

    /**
     * How the Navixy platform is ASSUMED to hand a gateway's params to JavaMail.
     *
     * The Navixy keys use_ssl, ssl.port and ssl.trust_all_hosts are not Jakarta keys, so the
     * platform must translate them; this is the translation the oracle assumes, per prefix
     * (mail.smtp. and mail.smtps.):
     *   - every param is put as is, with its JSON type (JavaMail ignores the keys it does not know);
     *   - use_ssl is also put as ssl.enable, same typed value;
     *   - when use_ssl reads true the way JavaMail reads a boolean, ssl.port (typed) replaces the
     *     port; without ssl.port the port stays (and without either, JavaMail's default 465);
     *   - ssl.trust_all_hosts reading true puts ssl.trust = "*";
     *   - the EHLO name is fixed (client.test) unless the case names one, so that the JVM never
     *     looks up its own name.
     */
    static Properties adapt(Map<String, Object> params) {
        Properties props = new Properties();
        for (Map.Entry<String, Object> e : params.entrySet()) {
            props.put(e.getKey(), e.getValue()); // put, not setProperty: the type is the point
        }
        for (String prefix : new String[] {"mail.smtp.", "mail.smtps."}) {
            Object useSsl = params.get(prefix + "use_ssl");
            if (useSsl != null) {
                props.put(prefix + "ssl.enable", useSsl);
            }
            if (readsTrue(useSsl)) {
                Object sslPort = params.get(prefix + "ssl.port");
                if (sslPort != null) {
                    props.put(prefix + "port", sslPort);
                }
            }
            if (readsTrue(params.get(prefix + "ssl.trust_all_hosts"))) {
                props.put(prefix + "ssl.trust", "*");
            }
            Object localhost = params.get(prefix + "localhost");
            if (!(localhost instanceof String) || ((String) localhost).isEmpty()) {
                // JavaMail would fall back to InetAddress.getLocalHost for any other value.
                props.put(prefix + "localhost", CLIENT_NAME);
            }
        }
        return props;
    }

    /** com.sun.mail.util.PropUtil's boolean rule for a default of false. */
    static boolean readsTrue(Object value) {
        if (value instanceof Boolean) {
            return (Boolean) value;
        }
        return value instanceof String && ((String) value).equalsIgnoreCase("true");
    }

    static String credential(Map<String, Object> params, String key) {
        Object value = params.get(key);
        return value == null ? null : value.toString();
    }

    // --- loopback only -----------------------------------------------------------------------

    /** Null when every host the case names is loopback (or unknown to the JVM), else why not. */
    static String loopbackGuard(Properties props) {
        for (String key : HOST_KEYS) {
            // JavaMail reads these with getProperty: a non-String value is no host at all.
            if (!(props.get(key) instanceof String) || ((String) props.get(key)).isEmpty()) {
                continue;
            }
            String host = (String) props.get(key);
            try {
                // With jdk.net.hosts.file this resolves literals and the file's names only.
                for (InetAddress address : InetAddress.getAllByName(host)) {
                    if (!address.isLoopbackAddress() && !address.isAnyLocalAddress()) {
                        return key + "=" + host + " is " + address.getHostAddress();
                    }
                }
            } catch (UnknownHostException e) {
                // JavaMail will fail on it too, without leaving the machine.
            }
        }
        return null;
    }

    // --- one case ----------------------------------------------------------------------------

    static void runCase(Map<String, Object> params, Map<String, String> options, Properties props,
            Map<String, String> result) {
        Map<String, String> out = new LinkedHashMap<>();
        String user = credential(params, "mail.smtp.user");
        String password = credential(params, "mail.smtp.password");
        boolean viaAuthenticator = options.getOrDefault("credentials", "connect").equals("authenticator");
        Authenticator authenticator = !viaAuthenticator ? null : new Authenticator() {
            @Override
            protected PasswordAuthentication getPasswordAuthentication() {
                return new PasswordAuthentication(user, password);
            }
        };
        Transport transport = null;
        try {
            stage = "session";
            Session session = Session.getInstance(props, authenticator);
            session.setDebugOut(TRACE);
            session.setDebug(true);
            stage = "transport";
            String sendTo = options.get("send_to");
            if (options.getOrDefault("transport", "send").equals("session")) {
                transport = session.getTransport(); // follows mail.transport.protocol
            } else {
                // What Transport.send uses: the transport for the recipient's address type.
                Address address = new InternetAddress(sendTo != null ? sendTo : "postmaster@client.test");
                transport = session.getTransport(address);
            }
            out.put("transport", transport.getClass().getName());
            stage = "connect";
            if (viaAuthenticator) {
                transport.connect();
            } else {
                transport.connect(user, password);
            }
            // Not transport.isConnected(): in 2.0.0 that sends a NOOP, which is not the case's.
            describe(transport, out);
            String sendFrom = options.get("send_from");
            if (sendFrom != null && sendTo != null) {
                stage = "send";
                MimeMessage message = new MimeMessage(session);
                message.setFrom(new InternetAddress(sendFrom));
                message.setRecipient(Message.RecipientType.TO, new InternetAddress(sendTo));
                message.setSubject("smtpcheck oracle");
                message.setText("smtpcheck oracle test message\n");
                message.saveChanges();
                transport.sendMessage(message, message.getAllRecipients());
                out.put("sent", "true");
                lastResponse(transport, out);
            }
            stage = "done";
            out.put("outcome", "ok");
        } catch (Exception e) {
            out.put("outcome", "failed");
            out.put("exception", e.getClass().getName());
            out.put("message", e.getMessage() == null ? "" : e.getMessage());
            out.put("cause", causeChain(e));
            Throwable root = rootCause(e);
            out.put("root_cause", root == e ? "" : describe(root));
            if (transport != null) {
                lastResponse(transport, out);
            }
        } finally {
            long elapsed = elapsedMs();
            if (transport != null) {
                try {
                    transport.close();
                } catch (MessagingException e) {
                    out.put("close_error", describe(e));
                }
            }
            out.put("elapsed_ms", Long.toString(elapsed));
        }
        out.put("stage", stage);
        synchronized (result) {
            result.putAll(out);
        }
    }

    static void describe(Transport transport, Map<String, String> out) {
        if (!(transport instanceof com.sun.mail.smtp.SMTPTransport)) {
            return;
        }
        com.sun.mail.smtp.SMTPTransport smtp = (com.sun.mail.smtp.SMTPTransport) transport;
        out.put("ssl", Boolean.toString(smtp.isSSL()));
        List<String> offered = new ArrayList<>();
        for (String ext : EXTENSIONS) {
            if (smtp.supportsExtension(ext)) {
                offered.add(ext);
            }
        }
        out.put("extensions", String.join(" ", offered));
        String auth = smtp.getExtensionParameter("AUTH");
        out.put("auth_mechanisms", auth == null ? "" : auth);
        lastResponse(transport, out);
    }

    static void lastResponse(Transport transport, Map<String, String> out) {
        if (transport instanceof com.sun.mail.smtp.SMTPTransport) {
            com.sun.mail.smtp.SMTPTransport smtp = (com.sun.mail.smtp.SMTPTransport) transport;
            String last = smtp.getLastServerResponse();
            out.put("last_response", last == null ? "" : last.trim());
            out.put("last_code", Integer.toString(smtp.getLastReturnCode()));
        }
    }

    static Throwable rootCause(Throwable e) {
        Throwable t = e;
        while (next(t) != null && next(t) != t) {
            t = next(t);
        }
        return t;
    }

    /** MessagingException keeps its cause as the "next exception"; getCause returns it too. */
    static Throwable next(Throwable t) {
        if (t instanceof MessagingException && ((MessagingException) t).getNextException() != null) {
            return ((MessagingException) t).getNextException();
        }
        return t.getCause();
    }

    static String causeChain(Throwable e) {
        List<String> chain = new ArrayList<>();
        Throwable t = next(e);
        while (t != null && chain.size() < 10) {
            chain.add(describe(t));
            Throwable n = next(t);
            t = n == t ? null : n;
        }
        return String.join(" <- ", chain);
    }

    static String describe(Throwable t) {
        // Not Throwable.toString: MessagingException's appends the whole nested chain.
        return t.getMessage() == null ? t.getClass().getName() : t.getClass().getName() + ": " + t.getMessage();
    }

    /**
     * One trace line as text. JavaMail's own messages reach the trace through the UTF-8 PrintStream;
     * the protocol lines are the bytes on the wire (each char cut to its low byte). A line that is
     * no UTF-8 is such wire bytes: read it as ISO-8859-1, one char a byte, not as U+FFFD.
     */
    static String traceLine(byte[] bytes, int start, int end) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes, start, end - start))
                    .toString();
        } catch (CharacterCodingException e) {
            return new String(bytes, start, end - start, StandardCharsets.ISO_8859_1);
        }
    }

    // --- output ------------------------------------------------------------------------------

    static void print(Map<String, String> result) {
        StringBuilder b = new StringBuilder();
        String version = Session.class.getPackage().getImplementationVersion();
        b.append("javamail_version\t").append(escape(String.valueOf(version))).append('\n');
        for (Map.Entry<String, String> e : result.entrySet()) {
            b.append(e.getKey()).append('\t').append(escape(e.getValue())).append('\n');
        }
        TRACE.flush();
        byte[] trace;
        synchronized (TRACE_BYTES) {
            trace = TRACE_BYTES.toByteArray();
        }
        int start = 0;
        for (int i = 0; i <= trace.length; i++) {
            if (i == trace.length || trace[i] == '\n') {
                int end = i > start && trace[i - 1] == '\r' ? i - 1 : i;
                if (end > start) {
                    b.append("debug\t").append(escape(traceLine(trace, start, end))).append('\n');
                }
                start = i + 1;
            }
        }
        RESULT.print(b);
        RESULT.flush();
    }
}
