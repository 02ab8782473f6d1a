//! The `outpost-server` binary as a business runs it: a workspace set up from the command line
//! (no demo), served from a configuration file with JSON logs, backed up while serving, and
//! restored once stopped.

// A test: a panic is its report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_outpost-server");

fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(BIN);
    c.arg("--data-dir").arg(dir).args(args);
    // Nothing from the machine's own configuration.
    let empty = dir.with_extension("empty.toml");
    std::fs::write(&empty, "").unwrap();
    c.env("OUTPOST_CONFIG", &empty);
    c.env_remove("OUTPOST_PUBLIC_URL");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn ok(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = run(dir, args, env);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn field<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}\t")))
        .map(|v| v.split('\t').next().unwrap())
        .unwrap_or_else(|| panic!("{name} in {out}"))
}

struct Served {
    child: Child,
    addr: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        // One that already ended is fine; anything else is said.
        if let Err(e) = self
            .child
            .kill()
            .and_then(|()| self.child.wait().map(|_| ()))
        {
            eprintln!("a process the test started did not stop: {e}");
        }
    }
}

fn serve(dir: &Path, config: &Path) -> Served {
    let mut child = Command::new(BIN)
        .args(["--config"])
        .arg(config)
        .arg("serve")
        .env("OUTPOST_OWNER_PASSWORD", "a senha da dona da loja")
        .env_remove("OUTPOST_DATA_DIR")
        .env_remove("OUTPOST_LISTEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::from(
            std::fs::File::create(dir.join("server.log")).unwrap(),
        ))
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .rsplit(' ')
        .next()
        .expect("the address it listens on")
        .to_owned();
    Served { child, addr }
}

async fn login(
    http: &reqwest::Client,
    addr: &str,
    email: &str,
    password: &str,
) -> reqwest::StatusCode {
    http.post(format!("http://{addr}/v1/auth/login"))
        .json(&serde_json::json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn test_a_workspace_set_up_from_the_command_line_served_backed_up_and_restored() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let dir = data.as_path();

    let team = ok(dir, &["team", "add", "--name", "Suporte"], &[]);
    let team_id = team.split('\t').next().unwrap().to_owned();
    let ana = ok(
        dir,
        &[
            "agent",
            "add",
            "--name",
            "Ana",
            "--email",
            "ana@loja.example",
            "--visibility",
            "team",
            "--team",
            &team_id,
        ],
        &[("OUTPOST_AGENT_PASSWORD", "senha forte da Ana 2026")],
    );
    field(&ana, "id");
    let invited = ok(
        dir,
        &[
            "agent",
            "add",
            "--name",
            "Bia",
            "--email",
            "bia@loja.example",
            "--invite",
            "--public-url",
            "https://outpost.loja.example/",
        ],
        &[],
    );
    assert!(field(&invited, "invite").starts_with("https://outpost.loja.example/invite/"));
    let again = run(
        dir,
        &[
            "agent",
            "add",
            "--name",
            "Ana 2",
            "--email",
            "ANA@loja.example",
        ],
        &[("OUTPOST_AGENT_PASSWORD", "senha forte da Ana 2026")],
    );
    assert!(!again.status.success(), "one account per email");

    let web = ok(
        dir,
        &[
            "channel",
            "add",
            "--kind",
            "web_chat",
            "--name",
            "loja.example",
            "--setting",
            "allowed_origins=https://loja.example,https://www.loja.example",
        ],
        &[],
    );
    let web_id = field(&web, "id").to_owned();
    assert!(field(&web, "secret").len() >= 32);
    let missing = run(
        dir,
        &["channel", "add", "--kind", "whatsapp", "--name", "Loja"],
        &[],
    );
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("phone_number_id"));
    let list = ok(dir, &["channel", "list"], &[]);
    assert!(list.contains(&web_id) && list.contains("live") && !list.contains("test channel"));
    ok(dir, &["channel", "disable", &web_id], &[]);
    assert!(ok(dir, &["channel", "list"], &[]).contains("disabled"));

    // Served from a configuration file, with JSON logs; the owner made on the first start.
    let config = tmp.path().join("outpost-server.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = \"{}\"\nlog_format = \"json\"\nowner_email = \"dona@loja.example\"\n",
            dir.display()
        ),
    )
    .unwrap();
    let server = serve(tmp.path(), &config);
    let http = reqwest::Client::new();
    assert_eq!(
        login(
            &http,
            &server.addr,
            "ana@loja.example",
            "senha forte da Ana 2026"
        )
        .await,
        200
    );
    assert_eq!(
        login(
            &http,
            &server.addr,
            "dona@loja.example",
            "a senha da dona da loja"
        )
        .await,
        200
    );

    // A second server, or a restore, on the same directory is refused while it serves.
    let backup = tmp.path().join("backup.db");
    let out = ok(dir, &["backup", "--to", backup.to_str().unwrap()], &[]);
    assert!(out.contains("backed up"), "{out}");
    let refused = run(dir, &["restore", "--from", backup.to_str().unwrap()], &[]);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("stop it first"));

    // After the backup: an agent the backup does not have.
    ok(
        dir,
        &[
            "agent",
            "add",
            "--name",
            "Caio",
            "--email",
            "caio@loja.example",
        ],
        &[("OUTPOST_AGENT_PASSWORD", "senha forte do Caio 2026")],
    );
    drop(server);
    let log = std::fs::read_to_string(tmp.path().join("server.log")).unwrap();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        lines.iter().any(|l| l["message"] == "created the owner"),
        "{log}"
    );
    assert!(!log.contains("a senha da dona da loja"));

    let out = ok(dir, &["restore", "--from", backup.to_str().unwrap()], &[]);
    assert!(out.contains("kept as"), "{out}");
    let agents = ok(dir, &["agent", "list"], &[]);
    assert!(agents.contains("ana@loja.example") && agents.contains("dona@loja.example"));
    assert!(
        !agents.contains("caio@loja.example"),
        "the backup's moment, not later"
    );
    let server = serve(tmp.path(), &config);
    assert_eq!(
        login(
            &http,
            &server.addr,
            "ana@loja.example",
            "senha forte da Ana 2026"
        )
        .await,
        200
    );

    // What is not a backup is refused, and nothing is replaced.
    let junk = tmp.path().join("junk.db");
    std::fs::write(&junk, b"not a database at all").unwrap();
    drop(server);
    let refused = run(dir, &["restore", "--from", junk.to_str().unwrap()], &[]);
    assert!(!refused.status.success());
    assert!(ok(dir, &["agent", "list"], &[]).contains("ana@loja.example"));
}

#[test]
fn test_a_configuration_file_with_a_typo_is_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("c.toml");
    std::fs::write(&config, "listn = \"127.0.0.1:1\"\n").unwrap();
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .args(["serve"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("listn"));
}
