//! `cargo xtask`: the project's commands. Each installs what it needs and is missing, so that on a
//! fresh Debian 12 machine the README's two commands need no earlier step.
//!
//! - `run`: the main job (for now, the core's demo: a generated workspace in a fresh mirror).
//! - `test`: every test of the workspace.
//! - `bench [core]`: the benchmarks, release build, printing a table of figures and goals.
//! - `gen-types`: regenerate the UI's TypeScript types from the Rust types.

mod cycles;
mod package;
mod postgres;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]),
        Some("test") => test(&args[1..]),
        Some("bench") => bench(&args[1..]),
        Some("gen-types") => gen_types(),
        Some("cycles") => check_cycles(),
        Some("bundle") => bundle(&args[1..]),
        Some("package-server") => package_server(&args[1..]).map(|_| ()),
        _ => {
            eprintln!(
                "usage: cargo xtask <command>\n\n  run              the demo server and Outpost signed in to it (the web edition's address is printed)\n  test [ARGS]      every test (ARGS go to cargo nextest)\n  bench [core|server|widget|sync|desktop|triage]  the benchmarks (release build)\n  bundle [FORMAT]  the desktop app's package (here: deb; AppImage, msi, dmg on their platforms)\n  gen-types        regenerate ui/src/generated from the Rust types\n  cycles           the import-cycle check alone\n  package-server [--debug]  the server's .deb (systemd unit, /etc/outpost/outpost-server.toml)"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

type Result<T = ()> = std::result::Result<T, String>;

/// Stops a child process started here; one that has already ended is fine.
fn stop_child(child: &mut std::process::Child) {
    if let Err(e) = child.kill().and_then(|()| child.wait().map(|_| ())) {
        eprintln!("xtask: a process of ours did not stop cleanly: {e}");
    }
}

fn root() -> PathBuf {
    // xtask lives in the workspace's root folder.
    let xtask = Path::new(env!("CARGO_MANIFEST_DIR"));
    xtask.parent().unwrap_or(xtask).to_path_buf()
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

/// clippy-driver of the toolchain that runs this (beside its cargo), if it is there.
fn clippy_in_build() -> Option<PathBuf> {
    let cargo = PathBuf::from(std::env::var_os("CARGO")?);
    let driver = cargo.parent()?.join("clippy-driver");
    let works = Command::new(&driver)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    works.then_some(driver)
}

/// Compiles the workspace's crates with clippy-driver, its warnings refused, as `cargo clippy`
/// does (the same two variables): every cargo command of a run must say the same, or cargo
/// builds the workspace again.
fn lint(cmd: &mut Command, driver: &Option<PathBuf>) {
    if let Some(driver) = driver {
        cmd.env("RUSTC_WORKSPACE_WRAPPER", driver).env(
            "CLIPPY_ARGS",
            "-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__",
        );
    }
}

fn status(mut cmd: Command) -> Result {
    let shown = format!("{cmd:?}");
    let started = std::time::Instant::now();
    let st = cmd
        .status()
        .map_err(|e| format!("could not start {shown}: {e}"))?;
    // How long each step took: where CI's time goes.
    let short: Vec<String> = std::iter::once(cmd.get_program())
        .chain(cmd.get_args().take(3))
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    eprintln!(
        "xtask: `{}` took {:.0} s",
        short.join(" "),
        started.elapsed().as_secs_f64()
    );
    if st.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed ({st})"))
    }
}

fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program} >/dev/null 2>&1")])
        .status()
        .is_ok_and(|s| s.success())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// Installs Debian packages that are missing. As root on Debian it runs apt-get; otherwise it
/// says the exact command to run.
fn ensure_apt(packages: &[&str]) -> Result {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| {
            !Command::new("dpkg-query")
                .args(["-W", "-f=${Status}", p])
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let line = format!(
        "apt-get install -y --no-install-recommends {}",
        missing.join(" ")
    );
    if !(is_root() && have("apt-get")) {
        return Err(format!(
            "missing system packages; run: sudo apt-get update && sudo {line}"
        ));
    }
    eprintln!("xtask: installing {}", missing.join(" "));
    let mut update = Command::new("apt-get");
    update.args(["update", "-qq"]);
    status(update)?;
    let mut install = Command::new("apt-get");
    install.env("DEBIAN_FRONTEND", "noninteractive");
    install
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(&missing);
    status(install)
}

/// What every build needs: a C compiler for the bundled SQLite, and on Linux the D-Bus headers
/// for the keyring (the Secret Service).
fn ensure_build_tools() -> Result {
    if !have("cc") {
        ensure_apt(&["build-essential"])?;
    }
    if cfg!(target_os = "linux") {
        // The keyring (Secret Service over D-Bus) and the desktop shell (Tauri: WebKitGTK).
        ensure_apt(&[
            "pkgconf",
            "libdbus-1-dev",
            "libwebkit2gtk-4.1-dev",
            "libgtk-3-dev",
            "libayatana-appindicator3-dev",
            "librsvg2-dev",
            "libsoup-3.0-dev",
            "libjavascriptcoregtk-4.1-dev",
            "libxdo-dev",
        ])?;
    }
    Ok(())
}

/// Runs `cmd` inside a private D-Bus session with its own unlocked gnome-keyring (files in a
/// temporary directory), so tests use the real Secret Service and never the developer's own
/// keyring. Elsewhere than Linux the command runs as it is (the platform keyring is at hand).
fn in_desktop_session(cmd: Command) -> Result {
    if !cfg!(target_os = "linux") {
        return status(cmd);
    }
    ensure_apt(&["dbus-daemon", "gnome-keyring"])?;
    let data = root()
        .join("target")
        .join(format!("xtask-session-{}", std::process::id()));
    std::fs::create_dir_all(&data).map_err(|e| format!("{}: {e}", data.display()))?;
    let mut session = Command::new("dbus-run-session");
    session
        .current_dir(root())
        .env("XDG_DATA_HOME", &data)
        .args([
            "--",
            "sh",
            "-c",
            // The daemon reads the password of its new login keyring from stdin and stays up
            // for the session; then the command runs with the session's bus in its environment.
            "printf outpost | gnome-keyring-daemon --unlock --components=secrets >/dev/null && exec \"$@\"",
            "sh",
        ])
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (key, value) in cmd.get_envs() {
        match value {
            Some(v) => session.env(key, v),
            None => session.env_remove(key),
        };
    }
    let result = status(session);
    if let Err(e) = std::fs::remove_dir_all(&data) {
        eprintln!("xtask: {} was left behind: {e}", data.display());
    }
    result
}

fn has_nextest() -> bool {
    cargo()
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The main job: the demo server on loopback, and Outpost signed in to it: the desktop app where
/// there is a display, the web edition (its address printed) where there is none.
fn run(_args: &[String]) -> Result {
    ensure_build_tools()?;
    build_ui()?;
    let desktop =
        std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some();
    let mut bins = cargo();
    bins.args(["build", "-p", "outpost-server"])
        .args(if desktop {
            ["-p", "outpost-desktop"]
        } else {
            ["-p", "outpost-web"]
        });
    status(bins)?;
    let target = root().join("target");
    let mut server = Command::new(target.join("debug/outpost-server"))
        .args(["demo", "--listen", "127.0.0.1:8750", "--data-dir"])
        .arg(target.join("demo/server"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start outpost-server: {e}"))?;
    // The app signs in at once: wait until the demo is seeded (it prints its webhooks last),
    // passing what the server says on.
    let (ready_tx, ready) = std::sync::mpsc::channel();
    if let Some(out) = server.stdout.take() {
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(out).lines().map_while(|l| l.ok()) {
                println!("{line}");
                if line.contains("/inbound") && ready_tx.send(()).is_err() {
                    eprintln!("xtask: the demo server got ready after xtask gave up waiting");
                }
            }
        });
    }
    if ready
        .recv_timeout(std::time::Duration::from_secs(120))
        .is_err()
    {
        stop_child(&mut server);
        return Err("the demo server did not get ready".into());
    }
    // Signed in as the demo's owner (the password is the demo's, printed above).
    let mut app = if desktop {
        let mut app = Command::new(target.join("debug/outpost-desktop"));
        app.env("OUTPOST_DATA_DIR", target.join("demo/desktop"));
        app
    } else {
        let mut app = Command::new(target.join("debug/outpost-web"));
        app.arg("--data-dir").arg(target.join("demo/web"));
        app
    };
    app.env("OUTPOST_SIGN_IN_SERVER", "http://127.0.0.1:8750")
        .env("OUTPOST_SIGN_IN_EMAIL", "ana.souza0@outpost.example")
        .env("OUTPOST_SIGN_IN_PASSWORD", "outpost-demo");
    // On a desktop the agent's own keyring holds the token; elsewhere a private one for the run.
    let served = if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
        status(app)
    } else {
        in_desktop_session(app)
    };
    stop_child(&mut server);
    served
}

/// Installs a toolchain component (`rustup component add`) when `cargo SUBCOMMAND` is missing.
fn ensure_component(subcommand: &str, component: &str) -> Result {
    let there = cargo()
        .args([subcommand, "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if there {
        return Ok(());
    }
    eprintln!("xtask: installing {component}");
    let mut add = Command::new("rustup");
    add.args(["component", "add", component]);
    status(add)
}

/// No module of a crate uses one that uses it back (see cycles.rs for how it is read).
fn check_cycles() -> Result {
    for src in [
        "crates/protocol/src",
        "crates/core/src",
        "crates/server/src",
        "crates/web/src",
        "src-tauri/src",
        "xtask/src",
    ] {
        let found = cycles::cycles(&root().join(src)).map_err(|e| format!("{src}: {e}"))?;
        if !found.is_empty() {
            return Err(format!("import cycles in {src}: {}", found.join("; ")));
        }
    }
    Ok(())
}

fn test(args: &[String]) -> Result {
    ensure_build_tools()?;
    // The reverse proxy the TLS tests put in front of the server, and the mail server the
    // email channel's tests read and send through (Dovecot's IMAP, Exim's SMTP): each started
    // by its test, as nobody, on loopback ports of its own; openssl makes their certificates.
    if cfg!(target_os = "linux") {
        ensure_apt(&["nginx", "dovecot-imapd", "exim4-daemon-light", "openssl"])?;
    }
    if !has_nextest() {
        eprintln!("xtask: installing cargo-nextest");
        let mut install = cargo();
        install.args(["install", "--locked", "cargo-nextest"]);
        status(install)?;
    }
    // The lint gate: the tree is as rustfmt writes it; clippy (below, after the one build) and
    // ESLint refuse every warning.
    ensure_component("fmt", "rustfmt")?;
    ensure_component("clippy", "clippy")?;
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--", "--check"]);
    status(fmt).map_err(|e| format!("{e}: run `cargo fmt --all`"))?;
    check_cycles()?;

    // The interface first: type-checked, linted, built (outpost-web serves it), unit-tested.
    build_ui()?;
    let mut eslint = npm();
    eslint.args(["run", "lint"]);
    status(eslint)?;
    let mut vitest = npm();
    vitest.args(["run", "test"]);
    status(vitest)?;

    // Every target in one build, so each dependency is compiled once with one set of features
    // (building the binaries package by package resolved other features and built many twice:
    // more time, and CI's disk ran out once). The browser and desktop tests use these binaries.
    // Clippy lints the workspace's crates in the same build (clippy-driver as the workspace's
    // compiler, as `cargo clippy` runs it, its warnings refused; an allow in the code says
    // why): a separate `cargo clippy` checked every dependency again (three minutes of CI).
    let lints = clippy_in_build();
    let mut all = cargo();
    all.args(["build", "--workspace", "--all-targets"]);
    lint(&mut all, &lints);
    status(all)?;
    if lints.is_none() {
        let mut clippy = cargo();
        clippy.args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--quiet",
            "--",
            "-D",
            "warnings",
        ]);
        status(clippy)?;
    }
    // The server's Debian package, from the debug build just made: built and checked.
    package_server(&["--debug".to_owned()])?;

    let mut cmd = cargo();
    // Several server processes share a PostgreSQL database: that test is the conformance run's.
    cmd.args([
        "nextest",
        "run",
        "--workspace",
        "--no-fail-fast",
        "-E",
        "not (package(outpost-server) and binary(processes))",
    ])
    .args(args);
    // The same compiler as the build's, so that nothing is built again.
    lint(&mut cmd, &lints);
    // CI is reproducible: the property tests use a fixed seed there (local runs explore).
    if std::env::var_os("CI").is_some() && std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        cmd.env("PROPTEST_RNG_SEED", "20261121");
    }
    let rust = in_desktop_session(cmd);
    // The conformance run: the server's tests again, each workspace in PostgreSQL.
    let conformance = postgres_conformance(args, &lints);

    // The browser tests: the real server and outpost-web binaries, Debian's Chromium.
    let browser = browser_tests();
    // The real desktop app under Xvfb, through tauri-driver and WebKitWebDriver.
    let desktop = desktop_tests();
    rust.and(conformance).and(browser).and(desktop)
}

/// The server's tests on PostgreSQL: a cluster of their own, each test's workspace a schema in
/// it (`OUTPOST_TEST_POSTGRES`; see the tests' harness). The command-line test is SQLite's
/// (backup and restore copy its file).
fn postgres_conformance(args: &[String], lints: &Option<PathBuf>) -> Result {
    let cluster = postgres::Cluster::start(false)?;
    let mut cmd = cargo();
    lint(&mut cmd, lints);
    // The whole workspace's build (one set of features: building the package alone would
    // resolve others and compile much again), its server tests selected.
    cmd.args([
        "nextest",
        "run",
        "--workspace",
        "--no-fail-fast",
        "-E",
        "package(outpost-server) and not binary(cli)",
    ])
    .args(args)
    .env("OUTPOST_TEST_POSTGRES", &cluster.url);
    if std::env::var_os("CI").is_some() && std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        cmd.env("PROPTEST_RNG_SEED", "20261121");
    }
    status(cmd)
}

/// tauri-driver, the WebDriver server for Tauri apps, at the version known to work here.
const TAURI_DRIVER_VERSION: &str = "2.1.0";

/// tauri-driver, installed by cargo when missing.
fn ensure_tauri_driver() -> Result {
    let driver_ok = Command::new("tauri-driver")
        .arg("--help")
        .output()
        .is_ok_and(|o| o.status.success());
    if !driver_ok {
        eprintln!("xtask: installing tauri-driver {TAURI_DRIVER_VERSION}");
        let mut install = cargo();
        install.args([
            "install",
            "--locked",
            "tauri-driver",
            "--version",
            TAURI_DRIVER_VERSION,
        ]);
        status(install)?;
    }
    Ok(())
}

fn desktop_tests() -> Result {
    ensure_apt(&[
        "xvfb",
        "webkit2gtk-driver",
        "dunst",
        "dbus-bin",
        "python3-gi",
        // The composer's spelling, in the agents' three languages.
        "hunspell-en-us",
        "hunspell-pt-br",
        "hunspell-es",
        // Test certificates for the local update server.
        "openssl",
    ])?;
    ensure_tauri_driver()?;
    let mut node = Command::new("node");
    node.current_dir(root())
        .args(["--test", "--test-concurrency=1", "tests/desktop/"])
        .env("OUTPOST_BIN_DIR", root().join("target/debug"));
    in_desktop_session(node)
}

/// The desktop app's package, built by the Tauri CLI (pinned here): a .deb here;
/// the configuration also names AppImage, msi and dmg for the other platforms' builds.
fn bundle(args: &[String]) -> Result {
    ensure_build_tools()?;
    build_ui()?;
    let format = args.first().map(String::as_str).unwrap_or("deb");
    // The CLI at a pinned version, fetched into npm's cache when first needed (its per-platform
    // packages do not all resolve through every registry mirror, so it stays out of the lock).
    let mut tauri = Command::new("npm");
    tauri.current_dir(root().join("src-tauri")).args([
        "exec",
        "--yes",
        "--package=@tauri-apps/cli@2.12.5",
        "--",
        "tauri",
        "build",
        "--bundles",
        format,
    ]);
    status(tauri)?;
    let dir = root().join(format!("target/release/bundle/{format}"));
    eprintln!("xtask: the package is in {}", dir.display());
    Ok(())
}

/// The server's Debian package, from a release build (or the debug build with `--debug`),
/// checked once built; returns its path.
fn package_server(args: &[String]) -> Result<PathBuf> {
    let debug = args.iter().any(|a| a == "--debug");
    if !debug {
        let mut build = cargo();
        build.args([
            "build",
            "--release",
            "-p",
            "outpost-server",
            "--bin",
            "outpost-server",
        ]);
        status(build)?;
    }
    let profile = if debug { "debug" } else { "release" };
    let binary = root().join("target").join(profile).join("outpost-server");
    let out = root().join("target/package");
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let version = env!("CARGO_PKG_VERSION");
    let deb = package::build(&binary, version, &out, debug)?;
    package::verify(&deb, version, &out.join("check"))?;
    eprintln!("xtask: the server's package is {}", deb.display());
    Ok(deb)
}

fn npm() -> Command {
    let mut cmd = Command::new("npm");
    cmd.current_dir(root().join("ui"));
    cmd
}

/// Installs the interface's packages (exactly as locked) when they changed, then type-checks
/// and builds it into ui/dist.
fn build_ui() -> Result {
    if !have("npm") {
        return Err("Node.js and npm are needed to build the interface (ui/); install Node.js 20.19 or newer".into());
    }
    let ui = root().join("ui");
    let lock = ui.join("package-lock.json");
    let stamp = ui.join("node_modules/.package-lock.json");
    let stale = match (std::fs::metadata(&lock), std::fs::metadata(&stamp)) {
        (Ok(l), Ok(s)) => l.modified().ok() > s.modified().ok(),
        _ => true,
    };
    if stale {
        let mut ci = npm();
        ci.args(["ci", "--no-audit", "--no-fund"]);
        status(ci)?;
    }
    let mut build = npm();
    build.args(["run", "build"]);
    status(build)
}

fn browser_tests() -> Result {
    ensure_apt(&["chromium"])?;
    let mut node = Command::new("node");
    node.current_dir(root())
        .args(["--test", "--test-concurrency=1", "tests/browser/"])
        .env("OUTPOST_BIN_DIR", root().join("target/debug"));
    in_desktop_session(node)
}

fn bench(args: &[String]) -> Result {
    ensure_build_tools()?;
    let which = args.first().map(String::as_str).unwrap_or("core");
    if which == "desktop" {
        return bench_desktop(&args[1..]);
    }
    if which == "triage" {
        return bench_triage(&args[1..]);
    }
    if which == "server"
        && args
            .windows(2)
            .any(|w| w[0] == "--database" && w[1] == "postgres")
    {
        return bench_backends(&args[1..]);
    }
    // Each benchmark is an example of the crate whose figures it measures.
    let (package, example) = match which {
        "core" => ("outpost-core", "bench-core"),
        "server" => ("outpost-server", "bench-server"),
        "widget" => ("outpost-server", "bench-widget"),
        "providers" => ("outpost-server", "bench-providers"),
        "sync" => ("outpost-e2e", "bench-sync"),
        other => {
            return Err(format!(
                "unknown benchmark '{other}' (known: core, server, widget, providers, sync, desktop, triage)"
            ));
        }
    };
    let mut cmd = cargo();
    cmd.args([
        "run",
        "--quiet",
        "--release",
        "-p",
        package,
        "--example",
        example,
        "--",
    ])
    .args(&args[1.min(args.len())..]);
    status(cmd)
}

/// The desktop benchmark: the release app as `tauri build` makes it (embedded interface), the
/// empty Tauri app beside it, and the web edition, under Xvfb in a D-Bus session whose keyring
/// holds the benchmark account's token (see src-tauri/examples/bench-desktop.rs).
/// `bench server --database postgres`: SQLite and PostgreSQL side by side, each as real server
/// processes (the release binary), PostgreSQL a cluster of the bench's own with fsync on.
fn bench_backends(args: &[String]) -> Result {
    let rest: Vec<String> = args
        .iter()
        .enumerate()
        .filter(|(i, a)| {
            *a != "--database" && !(*i > 0 && args[i - 1] == "--database" && *a == "postgres")
        })
        .map(|(_, a)| a.clone())
        .collect();
    let mut build = cargo();
    build.args([
        "build",
        "--release",
        "-p",
        "outpost-server",
        "--bin",
        "outpost-server",
    ]);
    status(build)?;
    let cluster = postgres::Cluster::start(true)?;
    let mut cmd = cargo();
    cmd.args([
        "run",
        "--quiet",
        "--release",
        "-p",
        "outpost-server",
        "--example",
        "bench-backends",
        "--",
    ])
    .args(&rest)
    .env("OUTPOST_BENCH_POSTGRES", &cluster.url)
    .env(
        "OUTPOST_SERVER_BIN",
        root().join("target/release/outpost-server"),
    );
    status(cmd)
}

fn bench_desktop(args: &[String]) -> Result {
    ensure_apt(&["xvfb", "chromium", "webkit2gtk-driver"])?;
    ensure_tauri_driver()?;
    build_ui()?;
    let mut build = cargo();
    build.args([
        "build",
        "--release",
        "-p",
        "outpost-desktop",
        "--features",
        "tauri/custom-protocol",
        "--bin",
        "outpost-desktop",
        "--example",
        "empty-app",
        "--example",
        "bench-desktop",
    ]);
    status(build)?;
    let mut web = cargo();
    web.args(["build", "--release", "-p", "outpost-web"]);
    status(web)?;
    on_screen(":93", "bench-desktop", args)
}

/// Runs the release example `example` with `args` on its own Xvfb `display`, in a D-Bus session
/// with an unlocked keyring (what a desktop gives the app).
fn on_screen(display: &str, example: &str, args: &[String]) -> Result {
    let mut xvfb = Command::new("Xvfb")
        .args([display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
        .spawn()
        .map_err(|e| format!("Xvfb: {e}"))?;
    std::thread::sleep(std::time::Duration::from_millis(500));
    let mut cmd = Command::new(root().join("target/release/examples").join(example));
    cmd.current_dir(root()).env("DISPLAY", display).args(args);
    let result = in_desktop_session(cmd);
    stop_child(&mut xvfb);
    result
}

/// The triage benchmark: a customer's message committed at the server until dunst shows its
/// notification (tests/bench_triage.rs), under Xvfb in a D-Bus session.
fn bench_triage(args: &[String]) -> Result {
    ensure_apt(&["xvfb", "dunst"])?;
    let mut build = cargo();
    build.args([
        "build",
        "--release",
        "-p",
        "outpost-e2e",
        "--example",
        "bench-triage",
    ]);
    status(build)?;
    on_screen(":92", "bench-triage", args)
}

fn gen_types() -> Result {
    ensure_build_tools()?;
    let mut cmd = cargo();
    cmd.env("OUTPOST_WRITE_TYPES", "1").args([
        "test",
        "--quiet",
        "-p",
        "outpost-core",
        "--lib",
        "generated_typescript_is_fresh",
    ]);
    status(cmd)?;
    println!("wrote ui/src/generated/outpost.ts and limits.ts");
    Ok(())
}
