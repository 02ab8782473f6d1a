//! `cargo xtask package-server [--debug]`: the server as a Debian package. The binary, its
//! systemd unit and its configuration file (a conffile: an admin's edits survive upgrades), and
//! the scripts that make the service's user and folder (packaging/server/). Built with
//! `dpkg-deb` from a staged tree, so what is in the package is exactly what is listed here.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Result;

/// What goes where: (source under packaging/server, path in the package, mode).
const FILES: [(&str, &str, u32); 2] = [
    (
        "outpost-server.service",
        "lib/systemd/system/outpost-server.service",
        0o644,
    ),
    (
        "outpost-server.toml",
        "etc/outpost/outpost-server.toml",
        0o644,
    ),
];
const SCRIPTS: [&str; 3] = ["postinst", "prerm", "postrm"];

/// The control file: what the package is and needs.
pub fn control(version: &str, arch: &str, installed_kib: u64) -> String {
    format!(
        "Package: outpost-server\n\
         Version: {version}\n\
         Architecture: {arch}\n\
         Maintainer: Outpost <team@outpost.example>\n\
         Installed-Size: {installed_kib}\n\
         Depends: libc6 (>= 2.34), adduser\n\
         Section: net\n\
         Priority: optional\n\
         Homepage: https://github.com/outpost/outpost\n\
         Description: Outpost server: customer conversations for the Outpost desktop\n \
         The server of Outpost: the team, the conversations, the channels (web chat,\n \
         WhatsApp, Telegram, email) and the sync protocol the Outpost desktop speaks.\n \
         Runs as the outpost-server systemd service; settings in\n \
         /etc/outpost/outpost-server.toml, data in /var/lib/outpost.\n"
    )
}

/// Builds the package from `binary` into `out` (a folder); returns the .deb's path. `quick`
/// compresses little (the test run's check of a debug build), else as Debian ships (xz).
pub fn build(binary: &Path, version: &str, out: &Path, quick: bool) -> Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let arch = String::from_utf8(
        Command::new("dpkg")
            .arg("--print-architecture")
            .output()
            .map_err(|e| format!("dpkg: {e}"))?
            .stdout,
    )
    .map_err(|e| e.to_string())?
    .trim()
    .to_owned();
    let name = format!("outpost-server_{version}_{arch}");
    let stage = out.join(&name);
    if stage.exists() {
        std::fs::remove_dir_all(&stage).map_err(|e| format!("{}: {e}", stage.display()))?;
    }
    let put = |from: &Path, to: &str, mode: u32| -> Result {
        let dest = stage.join(to);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::copy(from, &dest)
            .map_err(|e| format!("{} → {}: {e}", from.display(), dest.display()))?;
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(mode))
            .map_err(|e| format!("{}: {e}", dest.display()))
    };
    let sources = crate::root().join("packaging/server");
    put(binary, "usr/bin/outpost-server", 0o755)?;
    for (file, to, mode) in FILES {
        put(&sources.join(file), to, mode)?;
    }
    for script in SCRIPTS {
        put(&sources.join(script), &format!("DEBIAN/{script}"), 0o755)?;
    }
    let copyright = stage.join("usr/share/doc/outpost-server/copyright");
    if let Some(parent) = copyright.parent() {
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    std::fs::write(
        &copyright,
        "Outpost server\nCopyright: the Outpost team\nLicense: see the project's repository.\n",
    )
    .map_err(|e| e.to_string())?;
    let kib = std::fs::metadata(binary)
        .map(|m| m.len() / 1024 + 16)
        .unwrap_or(0);
    std::fs::write(stage.join("DEBIAN/control"), control(version, &arch, kib))
        .map_err(|e| e.to_string())?;
    std::fs::write(
        stage.join("DEBIAN/conffiles"),
        "/etc/outpost/outpost-server.toml\n",
    )
    .map_err(|e| e.to_string())?;
    let deb = out.join(format!("{name}.deb"));
    let mut dpkg = Command::new("dpkg-deb");
    dpkg.args(["--root-owner-group", if quick { "-Zgzip" } else { "-Zxz" }]);
    if quick {
        dpkg.arg("-z1");
    }
    dpkg.arg("--build").arg(&stage).arg(&deb);
    crate::status(dpkg)?;
    Ok(deb)
}

/// Checks a built package as an admin would find it: its name and version, the files where
/// they belong, and the binary in it answering with its version and reading the packaged
/// configuration file.
pub fn verify(deb: &Path, version: &str, scratch: &Path) -> Result {
    let field = |name: &str| -> Result<String> {
        let out = Command::new("dpkg-deb")
            .args(["--field"])
            .arg(deb)
            .arg(name)
            .output()
            .map_err(|e| e.to_string())?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    if field("Package")? != "outpost-server" || field("Version")? != version {
        return Err(format!("{}: not outpost-server {version}", deb.display()));
    }
    let root = scratch.join("root");
    if root.exists() {
        std::fs::remove_dir_all(&root).map_err(|e| e.to_string())?;
    }
    std::fs::create_dir_all(&root).map_err(|e| format!("{}: {e}", root.display()))?;
    let mut extract = Command::new("dpkg-deb");
    extract.arg("-x").arg(deb).arg(&root);
    crate::status(extract)?;
    for path in [
        "usr/bin/outpost-server",
        "lib/systemd/system/outpost-server.service",
        "etc/outpost/outpost-server.toml",
    ] {
        if !root.join(path).exists() {
            return Err(format!("{} lacks /{path}", deb.display()));
        }
    }
    let binary = root.join("usr/bin/outpost-server");
    let said = Command::new(&binary)
        .arg("--version")
        .output()
        .map_err(|e| e.to_string())?;
    if !String::from_utf8_lossy(&said.stdout).contains(version) {
        return Err(format!(
            "the packaged binary says {:?}",
            String::from_utf8_lossy(&said.stdout)
        ));
    }
    // The packaged settings are read as the service reads them (its data folder aside).
    let listed = Command::new(&binary)
        .arg("--config")
        .arg(root.join("etc/outpost/outpost-server.toml"))
        .arg("--data-dir")
        .arg(scratch.join("data"))
        .args(["channel", "list"])
        .output()
        .map_err(|e| e.to_string())?;
    if !listed.status.success() {
        return Err(format!(
            "the packaged configuration is refused: {}",
            String::from_utf8_lossy(&listed.stderr)
        ));
    }
    let unit = std::fs::read_to_string(root.join("lib/systemd/system/outpost-server.service"))
        .map_err(|e| e.to_string())?;
    if !unit.contains(
        "ExecStart=/usr/bin/outpost-server --config /etc/outpost/outpost-server.toml serve",
    ) {
        return Err(
            "the unit does not start the packaged binary with the packaged settings".into(),
        );
    }
    eprintln!("xtask: {} checked", deb.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_control_file_names_the_package_and_folds_its_description() {
        let c = control("1.2.3", "amd64", 2048);
        assert!(c.starts_with("Package: outpost-server\nVersion: 1.2.3\nArchitecture: amd64\n"));
        assert!(c.contains("Depends: libc6 (>= 2.34), adduser\n"));
        // Every description line after the first starts with a space, and the file ends a line.
        let description: Vec<&str> = c.split("Description: ").nth(1).unwrap().lines().collect();
        assert!(description.len() > 1 && description[1..].iter().all(|l| l.starts_with(' ')));
        assert!(c.ends_with('\n'));
    }

    #[test]
    fn every_packaged_file_and_script_is_there() {
        let sources = crate::root().join("packaging/server");
        for (file, _, _) in FILES {
            assert!(sources.join(file).exists(), "{file}");
        }
        for script in SCRIPTS {
            let text = std::fs::read_to_string(sources.join(script)).unwrap();
            assert!(
                text.starts_with("#!/bin/sh\n") && text.contains("set -e"),
                "{script}"
            );
        }
    }
}
