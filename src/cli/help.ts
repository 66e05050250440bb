/** Help texts, one per command. Kept next to each other so they stay consistent. */
import { formatDuration } from '../core/duration.js';
import { DEFAULTS } from '../plan/defaults.js';

export const MAIN_HELP = `smtp-probe - health checks for mail servers: real SMTP transactions, timed per phase

Usage:
  smtp-probe check [URL ...] [flags]   run checks once and report (CI smoke checks, Nagios)
  smtp-probe check --config FILE [--target NAME]...   the configured targets, once
  smtp-probe run --config FILE [--listen HOST:PORT] [--shard K/N]   the daemon: schedule, /metrics, /probe
  smtp-probe validate --config FILE [--offline]   check a config file; exit 2 with file:line:col per problem
  smtp-probe schema                    the config file's JSON Schema
  smtp-probe demo                      probe an in-process SMTP server, for a first look
  smtp-probe capacity URL [--sessions N] [--duration 30s] [--until banner|ehlo|starttls]
                                       concurrent sessions against one server: p50/p95 per phase, the first 421
  smtp-probe posture DOMAIN[:PORT] [--checks a,b] [--format text|json|junit|nagios]
                                       security posture of a mail domain: MTA-STS, TLS-RPT, SPF, DMARC, DANE,
                                       TLS and exposure checks per MX host and address
  smtp-probe --version | --help        (every command takes --help)

URLs: smtp://host[:port] (25, STARTTLS when offered), smtps://host[:port] (465, implicit TLS),
      mx://domain[:port] (every MX host of the domain); check also takes host[:port] for smtp://host[:port].
Exit codes: 0 every check passed, 1 a check failed, 2 usage or config error (check --format nagios: 0-3).
`;

export const CHECK_HELP = `Usage: smtp-probe check URL... [flags]
       smtp-probe check --config FILE [--target NAME]... [URL...] [flags]

Runs banner, ehlo, starttls (when the TLS mode calls for it), auth (with --auth-user), send (with --to), noop and
quit against each URL (host[:port] is smtp://host[:port]), timing every phase. Exit 0 when every check passed,
1 when one failed, 2 on a usage error; with --format nagios 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.

Config
  --config FILE                     run the targets of a config file (flags override their module's settings)
  --target NAME                     only this configured target (repeatable)
Output
  --format text|json|junit|nagios   report format on stdout (default text); nagios exits 0/1/2/3 with perfdata,
                                    any problem (a usage error too) one "SMTP UNKNOWN - ..." line, exit 3
  --strict                          any warning fails the check (exit 1, a JUnit <failure>, nagios CRITICAL)
  --transcript                      include the SMTP dialogue (C:/S: lines with timing); AUTH shows as ***
  --log-level LEVEL                 logs on stderr: fatal, error, warn (default), info, debug, silent
  --log-format auto|json|text       one readable line per log record on a terminal, JSON lines otherwise (auto)
Connection
  --tls none|opportunistic|starttls|implicit   (default: opportunistic for smtp://, implicit for smtps://)
  --timeout 10s                     deadline for the whole run
  --phase-timeout 5s                longest wait for any one reply, connect or handshake
  --ip 4|6                          address family; --source-address IP  local address to connect from
  --ehlo NAME                       EHLO name (default: this machine's FQDN)
  --retries N                       run a failed check up to N more times (the last attempt is reported)
Thresholds (check_smtp -w, -c, -D; docs/nagios.md)
  --warning 2s                      the run took longer: ok with a warning (nagios WARNING)
  --critical 5s                     the run took longer: failed, reason slow, at the phase that crossed it
  --min-cert-days W[,C]             certificate days left: under W a warning, under C a failure (reason tls)
TLS
  --ca FILE                         trust these CA certificates (PEM) instead of the system's
  --cert FILE --key FILE            a client certificate and its key (PEM), for servers that ask for one
  --tls-min-version TLS12           lowest TLS version offered: TLS10, TLS11, TLS12, TLS13 (default: Node's, TLS12)
  --servername NAME                 name for SNI and certificate verification (default: the URL's host)
  --insecure                        do not fail on an untrusted certificate (still reported: tls.verified false)
AUTH
  --auth-user USER                  authenticate as USER; the password comes from
  --auth-pass-env VAR | --auth-pass-file FILE   (never from the command line)
  --auth-mech PLAIN|LOGIN|CRAM-MD5|XOAUTH2      (default: PLAIN, else LOGIN; XOAUTH2 takes a token as password)
  --auth-allow-plaintext            allow credentials over an unencrypted connection
Test message
  --from ADDR                       envelope and header sender (default: smtp-probe@FQDN)
  --to ADDR                         recipient; repeat for several (each RCPT must meet its expectation)
  --no-deliver                      check MAIL and RCPT, then RSET instead of DATA
  --subject TEXT, --body-file FILE, --header "Name: value" (repeatable), --message-size BYTES
MX routing and round trip
  mx://domain[:port]                probe every MX host of the domain (one result each; exit 1 if any fails)
  --dns-server HOST:PORT            DNS server for lookups (repeatable; default: the system's)
  --max-mx N                        only the first N MX hosts by preference
  --mailbox pop3s://host[:port]     read the test message back (also pop3://, imap://, imaps://)
  --mailbox-user USER --mailbox-pass-env VAR | --mailbox-pass-file FILE
  --mailbox-ca FILE, --mailbox-servername NAME, --mailbox-insecure, --mailbox-allow-plaintext
  --roundtrip-timeout 60s           how long to wait for the message (its own deadline)
Expectations
  --steps banner,ehlo,starttls,auth,send,noop,quit   which steps to run
  --expect PHASE=CODES              codes a phase must get, e.g. rcpt=5xx (relay must be refused), auth=535
  --require-capability CAP          e.g. PIPELINING, STARTTLS, SIZE>=10240000, AUTH=PLAIN (repeatable)
  --banner-pattern REGEX            the greeting text must match

Examples
  smtp-probe check smtp://mx.example.test --format json
  SMTP_PASS=... smtp-probe check smtp://mail.example.test:587 --tls starttls --auth-user probe@example.test \\
      --auth-pass-env SMTP_PASS --to probe@example.test
  smtp-probe check smtp://mx.example.test --to someone@elsewhere.example --expect rcpt=5xx   # open-relay test
  smtp-probe check mail.example.test:587 --tls starttls --warning 2s --critical 5s --min-cert-days 14,7 --format nagios
`;

export const DEMO_HELP = `Usage: smtp-probe demo [--listen 127.0.0.1:9469] [--log-format auto|json|text]
       smtp-probe demo --once [--format text|json] [--transcript]

Starts an SMTP server inside this process on 127.0.0.1 (STARTTLS, AUTH PLAIN/LOGIN, a demo user) and runs the
daemon against it with a generated config, every 5 s: a submission check that passes (STARTTLS, AUTH, a test
message), one that fails at RCPT (a mailbox the server does not have: 550 5.1.1), and a target that is down; an
alert rule sends to a webhook receiver inside the process too. The status page, metrics and API are served on
--listen (a free port when that one is taken): open the URL it prints. One line per run and per alert is printed.
Ctrl-C stops. Needs no mail server of your own.
--once runs a single full check and prints its report instead.
`;

export const VALIDATE_HELP = `Usage: smtp-probe validate --config FILE [--offline]

Loads the config file and checks everything that can be checked without running a probe: unknown keys, types,
durations, URLs, module and receiver names, files it names (password_file, ca_file, ...), \${ENV} variables.
Exit 0 when valid; exit 2 with one line per problem: file:line:col key.path: message.

  --offline   check syntax, types, names and references only, as CI can for a production config: read no file
              the config names and no environment variable. A value holding a \${VAR} stands for some value:
              it must be text (not a number or boolean key), the text around it must fit the key
              (ftp://\${HOST} is no target URL), and a pattern or choice passes when some value would fit.
              The ok line says how many named files and \${VAR} values were taken on trust.
`;

export const SCHEMA_HELP = `Usage: smtp-probe schema > smtp-probe.schema.json

Prints the config file's JSON Schema. Editors with the YAML language server use it through a first line
  # yaml-language-server: $schema=./smtp-probe.schema.json
Every key has a description (what it does, its default, an example) that the editor shows as help.
`;

export const RUN_HELP = `Usage: smtp-probe run --config FILE [--listen HOST:PORT] [--shard K/N] [--log-level info]
                        [--log-format auto|json|text]

Runs every target of the config on its interval and serves, on --listen (default global.listen, ":9469"):
  /metrics                       Prometheus metrics built from each run's result record
  /probe?target=URL&module=NAME  one run now, blackbox_exporter style (&debug=true for the transcript)
  /healthz                       200 while the scheduler runs
  /                              the targets and their last result
  POST /-/reload                 reload the config (SIGHUP does the same); a bad file keeps the old config

--shard K/N runs only the targets with sha256(name) mod N == K, so N instances cover every target once.
SIGTERM or SIGINT: no new runs; running checks finish within their timeout; exit 0.
Logs go to stderr, at --log-level (fatal, error, warn, info (default), debug, trace, silent), in --log-format:
  auto (default)  text on a terminal, JSON lines otherwise (a pipe, a file, a container's log)
  text            one line per record: HH:MM:SS.mmm LEVEL message key=value ... (colours unless NO_COLOR is set)
  json            pino's JSON lines, one object per record
`;

export const CAPACITY_HELP = `Usage: smtp-probe capacity URL [--sessions N] [--duration 30s] [--until banner|ehlo|starttls] [--rate R/s]
                           [--format text|json] [--allow-remote]

Opens up to N sessions at once against one server (URL: smtp://host[:port], smtps://host[:port]; host[:port] is
smtp://), the first ones staggered, each to the greeting, EHLO or STARTTLS and its handshake, then QUIT; a new
session as each one ends, until --duration has passed. Nothing is sent before the 220 greeting. Times per
session: connect, the greeting's first byte, the whole greeting, EHLO, TLS; reports p50/p95/max of each, the
sessions by result (accepted, refused, 421, 4xx, 5xx, timeout, error) and the most open at once past a 220
(max concurrent ok). The first 421 (too many connections) stops the run: no new session starts, the report
says where it came and how many other sessions were open. Exit 0 when every session was accepted, 1 at a 421 or
any other failure, 2 on a usage error. Ctrl-C closes every session and reports what was measured (exit 1).

  --sessions N          sessions at once (default ${DEFAULTS.capacity.sessions}; at most ${DEFAULTS.capacity.maxSessions}, ${DEFAULTS.capacity.maxLoopbackSessions} to a loopback address)
  --duration 30s        no session starts after this; the ones going finish (default ${formatDuration(DEFAULTS.capacity.durationMs)})
  --until ehlo          banner, ehlo (default) or starttls (STARTTLS and the handshake; certificate verified)
  --rate R/s            sessions started per second at most, over all (5/s, 30/m; default: no limit)
  --allow-remote        an address that is not loopback gets at most ${DEFAULTS.capacity.remoteSessions} sessions and ${DEFAULTS.capacity.remoteRatePerSecond} session
                        per second (someone's mail server); this lifts that to ${DEFAULTS.capacity.maxSessions} sessions, any rate
  --format text|json    report format on stdout (default text; json: docs/capacity.md)
  --ca FILE, --servername NAME, --insecure   TLS as check takes them
  --ehlo NAME, --phase-timeout 5s, --timeout 10s (one session, connect to QUIT), --ip 4|6

Examples
  smtp-probe capacity smtp://127.0.0.1:25 --sessions 10 --duration 10s --until starttls --ca ca.pem
  smtp-probe capacity smtp://mx.example.test --allow-remote --sessions 5 --rate 2/s --format json
`;

export const POSTURE_HELP = `Usage: smtp-probe posture DOMAIN|DOMAIN:PORT|URL [--checks a,b] [--format text|json|junit|nagios]
                          [--dns-server IP[:PORT]] [--at YYYY-MM-DD] [--relay-test-domain D] [--ca FILE]
                          [--connect-to HOST:PORT:ADDR:PORT]... [--dnsbl-zone ZONE]... [--strict]

Looks up the domain's MX hosts (by preference; none: the domain itself) and their A/AAAA addresses through a DNS
client that reads the resolver's AD bit, checks the domain once (mta_sts, tls_rpt, spf, dmarc) and every address
of every MX host (dane: TLSA at _PORT._tcp.MXHOST, trusted only with the AD bit; dnsbl; then over SMTP
starttls, tls_versions, tls_ciphers, certificate, starttls_injection, auth_before_tls, vrfy, expn, open_relay:
RCPT only, never DATA; banner_hostname; fcrdns: the PTR resolves back). Each check answers pass, warn, fail or
n/a with a reason and a one-line detail. URL: mx://DOMAIN[:PORT], smtp://DOMAIN[:PORT], smtps://DOMAIN[:PORT]
(implicit TLS, 465). Exit 0 no fail, 1 a fail or a failed MX/address lookup (with --strict also a warn), 2 usage error;
with --format nagios 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.

  --checks a,b          only these checks (default: all implemented ones)
  --format text         text (default; one line per check per MX host/address), json, junit, nagios
  --dns-server IP[:PORT]   the resolver to ask (default: the first nameserver of /etc/resolv.conf); DANE
                        results need a validating resolver (without the AD bit dane is n/a)
  --at YYYY-MM-DD       judge certificates and DANE-TA chains as of that date (default: now)
  --relay-test-domain D the domain open_relay asks to relay to (default example.net)
  --ca FILE             extra trust anchors (PEM) for SMTP TLS and the MTA-STS fetch; WebPKI stays trusted
  --connect-to H:P:A:P  connections meant for host H port P go to address A port P (as curl's; repeatable);
                        names and SNI unchanged; applies to SMTP and the MTA-STS fetch
  --dnsbl-zone ZONE     a DNS blocklist (RFC 5782) to look every MX address up in (repeatable; default none:
                        dnsbl is n/a); mind the list's terms (Spamhaus refuses public resolvers)
  --strict              a warn counts as a fail (exit 1; a JUnit failure)

Examples
  smtp-probe posture example.com
  smtp-probe posture example.com --checks mta_sts,tls_rpt,starttls --format json
  smtp-probe posture mx://example.test:2525 --dns-server 127.0.0.1:5353 --ca ca.pem \\
    --connect-to mx2.example.test:2525:127.0.0.1:2525
`;
