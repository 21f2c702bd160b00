"""The test environment of one run: three network namespaces (C, P, T), their private /etc files,
and the servers in them (Harness); cleanup removes all of it, whatever happened.

    C 10.77.1.2 fd77:1::2  --veth--  10.77.1.1 fd77:1::1  P  10.77.2.1 fd77:2::1  --veth--  10.77.2.2 fd77:2::2  T

No default routes, no forwarding: from C only P is reachable.
"""
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time

from procs import killpg, must, run, tail, wait_until
from topology import (REMOTE_NAMES, C4, C6, CLEAN_PATH, DANTE_AUTH_PORT, DANTE_PORT, DNS_NAME, DNS_NAME_A,
                      DNS_NAME_AAAA, DNS_PORT, ECHO_PORT, ECHOSERVER, FAKE_PORTS, FAKEPROXY, HTTP_PORT, MS6_PORT,
                      MS_AUTH_PORT, MS_LONG_PORT, MS_PCT_PORT, MS_PORT, P4C, P4T, P6C, P6T, LONG_PASSWORD, LONG_USER, PASSWORD, PCT_PASSWORD, PCT_USER, PY,
                      SSH_SOCKS_PORT, SSHD_PORT, T4, T6, TINY_AUTH_PORT, TINY_PORT, UDP_ECHO_PORT, UDPECHO, USER)


def hosts_file(ns):
    """Each namespace's /etc/hosts. Only P knows the remote names (the proxy resolves them);
    C knows the proxies' names and one local name, so remote-DNS tests see what stays local."""
    text = "127.0.0.1 localhost\n::1 localhost\n%s proxy.sx.test\n%s proxy6.sx.test\n" % (P4C, P6C)
    if ns == "c":
        return text + "127.0.0.1 local.sx.test\n"
    if ns == "p":
        return text + "".join("%s %s\n" % (addr, name) for name, addr in REMOTE_NAMES.items())
    return text


class Server:
    def __init__(self, name, ns, argv, log, watch_log=None):
        self.name, self.ns, self.argv, self.log = name, ns, argv, log
        self.watch_log = watch_log or log   # the file tests look into (danted's logoutput, fakeproxy's JSON)
        self.proc = None
        self.error = None


class Harness:
    def __init__(self):
        self.id = "sx%d%s" % (os.getpid() % 100000, secrets.token_hex(2))
        self.ns = {k: "%s-%s" % (self.id, k) for k in "cpt"}
        self.tmp = None
        self.servers = {}
        self.created_ns = []
        self.etc_netns_dirs = []
        self.created_etc_netns = False
        self.setup_error = None
        self.token = secrets.token_hex(16)
        self.cleaned = False
        self.test_seq = 0

    # ---------- environment for programs ----------
    def base_env(self, home):
        env = {"PATH": CLEAN_PATH, "HOME": home, "LANG": "C", "LC_ALL": "C", "TERM": "dumb"}
        # make check-asan: the sanitizer build of the library, with its runtime preloaded first.
        if os.environ.get("SOCKSIFY_LIB"):
            env["SOCKSIFY_LIB"] = os.environ["SOCKSIFY_LIB"]
        if os.environ.get("SOCKSIFY_IT_PRELOAD"):
            env["LD_PRELOAD"] = os.environ["SOCKSIFY_IT_PRELOAD"]
        for assignment in os.environ.get("SOCKSIFY_IT_ENV", "").split():
            key, _, value = assignment.partition("=")
            env[key] = value
        return env

    # ---------- setup ----------
    def setup(self):
        self.tmp = tempfile.mkdtemp(prefix="socksify-it-%s-" % self.id)
        os.chmod(self.tmp, 0o755)
        missing = [t for t in ["ip", "ss"] if not shutil.which(t)]
        if missing:
            raise RuntimeError("missing tools needed for any test: %s" % ", ".join(missing))
        self.setup_network()
        self.setup_etc_netns()
        self.start_servers()

    def setup_network(self):
        c, p, t = self.ns["c"], self.ns["p"], self.ns["t"]
        for ns in (c, p, t):
            must(["ip", "netns", "add", ns])
            self.created_ns.append(ns)
            must(["ip", "-n", ns, "link", "set", "lo", "up"])
        # Create the veth pairs directly inside the namespaces: nothing ever appears in the host's.
        must(["ip", "-n", c, "link", "add", "vc", "type", "veth", "peer", "name", "vp", "netns", p])
        must(["ip", "-n", p, "link", "add", "vpt", "type", "veth", "peer", "name", "vt", "netns", t])
        for ns, dev, a4, a6 in ((c, "vc", C4, C6), (p, "vp", P4C, P6C), (p, "vpt", P4T, P6T), (t, "vt", T4, T6)):
            must(["ip", "-n", ns, "addr", "add", a4 + "/24", "dev", dev])
            must(["ip", "-n", ns, "addr", "add", a6 + "/64", "dev", dev, "nodad"])
            must(["ip", "-n", ns, "link", "set", dev, "up"])
        must(["sysctl", "-qw", "net.ipv4.ip_forward=0", "net.ipv6.conf.all.forwarding=0"], ns=p)

    def setup_etc_netns(self):
        """/etc/netns/<ns>/ files are bind-mounted over /etc/ by `ip netns exec`: a private view."""
        # /etc/netns is ours to remove (when empty) if it did not exist, or held only the
        # directories of other runs of this harness (parallel runs share it).
        try:
            others = os.listdir("/etc/netns")
        except FileNotFoundError:
            others = []
        self.created_etc_netns = all(re.match(r"^sx\d+[0-9a-f]{4}-[cpt]$", e) for e in others)
        os.makedirs("/etc/netns", exist_ok=True)
        for k in "cpt":
            d = "/etc/netns/" + self.ns[k]
            os.makedirs(d)
            self.etc_netns_dirs.append(d)
            # Names resolve only from our hosts file; DNS goes to 127.0.0.1 inside the namespace.
            with open(d + "/resolv.conf", "w") as f:
                f.write("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
            with open(d + "/hosts", "w") as f:
                f.write(hosts_file(k))
        # In P only: a system user for danted's username method.
        d = "/etc/netns/" + self.ns["p"]
        h = must(["openssl", "passwd", "-6", PASSWORD]).out.strip() if shutil.which("openssl") else None
        if h is None:
            import crypt  # deprecated but present in 3.11; only if openssl is missing
            h = crypt.crypt(PASSWORD, crypt.mksalt(crypt.METHOD_SHA512))
        shutil.copy("/etc/passwd", d + "/passwd")
        with open("/etc/shadow") as f:
            shadow = f.read().splitlines(True)
        # The private sshd (no PAM) refuses a locked account ("!..." password): root logs in by key
        # only, so P's copy gives root the unlockable-but-not-locked password "*".
        with open(d + "/shadow", "w") as f:
            f.writelines(re.sub(r"^root:[^:]*:", "root:*:", l) for l in shadow)
        os.chmod(d + "/shadow", 0o640)
        with open(d + "/passwd", "a") as f:
            f.write("%s:x:64242:64242:socksify test:/nonexistent:/usr/sbin/nologin\n" % USER)
        with open(d + "/shadow", "a") as f:
            f.write("%s:%s:19000:0:99999:7:::\n" % (USER, h))

    def danted_conf(self, name, port, method, logfile):
        return """logoutput: {log}
internal: {p4} port = {port}
internal: {p6} port = {port}
external: {p4t}
external: {p6t}
socksmethod: {method}
clientmethod: none
user.privileged: root
user.unprivileged: nobody
client pass {{
  from: 0/0 to: 0/0
  log: error connect disconnect
}}
socks pass {{
  from: 0/0 to: 0/0
  command: connect
  log: error connect disconnect
}}
socks pass {{
  from: 0/0 to: 0/0
  command: udpassociate
  log: error connect disconnect iooperation
}}
socks pass {{
  from: 0/0 to: 0/0
  command: udpreply
  log: error connect disconnect iooperation
}}
socks pass {{
  from: 0/0 to: 0/0
  command: bind
  log: error connect disconnect
}}
socks pass {{
  from: 0/0 to: 0/0
  command: bindreply
  log: error connect disconnect
}}
""".format(log=logfile, p4=P4C, p6=P6C, port=port, p4t=P4T, p6t=P6T, method=method)

    def dnsmasq_argv(self):
        """dnsmasq in T, in the foreground, logging every query to stdout: an authoritative-looking
        answer for DNS_NAME (A and AAAA) on T4:53 and [T6]:53, no upstream, no hosts file."""
        return ["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                "--no-poll", "--bind-interfaces", "--port=%d" % DNS_PORT, "--listen-address=%s" % T4,
                "--listen-address=%s" % T6, "--user=root", "--group=root",
                "--pid-file=%s" % os.path.join(self.tmp, "dnsmasq.pid"), "--log-queries", "--log-facility=-",
                "--host-record=%s,%s,%s" % (DNS_NAME, DNS_NAME_A, DNS_NAME_AAAA)]

    def tinyproxy_conf(self, port, listen, logfile, auth=None):
        """tinyproxy in the foreground (-d): no Allow (any client), no ConnectPort (CONNECT to any
        port), no Via header, logs to logfile at Info (one line per request, with its target)."""
        lines = ["Port %d" % port] + ["Listen %s" % a for a in listen] + [
            "Timeout 60", "MaxClients 200", "LogFile \"%s\"" % logfile, "LogLevel Info",
            "DisableViaHeader Yes", "PidFile \"%s\"" % (logfile + ".pid")]
        if auth:
            lines.append("BasicAuth %s %s" % auth)
        return "\n".join(lines) + "\n"

    def ssh_setup(self):
        """Keys and config of the private sshd in P (127.0.0.1:SSHD_PORT, root by key, no PAM) that
        `ssh -D` logs in to. Returns (sshd argv, ssh argv, ssh's debug log) or raises OSError/RuntimeError."""
        d = os.path.join(self.tmp, "ssh")
        os.makedirs(d)
        hostkey, userkey = os.path.join(d, "host_ed25519"), os.path.join(d, "id_ed25519")
        for key in (hostkey, userkey):
            must(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "socksify-it", "-f", key])
        shutil.copy(userkey + ".pub", os.path.join(d, "authorized_keys"))
        # sshd's pre-authentication child chroots into this directory (normally made by the service).
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        conf = os.path.join(d, "sshd_config")
        with open(conf, "w") as f:
            f.write("""Port {port}
ListenAddress 127.0.0.1
HostKey {hostkey}
PidFile {d}/sshd.pid
AuthorizedKeysFile {d}/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
AllowTcpForwarding yes
PermitOpen any
PrintMotd no
LogLevel VERBOSE
""".format(port=SSHD_PORT, hostkey=hostkey, d=d))
        sshd = shutil.which("sshd", path=CLEAN_PATH) or "sshd"  # sshd wants an absolute path (re-exec)
        sshlog = os.path.join(self.tmp, "ssh-socks.log")
        open(sshlog, "w").close()
        # -vv: ssh logs every SOCKS request ("dynamic request: socks4 host ... port ...") to -E's file.
        ssh = ["ssh", "-N", "-F", "/dev/null", "-vv", "-E", sshlog,
               "-D", "%s:%d" % (P4C, SSH_SOCKS_PORT), "-D", "[%s]:%d" % (P6C, SSH_SOCKS_PORT),
               "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
               "-o", "GlobalKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes",
               "-o", "ServerAliveInterval=0", "-i", userkey, "-p", str(SSHD_PORT), "root@127.0.0.1"]
        return [sshd, "-D", "-e", "-f", conf], ssh, sshlog

    def start_servers(self):
        c, p, t = self.ns["c"], self.ns["p"], self.ns["t"]
        www = os.path.join(self.tmp, "www")
        os.makedirs(www)
        with open(os.path.join(www, "token.txt"), "w") as f:
            f.write(self.token)
        specs = []  # (name, ns, argv, listen [(addr, port)], watch_log[, after: a server that must listen first])
        specs.append(("http", t, [PY, "-m", "http.server", "--bind", "::", "--directory", www, str(HTTP_PORT)],
                      [("*", HTTP_PORT)], None))
        specs.append(("echo", t, [PY, ECHOSERVER, str(ECHO_PORT)], [("*", ECHO_PORT)], None))
        specs.append(("echo-c", c, [PY, ECHOSERVER, str(ECHO_PORT)], [("*", ECHO_PORT)], None))
        specs.append(("udpecho", t, [PY, UDPECHO, str(UDP_ECHO_PORT)], [("*", UDP_ECHO_PORT, "udp")], None))
        specs.append(("udpecho-c", c, [PY, UDPECHO, str(UDP_ECHO_PORT)], [("*", UDP_ECHO_PORT, "udp")], None))
        specs.append(("dns", t, self.dnsmasq_argv(), [(a, DNS_PORT, proto) for a in (T4, T6) for proto in ("tcp", "udp")],
                      None))
        for name, port, method in (("danted", DANTE_PORT, "none"), ("danted-auth", DANTE_AUTH_PORT, "username")):
            conf = os.path.join(self.tmp, name + ".conf")
            dlog = os.path.join(self.tmp, name + ".log")
            with open(conf, "w") as f:
                f.write(self.danted_conf(name, port, method, dlog))
            open(dlog, "w").close()
            specs.append((name, p, ["danted", "-f", conf, "-p", os.path.join(self.tmp, name + ".pid")],
                          [(P4C, port), (P6C, port)], dlog))
        specs.append(("microsocks", p, ["microsocks", "-i", P4C, "-p", str(MS_PORT)], [(P4C, MS_PORT)], None))
        specs.append(("microsocks-auth", p, ["microsocks", "-i", P4C, "-p", str(MS_AUTH_PORT), "-u", USER,
                                             "-P", PASSWORD], [(P4C, MS_AUTH_PORT)], None))
        specs.append(("microsocks-long", p, ["microsocks", "-i", P4C, "-p", str(MS_LONG_PORT), "-u", LONG_USER,
                                             "-P", LONG_PASSWORD], [(P4C, MS_LONG_PORT)], None))
        specs.append(("microsocks6", p, ["microsocks", "-i", P6C, "-p", str(MS6_PORT)], [(P6C, MS6_PORT)], None))
        specs.append(("microsocks-pct", p, ["microsocks", "-i", P4C, "-p", str(MS_PCT_PORT), "-u", PCT_USER,
                                            "-P", PCT_PASSWORD], [(P4C, MS_PCT_PORT)], None))
        flog = os.path.join(self.tmp, "fakeproxy.jsonl")
        open(flog, "w").close()
        specs.append(("fakeproxy", p, [PY, FAKEPROXY, "--host", P4C, "--log", flog] +
                      ["%d=%s" % (port, mode) for mode, port in FAKE_PORTS.items()],
                      [(P4C, port) for port in FAKE_PORTS.values()], flog))
        for name, port, listen, auth in (("tinyproxy", TINY_PORT, (P4C, P6C), None),
                                         ("tinyproxy-auth", TINY_AUTH_PORT, (P4C,), (USER, PASSWORD))):
            conf = os.path.join(self.tmp, name + ".conf")
            tlog = os.path.join(self.tmp, name + ".log")
            with open(conf, "w") as f:
                f.write(self.tinyproxy_conf(port, listen, tlog, auth))
            open(tlog, "w").close()
            specs.append((name, p, ["tinyproxy", "-d", "-c", conf], [(a, port) for a in listen], tlog))
        try:
            sshd_argv, ssh_argv, sshlog = self.ssh_setup()
            ssh_error = None
        except (OSError, RuntimeError) as e:  # ssh-keygen missing (a failure, like any missing tool) or failing
            sshd_argv, ssh_argv, sshlog = ["sshd"], ["ssh"], None
            ssh_error = "cannot set up the keys for sshd and ssh -D: %s" % e
        specs.append(("sshd", p, sshd_argv, [("127.0.0.1", SSHD_PORT)], None))
        specs.append(("ssh-socks", p, ssh_argv, [(P4C, SSH_SOCKS_PORT), (P6C, SSH_SOCKS_PORT)], sshlog, "sshd"))

        specs = [spec if len(spec) == 6 else spec + (None,) for spec in specs]
        after = {spec[0]: spec[5] for spec in specs}
        for name, ns, argv, _listen, watch, _after in specs:
            self.servers[name] = Server(name, ns, argv, os.path.join(self.tmp, name + ".out"), watch)
            if ssh_error and name in ("sshd", "ssh-socks"):
                self.servers[name].error = ssh_error
        for name, _ns, _argv, _listen, _watch, first in specs:
            if not first:
                self.launch(self.servers[name])
        # Wait for all of them to listen, in parallel, with one deadline; a server that needs
        # another (ssh -D needs sshd) is started as soon as that one listens.
        pending = {name: listen for name, _ns, _argv, listen, _w, _a in specs if not self.servers[name].error}
        deadline = time.monotonic() + 15
        while pending and time.monotonic() < deadline:
            sockets = {k: self.listening(self.ns[k]) + self.listening(self.ns[k], "udp") for k in "cpt"}
            for name in list(pending):
                s = self.servers[name]
                nskey = [k for k in "cpt" if self.ns[k] == s.ns][0]
                if s.proc is None:  # waiting for the server it needs
                    dep = self.servers[after[name]]
                    if dep.error:
                        s.error = "%s needs %s, which failed: %s" % (name, dep.name, dep.error)
                        del pending[name]
                    elif after[name] not in pending:
                        self.launch(s)
                        if s.error:
                            del pending[name]
                    continue
                if all(self.is_listening(sockets[nskey], *lp) for lp in pending[name]):
                    del pending[name]
                elif s.proc.poll() is not None:
                    s.error = "%s exited with status %s before listening:\n%s" % (
                        name, s.proc.returncode, tail(s.log) + ("\n" + tail(s.watch_log) if s.watch_log != s.log else ""))
                    del pending[name]
            if pending:
                time.sleep(0.05)
        for name in pending:
            s = self.servers[name]
            if s.proc is None:
                s.error = "%s was not started: %s did not listen within 15s" % (name, after[name])
                continue
            s.error = "%s did not listen on %s within 15s:\n%s" % (
                name, ", ".join("%s:%d" % lp[:2] + ("/udp" if lp[2:] == ("udp",) else "") for lp in pending[name]),
                tail(s.log) + ("\n" + tail(s.watch_log) if s.watch_log != s.log else ""))

    def launch(self, s):
        """Starts server s in its namespace (stdout and stderr to s.log); sets s.error if it cannot."""
        if s.error:
            return
        if not shutil.which(s.argv[0]):
            s.error = "%s is not installed (missing tool is a failure)" % s.argv[0]
            return
        try:
            with open(s.log, "w") as lf:
                s.proc = subprocess.Popen(["ip", "netns", "exec", s.ns] + s.argv, stdin=subprocess.DEVNULL,
                                          stdout=lf, stderr=subprocess.STDOUT,
                                          env=self.base_env(self.tmp), cwd=self.tmp, start_new_session=True)
        except OSError as e:
            s.error = "cannot start %s: %s" % (s.argv[0], e)

    @staticmethod
    def listening(ns, proto="tcp"):
        """[(host, port, proto)] of the TCP listeners (or bound UDP sockets, proto "udp") in ns."""
        r = run(["ss", "-N", ns, "-lunH" if proto == "udp" else "-ltnH"], timeout=10)
        out = []
        for line in r.out.splitlines():
            cols = line.split()
            if len(cols) >= 4:
                host, _, port = cols[3].rpartition(":")
                host = host.strip("[]").split("%")[0]
                try:
                    out.append((host, int(port), proto))
                except ValueError:
                    pass
        return out

    @staticmethod
    def is_listening(sockets, addr, port, proto="tcp"):
        """A listen spec is (addr, port) for TCP or (addr, port, "udp")."""
        wild = {"*", "0.0.0.0", "::"}
        return any(p == port and pr == proto and (h == addr or h in wild or addr == "*") for h, p, pr in sockets)

    # ---------- cleanup ----------
    def cleanup(self):
        if self.cleaned:
            return
        self.cleaned = True
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            try:
                signal.signal(sig, signal.SIG_IGN)
            except (OSError, ValueError):
                pass
        for s in self.servers.values():
            if s.proc and s.proc.poll() is None:
                killpg(s.proc.pid, signal.SIGTERM)
        for s in self.servers.values():
            if s.proc:
                try:
                    s.proc.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    killpg(s.proc.pid, signal.SIGKILL)
                    try:
                        s.proc.wait(timeout=3)
                    except subprocess.TimeoutExpired:
                        pass
        # Whatever is still alive inside our private namespaces was started by this run.
        for ns in self.created_ns:
            for sig, wait in ((signal.SIGTERM, 2), (signal.SIGKILL, 2)):
                pids = self.ns_pids(ns)
                if not pids:
                    break
                for pid in pids:
                    try:
                        os.kill(pid, sig)
                    except (ProcessLookupError, PermissionError):
                        pass
                wait_until(lambda: not self.ns_pids(ns), wait, 0.05)
        for ns in reversed(self.created_ns):
            run(["ip", "netns", "del", ns], timeout=10)
        for d in self.etc_netns_dirs:
            shutil.rmtree(d, ignore_errors=True)
        if self.created_etc_netns:
            try:
                os.rmdir("/etc/netns")
            except OSError:
                pass
        if self.tmp and os.environ.get("SOCKSIFY_IT_KEEP") != "1":
            shutil.rmtree(self.tmp, ignore_errors=True)

    @staticmethod
    def ns_pids(ns):
        r = run(["ip", "netns", "pids", ns], timeout=5)
        return [int(x) for x in r.out.split() if x.isdigit()]
