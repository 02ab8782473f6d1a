//! A real mail server for the email channel's tests, from Debian's packages: Exim (SMTP
//! submission with STARTTLS or TLS and authentication, local delivery into Maildirs, bounces)
//! and Dovecot (IMAP over TLS, with IDLE), both started here unprivileged (as `nobody` when the
//! tests run as root) on loopback ports, with a certificate from a test CA. `cargo xtask test`
//! installs the packages (`exim4-daemon-light`, `dovecot-imapd`).

use std::path::Path;
use std::process::{Child, Command};

use futures_util::StreamExt;

pub struct MailServer {
    pub dir: tempfile::TempDir,
    /// IMAP over TLS.
    pub imaps: u16,
    /// SMTP submission with STARTTLS.
    pub submission: u16,
    /// SMTP submission over TLS.
    pub smtps: u16,
    /// The test CA's certificate (PEM): the channel's `ca_pem`.
    pub ca_pem: String,
    children: Vec<Child>,
}

impl Drop for MailServer {
    fn drop(&mut self) {
        for c in &mut self.children {
            if let Err(e) = Command::new("kill").arg(c.id().to_string()).status() {
                eprintln!(
                    "the mail server's process {} could not be stopped: {e}",
                    c.id()
                );
            }
        }
        for c in &mut self.children {
            if let Err(e) = c.wait() {
                eprintln!(
                    "the mail server's process {} was not waited for: {e}",
                    c.id()
                );
            }
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a certificate for 127.0.0.1 signed by it; returns the CA's PEM.
fn certificates(dir: &Path) -> String {
    let p = |f: &str| dir.join(f).display().to_string();
    run(Command::new("openssl").args([
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=Outpost test mail CA",
        "-keyout",
        &p("ca.key"),
        "-out",
        &p("ca.pem"),
    ]));
    run(Command::new("openssl").args([
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        &p("key.pem"),
        "-out",
        &p("server.csr"),
    ]));
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .unwrap();
    run(Command::new("openssl").args([
        "x509",
        "-req",
        "-in",
        &p("server.csr"),
        "-CA",
        &p("ca.pem"),
        "-CAkey",
        &p("ca.key"),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        &p("san.ext"),
        "-out",
        &p("cert.pem"),
    ]));
    std::fs::read_to_string(dir.join("ca.pem")).unwrap()
}

fn as_nobody(program: &str) -> Command {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", program]);
        c
    } else {
        Command::new(program)
    }
}

impl MailServer {
    /// Starts the servers with these accounts (address, password): each has a mailbox.
    pub async fn start(accounts: &[(&str, &str)]) -> MailServer {
        use std::os::unix::fs::PermissionsExt;
        for program in ["/usr/sbin/dovecot", "/usr/sbin/exim4"] {
            assert!(
                Path::new(program).exists(),
                "{program} is not installed: `cargo xtask test` installs dovecot-imapd and exim4-daemon-light"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        let ca_pem = certificates(dir.path());
        let (imaps, submission, smtps) = (free_port(), free_port(), free_port());
        let users: String = accounts
            .iter()
            .map(|(a, p)| format!("{a}:{{PLAIN}}{p}\n"))
            .collect();
        std::fs::write(dir.path().join("users"), users).unwrap();
        let mailboxes: String = accounts
            .iter()
            .map(|(a, _)| format!("{a}: {a}\n"))
            .collect();
        std::fs::write(dir.path().join("mailboxes"), mailboxes).unwrap();
        let passwords: String = accounts
            .iter()
            .map(|(a, p)| format!("{a}: {p}\n"))
            .collect();
        std::fs::write(dir.path().join("passwords"), passwords).unwrap();
        let domains: Vec<String> = accounts
            .iter()
            .filter_map(|(a, _)| a.split_once('@').map(|(_, d)| d.to_owned()))
            .chain(["nowhere.test".to_owned()])
            .collect();
        std::fs::write(
            dir.path().join("dovecot.conf"),
            format!(
                r#"base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
instance_name = outpost-test-{imaps}
protocols = imap
listen = 127.0.0.1
default_internal_user = nobody
default_internal_group = nogroup
default_login_user = nobody
ssl = required
ssl_cert = <{d}/cert.pem
ssl_key = <{d}/key.pem
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={d}/mail/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  chroot =
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  chroot =
}}
"#
            ),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("exim.conf"),
            format!(
                r#"primary_hostname = mail.outpost.test
domainlist local_domains = {domains}
spool_directory = {d}/spool
log_file_path = {d}/exim-%slog
exim_user = nobody
exim_group = nogroup
daemon_smtp_ports = {submission} : {smtps}
tls_on_connect_ports = {smtps}
local_interfaces = 127.0.0.1
tls_certificate = {d}/cert.pem
tls_privatekey = {d}/key.pem
tls_advertise_hosts = *
auth_advertise_hosts = ${{if eq{{$tls_in_cipher}}{{}}{{}}{{*}}}}
acl_smtp_rcpt = acl_check_rcpt
host_lookup =
rfc1413_hosts =
keep_environment =
begin acl
acl_check_rcpt:
  accept authenticated = *
  accept domains = +local_domains
  deny message = relay not permitted
begin routers
nowhere:
  driver = redirect
  domains = nowhere.test
  allow_fail
  data = :fail: No such person at this address
  verify = false
local_mailbox:
  driver = accept
  domains = +local_domains
  condition = ${{lookup{{$local_part@$domain}}lsearch{{{d}/mailboxes}}{{yes}}{{no}}}}
  address_data = ${{lookup{{$local_part@$domain}}lsearch{{{d}/mailboxes}}}}
  transport = maildir_delivery
begin transports
maildir_delivery:
  driver = appendfile
  directory = {d}/mail/$address_data/Maildir
  maildir_format
  create_directory
  delivery_date_add
  envelope_to_add
  return_path_add
  mode = 0600
begin retry
*  *  F,1m,10s
begin authenticators
plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = ${{if eq{{$auth3}}{{${{lookup{{$auth2}}lsearch{{{d}/passwords}}}}}}}}
  server_set_id = $auth2
"#,
                domains = domains.join(" : ")
            ),
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("spool")).unwrap();
        std::fs::create_dir_all(dir.path().join("mail")).unwrap();
        // The unprivileged user reads and writes everything here.
        for entry in walk(dir.path()) {
            let mode = if entry.is_dir() { 0o777 } else { 0o666 };
            std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let dovecot = as_nobody("/usr/sbin/dovecot")
            .args(["-F", "-c", &format!("{d}/dovecot.conf")])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let exim = as_nobody("/usr/sbin/exim4")
            .args(["-C", &format!("{d}/exim.conf"), "-bdf", "-q10s"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let server = MailServer {
            dir,
            imaps,
            submission,
            smtps,
            ca_pem,
            children: vec![dovecot, exim],
        };
        for port in [imaps, submission, smtps] {
            let mut up = false;
            for _ in 0..100 {
                if tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .is_ok()
                {
                    up = true;
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            assert!(
                up,
                "the mail server did not listen on {port}: {}",
                server.logs()
            );
        }
        server
    }

    pub fn logs(&self) -> String {
        let mut all = String::new();
        for f in [
            "dovecot.log",
            "exim-mainlog",
            "exim-paniclog",
            "exim-rejectlog",
        ] {
            if let Ok(t) = std::fs::read_to_string(self.dir.path().join(f)) {
                all.push_str(&format!("--- {f}\n{t}\n"));
            }
        }
        all
    }

    /// Submits `raw` as `user` (authenticated, STARTTLS), to `to`.
    pub async fn submit(&self, user: (&str, &str), from: &str, to: &[&str], raw: &[u8]) {
        use lettre::AsyncTransport;
        use lettre::transport::smtp::authentication::Credentials;
        use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
        let params = TlsParameters::builder("127.0.0.1".into())
            .add_root_certificate(Certificate::from_pem(self.ca_pem.as_bytes()).unwrap())
            .build_rustls()
            .unwrap();
        let t =
            lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous("127.0.0.1")
                .port(self.submission)
                .tls(Tls::Required(params))
                .credentials(Credentials::new(user.0.into(), user.1.into()))
                .timeout(Some(std::time::Duration::from_secs(20)))
                .build();
        let envelope = lettre::address::Envelope::new(
            Some(from.parse().unwrap()),
            to.iter().map(|a| a.parse().unwrap()).collect(),
        )
        .unwrap();
        // A submission the server let hang (once, on a loaded machine, exim held one ~270 s and
        // then reset it) is tried again on a new connection; the customer's mail client would.
        // Sent twice, the email is one message at Outpost all the same (its Message-ID).
        for attempt in 1..=3 {
            match t.send_raw(&envelope, raw).await {
                Ok(_) => return,
                Err(e) if attempt < 3 && !e.is_permanent() => {
                    eprintln!("submission attempt {attempt} failed, again: {e}");
                }
                Err(e) => panic!("the submission failed: {e}\n{}", self.logs()),
            }
        }
    }

    /// Every email in `user`'s inbox, oldest first (read over IMAP).
    pub async fn inbox(&self, user: (&str, &str)) -> Vec<Vec<u8>> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(
            rustls::pki_types::pem::PemObject::pem_slice_iter(self.ca_pem.as_bytes())
                .filter_map(|c: Result<rustls::pki_types::CertificateDer<'static>, _>| c.ok()),
        );
        let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", self.imaps))
            .await
            .unwrap();
        let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
            .connect(
                rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap(),
                tcp,
            )
            .await
            .unwrap();
        let mut client = async_imap::Client::new(tls);
        client.read_response().await.unwrap();
        let mut s = client
            .login(user.0, user.1)
            .await
            .map_err(|(e, _)| e)
            .unwrap();
        let mailbox = s.select("INBOX").await.unwrap();
        if mailbox.exists == 0 {
            return Vec::new();
        }
        let mut all = Vec::new();
        let mut fetches = s.fetch("1:*", "BODY.PEEK[]").await.unwrap();
        while let Some(f) = fetches.next().await {
            if let Some(b) = f.unwrap().body() {
                all.push(b.to_vec());
            }
        }
        all
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut all = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            all.extend(walk(&p));
        }
        all.push(p);
    }
    all
}
