#!/usr/bin/env bash
# A real validating resolver in front of a real DNSSEC-signed test zone, on
# loopback only, for the posture tests (DANE, MTA-STS, TLS-RPT records).
#
#   dnsstack.sh install               install unbound, nsd, ldnsutils (root, non-interactive)
#   dnsstack.sh start  [DIR]          (re)create keys, certificates and zones, start nsd + unbound
#   dnsstack.sh stop   [DIR]          stop both (by the PIDs in their pid files)
#   dnsstack.sh status [DIR]          exit 0 when both run
#   dnsstack.sh env    [DIR]          print `export DNSSTACK_...` lines
#   dnsstack.sh set-tlsa mx1 good|stale [DIR]
#                                     re-sign probe-posture.test with mx1's TLSA matching
#                                     (good) or not (stale), restart nsd, flush unbound
#
# DIR defaults to $DNSSTACK_DIR or /tmp/smtp-probe-dnsstack.
# Ports: DNSSTACK_PORT (unbound, 2053), DNSSTACK_NSD_PORT (nsd, 2054); 127.0.0.1.
#
# Zones (nsd, authoritative), unbound validating with each signed zone's DS as
# its own trust anchor (no root anchor, no chain from the root):
#   probe-posture.test.     signed, valid: MX mx1/mx2/mx3, TLSA, _mta-sts, _smtp._tls (domain, mx1), SPF, _dmarc
#   bogus-posture.test.     signed, then mx1's TLSA changed after signing: that RRset is bogus
#                           (SERVFAIL), the rest of the zone secure
#   insecure-posture.test.  unsigned (domain-insecure): answers without AD
#   0.0.127.in-addr.arpa.   unsigned: PTR of 127.0.0.1-3 (mx1, mx2, and a name that resolves elsewhere)
#   dnsbl.probe.test.       unsigned DNS blocklist (RFC 5782): 127.0.0.2 listed (its test point, with a TXT),
#                           127.0.0.1 not, 127.0.0.3 answered 127.255.255.254 ("query refused")
# Every other name is refused by unbound (local-zone "." refuse): nothing leaves the machine.
set -euo pipefail

DEFAULT_DIR=/tmp/smtp-probe-dnsstack
ZONE=probe-posture.test
BOGUS=bogus-posture.test
INSECURE=insecure-posture.test
REVERSE=0.0.127.in-addr.arpa
DNSBL=dnsbl.probe.test
START_TIMEOUT=${DNSSTACK_START_TIMEOUT:-20}
PACKAGES=(unbound nsd ldnsutils openssl)
REQUIRED_FILES=(/usr/sbin/unbound /usr/sbin/unbound-control /usr/sbin/nsd /usr/bin/ldns-keygen
  /usr/bin/ldns-signzone /usr/bin/drill /usr/sbin/nsd-checkconf /usr/sbin/unbound-checkconf /usr/bin/openssl)

log() { printf '[dnsstack] %s\n' "$*" >&2; }
die() {
  printf '[dnsstack] ERROR: %s\n' "$*" >&2
  exit 1
}

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

# ---------------------------------------------------------------- install ---

cmd_install() {
  [[ $(id -u) -eq 0 ]] || die "install must run as root"
  local f missing=()
  for f in "${REQUIRED_FILES[@]}"; do [[ -e $f ]] || missing+=("$f"); done
  if [[ ${#missing[@]} -eq 0 ]]; then
    log "all packages already installed"
    return 0
  fi
  log "missing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Never let maintainer scripts start the system unbound or nsd.
  local created_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\n# written by smtp-probe test/real/dnsstack.sh install\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    created_policy=1
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  elif ! grep -q 'exit 101' /usr/sbin/policy-rc.d; then
    die "/usr/sbin/policy-rc.d exists but does not 'exit 101'; refusing to install (daemons could start)"
  fi
  apt-get -q -o DPkg::Lock::Timeout=300 update </dev/null
  apt-get -y -q --no-install-recommends -o DPkg::Lock::Timeout=300 \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold install "${PACKAGES[@]}" </dev/null
  if [[ $created_policy -eq 1 ]]; then
    rm -f /usr/sbin/policy-rc.d
    trap - EXIT
  fi
  for f in "${REQUIRED_FILES[@]}"; do [[ -e $f ]] || die "still missing after install: $f"; done
  log "install done"
}

# ------------------------------------------------------------ instance ---

resolve_dir() {
  local d=${1:-${DNSSTACK_DIR:-$DEFAULT_DIR}}
  [[ $d == /* ]] || d="$PWD/$d"
  d=$(realpath -m -- "$d")
  [[ $d != / ]] || die "refusing DIR=/"
  # unbound's control socket lives in DIR: sun_path is 108 bytes.
  [[ ${#d} -le 80 ]] || die "DIR too long (${#d} chars, max 80): $d"
  printf '%s' "$d"
}

load_ports() { # dir [saved]
  PORT=${DNSSTACK_PORT:-2053}
  NSD_PORT=${DNSSTACK_NSD_PORT:-2054}
  if [[ ${2:-} == saved && -r $1/instance.ports ]]; then
    # shellcheck disable=SC1091
    source "$1/instance.ports"
  fi
  local p
  for p in "$PORT" "$NSD_PORT"; do
    [[ $p =~ ^[0-9]+$ && $p -ge 1 && $p -le 65535 ]] || die "bad port: $p"
  done
}

pid_of() { # pidfile comm (nsd's main process renames itself "nsd: xfrd": a prefix match)
  local pid
  [[ -r $1 ]] || return 1
  pid=$(tr -dc '0-9' <"$1")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && [[ $(cat /proc/"$pid"/comm 2>/dev/null) == "$2"* ]] || return 1
  echo "$pid"
}

stop_pids() { # pidfile comm [pidfile comm]...: SIGTERM to each, then wait for all (each takes ~2 s to exit)
  local pid pids=() n=100
  while (($# >= 2)); do
    pid=$(pid_of "$1" "$2") && kill "$pid" 2>/dev/null && pids+=("$pid")
    shift 2
  done
  local alive
  while ((n-- > 0)); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || return 0
    sleep 0.1
  done
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null && log "pid $pid did not stop on SIGTERM in 10 s; SIGKILL" && kill -9 "$pid" 2>/dev/null
  done
  return 0
}

# sha256 of a certificate's SubjectPublicKeyInfo (selector 1) or of the whole certificate (selector 0), hex.
spki_sha256() { openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1; }
cert_sha256() { openssl x509 -in "$1" -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1; }

make_tls() { # dir: a test CA, a server key + certificate for mx1..mx3 and mta-sts, a stale key (kept across restarts)
  local t=$1/tls
  mkdir -p "$t"
  if [[ -s $t/ca.pem && -s $t/cert.pem && -s $t/key.pem && -s $t/stale-key.pem ]] &&
    openssl x509 -in "$t/cert.pem" -noout -checkend 86400 >/dev/null 2>&1; then
    return 0
  fi
  log "creating test CA, server certificate and a stale key in $t"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=smtp-probe dnsstack test CA" \
    -keyout "$t/ca-key.pem" -out "$t/ca.pem" -addext basicConstraints=critical,CA:true \
    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=mx1.$ZONE" -keyout "$t/key.pem" -out "$t/cert.csr" 2>/dev/null
  printf 'subjectAltName=DNS:mx1.%s,DNS:mx2.%s,DNS:mx3.%s,DNS:mta-sts.%s,IP:127.0.0.1\nbasicConstraints=CA:false\nextendedKeyUsage=serverAuth\n' \
    "$ZONE" "$ZONE" "$ZONE" "$ZONE" >"$t/cert.ext"
  openssl x509 -req -in "$t/cert.csr" -CA "$t/ca.pem" -CAkey "$t/ca-key.pem" -CAcreateserial -days 365 \
    -extfile "$t/cert.ext" -out "$t/cert.pem" 2>/dev/null
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=stale mx1.$ZONE" \
    -keyout "$t/stale-key.pem" -out "$t/stale-cert.pem" 2>/dev/null
  chmod 0644 "$t"/*.pem
}

make_keys() { # dir: one ECDSA P-256 key per signed zone (KSK, signs everything), kept across restarts
  local k=$1/keys z base
  mkdir -p "$k"
  for z in "$ZONE" "$BOGUS"; do
    if [[ -z $(find "$k" -maxdepth 1 -name "K$z.+013+*.private") ]]; then
      base=$(cd "$k" && ldns-keygen -a ECDSAP256SHA256 -k "$z")
      log "key for $z: $base"
    fi
  done
}

key_base() { # dir zone → path of the key without extension
  local f
  f=$(find "$1/keys" -maxdepth 1 -name "K$2.+013+*.private" | sort | head -1)
  printf '%s' "${f%.private}"
}

# The zone text of a signed test zone; $3 = good|stale: mx1's TLSA matching the server key or the stale one.
zone_text() { # dir zone good|stale serial
  local d=$1 z=$2 t=$1/tls mx1_hash
  if [[ $3 == good ]]; then mx1_hash=$(spki_sha256 "$t/cert.pem"); else mx1_hash=$(spki_sha256 "$t/stale-cert.pem"); fi
  cat <<EOF
\$ORIGIN $z.
\$TTL 60
@        SOA   ns1 hostmaster $4 3600 600 86400 60
@        NS    ns1
ns1      A     127.0.0.1
@        MX    10 mx1
@        MX    20 mx2
@        MX    30 mx3
mx1      A     127.0.0.1
mx2      A     127.0.0.2
mx3      A     127.0.0.3
mta-sts  A     127.0.0.1
other    A     127.0.0.9
www      CNAME mx1
_25._tcp.mx1 TLSA 3 1 1 $mx1_hash
_25._tcp.mx2 TLSA 3 1 1 $(spki_sha256 "$t/stale-cert.pem")
_25._tcp.mx3 TLSA 2 0 1 $(cert_sha256 "$t/ca.pem")
_mta-sts TXT   "v=STSv1; id=20261205T000000;"
_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tlsrpt@$z"
_smtp._tls.mx1 TXT "v=TLSRPTv1; rua=mailto:tlsrpt@$z"
@        TXT   "v=spf1 ip4:127.0.0.0/8 " "-all"
_dmarc   TXT   "v=DMARC1; p=reject; rua=mailto:dmarc@$z"
big      TXT   $(big_txt)
EOF
}

big_txt() { # 8 strings of 200 characters: 1.6 KB, over the 1232-byte EDNS payload, so UDP answers are truncated
  local i
  for i in 1 2 3 4 5 6 7 8; do printf '"%s" ' "$(printf "%0200d" "$i")"; done
}

sign_zone() { # dir zone good|stale
  local d=$1 z=$2 serial prev=0
  # A serial that grows on every re-sign, even twice in one second.
  [[ -r $d/zones/$z.serial ]] && prev=$(tr -dc '0-9' <"$d/zones/$z.serial")
  serial=$(date -u +%s)
  ((serial > ${prev:-0})) || serial=$((prev + 1))
  echo "$serial" >"$d/zones/$z.serial"
  zone_text "$d" "$z" "$3" "$serial" >"$d/zones/$z.zone"
  ldns-signzone -o "$z." -f "$d/zones/$z.signed.tmp" "$d/zones/$z.zone" "$(key_base "$d" "$z")"
  if [[ $z == "$BOGUS" ]]; then
    # Tamper after signing: mx1's TLSA data changes, its RRSIG stays: the validator finds it bogus.
    awk -v stale="$(spki_sha256 "$d/tls/stale-cert.pem")" -v owner="_25._tcp.mx1.$z." \
      '$1 == owner && $4 == "TLSA" { $8 = stale } { print }' "$d/zones/$z.signed.tmp" >"$d/zones/$z.signed.tmp2"
    mv "$d/zones/$z.signed.tmp2" "$d/zones/$z.signed.tmp"
  fi
  mv "$d/zones/$z.signed.tmp" "$d/zones/$z.signed"
}

write_insecure_zone() {
  cat >"$1/zones/$INSECURE.zone" <<EOF
\$ORIGIN $INSECURE.
\$TTL 60
@        SOA   ns1 hostmaster $(date -u +%s) 3600 600 86400 60
@        NS    ns1
ns1      A     127.0.0.1
@        MX    10 mx1
mx1      A     127.0.0.1
_25._tcp.mx1 TLSA 3 1 1 $(spki_sha256 "$1/tls/cert.pem")
_mta-sts TXT   "v=STSv1; id=1;"
EOF
}

write_reverse_zone() { # 127.0.0.3's PTR names a host whose address is 127.0.0.9: forward-confirmed rDNS fails
  cat >"$1/zones/$REVERSE.zone" <<EOF
\$ORIGIN $REVERSE.
\$TTL 60
@        SOA   ns1.$ZONE. hostmaster.$ZONE. $(date -u +%s) 3600 600 86400 60
@        NS    ns1.$ZONE.
1        PTR   mx1.$ZONE.
2        PTR   mx2.$ZONE.
3        PTR   other.$ZONE.
EOF
}

write_dnsbl_zone() { # RFC 5782 5: 127.0.0.2 must be listed, 127.0.0.1 must not; 127.0.0.3 gets a refusal code
  cat >"$1/zones/$DNSBL.zone" <<EOF
\$ORIGIN $DNSBL.
\$TTL 60
@          SOA   ns1.$ZONE. hostmaster.$ZONE. $(date -u +%s) 3600 600 86400 60
@          NS    ns1.$ZONE.
2.0.0.127  A     127.0.0.2
2.0.0.127  TXT   "RFC 5782 test point: listed"
3.0.0.127  A     127.255.255.254
EOF
}

write_configs() { # dir
  local d=$1 z
  cat >"$d/nsd.conf" <<EOF
server:
  ip-address: 127.0.0.1@$NSD_PORT
  do-ip6: no
  username: ""
  chroot: ""
  zonesdir: "$d/zones"
  database: ""
  zonelistfile: "$d/nsd-zone.list"
  xfrdfile: "$d/nsd-xfrd.state"
  xfrdir: "$d/nsd-xfr"
  pidfile: "$d/nsd.pid"
  logfile: "$d/nsd.log"
  server-count: 1
  hide-version: yes
  verbosity: 1
remote-control:
  control-enable: no
EOF
  for z in "$ZONE" "$BOGUS"; do printf 'zone:\n  name: "%s"\n  zonefile: "%s.signed"\n' "$z" "$z" >>"$d/nsd.conf"; done
  for z in "$INSECURE" "$REVERSE" "$DNSBL"; do printf 'zone:\n  name: "%s"\n  zonefile: "%s.zone"\n' "$z" "$z" >>"$d/nsd.conf"; done

  cat >"$d/unbound.conf" <<EOF
server:
  verbosity: 1
  interface: 127.0.0.1
  port: $PORT
  do-ip6: no
  access-control: 0.0.0.0/0 refuse
  access-control: 127.0.0.0/8 allow
  username: ""
  chroot: ""
  directory: "$d"
  pidfile: "$d/unbound.pid"
  logfile: "$d/unbound.log"
  use-syslog: no
  do-daemonize: yes
  module-config: "validator iterator"
  do-not-query-localhost: no
  qname-minimisation: no
  val-log-level: 2
  ede: yes
  trust-anchor-file: "$d/keys/$ZONE.ds"
  trust-anchor-file: "$d/keys/$BOGUS.ds"
  domain-insecure: "$INSECURE"
  domain-insecure: "$REVERSE"
  domain-insecure: "$DNSBL"
  local-zone: "127.in-addr.arpa." nodefault
  local-zone: "." refuse
  local-zone: "$ZONE." transparent
  local-zone: "$BOGUS." transparent
  local-zone: "$INSECURE." transparent
  local-zone: "$REVERSE." transparent
  local-zone: "$DNSBL." transparent
remote-control:
  control-enable: yes
  control-interface: "$d/unbound.ctl"
  control-use-cert: no
EOF
  for z in "$ZONE" "$BOGUS" "$INSECURE" "$REVERSE" "$DNSBL"; do printf 'stub-zone:\n  name: "%s"\n  stub-addr: 127.0.0.1@%s\n' "$z" "$NSD_PORT" >>"$d/unbound.conf"; done
}

wait_answer() { # port name: until the server answers a query over UDP (unbound-host is not needed: dig may be absent)
  local n=$((START_TIMEOUT * 10))
  while ((n-- > 0)); do
    if ldns_query "$1" "$2" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  return 1
}

ldns_query() { # port name: drill is in ldnsutils
  drill -p "$1" "$2" SOA @127.0.0.1 | grep -q 'rcode: NOERROR'
}

start_nsd() { # dir
  nsd-checkconf "$1/nsd.conf" || die "nsd.conf invalid"
  nsd -c "$1/nsd.conf" || { tail -20 "$1/nsd.log" >&2 || true; die "nsd did not start"; }
  wait_answer "$NSD_PORT" "$ZONE" || { tail -20 "$1/nsd.log" >&2 || true; die "nsd does not answer on 127.0.0.1:$NSD_PORT"; }
}

cmd_start() {
  local d
  d=$(resolve_dir "${1:-}")
  load_ports "$d"
  cmd_stop "$d" 2>/dev/null || true
  mkdir -p "$d/zones" "$d/nsd-xfr"
  printf 'PORT=%s\nNSD_PORT=%s\n' "$PORT" "$NSD_PORT" >"$d/instance.ports"
  make_tls "$d"
  make_keys "$d"
  local z
  for z in "$ZONE" "$BOGUS"; do cp "$(key_base "$d" "$z").ds" "$d/keys/$z.ds"; done
  echo good >"$d/tlsa-mx1"
  sign_zone "$d" "$ZONE" good
  sign_zone "$d" "$BOGUS" good
  write_insecure_zone "$d"
  write_reverse_zone "$d"
  write_dnsbl_zone "$d"
  write_configs "$d"
  start_nsd "$d"
  unbound-checkconf "$d/unbound.conf" >/dev/null || die "unbound.conf invalid"
  unbound -c "$d/unbound.conf" || { tail -20 "$d/unbound.log" >&2 || true; die "unbound did not start"; }
  wait_answer "$PORT" "$ZONE" || { tail -20 "$d/unbound.log" >&2 || true; die "unbound does not answer on 127.0.0.1:$PORT"; }
  log "nsd on 127.0.0.1:$NSD_PORT, unbound (validating) on 127.0.0.1:$PORT, instance $d"
}

cmd_stop() {
  local d
  d=$(resolve_dir "${1:-}")
  stop_pids "$d/unbound.pid" unbound "$d/nsd.pid" nsd
}

cmd_status() {
  local d
  d=$(resolve_dir "${1:-}")
  pid_of "$d/unbound.pid" unbound >/dev/null && pid_of "$d/nsd.pid" nsd >/dev/null
}

cmd_env() {
  local d
  d=$(resolve_dir "${1:-}")
  load_ports "$d" saved
  cat <<EOF
export DNSSTACK_DIR=$d
export DNSSTACK_SERVER=127.0.0.1:$PORT
export DNSSTACK_ZONE=$ZONE
export DNSSTACK_BOGUS_ZONE=$BOGUS
export DNSSTACK_INSECURE_ZONE=$INSECURE
export DNSSTACK_REVERSE_ZONE=$REVERSE
export DNSSTACK_DNSBL_ZONE=$DNSBL
export DNSSTACK_CA=$d/tls/ca.pem
export DNSSTACK_CERT=$d/tls/cert.pem
export DNSSTACK_KEY=$d/tls/key.pem
export DNSSTACK_STALE_CERT=$d/tls/stale-cert.pem
export DNSSTACK_STALE_KEY=$d/tls/stale-key.pem
EOF
}

cmd_set_tlsa() { # host good|stale [dir]
  [[ ${1:-} == mx1 ]] || die "set-tlsa: only mx1 can change (got '${1:-}')"
  [[ ${2:-} == good || ${2:-} == stale ]] || die "set-tlsa: good or stale (got '${2:-}')"
  local d
  d=$(resolve_dir "${3:-}")
  load_ports "$d" saved
  pid_of "$d/nsd.pid" nsd >/dev/null || die "nsd is not running in $d: start first"
  sign_zone "$d" "$ZONE" "$2"
  echo "$2" >"$d/tlsa-mx1"
  stop_pids "$d/nsd.pid" nsd
  start_nsd "$d"
  unbound-control -c "$d/unbound.conf" flush_zone "$ZONE" >/dev/null
  unbound-control -c "$d/unbound.conf" flush_bogus >/dev/null
  log "mx1's TLSA is now $2"
}

case ${1:-} in
  install) cmd_install ;;
  start) cmd_start "${2:-}" ;;
  stop) cmd_stop "${2:-}" ;;
  status) cmd_status "${2:-}" ;;
  env) cmd_env "${2:-}" ;;
  set-tlsa) cmd_set_tlsa "${2:-}" "${3:-}" "${4:-}" ;;
  *) usage ;;
esac
